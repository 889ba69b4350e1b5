import { Kafka, Partitioners, logLevel, type Admin, type Producer, type IHeaders } from 'kafkajs';
import { TransientError, groupCommit } from '@sicantik/core';
import type { Logger } from '@sicantik/observability';
import { TOPICS, TOPIC_NAMES, dlqTopicOf, type SchemaCodec, type TopicName, type TopicValues } from '@sicantik/schemas';

////////// Kafka client, topics, producer

export function createKafka(opts: { brokers: string[]; clientId: string; logger: Logger }): Kafka {
  const log = opts.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    connectionTimeout: 5000,
    retry: { initialRetryTime: 200, retries: 10 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ level, log: entry }) => {
      const { message, ...rest } = entry;
      if (/switched default partitioner|Limiting retries for the idempotent producer/.test(message)) return;
      if (level <= logLevel.ERROR) log.error(rest, message);
      else log.warn(rest, message);
    },
  });
}

export interface TopicLayout { prefix: string; partitions: number; replicationFactor: number }

/**
 * Creates every topic (and each consumed topic's DLQ) explicitly; existing ones are
 * left as they are. Several services starting at once race to create the same
 * topics: a creation that fails is retried for what is still missing, and the call
 * returns only when every topic is known with a leader for each partition.
 */
export async function ensureTopics(admin: Admin, layout: TopicLayout, names: readonly TopicName[] = TOPIC_NAMES): Promise<void> {
  const all = names.flatMap((n) => {
    const topic = `${layout.prefix}${n}`;
    const spec = TOPICS[n];
    const configEntries = spec.compacted
      ? (spec.retentionMs ? [{ name: 'cleanup.policy', value: 'compact,delete' }, { name: 'retention.ms', value: String(spec.retentionMs) }] : [{ name: 'cleanup.policy', value: 'compact' }])
      : [{ name: 'retention.ms', value: '-1' }];
    return [
      { topic, numPartitions: spec.compacted && !spec.copartitioned ? 1 : layout.partitions, replicationFactor: layout.replicationFactor, configEntries },
      { topic: dlqTopicOf(topic), numPartitions: 1, replicationFactor: layout.replicationFactor, configEntries: [{ name: 'retention.ms', value: '-1' }] },
    ];
  });
  let lastError: unknown;
  for (let attempt = 0; attempt < 12; attempt++) {
    const existing = new Set(await admin.listTopics());
    const missing = all.filter((t) => !existing.has(t.topic));
    try {
      if (missing.length) await admin.createTopics({ topics: missing, waitForLeaders: true });
      const meta = await admin.fetchTopicMetadata({ topics: all.map((t) => t.topic) });
      if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (e) {
      lastError = e; // created concurrently by another service, or not yet visible: look again
    }
    await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
  }
  const after = new Set(await admin.listTopics());
  const missing = all.filter((t) => !after.has(t.topic)).map((t) => t.topic);
  throw new TransientError(`could not create topics: ${missing.join(', ') || '(all exist, but without leaders)'}`, lastError);
}

/** A record to produce; `partition` pins it (e.g. a changelog record to its input's partition), else the key decides. */
export interface OutMessage<T extends TopicName> { topic: T; key: string; value: TopicValues[T]; headers?: IHeaders; partition?: number }

/** Metrics hooks: each record produced (by topic), each produce request made. */
export interface ProducerHooks { produced?(topic: string): void; request?(): void }

/**
 * Typed, schema-encoding, idempotent producer. `send` resolves only after all replicas
 * acknowledged. Sends are group-committed: while one produce request is in flight
 * (an idempotent producer has one at a time), every `send` made meanwhile joins the
 * next request, so N concurrent callers cost about two produce round trips, not N.
 * Each caller's messages keep their order; a failed request fails every caller in it
 * (each retries its own messages).
 */
export class EventProducer {
  /** Produce requests made (for tests and benchmarks: how many sends were merged). */
  requests = 0;
  private readonly enqueue: (messages: Encoded[]) => Promise<void>;

  constructor(readonly producer: Producer, private readonly codec: SchemaCodec, private readonly hooks: ProducerHooks = {}) {
    this.enqueue = groupCommit(async (groups: Encoded[][]) => {
      const byTopic = new Map<string, Omit<Encoded, 'topic'>[]>();
      for (const { topic, ...m } of groups.flat()) {
        const list = byTopic.get(topic) ?? [];
        list.push(m);
        byTopic.set(topic, list);
      }
      this.requests++;
      this.hooks.request?.();
      try {
        await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
      } catch (e) {
        throw new TransientError(`produce failed: ${(e as Error).message}`, e);
      }
      for (const [topic, msgs] of byTopic) for (let i = 0; i < msgs.length; i++) this.hooks.produced?.(topic);
      return groups.map(() => undefined);
    });
  }

  static create(kafka: Kafka, codec: SchemaCodec, hooks: ProducerHooks = {}): EventProducer {
    return new EventProducer(kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }), codec, hooks);
  }

  async connect(): Promise<void> { await this.producer.connect(); }
  async disconnect(): Promise<void> { await this.producer.disconnect(); }

  async send(messages: OutMessage<TopicName>[]): Promise<void> {
    if (messages.length === 0) return;
    // Encoded by the caller (a schema error is the caller's alone).
    await this.enqueue(messages.map((m) => ({ topic: this.codec.topic(m.topic), key: m.key, value: this.codec.encode(m.topic, m.value as never), headers: m.headers, ...(m.partition !== undefined ? { partition: m.partition } : {}) })));
  }
}

interface Encoded { topic: string; key: string; value: Buffer; headers?: IHeaders; partition?: number }
