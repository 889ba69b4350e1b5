import { Kafka, logLevel } from 'kafkajs';
import { TransientError } from '@sicantik/core';
import { createMetrics } from '@sicantik/observability';
import { SchemaCodec, dlqTopicOf, type ContactEvent } from '@sicantik/schemas';
import { silentLogger, stack, uniq, waitFor } from '../../../test/support';
import { EventProducer, ensureTopics } from './client';
import { runBatchConsumer, type RunningBatchConsumer } from './batchConsumer';

const contact = (id: string, text: string): ContactEvent => ({ eventId: id, occurredAt: 1, correlationId: id, causationId: null, provider: 'meta', phone: '+6281234567890', kind: 'MESSAGE_RECEIVED', text });

describe('topics, producer and the consumer loop against a real broker', () => {
  const prefix = `${uniq('it-consumer-')}.`;
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'it', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
  const producer = EventProducer.create(kafka, codec);
  const running: RunningBatchConsumer[] = [];
  const metrics = createMetrics('it');
  /** A consumer of contact.events in `group` (the batch loop, records handed to `handler` one by one) with short retry waits; stopped after the suite. */
  const startConsumer = async (group: string, handler: (m: { value: ContactEvent }) => Promise<void>) => {
    const c = await runBatchConsumer({ kafka, codec, groupId: group, producer, logger: silentLogger(), metrics, retry: { initialMs: 20, maxMs: 50 },
      handlers: { 'contact.events': async ({ records }) => { for (const r of records) await handler(r); } } });
    running.push(c);
    return c;
  };

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(admin, { prefix, partitions: 2, replicationFactor: 1 }, ['contact.events']);
    await codec.register(['contact.events']);
    await producer.connect();
  });
  afterAll(async () => {
    for (const r of running) await r.stop();
    await producer.disconnect(); await admin.disconnect();
  });

  it('creates the topic and its dead-letter topic explicitly', async () => {
    const topics = await admin.listTopics();
    expect(topics).toEqual(expect.arrayContaining([`${prefix}contact.events`, dlqTopicOf(`${prefix}contact.events`)]));
  });

  it('six services creating the same topics at the same moment all succeed, and every partition has a leader', async () => {
    const racePrefix = `${uniq('it-race-')}.`;
    const admins = Array.from({ length: 6 }, () => kafka.admin());
    await Promise.all(admins.map((a) => a.connect()));
    try {
      await Promise.all(admins.map((a) => ensureTopics(a, { prefix: racePrefix, partitions: 3, replicationFactor: 1 }, ['permit.events', 'notification.requests', 'template.events'])));
      const meta = await admin.fetchTopicMetadata({ topics: ['permit.events', 'notification.requests', 'template.events'].map((t) => `${racePrefix}${t}`) });
      expect(meta.topics.map((t) => [t.name.slice(racePrefix.length), t.partitions.length, t.partitions.every((p) => p.leader >= 0)]).sort()).toEqual([
        ['notification.requests', 3, true], ['permit.events', 3, true], ['template.events', 1, true],
      ]);
    } finally {
      await Promise.all(admins.map((a) => a.disconnect()));
    }
  });

  it('stopping during retries: records done before are committed, the stuck one and those after it are redelivered, none lost', async () => {
    const group = uniq('g-');
    const handled: string[] = [];
    let attempts = 0;
    let healthy = false;
    const handler = async ({ value }: { value: ContactEvent }) => {
      if (value.text === 'stuck' && !healthy) { attempts++; throw new TransientError('database down'); }
      if (!handled.includes(value.eventId)) handled.push(value.eventId);
    };
    const start = () => startConsumer(group, handler);
    const c1 = await start();
    await producer.send([{ topic: 'contact.events' as const, key: 'same-key', value: contact(`${group}-a`, 'a') }]);
    await waitFor(async () => handled.includes(`${group}-a`), { what: 'a done' });
    await producer.send(['b', 'c'].map((k) => ({ topic: 'contact.events' as const, key: 'same-key', value: contact(`${group}-${k}`, k === 'b' ? 'stuck' : k) })));
    await waitFor(async () => attempts >= 2, { what: 'b failing' });
    await c1.stop(); running.pop();
    expect(handled.filter((h) => h.startsWith(group))).toEqual([`${group}-a`]);
    healthy = true;
    handled.length = 0;
    await start();
    await waitFor(async () => handled.filter((h) => h.startsWith(group)).length >= 2, { what: 'b and c after restart' });
    expect(handled.filter((h) => h.startsWith(group))).toEqual([`${group}-b`, `${group}-c`]);
  });

  // Last: its records would reach the groups of the tests above, which read the topic from the beginning.
  it('concurrent sends are group-committed: 60 callers, a handful of produce requests, every record once and in each caller\'s order', async () => {
    const seen: string[] = [];
    await startConsumer(uniq('g-batch-'), async ({ value }) => { if (value.eventId.startsWith('gc-')) seen.push(value.eventId); });
    const before = producer.requests;
    await Promise.all(Array.from({ length: 60 }, (_, i) => producer.send([0, 1].map((j) => ({ topic: 'contact.events' as const, key: `k${i}`, value: contact(`gc-${i}-${j}`, 'x') })))));
    const requests = producer.requests - before;
    expect(requests).toBeGreaterThanOrEqual(1);
    expect(requests).toBeLessThanOrEqual(6);
    await waitFor(async () => seen.length >= 120, { what: '120 records' });
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toHaveLength(120);
    for (let i = 0; i < 60; i++) expect(seen.indexOf(`gc-${i}-0`)).toBeLessThan(seen.indexOf(`gc-${i}-1`));
  });
});
