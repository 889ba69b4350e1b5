import type { Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { errorMessage, isRetriable } from '@sicantik/core';
import type { Logger, Metrics } from '@sicantik/observability';
import { dlqTopicOf, type SchemaCodec, type TopicName, type TopicValues } from '@sicantik/schemas';

////////// Consumer loop
// At-least-once in: an offset is committed only after the handler's effect is
// durable (the handler resolved) or after the record went to the dead-letter
// topic with its reason. Retriable errors are retried with exponential backoff
// and jitter, without committing; permanent ones go to `<topic>.dlq`.

export interface Delivered<T extends TopicName> {
  topic: T;
  partition: number;
  offset: string;
  key: string | null;
  value: TopicValues[T];
  headers: Record<string, string>;
  timestamp: number;
  /** Keeps the group membership alive during long handler work (e.g. retry waits). */
  heartbeat(): Promise<void>;
}

export type Handler = { [T in TopicName]: (msg: Delivered<T>) => Promise<void> };

export interface ConsumerOptions {
  kafka: Kafka;
  codec: SchemaCodec;
  groupId: string;
  handlers: Partial<Handler>;
  dlqProducer: Producer;
  logger: Logger;
  metrics: Metrics;
  fromBeginning?: boolean;
  /** Partitions handled at once (records of one partition stay in order). Default 3. */
  concurrency?: number;
  retry?: { initialMs?: number; maxMs?: number };
}

export interface RunningConsumer { consumer: Consumer; stop(): Promise<void> }

export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + (base / 2) * random());
}

export async function runConsumer(opts: ConsumerOptions): Promise<RunningConsumer> {
  const { kafka, codec, groupId, handlers, logger, metrics } = opts;
  const initialMs = opts.retry?.initialMs ?? 200;
  const maxMs = opts.retry?.maxMs ?? 30_000;
  const log = logger.child({ component: 'consumer', groupId });
  const consumer = kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000, allowAutoTopicCreation: false });
  let stopping = false;
  const physicalToLogical = new Map<string, TopicName>();
  for (const t of Object.keys(handlers) as TopicName[]) physicalToLogical.set(codec.topic(t), t);

  await consumer.connect();
  await consumer.subscribe({ topics: [...physicalToLogical.keys()], fromBeginning: opts.fromBeginning ?? true });

  const toDlq = async (topic: string, partition: number, message: KafkaMessage, err: unknown) => {
    const code = (err as { code?: string }).code ?? 'UNKNOWN';
    await opts.dlqProducer.send({
      topic: dlqTopicOf(topic),
      acks: -1,
      messages: [{
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          'dlq.reason': code,
          'dlq.error': errorMessage(err).slice(0, 2000),
          'dlq.source.topic': topic,
          'dlq.source.partition': String(partition),
          'dlq.source.offset': message.offset,
          'dlq.consumer.group': groupId,
          'dlq.at': new Date().toISOString(),
        },
      }],
    });
    metrics.deadLetters.inc({ topic, reason: code });
  };

  /** Handles one record; false when the consumer is stopping and the record is left for redelivery. */
  const handleOne = async (topic: string, partition: number, message: KafkaMessage, heartbeat: () => Promise<void>): Promise<boolean> => {
    const logical = physicalToLogical.get(topic)!;
    const handler = handlers[logical] as ((m: Delivered<TopicName>) => Promise<void>) | undefined;
    const end = metrics.handleSeconds.startTimer({ topic });
    for (let attempt = 0; ; attempt++) {
      try {
        if (!message.value) throw Object.assign(new Error('record has no value (tombstone)'), { retriable: false, code: 'TOMBSTONE' });
        const value = await codec.decode(logical, message.value);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
        await handler!({
          topic: logical, partition, offset: message.offset, key: message.key?.toString() ?? null,
          value, headers, timestamp: Number(message.timestamp), heartbeat: () => heartbeat(),
        } as Delivered<TopicName>);
        metrics.consumed.inc({ topic, outcome: 'ok' });
        end();
        return true;
      } catch (err) {
        if (!isRetriable(err)) {
          log.error({ topic, partition, offset: message.offset, err: errorMessage(err) }, 'permanent error; sending record to dead-letter topic');
          await toDlq(topic, partition, message, err); // if this throws, kafkajs redelivers: nothing is lost
          metrics.consumed.inc({ topic, outcome: 'dead_letter' });
          end();
          return true;
        }
        // Stopping: leave it uncommitted, redelivered after the restart. (Throwing here would make
        // kafkajs restart this consumer, which then rejoins the group while stopping.)
        if (stopping) return false;
        const wait = backoffMs(attempt, initialMs, maxMs);
        metrics.retries.inc({ topic });
        log.warn({ topic, partition, offset: message.offset, attempt, waitMs: wait, err: errorMessage(err) }, 'retriable error; retrying');
        await sleep(wait);
        await heartbeat().catch(() => undefined);
      }
    }
  };

  // Records of one partition are handled one after another, in order; up to
  // `concurrency` partitions at once. The offset committed is always that of the
  // last record whose effect is done (every 100 records or 1 s, and at the end of a
  // batch): a crash redelivers at most those, which every handler absorbs.
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: opts.concurrency ?? 3,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
      let done: string | null = null;
      let since = 0;
      let last = Date.now();
      const commit = async () => {
        if (done === null) return;
        // The batch's own commit: consumer.commitOffsets is a silent no-op once stop() has begun.
        await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(done) + 1n).toString() }] }] });
        done = null; since = 0; last = Date.now();
      };
      try {
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break;
          if (!(await handleOne(batch.topic, batch.partition, message, heartbeat))) break;
          resolveOffset(message.offset);
          done = message.offset;
          if (++since >= 100 || Date.now() - last >= 1000) await commit();
          await heartbeat();
        }
      } finally {
        await commit();
      }
    },
  });

  return {
    consumer,
    stop: async () => { stopping = true; await consumer.disconnect(); },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
