import { Kafka, logLevel } from 'kafkajs';
import { PermanentError, TransientError } from '@sicantik/core';
import { createMetrics } from '@sicantik/observability';
import { SchemaCodec, dlqTopicOf, type ContactEvent } from '@sicantik/schemas';
import { silentLogger, stack, uniq, waitFor } from '../../../test/support';
import { coPartitionedAssigner } from './assigner';
import { runBatchConsumer, type RecordBatch, type RunningBatchConsumer } from './batchConsumer';
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
});
