import { ConfigResourceTypes, Kafka, Partitioners, logLevel, type Admin, type Producer, type IHeaders } from 'kafkajs';
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
      ? [...(spec.retentionMs ? [{ name: 'cleanup.policy', value: 'compact,delete' }, { name: 'retention.ms', value: String(spec.retentionMs) }] : [{ name: 'cleanup.policy', value: 'compact' }]), ...compactionLagConfig(spec.maxCompactionLagMs)]
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
      if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) {
        await applyCompactionLag(admin, all.filter((t) => t.configEntries.some((e) => e.name === 'max.compaction.lag.ms')));
        return;
      }
    } catch (e) {
      lastError = e; // created concurrently by another service, or not yet visible: look again
    }
    await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
  }
  const after = new Set(await admin.listTopics());
  const missing = all.filter((t) => !after.has(t.topic)).map((t) => t.topic);
  throw new TransientError(`could not create topics: ${missing.join(', ') || '(all exist, but without leaders)'}`, lastError);
}

/**
 * Topic settings under which a superseded record or a tombstoned key's records are gone
 * within `lagMs` of the newer record, also on a quiet topic (issue 16, erasure):
 * - the active segment is never compacted, so it must roll: `segment.ms` = lagMs/4 (Kafka
 *   rolls on the first append after it; compactionNudge() appends that record every
 *   COMPACTION_NUDGE_MS on a quiet topic);
 * - a rolled segment's records older than `max.compaction.lag.ms` (= 3/4 lagMs) are
 *   compacted at the cleaner's next pass whatever `min.cleanable.dirty.ratio` says;
 * - the tombstone itself (it holds only the key) stays `delete.retention.ms` (= lagMs) after
 *   that pass, so a reader that was down for less than that still sees it.
 * Worst case: roll within lagMs/4 + the nudge interval, compaction within 3/4 lagMs of the
 * record, plus the cleaner's back-off (15 s by default): inside lagMs.
 */
export function compactionLagConfig(lagMs: number | undefined): { name: string; value: string }[] {
  if (!lagMs) return [];
  return [
    { name: 'max.compaction.lag.ms', value: String(Math.floor((lagMs * 3) / 4)) },
    { name: 'segment.ms', value: String(Math.floor(lagMs / 4)) },
    { name: 'delete.retention.ms', value: String(lagMs) },
  ];
}

/**
 * A topic created before its catalogue entry had maxCompactionLagMs (e.g. by a service of an
 * earlier version) keeps the settings it was created with: set them (all of the topic's
 * configuration entries at once, as AlterConfigs replaces them) where one is missing, differs,
 * or is a time limit above the required one.
 */
const LIMITS = new Set(['max.compaction.lag.ms', 'segment.ms', 'delete.retention.ms']);
async function applyCompactionLag(admin: Admin, topics: { topic: string; configEntries: { name: string; value: string }[] }[]): Promise<void> {
  if (topics.length === 0) return;
  const described = await admin.describeConfigs({ includeSynonyms: false, resources: topics.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.topic, configNames: t.configEntries.map((e) => e.name) })) });
  const current = new Map(described.resources.map((r) => [r.resourceName, new Map(r.configEntries.map((e) => [e.configName, e.configValue]))]));
  // A time limit already lower than required is kept (it compacts sooner: e.g. a test's seconds).
  const lacks = (have: string | null | undefined, e: { name: string; value: string }) =>
    have == null || (LIMITS.has(e.name) ? Number(have) > Number(e.value) : have !== e.value);
  const stale = topics.filter((t) => t.configEntries.some((e) => lacks(current.get(t.topic)?.get(e.name), e)));
  if (stale.length) await admin.alterConfigs({ validateOnly: false, resources: stale.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.topic, configEntries: t.configEntries })) });
}

/** How often compactionNudge() appends to a quiet topic (under lagMs/4 for the catalogue's 24 h). */
export const COMPACTION_NUDGE_MS = 3600_000;

/** The key of the tombstones compactionNudge() writes (no subject or blind index looks like it). */
export const NUDGE_KEY = '~roll';

/**
 * Appends one tombstone of NUDGE_KEY to each partition of `topics` (physical names), so that
 * Kafka checks whether the active segment is due to roll (it does so only on an append)
 * and a quiet compacted topic still compacts within its max.compaction.lag.ms.
 */
export async function compactionNudge(admin: Admin, producer: Producer, topics: readonly string[]): Promise<void> {
  for (const topic of topics) {
    const offsets = await admin.fetchTopicOffsets(topic);
    await producer.send({ topic, acks: -1, messages: offsets.map((o) => ({ key: NUDGE_KEY, value: null, partition: o.partition })) });
  }
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
    // With a personal-data hook, the subjects' keys must be in memory before encoding.
    if (this.codec.personalData) {
      const byTopic = new Map<TopicName, unknown[]>();
      for (const m of messages) {
        const list = byTopic.get(m.topic);
        if (list) list.push(m.value); else byTopic.set(m.topic, [m.value]);
      }
      for (const [topic, values] of byTopic) { const ready = this.codec.prepare(topic, values); if (ready) await ready; }
    }
    // Encoded by the caller (a schema error is the caller's alone).
    await this.enqueue(messages.map((m) => ({ topic: this.codec.topic(m.topic), key: m.key, value: this.codec.encode(m.topic, m.value as never), headers: m.headers, ...(m.partition !== undefined ? { partition: m.partition } : {}) })));
  }

  /**
   * Tombstones (null values): on a compacted topic, compaction then removes every record
   * of the key (erasure, issue 16). Same batching and acknowledgement as send().
   */
  async sendTombstones(tombstones: Tombstone[]): Promise<void> {
    if (tombstones.length === 0) return;
    await this.enqueue(tombstones.map((t) => ({ topic: this.codec.topic(t.topic), key: t.key, value: null, headers: t.headers, ...(t.partition !== undefined ? { partition: t.partition } : {}) })));
  }
}

/** A null value for a key of a compacted topic; `partition` pins it (else the key decides). */
export interface Tombstone { topic: TopicName; key: string; headers?: IHeaders; partition?: number }

interface Encoded { topic: string; key: string; value: Buffer | null; headers?: IHeaders; partition?: number }
