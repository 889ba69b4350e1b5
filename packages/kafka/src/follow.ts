import type { Admin, Consumer, Kafka } from 'kafkajs';
import { isRetriable } from '@sicantik/core';
import type { SchemaCodec, TopicName, TopicValues } from '@sicantik/schemas';

////////// Reading a whole topic into memory or a store (compacted sets, decision logs)
// Reads from the beginning with a throw-away group (nothing committed) and
// resolves once every partition has reached the end offset it had when the call
// started; then either keeps following or disconnects.

export interface FollowOptions<T extends TopicName> {
  kafka: Kafka;
  admin: Admin;
  codec: SchemaCodec;
  topic: T;
  /** Unique per reader, e.g. `<prefix>templates-<instance>-<pid>-<time>`. */
  groupId: string;
  onMessage(value: TopicValues[T], meta: { partition: number; offset: string; key: string | null }): Promise<void> | void;
  /** A tombstone (null value) of a compacted topic; without this option tombstones are skipped. */
  onTombstone?(key: string | null, meta: { partition: number; offset: string }): Promise<void> | void;
  /**
   * After each batch (also one of only transaction markers): every record of `partition` up
   * to `offset` is handled. For readers that wait for a position (KeyRing.catchUp).
   */
  onProgress?(partition: number, offset: string): void;
  /** Keep applying new records after catching up (default false: disconnect). */
  keepFollowing?: boolean;
  /** Read only these partitions (e.g. a changelog's partitions this instance owns); default all. */
  partitions?: number[];
}

export interface Followed { records: number; consumer: Consumer | null; stop(): Promise<void> }

export async function followTopic<T extends TopicName>(o: FollowOptions<T>): Promise<Followed> {
  const topic = o.codec.topic(o.topic);
  const wanted = o.partitions ? new Set(o.partitions) : null;
  const ends = (await untilAvailable(() => o.admin.fetchTopicOffsets(topic))).filter((e) => !wanted || wanted.has(e.partition));
  const pending = new Map(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high)]));
  if (pending.size === 0 && !o.keepFollowing) return { records: 0, consumer: null, stop: async () => undefined };
  let records = 0;
  let caughtUp!: () => void;
  let failed!: (e: unknown) => void;
  const ready = new Promise<void>((res, rej) => { caughtUp = res; failed = rej; });
  if (pending.size === 0) caughtUp();
  const consumer = o.kafka.consumer({ groupId: o.groupId, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  consumer.on(consumer.events.CRASH, (e) => failed(e.payload.error));
  if (wanted) {
    // The throw-away group's only member gets every partition: pause the others before the first fetch.
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const others = (e.payload.memberAssignment[topic] ?? []).filter((p) => !wanted.has(p));
      if (others.length) consumer.pause([{ topic, partitions: others }]);
    });
  }
  /** A partition's records up to `last` are handled: caught up once every partition reaches its end. */
  const reached = (partition: number, last: string) => {
    const end = pending.get(partition);
    if (end !== undefined && BigInt(last) + 1n >= end) {
      pending.delete(partition);
      if (pending.size === 0) caughtUp();
    }
  };
  // A fetch holding only transaction markers or aborted records never reaches eachBatch
  // (kafkajs resolves it and reports it as an empty batch): its end counts here.
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    if (e.payload.topic === topic && e.payload.batchSize === 0 && (!wanted || wanted.has(e.payload.partition))) {
      reached(e.payload.partition, e.payload.lastOffset);
      o.onProgress?.(e.payload.partition, e.payload.lastOffset);
    }
  });
  // Whole batches, decoded without a promise per record once a writer schema is known,
  // and onMessage awaited only when it returns a promise: a restore or a rebuild reads
  // millions of records, and the per-record overhead was most of its time.
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const partition = batch.partition;
      if (wanted && !wanted.has(partition)) return;
      let last: string | undefined;
      let whole = true;
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) { whole = false; break; }
        if (message.value) {
          const value = o.codec.decodeKnown(o.topic, message.value) ?? await o.codec.decode(o.topic, message.value);
          const done = o.onMessage(value, { partition, offset: message.offset, key: message.key ? message.key.toString() : null });
          if (done) await done;
          records++;
        } else if (o.onTombstone) {
          const done = o.onTombstone(message.key ? message.key.toString() : null, { partition, offset: message.offset });
          if (done) await done;
        }
        resolveOffset(message.offset);
        last = message.offset;
      }
      // A whole batch counts up to its last offset, control records included.
      if (whole) last = batch.lastOffset();
      if (last !== undefined) { reached(partition, last); o.onProgress?.(partition, last); }
      await heartbeat();
    },
  });
  try { await ready; } catch (e) { await consumer.disconnect().catch(() => undefined); throw e; }
  if (!o.keepFollowing) {
    await consumer.disconnect();
    return { records, consumer: null, stop: async () => undefined };
  }
  return { records, consumer, stop: () => consumer.disconnect() };
}

/**
 * Retries a call while Kafka answers with a retriable error (a broker that just
 * restarted is not yet the leader of its partitions; isRetriable), for up to `ms`.
 */
export async function untilAvailable<T>(fn: () => Promise<T>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const retriable = isRetriable(e) || /not the leader|leader not available|not available/i.test((e as Error).message ?? '');
      if (!retriable || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
    }
  }
}
