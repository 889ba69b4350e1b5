import type { KafkaMessage, PartitionAssigner } from 'kafkajs';
import { errorMessage, isRetriable } from '@sicantik/core';
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
// effectively-once out). Retriable errors retry the whole batch with backoff and
// jitter; a permanent error splits the batch to find the record that causes it,
// which goes to `<topic>.dlq` with its reason while the others proceed.

export interface RecordBatch<T extends TopicName> {
  topic: T;
  partition: number;
  records: Delivered<T>[];
  /** Keeps the group membership alive during long work. */
  heartbeat(): Promise<void>;
}

export interface BatchOutcome {
  /** Records to produce before the batch counts as done. */
  out?: OutMessage<TopicName>[];
  /** Runs after the outputs are durable and before the offsets are committed. */
  done?(): void | Promise<void>;
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
  retry?: { initialMs?: number; maxMs?: number };
  /** Assignment strategy; default kafkajs' round robin. See coPartitionedAssigner. */
  partitionAssigners?: PartitionAssigner[];
  /** Told the full assignment (physical topic → partitions) after every rebalance. */
  onAssignment?(assignment: Record<string, number[]>): void;
  /** Isolation: read only committed records (default true). */
  readCommitted?: boolean;
}

export interface RunningBatchConsumer { stop(): Promise<void> }

export async function runBatchConsumer(opts: BatchConsumerOptions): Promise<RunningBatchConsumer> {
  const { kafka, codec, groupId, handlers, logger, metrics, producer } = opts;
  const initialMs = opts.retry?.initialMs ?? 200;
  const maxMs = opts.retry?.maxMs ?? 30_000;
  const maxBatch = opts.maxBatch ?? 500;
  const log = logger.child({ component: 'batch-consumer', groupId });
  const consumer = kafka.consumer({
    groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000, allowAutoTopicCreation: false,
    readUncommitted: opts.readCommitted === false, ...(opts.partitionAssigners ? { partitionAssigners: opts.partitionAssigners } : {}),
  });
  let stopping = false;
  const physicalToLogical = new Map<string, TopicName>();
  for (const t of Object.keys(handlers) as TopicName[]) physicalToLogical.set(codec.topic(t), t);
  if (opts.onAssignment) {
    const onAssignment = opts.onAssignment;
    consumer.on(consumer.events.GROUP_JOIN, (e) => onAssignment(e.payload.memberAssignment as Record<string, number[]>));
  }

  await consumer.connect();
  await consumer.subscribe({ topics: [...physicalToLogical.keys()], fromBeginning: opts.fromBeginning ?? true });

  const toDlq = async (topic: string, partition: number, messages: { message: KafkaMessage; err: unknown }[]) => {
    if (messages.length === 0) return;
    await producer.producer.send({
      topic: dlqTopicOf(topic),
      acks: -1,
      messages: messages.map(({ message, err }) => ({
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          'dlq.reason': (err as { code?: string }).code ?? 'UNKNOWN',
          'dlq.error': errorMessage(err).slice(0, 2000),
          'dlq.source.topic': topic,
          'dlq.source.partition': String(partition),
          'dlq.source.offset': message.offset,
          'dlq.consumer.group': groupId,
          'dlq.at': new Date().toISOString(),
        },
      })),
    });
    for (const { err } of messages) metrics.deadLetters.inc({ topic, reason: (err as { code?: string }).code ?? 'UNKNOWN' });
    metrics.consumed.inc({ topic, outcome: 'dead_letter' }, messages.length);
  };

  /** Decodes a chunk: the records, and the poison ones (no value, bad bytes) for the DLQ. */
  const decode = async (topic: string, partition: number, messages: KafkaMessage[], heartbeat: () => Promise<void>) => {
    const logical = physicalToLogical.get(topic)!;
    const records: Delivered<TopicName>[] = [];
    const poison: { message: KafkaMessage; err: unknown }[] = [];
    const byOffset = new Map<string, KafkaMessage>();
    for (const message of messages) {
      try {
        if (!message.value) throw Object.assign(new Error('record has no value (tombstone)'), { retriable: false, code: 'TOMBSTONE' });
        const value = await codec.decode(logical, message.value);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
        records.push({ topic: logical, partition, offset: message.offset, key: message.key?.toString() ?? null, value, headers, timestamp: Number(message.timestamp), heartbeat } as Delivered<TopicName>);
        byOffset.set(message.offset, message);
      } catch (err) {
        if (isRetriable(err)) throw err; // registry unavailable: retry the whole chunk
        poison.push({ message, err });
      }
    }
    return { logical, records, poison, byOffset };
  };

  /** Runs the handler on records and makes its outcome durable (outputs, then done). */
  const apply = async (logical: TopicName, partition: number, records: Delivered<TopicName>[], heartbeat: () => Promise<void>) => {
    if (records.length === 0) return;
    const handler = handlers[logical] as (b: RecordBatch<TopicName>) => Promise<BatchOutcome | void>;
    const outcome = (await handler({ topic: logical, partition, records, heartbeat })) ?? {};
    if (outcome.out?.length) await producer.send(outcome.out);
    await outcome.done?.();
  };

  /**
   * Handles a chunk until it is done: retriable errors retry it; a permanent error
   * splits it in halves until the failing record is alone, then dead-letters that
   * record. Returns false when stopping (nothing of the chunk counts as done).
   */
  const handleChunk = async (topic: string, partition: number, messages: KafkaMessage[], heartbeat: () => Promise<void>): Promise<boolean> => {
    for (let attempt = 0; ; attempt++) {
      const end = metrics.handleSeconds.startTimer({ topic });
      try {
        const { logical, records, poison, byOffset } = await decode(topic, partition, messages, heartbeat);
        try {
          await apply(logical, partition, records, heartbeat);
        } catch (err) {
          if (isRetriable(err)) throw err;
          if (records.length === 1) {
            log.error({ topic, partition, offset: records[0]!.offset, err: errorMessage(err) }, 'permanent error; sending record to dead-letter topic');
            await toDlq(topic, partition, [{ message: byOffset.get(records[0]!.offset)!, err }]);
          } else {
            const half = Math.ceil(records.length / 2);
            const msgs = records.map((r) => byOffset.get(r.offset)!);
            if (!(await handleChunk(topic, partition, msgs.slice(0, half), heartbeat))) return false;
            if (!(await handleChunk(topic, partition, msgs.slice(half), heartbeat))) return false;
          }
          records.length = 0; // counted as dead letters or by the halves
        }
        if (poison.length) {
          log.error({ topic, partition, offsets: poison.map((p) => p.message.offset), err: errorMessage(poison[0]!.err) }, 'undecodable records; sending them to the dead-letter topic');
          await toDlq(topic, partition, poison);
        }
        metrics.consumed.inc({ topic, outcome: 'ok' }, records.length);
        end();
        return true;
      } catch (err) {
        end();
        if (stopping) return false;
        const wait = backoffMs(attempt, initialMs, maxMs);
        metrics.retries.inc({ topic });
        log.warn({ topic, partition, records: messages.length, attempt, waitMs: wait, err: errorMessage(err) }, 'retriable error; retrying the batch');
        await sleep(wait);
        await heartbeat().catch(() => undefined);
      }
    }
  };

  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: opts.concurrency ?? 3,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
      for (let i = 0; i < batch.messages.length; i += maxBatch) {
        if (!isRunning() || isStale()) break;
        const chunk = batch.messages.slice(i, i + maxBatch);
        if (!(await handleChunk(batch.topic, batch.partition, chunk, heartbeat))) break;
        const last = chunk[chunk.length - 1]!.offset;
        resolveOffset(last);
        // The batch's own commit: consumer.commitOffsets is a silent no-op once stop() has begun.
        await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }] });
        await heartbeat();
      }
    },
  });

  return { stop: async () => { stopping = true; await consumer.disconnect(); } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
