import { Kafka, logLevel } from 'kafkajs';
import { PermanentError, TransientError } from '@sicantik/core';
import { createMetrics } from '@sicantik/observability';
import { SchemaCodec, dlqTopicOf, type ContactEvent } from '@sicantik/schemas';
import { silentLogger, stack, uniq, waitFor } from '../../../test/support';
import { coPartitionedAssigner } from './assigner';
import { runBatchConsumer, type BatchConsumerOptions, type BatchOutcome, type RecordBatch, type RunningBatchConsumer } from './batchConsumer';
import { EventProducer, ensureTopics } from './client';

////////// The batch-first loop against a real broker: a handler gets a partition's records
// in order and returns outputs; outputs are produced before the offsets are committed; a
// permanent error dead-letters only the record that causes it.

const contact = (id: string, text: string, kind: ContactEvent['kind'] = 'MESSAGE_RECEIVED'): ContactEvent => ({ eventId: id, occurredAt: 1, correlationId: id, causationId: null, provider: 'meta', phone: '+6281234567890', kind, text });

describe('batch consumer loop against a real broker', () => {
  const prefix = `${uniq('it-batch-')}.`;
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'it', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
  const producer = EventProducer.create(kafka, codec);
  const metrics = createMetrics('it');
  const running: RunningBatchConsumer[] = [];

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(admin, { prefix, partitions: 2, replicationFactor: 1 }, ['contact.events', 'delivery.status']);
    await codec.register(['contact.events', 'delivery.status']);
    await producer.connect();
  });
  afterAll(async () => {
    for (const r of running) await r.stop();
    await producer.disconnect(); await admin.disconnect();
  });

  const readAll = async (topic: string, n: number) => {
    const got: { key: string; value: Buffer | null; headers: Record<string, string> }[] = [];
    const reader = kafka.consumer({ groupId: uniq('reader-') });
    await reader.connect();
    await reader.subscribe({ topic, fromBeginning: true });
    await reader.run({ eachMessage: async ({ message }) => {
      got.push({ key: String(message.key), value: message.value, headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])) });
    } });
    await waitFor(async () => got.length >= n, { what: `${n} records on ${topic}` });
    await new Promise((r) => setTimeout(r, 300));
    await reader.disconnect();
    return got;
  };

  it('hands each partition\'s records over in batches, in order; outputs are produced; a permanent error dead-letters only its record; nothing is redelivered after a restart', async () => {
    const group = uniq('g-');
    const batches: { partition: number; ids: string[] }[] = [];
    let transient = 1;
    const handler = async ({ partition, records }: RecordBatch<'contact.events'>) => {
      if (records.some((r) => r.value.text === 'flaky') && transient-- > 0) throw new TransientError('broker briefly away');
      if (records.some((r) => r.value.text === 'bad')) throw new PermanentError('cannot process', 'BAD_DATA');
      batches.push({ partition, ids: records.map((r) => r.value.eventId) });
      return { out: records.map((r) => ({ topic: 'delivery.status' as const, key: r.value.eventId, value: { eventId: `out-${r.value.eventId}`, occurredAt: 1, correlationId: 'c', causationId: r.value.eventId, provider: 'meta', providerMessageId: r.value.eventId, status: 'SENT' as const, providerTimestamp: null, receivedAt: 1, errorCode: null, errorTitle: null } })) };
    };
    const start = async () => {
      const c = await runBatchConsumer({ kafka, codec, groupId: group, producer, logger: silentLogger(), metrics, handlers: { 'contact.events': handler as never }, retry: { initialMs: 20, maxMs: 50 }, partitionAssigners: [coPartitionedAssigner] });
      running.push(c);
      return c;
    };
    // 200 records on one key (one partition, in order), one of them poison for the handler, one undecodable.
    const ids = Array.from({ length: 200 }, (_, i) => `${group}-${i}`);
    await producer.send(ids.map((id, i) => ({ topic: 'contact.events' as const, key: 'same', value: contact(id, i === 50 ? 'bad' : i === 120 ? 'flaky' : 'ok') })));
    await producer.producer.send({ topic: `${prefix}contact.events`, messages: [{ key: 'same', value: Buffer.from('not avro') }] });
    const c1 = await start();
    await waitFor(async () => batches.flatMap((b) => b.ids).length >= 199, { timeoutMs: 30_000, what: '199 records handled' });
    const handled = batches.flatMap((b) => b.ids);
    expect(handled).toEqual(ids.filter((_, i) => i !== 50)); // in order, each once, all but the poison one
    expect(batches.length).toBeLessThan(40); // batches, not one call per record (bisection adds a few small ones)
    const dlq = await readAll(dlqTopicOf(`${prefix}contact.events`), 2);
    expect(dlq.map((d) => d.headers['dlq.reason']).sort()).toEqual(['BAD_DATA', 'BAD_WIRE_FORMAT']);
    const outs = await readAll(`${prefix}delivery.status`, 199);
    expect(outs).toHaveLength(199);

    await c1.stop(); running.pop();
    batches.length = 0;
    await producer.send([{ topic: 'contact.events', key: 'same', value: contact(`${group}-late`, 'ok') }]);
    await start();
    await waitFor(async () => batches.length > 0, { what: 'the new record after the restart' });
    expect(batches.flatMap((b) => b.ids)).toEqual([`${group}-late`]);
  });
  it('a tombstone goes to onTombstone when it is given (neither the handler nor the DLQ), in its place between the records of its key', async () => {
    const group = uniq('g-');
    const key = `${group}-key`;
    const seen: string[] = [];
    const tombstones: { key: string | null; topic: string }[] = [];
    const c = await runBatchConsumer({ kafka, codec, groupId: group, producer, logger: silentLogger(), metrics, fromBeginning: true,
      handlers: { 'contact.events': (async ({ records }: RecordBatch<'contact.events'>) => { for (const r of records) if (r.key === key) seen.push(`${r.value.eventId}@${r.offset}`); }) as never },
      onTombstone: (t) => { if (t.key === key) tombstones.push({ key: `${t.key}@${t.offset}`, topic: t.topic }); } });
    running.push(c);
    await producer.send([{ topic: 'contact.events', key, value: contact('before', 'x') }]);
    await producer.sendTombstones([{ topic: 'contact.events', key }]);
    await producer.send([{ topic: 'contact.events', key, value: contact('after', 'x') }]);
    await waitFor(async () => seen.length >= 2 && tombstones.length >= 1, { what: 'both records and the tombstone' });
    const offsets = [...seen.map((x) => Number(x.split('@')[1])), Number(tombstones[0]!.key!.split('@')[1])];
    expect(seen.map((x) => x.split('@')[0])).toEqual(['before', 'after']);
    expect(tombstones.map((t) => t.topic)).toEqual(['contact.events']);
    expect(offsets[0]! + 1).toBe(offsets[2]); // the tombstone between them
    expect(offsets[2]! + 1).toBe(offsets[1]);
    await c.stop(); running.splice(running.indexOf(c), 1);
  });
});

////////// Bounded retries of unknown errors, and deferred records (not-before), each test on
// topics of its own: what reaches a dead-letter topic, when, and what waits for whom.

describe('batch consumer loop: error classes and deferral against a real broker', () => {
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'it', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const metrics = createMetrics('it');
  const running: RunningBatchConsumer[] = [];
  const producers: EventProducer[] = [];

  beforeAll(async () => { await admin.connect(); });
  afterAll(async () => {
    for (const r of running) await r.stop();
    for (const p of producers) await p.disconnect();
    await admin.disconnect();
  });

  /** Topics (contact.events with two partitions, its DLQ, delivery.status) of a test's own, a codec and a producer for them. */
  const fresh = async (name: string) => {
    const prefix = `${uniq(`it-batch-${name}-`)}.`;
    const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
    await ensureTopics(admin, { prefix, partitions: 2, replicationFactor: 1 }, ['contact.events', 'delivery.status']);
    await codec.register(['contact.events', 'delivery.status']);
    const producer = EventProducer.create(kafka, codec);
    await producer.connect();
    producers.push(producer);
    const input = `${prefix}contact.events`;
    const start = async (handler: (b: RecordBatch<'contact.events'>) => Promise<BatchOutcome | void>, extra: Partial<BatchConsumerOptions> = {}, groupId = `${prefix}g`) => {
      const c = await runBatchConsumer({ kafka, codec, groupId, producer, logger: silentLogger(), metrics, handlers: { 'contact.events': handler as never }, retry: { initialMs: 20, maxMs: 50 }, ...extra });
      running.push(c);
      return c;
    };
    /** Every record of the DLQ topic (read up to its end offset), with its headers. */
    const deadLetters = async () => {
      const dlq = dlqTopicOf(input);
      const end = Number((await admin.fetchTopicOffsets(dlq))[0]!.high);
      if (end === 0) return [];
      return (await readUpTo(dlq, end)).map((m) => ({ ...m, eventId: m.value ? (codec.decode('contact.events', m.value) as Promise<ContactEvent>) : null }));
    };
    const committed = async (groupId = `${prefix}g`) => Object.fromEntries((await admin.fetchOffsets({ groupId, topics: [input] }))[0]!.partitions.map((p) => [p.partition, p.offset]));
    return { prefix, codec, producer, input, start, deadLetters, committed };
  };
  const readUpTo = async (topic: string, n: number) => {
    const got: { value: Buffer | null; headers: Record<string, string> }[] = [];
    const reader = kafka.consumer({ groupId: uniq('reader-'), maxWaitTimeInMs: 100 });
    await reader.connect();
    await reader.subscribe({ topic, fromBeginning: true });
    await reader.run({ eachMessage: async ({ message }) => {
      got.push({ value: message.value, headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])) });
    } });
    await waitFor(async () => got.length >= n, { what: `${n} records on ${topic}` });
    await reader.disconnect();
    return got;
  };
  const status = (r: { value: ContactEvent }) => ({ topic: 'delivery.status' as const, key: r.value.eventId, value: { eventId: `out-${r.value.eventId}`, occurredAt: 1, correlationId: 'c', causationId: r.value.eventId, provider: 'meta', providerMessageId: r.value.eventId, status: 'SENT' as const, providerTimestamp: null, receivedAt: 1, errorCode: null, errorTitle: null } });

  it('an unknown error (a TypeError for one record) is retried 3 times with the batch, then only that record is dead-lettered with RETRIES_EXHAUSTED after 1 + 3 attempts of its own; the others are handled once, in order', async () => {
    const t = await fresh('unknown');
    const handled: string[] = [];
    const calls: string[][] = [];
    const handler = async ({ records }: RecordBatch<'contact.events'>) => {
      calls.push(records.map((r) => r.value.eventId));
      for (const r of records) if (r.value.text === 'bug') void (r.value as unknown as { missing: { field: string } }).missing.field; // a real TypeError
      return { out: records.map(status), done: () => { handled.push(...records.map((r) => r.value.eventId)); } };
    };
    const ids = Array.from({ length: 20 }, (_, i) => `u-${i}`);
    await t.producer.send(ids.map((id, i) => ({ topic: 'contact.events' as const, key: 'k', partition: 0, value: contact(id, i === 7 ? 'bug' : 'ok') })));
    await t.start(handler);
    await waitFor(async () => handled.length >= 19, { what: '19 records handled', timeoutMs: 60_000 });
    const dlq = await waitFor(async () => { const d = await t.deadLetters(); return d.length >= 1 && d; }, { what: 'the dead letter' });
    await new Promise((r) => setTimeout(r, 500));

    expect(handled).toEqual(ids.filter((_, i) => i !== 7)); // each once, in order
    const alone = calls.filter((c) => c.length === 1 && c[0] === 'u-7');
    expect(alone).toHaveLength(4); // 1 + unknownRetries (default 3) attempts of the record on its own
    expect(calls.filter((c) => c.length === 20).length).toBe(4); // the whole batch: 1 + 3 attempts before it was split
    expect(await t.deadLetters()).toHaveLength(1);
    expect(await dlq[0]!.eventId).toMatchObject({ eventId: 'u-7', text: 'bug' });
    expect(dlq[0]!.headers).toMatchObject({
      'dlq.reason': 'RETRIES_EXHAUSTED', 'dlq.error.name': 'TypeError', 'dlq.attempts': '4',
      'dlq.source.topic': t.input, 'dlq.source.partition': '0', 'dlq.source.offset': '7', 'dlq.consumer.group': `${t.prefix}g`,
    });
    expect(dlq[0]!.headers['dlq.error']).toMatch(/Cannot read properties of undefined \(reading 'field'\)/);
    expect(await t.committed()).toMatchObject({ 0: '20' });
  });

  it('retriable errors (unavailable broker, database, network) are retried for as long as they last and never dead-lettered; the number of unknown retries is configurable', async () => {
    const t = await fresh('retriable');
    const handled: string[] = [];
    const unavailable = [
      new TransientError('database down'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:27017'), { code: 'ECONNREFUSED' }),
      Object.defineProperty(new Error('Server selection timed out after 30000 ms'), 'name', { value: 'MongoServerSelectionError' }),
      new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) }),
    ];
    let failures = 0;
    let unknownCalls = 0;
    const handler = async ({ records }: RecordBatch<'contact.events'>) => {
      if (records.some((r) => r.value.text === 'flaky') && failures < 8) throw unavailable[failures++ % unavailable.length];
      if (records.some((r) => r.value.text === 'bug')) { unknownCalls++; throw new RangeError('Invalid time value'); }
      return { done: () => { handled.push(...records.map((r) => r.value.eventId)); } };
    };
    await t.producer.send(['a', 'flaky', 'b'].map((x) => ({ topic: 'contact.events' as const, key: 'k', partition: 0, value: contact(`r-${x}`, x) })));
    await t.producer.send([{ topic: 'contact.events' as const, key: 'k', partition: 1, value: contact('r-bug', 'bug') }]);
    await t.start(handler, { retry: { initialMs: 20, maxMs: 50, unknownRetries: 1 } });
    await waitFor(async () => handled.length >= 3 && (await t.deadLetters()).length >= 1, { what: 'three handled and one dead letter' });
    await new Promise((r) => setTimeout(r, 500));
    expect(failures).toBe(8); // more failures than any bound on unknown errors
    expect(handled).toEqual(['r-a', 'r-flaky', 'r-b']);
    expect(unknownCalls).toBe(2); // unknownRetries: 1
    const dlq = await t.deadLetters();
    expect(dlq.map((d) => [d.headers['dlq.reason'], d.headers['dlq.error.name'], d.headers['dlq.attempts']])).toEqual([['RETRIES_EXHAUSTED', 'RangeError', '2']]);
  });

  it('a deferred partition waits while the other partition of the same consumer keeps flowing; the committed offset is the first deferred record\'s; the deferred records come back after `until`, each handled once, in order', async () => {
    const t = await fresh('defer');
    const handled: { id: string; at: number }[] = [];
    const deliveries: { id: string; at: number }[] = [];
    // Records carry a not-before time (as a retry topic's would); the handler defers from the first one not due yet.
    const handler = async ({ records }: RecordBatch<'contact.events'>) => {
      const now = Date.now();
      for (const r of records) deliveries.push({ id: r.value.eventId, at: now });
      const i = records.findIndex((r) => Number(r.value.text) > now);
      const due = i < 0 ? records : records.slice(0, i);
      return {
        out: due.map(status),
        done: () => { for (const r of due) handled.push({ id: r.value.eventId, at: Date.now() }); },
        ...(i >= 0 ? { defer: { from: i, until: Number(records[i]!.value.text) } } : {}),
      };
    };
    await t.start(handler, { maxWaitMs: 500 });
    // Partition 0: one due record, then two due in ~3 s, then one due at once (it waits behind them: order is kept).
    const until = Date.now() + 3000;
    await t.producer.send([
      { topic: 'contact.events', key: 'k0', partition: 0, value: contact('p0-a', '0') },
      { topic: 'contact.events', key: 'k0', partition: 0, value: contact('p0-b', String(until)) },
      { topic: 'contact.events', key: 'k0', partition: 0, value: contact('p0-c', String(until)) },
      { topic: 'contact.events', key: 'k0', partition: 0, value: contact('p0-d', '0') },
    ]);
    await waitFor(async () => deliveries.some((d) => d.id === 'p0-b'), { what: 'p0-b delivered and deferred' });
    expect(handled.map((h) => h.id)).toEqual(['p0-a']);
    await waitFor(async () => (await t.committed())[0] === '1', { what: 'the offset of p0-b committed' });

    // Partition 1, while partition 0 waits: handled at once.
    const sent = Date.now();
    await t.producer.send([0, 1, 2].map((i) => ({ topic: 'contact.events' as const, key: 'k1', partition: 1, value: contact(`p1-${i}`, '0') })));
    await waitFor(async () => handled.filter((h) => h.id.startsWith('p1-')).length === 3, { what: 'partition 1 handled', intervalMs: 10 });
    const latency = Math.max(...handled.filter((h) => h.id.startsWith('p1-')).map((h) => h.at)) - sent;
    expect(Date.now()).toBeLessThan(until); // still deferred
    expect(latency).toBeLessThan(1000);
    expect(deliveries.filter((d) => d.id === 'p0-b')).toHaveLength(1); // partition 0 was not read meanwhile

    await waitFor(async () => handled.length === 7, { what: 'the deferred records handled', timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 500));
    expect(handled.filter((h) => h.id.startsWith('p0-')).map((h) => h.id)).toEqual(['p0-a', 'p0-b', 'p0-c', 'p0-d']);
    const back = deliveries.filter((d) => d.id === 'p0-b');
    expect(back).toHaveLength(2); // deferred once, then delivered again after `until`
    expect(back[1]!.at).toBeGreaterThanOrEqual(until);
    expect(handled.find((h) => h.id === 'p0-b')!.at - until).toBeLessThan(2000); // resumed at `until`, read at the next fetch (maxWaitMs 500)
    expect(await t.committed()).toMatchObject({ 0: '4', 1: '3' });
    // eslint-disable-next-line no-console
    console.log(`deferral: partition 1 handled ${latency} ms after produce while partition 0 waited; partition 0 read again ${back[1]!.at - until} ms after until`);
  });

  it('for contrast: a handler that waits inside the batch (the retry without deferral) holds up the other partition too', async () => {
    const t = await fresh('wait-in-batch');
    const handled: { id: string; at: number }[] = [];
    let waited = false;
    await t.start(async ({ records }) => {
      if (!waited && records.some((r) => r.value.text === 'wait')) { waited = true; await new Promise((r) => setTimeout(r, 3000)); }
      return { done: () => { for (const r of records) handled.push({ id: r.value.eventId, at: Date.now() }); } };
    });
    await t.producer.send([{ topic: 'contact.events', key: 'k0', partition: 0, value: contact('w0', 'wait') }]);
    await waitFor(async () => waited, { what: 'partition 0 waiting' });
    const sent = Date.now();
    await t.producer.send([{ topic: 'contact.events', key: 'k1', partition: 1, value: contact('w1', 'ok') }]);
    await waitFor(async () => handled.some((h) => h.id === 'w1'), { what: 'partition 1 handled', intervalMs: 10 });
    const latency = handled.find((h) => h.id === 'w1')!.at - sent;
    expect(latency).toBeGreaterThan(1500); // kafkajs fetches again only when every batch of the last fetch is done
    // eslint-disable-next-line no-console
    console.log(`waiting inside the batch: partition 1 handled ${latency} ms after produce`);
  });

  it('after a rebalance or a restart the deferred records come back from the committed offset, unpaused (the handler defers them again until due); nothing is lost or handled twice', async () => {
    const t = await fresh('defer-rebalance');
    const handled: { id: string; at: number; by: string }[] = [];
    const deliveries: { id: string; at: number; by: string }[] = [];
    const handlerOf = (by: string) => async ({ records }: RecordBatch<'contact.events'>) => {
      const now = Date.now();
      for (const r of records) deliveries.push({ id: r.value.eventId, at: now, by });
      const i = records.findIndex((r) => Number(r.value.text) > now);
      const due = i < 0 ? records : records.slice(0, i);
      return { done: () => { for (const r of due) handled.push({ id: r.value.eventId, at: Date.now(), by }); }, ...(i >= 0 ? { defer: { from: i, until: Number(records[i]!.value.text) } } : {}) };
    };
    const c1 = await t.start(handlerOf('c1'));
    const until = Date.now() + 15_000;
    await t.producer.send([0, 1].flatMap((p) => [
      { topic: 'contact.events' as const, key: `k${p}`, partition: p, value: contact(`p${p}-now`, '0') },
      { topic: 'contact.events' as const, key: `k${p}`, partition: p, value: contact(`p${p}-later`, String(until)) },
    ]));
    await waitFor(async () => deliveries.filter((d) => d.id.endsWith('-later')).length === 2, { what: 'both partitions deferred' });
    // A second member joins: a rebalance revokes and reassigns; each partition comes back unpaused from its committed offset.
    const c2 = await t.start(handlerOf('c2'));
    await waitFor(async () => deliveries.filter((d) => d.id.endsWith('-later')).length >= 4, { what: 'both deferred records delivered again after the rebalance', timeoutMs: 30_000 });
    expect(Date.now()).toBeLessThan(until);
    expect(handled.map((h) => h.id).sort()).toEqual(['p0-now', 'p1-now']);
    // A restart (c1 stops: its partitions move to c2, unpaused, and come back again).
    await c1.stop(); running.splice(running.indexOf(c1), 1);
    await waitFor(async () => handled.length === 4, { what: 'the deferred records handled once due', timeoutMs: 40_000 });
    await new Promise((r) => setTimeout(r, 500));
    expect(handled.map((h) => h.id).sort()).toEqual(['p0-later', 'p0-now', 'p1-later', 'p1-now']);
    for (const h of handled.filter((x) => x.id.endsWith('-later'))) expect(h.at).toBeGreaterThanOrEqual(until);
    expect(await t.committed()).toMatchObject({ 0: '2', 1: '2' });
    await c2.stop(); running.splice(running.indexOf(c2), 1);
  });
});
