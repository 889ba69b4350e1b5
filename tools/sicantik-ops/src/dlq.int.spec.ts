import { Kafka, logLevel } from 'kafkajs';
import { PermanentError } from '@sicantik/core';
import { EventProducer, ensureTopics, runBatchConsumer, type RecordBatch, type RunningBatchConsumer } from '@sicantik/kafka';
import { createMetrics } from '@sicantik/observability';
import { SchemaCodec, type ContactEvent } from '@sicantik/schemas';
import { silentLogger, stack, uniq, waitFor } from '../../../test/support';
import { main } from './cli';
import type { CliIo } from './context';

////////// `sicantik-ops dlq` against the real broker and registry: records dead-lettered by a
// real runBatchConsumer (a permanent error from the handler, bytes that are not Avro), then
// counts, a sample, the re-drive preview and --execute (twice).

const contact = (id: string, text: string): ContactEvent => ({ eventId: id, occurredAt: 1, correlationId: id, causationId: null, provider: 'meta', phone: '+6281234567890', kind: 'MESSAGE_RECEIVED', text });

describe('sicantik-ops dlq', () => {
  const prefix = `${uniq('it-ops-dlq-')}.`;
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'it', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
  const producer = EventProducer.create(kafka, codec);
  const source = `${prefix}contact.events`;
  let consumer: RunningBatchConsumer | undefined;
  let badValue: Buffer;
  let rawOffset: string;

  const run = async (args: string[]) => {
    let out = '';
    let err = '';
    const io: CliIo = { out: (s) => { out += s; }, err: (s) => { err += s; }, env: { KAFKA_BROKERS: stack.brokers.join(','), TOPIC_PREFIX: prefix }, isTTY: false };
    const code = await main(['node', 'sicantik-ops', ...args], io);
    return { code, out, err };
  };
  const readAll = async (topic: string) => {
    const ends = await admin.fetchTopicOffsets(topic);
    const want = ends.reduce((s, o) => s + Number(o.high), 0);
    const got: { partition: number; offset: string; key: string | null; value: Buffer | null; headers: Record<string, string> }[] = [];
    const reader = kafka.consumer({ groupId: uniq('reader-') });
    await reader.connect();
    await reader.subscribe({ topic, fromBeginning: true });
    await reader.run({ eachMessage: async ({ partition, message }) => {
      got.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value, headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])) });
    } });
    await waitFor(async () => got.length >= want, { what: `${want} records on ${topic}` });
    await reader.disconnect();
    return got.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
  };

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(admin, { prefix, partitions: 2, replicationFactor: 1 }, ['contact.events']);
    await codec.register(['contact.events']);
    await producer.connect();
    await producer.send([
      { topic: 'contact.events', key: 'k-ok', value: contact('e-ok', 'ok') },
      { topic: 'contact.events', key: 'k-bad', value: contact('e-bad', 'bad') },
    ]);
    badValue = Buffer.from('not avro');
    const [sent] = await producer.producer.send({ topic: source, messages: [{ key: 'k-raw', value: badValue, partition: 1, headers: { origin: 'test' } }] });
    rawOffset = sent!.baseOffset!;
    const handler = async ({ records }: RecordBatch<'contact.events'>) => {
      if (records.some((r) => r.value.text === 'bad')) throw new PermanentError('cannot process the text of +6281234567890', 'BAD_DATA');
    };
    consumer = await runBatchConsumer({ kafka, codec, groupId: `${prefix}it-consumer`, producer, logger: silentLogger(), metrics: createMetrics('it'), handlers: { 'contact.events': handler as never }, retry: { initialMs: 20, maxMs: 50 } });
    await waitFor(async () => Number((await admin.fetchTopicOffsets(`${source}.dlq`))[0]!.high) >= 2, { timeoutMs: 60_000, what: 'two dead letters' });
    await consumer.stop();
    consumer = undefined;
  });
  afterAll(async () => {
    await consumer?.stop();
    await producer.disconnect();
    await admin.disconnect();
  });

  it('counts by source topic and reason, and samples records with their origin and error, no payload, no full phone number', async () => {
    const r = await run(['dlq', '--sample', '2', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.counts).toEqual([
      { sourceTopic: 'contact.events', reason: 'BAD_DATA', total: 1, redriven: 0, pending: 1 },
      { sourceTopic: 'contact.events', reason: 'BAD_WIRE_FORMAT', total: 1, redriven: 0, pending: 1 },
    ]);
    const sample = [...j.sample].sort((a: { reason: string }, b: { reason: string }) => a.reason.localeCompare(b.reason));
    expect(sample).toHaveLength(2);
    expect(sample[0]).toMatchObject({ dlqTopic: 'contact.events.dlq', partition: 0, sourceTopic: 'contact.events', reason: 'BAD_DATA', errorName: 'PermanentError', error: 'cannot process the text of +628******7890', key: 'k-bad', consumerGroup: `${prefix}it-consumer`, redriven: false });
    expect(sample[1]).toMatchObject({ dlqTopic: 'contact.events.dlq', partition: 0, sourceTopic: 'contact.events', sourcePartition: 1, sourceOffset: rawOffset, reason: 'BAD_WIRE_FORMAT', key: 'k-raw', redriven: false });
    expect(r.out).not.toContain('6281234567890');
    const text = await run(['dlq']);
    expect(text.out).toBe('dead-lettered records by source topic and reason:\n  contact.events  BAD_DATA  total 1  re-driven 0  pending 1\n  contact.events  BAD_WIRE_FORMAT  total 1  re-driven 0  pending 1\n');
  });

  it('redrive previews by default, --execute writes the original records back and records the re-drive; a second execute re-drives nothing', async () => {
    const before = await readAll(source);
    const preview = await run(['dlq', 'redrive', '--topic', 'contact.events', '--reason', 'BAD_WIRE_FORMAT', '--json']);
    expect(preview.code).toBe(0);
    const p = JSON.parse(preview.out);
    expect(p.executed).toBe(false);
    expect(p.records.map((x: { reason: string; key: string }) => [x.reason, x.key])).toEqual([['BAD_WIRE_FORMAT', 'k-raw']]);
    expect(await readAll(source)).toHaveLength(before.length); // a preview writes nothing

    const exec = await run(['dlq', 'redrive', '--topic', 'contact.events', '--execute', '--json']);
    expect(exec.code).toBe(0);
    const e = JSON.parse(exec.out);
    expect(e.executed).toBe(true);
    expect(e.records.map((x: { reason: string }) => x.reason).sort()).toEqual(['BAD_DATA', 'BAD_WIRE_FORMAT']);
    expect(e.markers).toEqual([{ dlqTopic: 'contact.events.dlq', partition: 0, offset: '2', count: 2 }]);
    expect(exec.err).toContain('re-driving: 2\nre-driving: 2 done\n');

    // Back on the source topic and partition with the original key, bytes and headers (no dlq.* header).
    const after = await readAll(source);
    expect(after).toHaveLength(before.length + 2);
    const again = after.filter((a) => !before.some((b) => b.partition === a.partition && b.offset === a.offset));
    const original = (key: string) => before.find((b) => b.key === key)!;
    expect(again.map((a) => a.key).sort()).toEqual(['k-bad', 'k-raw']);
    for (const a of again) {
      const o = original(a.key!);
      expect(a.partition).toBe(o.partition);
      expect(a.value).toEqual(o.value);
      expect(a.headers).toEqual(o.headers);
    }
    expect(again.find((a) => a.key === 'k-raw')!.value).toEqual(badValue);

    // The re-drive event: a marker on the DLQ naming the offsets it took.
    const dlq = await readAll(`${source}.dlq`);
    expect(dlq).toHaveLength(3);
    expect(dlq[2]!.key).toBe('sicantik-ops.redrive');
    expect(dlq[2]!.headers).toMatchObject({ 'dlq.redrive': '1', 'dlq.redrive.offsets': '0,1', 'dlq.redrive.count': '2' });
    expect(JSON.parse(dlq[2]!.value!.toString()).records.map((x: { offset: string }) => x.offset)).toEqual(['0', '1']);

    const second = await run(['dlq', 'redrive', '--execute']);
    expect(second).toEqual({ code: 0, out: 'nothing to re-drive\n', err: 'reading dead letters: 3\nreading dead letters: 3 done\n' });
    expect(await readAll(source)).toHaveLength(after.length);
    const counts = JSON.parse((await run(['dlq', '--json'])).out).counts;
    expect(counts.map((c: { reason: string; redriven: number; pending: number }) => [c.reason, c.redriven, c.pending])).toEqual([['BAD_DATA', 1, 0], ['BAD_WIRE_FORMAT', 1, 0]]);
  });

  it('an unknown topic is a bad argument (exit 2)', async () => {
    expect(await run(['dlq', 'redrive', '--topic', 'nope'])).toEqual({ code: 2, out: '', err: expect.stringMatching(/^sicantik-ops: unknown topic "nope": one of permit\.events, /) });
  });
});
