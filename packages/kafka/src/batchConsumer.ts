import type { KafkaMessage, PartitionAssigner } from 'kafkajs';
import { classifyError, errorMessage } from '@sicantik/core';
import type { Logger, Metrics } from '@sicantik/observability';
import { dlqTopicOf, type SchemaCodec, type TopicName } from '@sicantik/schemas';
import type { Kafka } from 'kafkajs';
import type { EventProducer, OutMessage } from './client';
import { backoffMs, type Delivered } from './consumer';

////////// Batch-first consumer loop
// A handler receives the decoded records of one partition, in order, as one batch
// (up to `maxBatch`), and returns what the batch produces. The loop then:
//   1. produces every output of the batch in one produce request (group-committed),
//   2. calls the batch's `done` (the handler applies its in-memory state only now,
//      so a batch that failed leaves no trace),
//   3. commits the offset after the batch's last record.
// A crash anywhere redelivers the batch from its first record: outputs carry
// deterministic ids, so consumers downstream absorb the repeat (at-least-once in,
// effectively-once out).
//
// An error (the handler's, the decoder's, a produce) falls in one of three classes
// (classifyError in @sicantik/core, the one rule):
//   - retriable (broker, registry, database or network unavailable): the whole batch is
//     retried with backoff and jitter for as long as it takes; never dead-lettered;
//   - permanent (an error that says the record cannot be processed, e.g. PermanentError,
//     ValidationError): the batch is split in halves until the failing record is alone,
//     which goes to `<topic>.dlq` with the error's code as its reason; the others proceed;
//   - unknown (anything else, e.g. a TypeError from a bug): the batch is retried
//     `retry.unknownRetries` times (default 3) with backoff, then split; a half that
//     fails again is split at once, and the record left alone that still fails after as
//     many retries of its own goes to `<topic>.dlq` with reason RETRIES_EXHAUSTED. A bug
//     that one record triggers never blocks its partition for longer than that.
// Undecodable records (no value, bad bytes, unknown schema) go to the DLQ with the
// decoder's reason (BAD_WIRE_FORMAT, SCHEMA_UNKNOWN, ...). DLQ records keep the original
// key, value and headers, plus dlq.reason, dlq.error, dlq.error.name, dlq.attempts and
// dlq.source.{topic,partition,offset}, dlq.consumer.group, dlq.at headers.
//
// Deferral (not-before): a handler may return `defer: { from, until }`: records[from..]
// were not processed and must come back at `until` (epoch ms). The loop produces the
// outputs (of records[..from) only), runs `done`, commits the offset of records[from],
// and pauses only that topic-partition until `until`; the other partitions and topics
// of the consumer keep flowing. Its position goes back to records[from] because kafkajs
// fetches a partition from its last resolved offset and the deferred records are left
// unresolved (no consumer.seek: kafkajs keeps a pending seek across a rebalance and
// would apply it whenever the partition is next assigned, behind a newer commit). A
// timer resumes the partition at `until`; timers are cleared on stop and on every
// rebalance, which also resumes every partition the loop paused: a partition assigned
// again starts unpaused, from its committed offset, so deferred records may come back
// before `until` (after a rebalance or a restart) and the handler must check the time
// itself and defer again. A resumed partition is read at the next fetch, up to
// `maxWaitMs` after `until`. `from` = records.length defers nothing but still pauses the
// partition after this batch (pacing).

export interface RecordBatch<T extends TopicName> {
  topic: T;
  partition: number;
  records: Delivered<T>[];
  /** Keeps the group membership alive during long work. */
  heartbeat(): Promise<void>;
}

export interface BatchOutcome {
  /** Records to produce before the batch counts as done (with `defer`: for records[..from) only). */
  out?: OutMessage<TopicName>[];
  /** Runs after the outputs are durable and before the offsets are committed. */
  done?(): void | Promise<void>;
  /**
   * records[from..] were not processed: deliver them again, in order, not before
   * `until`. The prefix counts as done; only this topic-partition waits.
   */
  defer?: Deferral;
}

export interface Deferral {
  /** Index in the batch's `records` of the first record not processed (0..records.length). */
  from: number;
  /** Epoch milliseconds before which the partition is not read again. */
  until: number;
}

export type BatchHandlers = { [T in TopicName]: (batch: RecordBatch<T>) => Promise<BatchOutcome | void> };

export interface BatchConsumerOptions {
  kafka: Kafka;
  codec: SchemaCodec;
  groupId: string;
  handlers: Partial<BatchHandlers>;
  producer: EventProducer;
  logger: Logger;
  metrics: Metrics;
  fromBeginning?: boolean;
  /** Records per handler call (default 500). */
  maxBatch?: number;
  /** Partitions handled at once (records of one partition stay in order). Default 3. */
  concurrency?: number;
  retry?: {
    /** First wait after a failed attempt (default 200 ms); doubles per attempt, with jitter. */
    initialMs?: number;
    /** Longest wait between attempts (default 30 s). */
    maxMs?: number;
    /**
     * Retries after an error of the unknown class (neither retriable nor permanent)
     * before the batch is split, and again for the record found alone before it is
     * dead-lettered with reason RETRIES_EXHAUSTED (default 3).
     */
    unknownRetries?: number;
  };
  /** Assignment strategy; default kafkajs' round robin. See coPartitionedAssigner. */
  partitionAssigners?: PartitionAssigner[];
  /** Told the full assignment (physical topic → partitions) after every rebalance. */
  onAssignment?(assignment: Record<string, number[]>): void;
  /** Isolation: read only committed records (default true). */
  readCommitted?: boolean;
  /**
   * Longest time the broker holds a fetch that finds nothing new (kafkajs'
   * maxWaitTimeInMs, default 5000): a partition resumed after a deferral is read again
   * within this time after its `until`.
   */
  maxWaitMs?: number;
  /**
   * Bytes a fetch waits for (up to maxWaitMs) before the broker answers (kafkajs' minBytes,
   * default 1: answer with the first record). A consumer off the notifications' path sets
   * it to get larger batches (fewer produces and commits per record) for some latency.
   */
  minBytes?: number;
  /**
   * Tombstones (null values: a key erased from a compacted topic). Without this option a
   * tombstone is dead-lettered (reason TOMBSTONE); with it each one is handed here and
   * counts as done with its chunk. Called when the chunk is decoded, before the handler
   * sees the chunk's records, and again if the chunk is retried: make it idempotent.
   */
  onTombstone?(t: { topic: TopicName; partition: number; offset: string; key: string | null }): Promise<void> | void;
}

export interface RunningBatchConsumer { stop(): Promise<void> }

/** The DLQ reason of a record whose unknown error outlasted its retries. */
export const RETRIES_EXHAUSTED = 'RETRIES_EXHAUSTED';

/** What became of a chunk: done, deferred from `offset` to `until`, or abandoned because the loop is stopping. */
type ChunkResult = { kind: 'done' } | { kind: 'stopped' } | { kind: 'deferred'; offset: string; until: number };
interface DeadLetter { message: KafkaMessage; err: unknown; reason: string; attempts: number }

/** setTimeout fires at once beyond 2^31-1 ms: longer deferrals re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export async function runBatchConsumer(opts: BatchConsumerOptions): Promise<RunningBatchConsumer> {
  const { kafka, codec, groupId, handlers, logger, metrics, producer } = opts;
  const initialMs = opts.retry?.initialMs ?? 200;
  const maxMs = opts.retry?.maxMs ?? 30_000;
  const unknownRetries = Math.max(0, opts.retry?.unknownRetries ?? 3);
  const maxBatch = opts.maxBatch ?? 500;
  const log = logger.child({ component: 'batch-consumer', groupId });
  const consumer = kafka.consumer({
    groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000, allowAutoTopicCreation: false,
    readUncommitted: opts.readCommitted === false, ...(opts.partitionAssigners ? { partitionAssigners: opts.partitionAssigners } : {}),
    ...(opts.maxWaitMs !== undefined ? { maxWaitTimeInMs: opts.maxWaitMs } : {}),
    ...(opts.minBytes !== undefined ? { minBytes: opts.minBytes } : {}),
  });
  let stopping = false;
  const physicalToLogical = new Map<string, TopicName>();
  for (const t of Object.keys(handlers) as TopicName[]) physicalToLogical.set(codec.topic(t), t);

  /** Partitions paused by a deferral, with the timer that resumes them ("topic|partition"). */
  const paused = new Map<string, { topic: string; partition: number; timer: NodeJS.Timeout }>();
  /** Counts rebalances: a batch of an older generation must not pause anything. */
  let generation = 0;
  const resumeAll = () => {
    for (const d of paused.values()) clearTimeout(d.timer);
    const list = [...paused.values()];
    paused.clear();
    if (list.length) consumer.resume(list.map((d) => ({ topic: d.topic, partitions: [d.partition] })));
  };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    // kafkajs keeps a paused partition paused across a rebalance: whatever is assigned now starts unpaused.
    generation++;
    resumeAll();
    opts.onAssignment?.(e.payload.memberAssignment as Record<string, number[]>);
  });

  /** Pauses one topic-partition until `until`; its position is already back at the first deferred record. */
  const pauseUntil = (topic: string, partition: number, until: number) => {
    const key = `${topic}|${partition}`;
    const before = paused.get(key);
    if (before) clearTimeout(before.timer);
    consumer.pause([{ topic, partitions: [partition] }]);
    const entry = { topic, partition, timer: undefined as unknown as NodeJS.Timeout };
    const fire = () => {
      if (paused.get(key) !== entry) return; // replaced, or cleared by a rebalance or stop
      const left = until - Date.now();
      if (left > 0) { entry.timer = setTimeout(fire, Math.min(left, MAX_TIMER_MS)); return; }
      paused.delete(key);
      if (!stopping) consumer.resume([{ topic, partitions: [partition] }]);
    };
    entry.timer = setTimeout(fire, Math.min(Math.max(0, until - Date.now()), MAX_TIMER_MS));
    paused.set(key, entry);
  };

  await consumer.connect();
  await consumer.subscribe({ topics: [...physicalToLogical.keys()], fromBeginning: opts.fromBeginning ?? true });

  const toDlq = async (topic: string, partition: number, letters: DeadLetter[]) => {
    if (letters.length === 0) return;
    await producer.producer.send({
      topic: dlqTopicOf(topic),
      acks: -1,
      messages: letters.map(({ message, err, reason, attempts }) => ({
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          'dlq.reason': reason,
          'dlq.error': errorMessage(err).slice(0, 2000),
          'dlq.error.name': typeof (err as { name?: unknown } | null)?.name === 'string' ? (err as { name: string }).name : typeof err,
          'dlq.attempts': String(attempts),
          'dlq.source.topic': topic,
          'dlq.source.partition': String(partition),
          'dlq.source.offset': message.offset,
          'dlq.consumer.group': groupId,
          'dlq.at': new Date().toISOString(),
        },
      })),
    });
    for (const { reason } of letters) metrics.deadLetters.inc({ topic, reason });
    metrics.consumed.inc({ topic, outcome: 'dead_letter' }, letters.length);
  };
  /** Dead-letters until the broker takes them (the handler's work is not redone meanwhile); false when stopping. */
  const toDlqUntilDone = async (topic: string, partition: number, letters: DeadLetter[], heartbeat: () => Promise<void>): Promise<boolean> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await toDlq(topic, partition, letters);
        return true;
      } catch (err) {
        if (stopping) return false;
        const wait = backoffMs(attempt, initialMs, maxMs);
        log.warn({ topic, partition, records: letters.length, attempt, waitMs: wait, err: errorMessage(err) }, 'cannot write to the dead-letter topic; retrying');
        await sleep(wait);
        await heartbeat().catch(() => undefined);
      }
    }
  };
  const codeOf = (err: unknown) => {
    const code = (err as { code?: unknown } | null)?.code;
    return code === undefined || code === null ? 'UNKNOWN' : String(code);
  };

  /**
   * Decodes a chunk: the records, and the poison ones (no value, bad bytes: a permanent
   * error) for the DLQ. Any other decoding error (registry unavailable, a bug) is thrown
   * for the chunk's retry.
   */
  const decode = async (topic: string, partition: number, messages: KafkaMessage[], heartbeat: () => Promise<void>) => {
    const logical = physicalToLogical.get(topic)!;
    const records: Delivered<TopicName>[] = [];
    const poison: DeadLetter[] = [];
    for (const message of messages) {
      try {
        if (!message.value && opts.onTombstone) {
          await opts.onTombstone({ topic: logical, partition, offset: message.offset, key: message.key?.toString() ?? null });
          continue;
        }
        if (!message.value) throw Object.assign(new Error('record has no value (tombstone)'), { retriable: false, code: 'TOMBSTONE' });
        const value = await codec.decode(logical, message.value);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
        records.push({ topic: logical, partition, offset: message.offset, key: message.key?.toString() ?? null, value, headers, timestamp: Number(message.timestamp), heartbeat } as Delivered<TopicName>);
      } catch (err) {
        if (classifyError(err) !== 'permanent') throw err;
        poison.push({ message, err, reason: codeOf(err), attempts: 1 });
      }
    }
    return { logical, records, poison };
  };

  /**
   * Runs the handler on records and makes its outcome durable (outputs, then done).
   * Returns the offset of the first deferred record and the time it may come back, if
   * the handler deferred some.
   */
  const apply = async (logical: TopicName, partition: number, records: Delivered<TopicName>[], messages: KafkaMessage[], heartbeat: () => Promise<void>) => {
    if (records.length === 0) return undefined;
    const handler = handlers[logical] as (b: RecordBatch<TopicName>) => Promise<BatchOutcome | void>;
    const outcome = (await handler({ topic: logical, partition, records, heartbeat })) ?? {};
    const defer = outcome.defer;
    if (defer && !(Number.isInteger(defer.from) && defer.from >= 0 && defer.from <= records.length && Number.isFinite(defer.until))) {
      throw new Error(`the ${logical} handler deferred from ${defer.from} until ${defer.until}: from must be an index of the batch (0..${records.length}) and until a time in epoch milliseconds`);
    }
    if (outcome.out?.length) await producer.send(outcome.out);
    await outcome.done?.();
    if (!defer) return undefined;
    const offset = defer.from < records.length ? records[defer.from]!.offset : (BigInt(messages[messages.length - 1]!.offset) + 1n).toString();
    return { offset, until: defer.until, processed: defer.from };
  };

  /**
   * Handles a chunk until it is done (see the three error classes above). `unknownBudget`
   * is how many unknown errors the chunk may meet before it is split (or, alone,
   * dead-lettered). Returns 'stopped' when stopping (nothing of the chunk counts as done).
   */
  const handleChunk = async (topic: string, partition: number, messages: KafkaMessage[], heartbeat: () => Promise<void>, unknownBudget: number): Promise<ChunkResult> => {
    let unknown = 0;
    for (let attempt = 0; ; attempt++) {
      const end = metrics.handleSeconds.startTimer({ topic });
      let err: unknown;
      let deferred: { offset: string; until: number; processed: number } | undefined;
      let decoded: Awaited<ReturnType<typeof decode>>;
      try {
        decoded = await decode(topic, partition, messages, heartbeat);
        deferred = await apply(decoded.logical, partition, decoded.records, messages, heartbeat);
      } catch (e) {
        err = e;
      }
      end();
      if (err === undefined) {
        const { records, poison } = decoded!;
        // Undecodable records after the first deferred one come back with it.
        const dead = deferred ? poison.filter((p) => BigInt(p.message.offset) < BigInt(deferred.offset)) : poison;
        if (dead.length) {
          log.error({ topic, partition, offsets: dead.map((p) => p.message.offset), err: errorMessage(dead[0]!.err) }, 'undecodable records; sending them to the dead-letter topic');
          if (!(await toDlqUntilDone(topic, partition, dead, heartbeat))) return { kind: 'stopped' };
        }
        metrics.consumed.inc({ topic, outcome: 'ok' }, deferred ? deferred.processed : records.length);
        if (!deferred) return { kind: 'done' };
        metrics.consumed.inc({ topic, outcome: 'deferred' }, records.length - deferred.processed);
        return { kind: 'deferred', offset: deferred.offset, until: deferred.until };
      }
      if (stopping) return { kind: 'stopped' };
      const cls = classifyError(err);
      if (cls === 'unknown') unknown++;
      if (cls === 'permanent' || (cls === 'unknown' && unknown > unknownBudget)) {
        if (messages.length === 1) {
          const m = messages[0]!;
          const reason = cls === 'permanent' ? codeOf(err) : RETRIES_EXHAUSTED;
          log.error({ topic, partition, offset: m.offset, reason, attempts: attempt + 1, err: errorMessage(err) },
            cls === 'permanent' ? 'permanent error; sending the record to the dead-letter topic' : 'error neither retriable nor permanent outlasted its retries; sending the record to the dead-letter topic');
          if (!(await toDlqUntilDone(topic, partition, [{ message: m, err, reason, attempts: attempt + 1 }], heartbeat))) return { kind: 'stopped' };
          return { kind: 'done' };
        }
        // Split: a half that meets an unknown error again is split at once; a record alone gets the full budget.
        const half = Math.ceil(messages.length / 2);
        const budget = (n: number) => (cls === 'unknown' && n > 1 ? 0 : unknownRetries);
        for (const part of [messages.slice(0, half), messages.slice(half)]) {
          const r = await handleChunk(topic, partition, part, heartbeat, budget(part.length));
          if (r.kind !== 'done') return r;
        }
        return { kind: 'done' };
      }
      const wait = backoffMs(attempt, initialMs, maxMs);
      metrics.retries.inc({ topic });
      log.warn({ topic, partition, records: messages.length, attempt, class: cls, waitMs: wait, err: errorMessage(err) },
        cls === 'retriable' ? 'retriable error; retrying the batch' : 'unexpected error; retrying the batch a few times');
      await sleep(wait);
      await heartbeat().catch(() => undefined);
    }
  };

  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: opts.concurrency ?? 3,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
      const gen = generation;
      for (let i = 0; i < batch.messages.length; i += maxBatch) {
        if (!isRunning() || isStale()) break;
        const chunk = batch.messages.slice(i, i + maxBatch);
        const r = await handleChunk(batch.topic, batch.partition, chunk, heartbeat, unknownRetries);
        if (r.kind === 'stopped') break;
        // The offset to commit: after the chunk, or the first deferred record. Deferred
        // records are left unresolved, so kafkajs fetches the partition from there again.
        const next = r.kind === 'deferred' ? r.offset : (BigInt(chunk[chunk.length - 1]!.offset) + 1n).toString();
        if (BigInt(next) > BigInt(chunk[0]!.offset)) resolveOffset((BigInt(next) - 1n).toString());
        // The batch's own commit: consumer.commitOffsets is a silent no-op once stop() has begun.
        await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
        if (r.kind === 'deferred') {
          if (!stopping && gen === generation) pauseUntil(batch.topic, batch.partition, r.until);
          log.debug({ topic: batch.topic, partition: batch.partition, offset: r.offset, until: new Date(r.until).toISOString() }, 'records deferred; partition paused');
          break;
        }
        await heartbeat();
      }
    },
  });

  return {
    stop: async () => {
      stopping = true;
      for (const d of paused.values()) clearTimeout(d.timer);
      paused.clear();
      await consumer.disconnect();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
