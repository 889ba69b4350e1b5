import { Kafka, logLevel } from 'kafkajs';
import { SchemaCodec, type ContactEvent } from '@sicantik/schemas';
import { stack, uniq, waitFor } from '../../../test/support';
import { EventProducer, ensureTopics } from './client';
import { followTopic } from './follow';

////////// followTopic reads a whole topic in batches: every record once, in partition
// order, and it notices the end even when the last offsets are transaction markers.

describe('followTopic against the real broker', () => {
  const prefix = `${uniq('it-follow-')}.`;
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'it-follow', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
  const producer = EventProducer.create(kafka, codec);
  const event = (i: number): ContactEvent => ({ eventId: `e-${i}`, occurredAt: 1_700_000_000_000 + i, correlationId: `c-${i}`, causationId: null, provider: 'meta', phone: `+62812${String(i).padStart(7, '0')}`, kind: i % 2 ? 'OPTED_IN' : 'OPTED_OUT', text: null,
    subjectId: null, providerMessageId: null, contextId: null, notificationId: null, pendaftaran_id: null, reason: null, optInRequest: false });
  const read = (o: { partitions?: number[]; keepFollowing?: boolean; seen: { v: ContactEvent; partition: number; offset: string }[] }) => followTopic({
    kafka, admin, codec, topic: 'contact.events', groupId: uniq(`${prefix}follow-`), ...(o.partitions ? { partitions: o.partitions } : {}), keepFollowing: o.keepFollowing ?? false,
    onMessage: (v, m) => { o.seen.push({ v, ...m }); },
  });

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(admin, { prefix, partitions: 3, replicationFactor: 1 }, ['contact.events']);
    await codec.register(['contact.events']);
    await producer.connect();
    for (let i = 0; i < 3000; i += 500) await producer.send(Array.from({ length: 500 }, (_, j) => ({ topic: 'contact.events' as const, key: `k-${i + j}`, value: event(i + j) })));
    // Two committed transactions at the end: each leaves a control record after its data.
    const tx = kafka.producer({ transactionalId: uniq('it-follow-tx-'), idempotent: true, maxInFlightRequests: 1 });
    await tx.connect();
    for (const i of [3000, 3001]) {
      const t = await tx.transaction();
      await t.send({ topic: codec.topic('contact.events'), messages: [0, 1, 2].map((p) => ({ partition: p, key: `tx-${i}-${p}`, value: codec.encode('contact.events', event(i * 10 + p)) })) });
      await t.commit();
    }
    await tx.disconnect();
  });
  afterAll(async () => {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [codec.topic('contact.events')] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('reads every record once, each partition in offset order, and returns at the end (transaction markers included)', async () => {
    const seen: { v: ContactEvent; partition: number; offset: string }[] = [];
    const f = await read({ seen });
    expect(f.records).toBe(3006);
    expect(seen).toHaveLength(3006);
    expect(new Set(seen.map((s) => s.v.eventId)).size).toBe(3006);
    for (const p of [0, 1, 2]) {
      const offsets = seen.filter((s) => s.partition === p).map((s) => Number(s.offset));
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    }
    expect(seen.find((s) => s.v.eventId === 'e-7')?.v).toStrictEqual(event(7));
  });

  it('reads only the partitions asked for', async () => {
    const seen: { v: ContactEvent; partition: number; offset: string }[] = [];
    const ends = await admin.fetchTopicOffsets(codec.topic('contact.events'));
    const f = await read({ seen, partitions: [1] });
    expect(new Set(seen.map((s) => s.partition))).toEqual(new Set([1]));
    // Partition 1 holds its data records plus two transaction markers.
    expect(f.records).toBe(Number(ends.find((e) => e.partition === 1)!.high) - 2);
  });

  it('returns when a partition holds nothing but an aborted transaction (a fetch of filtered records only)', async () => {
    const p2 = `${uniq('it-follow-abort-')}.`;
    const c2 = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: p2 });
    await ensureTopics(admin, { prefix: p2, partitions: 2, replicationFactor: 1 }, ['contact.events']);
    try {
      await c2.register(['contact.events']);
      const tx = kafka.producer({ transactionalId: uniq('it-follow-abort-tx-'), idempotent: true, maxInFlightRequests: 1 });
      await tx.connect();
      const committed = await tx.transaction();
      await committed.send({ topic: c2.topic('contact.events'), messages: [{ partition: 0, key: 'a', value: c2.encode('contact.events', event(1)) }] });
      await committed.commit();
      const aborted = await tx.transaction();
      await aborted.send({ topic: c2.topic('contact.events'), messages: [2, 3].map((i) => ({ partition: 1, key: `b${i}`, value: c2.encode('contact.events', event(i)) })) });
      await aborted.abort();
      await tx.disconnect();
      const seen: string[] = [];
      const f = await followTopic({ kafka, admin, codec: c2, topic: 'contact.events', groupId: uniq(`${p2}follow-`), onMessage: (v) => { seen.push(v.eventId); } });
      expect([f.records, seen]).toEqual([1, ['e-1']]);
    } finally {
      await admin.deleteTopics({ topics: [c2.topic('contact.events')] }).catch(() => undefined);
    }
  });

  it('keeps following after catching up when asked', async () => {
    const seen: { v: ContactEvent; partition: number; offset: string }[] = [];
    const f = await read({ seen, keepFollowing: true });
    try {
      expect(f.records).toBe(3006);
      await producer.send([{ topic: 'contact.events', key: 'late', value: event(99_999) }]);
      await waitFor(async () => seen.some((s) => s.v.eventId === 'e-99999'), { what: 'the record produced after catching up' });
      expect(seen).toHaveLength(3007);
    } finally {
      await f.stop();
    }
  });
});
