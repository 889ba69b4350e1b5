#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import type { Infra } from '@sicantik/kafka';
import { MongoClient, type Db, type Document } from 'mongodb';
import { ValidationError, clockFromEnv, type Clock } from '@sicantik/core';
import { baseEnv, loadConfig, z } from '@sicantik/config';
import { followTopic, startInfra, untilAvailable } from '@sicantik/kafka';
import { messageRefOf } from './adapters/projections/messageRef';
import { privacyEnv, privacySettings, startPrivacy } from '@sicantik/privacy';
import type { TopicName } from '@sicantik/schemas';
import { RebuildFold } from './domain/rebuildFold';
import { retentionCutoff } from './domain/model';
import { retentionDays } from './config';
import { checkLayout, chunks } from './adapters/projections/writer';

////////// Rebuild the tracker's projections from the topics into a new database, fast:
//   MONGO_DB=sicantik_projections_v3 CONSUMER_GROUP=sicantik.delivery-tracker-v3 npx sicantik-tracker rebuild
//   (the same: MONGO_DB=… CONSUMER_GROUP=… node services/delivery-tracker/dist/rebuild.js)
// (plus the usual KAFKA_BROKERS, SCHEMA_REGISTRY_URL, TOPIC_PREFIX, MONGO_URL). It takes
// every topic's end offsets, reads everything before them, folds it in memory with the
// live projection's join (domain/rebuildFold.ts), writes each document once in
// batched inserts, and commits CONSUMER_GROUP's offsets at those end offsets. A tracker
// then started with the same MONGO_DB and CONSUMER_GROUP continues from there. The live
// consumer loop would write each notification once per topic that carries it (a
// replace per batch); this writes it once. Refuses a database that holds projections
// or a group that has committed offsets.

const TOPICS = ['notification.requests', 'notification.rendered', 'notification.dispatch', 'delivery.status', 'planner.decisions', 'privacy.requests'] as const satisfies readonly TopicName[];

const configSchema = z.object({
  ...baseEnv,
  ...privacyEnv,
  MONGO_DB: z.string().min(1),
  CONSUMER_GROUP: z.string().min(1).optional(),
  RETENTION_DAYS: retentionDays,
});

/** Documents inserted in batches of 1000 as they come, one batch at a time. */
class Streamed {
  private batch: Document[] = [];
  private chain: Promise<void> = Promise.resolve();
  written = 0;
  constructor(private readonly db: Db, private readonly name: string) {}
  add(doc: Document | undefined): void {
    if (!doc) return;
    this.batch.push(doc);
    if (this.batch.length >= 1000) this.flush();
  }
  private flush(): void {
    const docs = this.batch; this.batch = [];
    this.written += docs.length;
    if (docs.length) this.chain = this.chain.then(() => insertAll(this.db, this.name, docs));
  }
  end(): Promise<void> { this.flush(); return this.chain; }
}

async function insertAll(db: Db, name: string, docs: Document[]): Promise<void> {
  for (const c of chunks(docs, 1000)) await db.collection(name).insertMany(c, { ordered: false });
}

/**
 * A member of the group that pauses everything as soon as it has joined, then commits
 * offsets for several topics at once and leaves (kafkajs' admin.setOffsets joins the
 * group once per topic, seconds each).
 */
async function joinPaused(kafka: Infra['kafka'], groupId: string, topics: string[]): Promise<{ commit(offsets: { topic: string; ends: Map<number, bigint> }[]): Promise<void> }> {
  // A short fetch wait: a paused member's loop sleeps that long between polls, and its
  // disconnect waited for the sleep (1.7-2.2 s at the default 5 s; 7 ms at 50 ms).
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 50 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => { consumer.pause(topics.map((topic) => ({ topic }))); resolve(); }));
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
    await joined;
  } catch (e) {
    await consumer.disconnect();
    throw e;
  }
  return {
    async commit(offsets) {
      try {
        await consumer.commitOffsets(offsets.flatMap((t) => [...t.ends].map(([partition, end]) => ({ topic: t.topic, partition, offset: end.toString() }))));
      } finally {
        await consumer.disconnect();
      }
    },
  };
}

/** What a rebuild did: the database and group it wrote, counts and timings. */
export interface RebuildSummary {
  db: string;
  groupId: string;
  events: number;
  notifications: number;
  documents: number;
  [timing: string]: string | number;
}

/**
 * Rebuilds into the environment's MONGO_DB and commits CONSUMER_GROUP's offsets; throws when it cannot (exit 1 at the CLI).
 * clock: the "now" of the retention rule (default: the tracker's clock, SICANTIK_TEST_CLOCK_FILE in end-to-end tests).
 */
export async function rebuild(env: NodeJS.ProcessEnv, clock: Clock = clockFromEnv(env)): Promise<RebuildSummary> {
  const cfg = loadConfig(configSchema, env);
  const groupId = cfg.CONSUMER_GROUP ?? `${cfg.TOPIC_PREFIX}delivery-tracker-projection`;
  const infra = await startInfra('delivery-tracker-rebuild', cfg, [...TOPICS, 'subject.keys', 'subject.index']);
  const { logger, admin, codec, kafka } = infra;
  // Personal fields are read as the live tracker reads them (decrypted; an erased subject's as erased).
  const privacy = await startPrivacy({ kafka, admin, codec, settings: privacySettings(cfg), topicPrefix: cfg.TOPIC_PREFIX, service: 'delivery-tracker-rebuild', instance: cfg.SERVICE_INSTANCE, logger, registry: false, nudge: false });
  const mongo = await MongoClient.connect(cfg.MONGO_URL, { serverSelectionTimeoutMS: 5000 });
  try {
    const db = mongo.db(cfg.MONGO_DB);
    for (const name of ['tracker_meta', 'notifications', 'planner_decisions']) {
      if (await db.collection(name).findOne({}, { projection: { _id: 1 } })) throw new ValidationError(`database ${cfg.MONGO_DB} is not empty (${name}): rebuild into a new MONGO_DB`);
    }
    const committed = await untilAvailable(() => admin.fetchOffsets({ groupId, topics: TOPICS.map((t) => codec.topic(t)) }));
    if (committed.some((t) => t.partitions.some((p) => p.offset !== '-1'))) throw new ValidationError(`consumer group ${groupId} has committed offsets: rebuild with a new CONSUMER_GROUP`);

    const t0 = performance.now();
    const ends = new Map<TopicName, Map<number, bigint>>();
    for (const t of TOPICS) ends.set(t, new Map((await untilAvailable(() => admin.fetchTopicOffsets(codec.topic(t)))).map((o) => [o.partition, BigInt(o.high)])));
    const fold = new RebuildFold(messageRefOf(cfg.PRIVACY_INDEX_KEY));
    await checkLayout(db);
    // The group joins (seconds: the broker's rebalance delay) while the topics are read; it commits at the end.
    const member = joinPaused(kafka, groupId, TOPICS.map((t) => codec.topic(t)));
    member.catch(() => undefined); // awaited (and thrown) at the end
    // Decisions and message-map entries are insert-only: written while the rest is still being read.
    const streams = { planner_decisions: new Streamed(db, 'planner_decisions'), provider_messages: new Streamed(db, 'provider_messages') };
    const apply: { [T in (typeof TOPICS)[number]]: (v: never) => void } = {
      'notification.requests': (v) => fold.requested(v), 'notification.rendered': (v) => fold.rendered(v),
      'notification.dispatch': (v) => streams.provider_messages.add(fold.dispatched(v)),
      'delivery.status': (v) => fold.status(v),
      'planner.decisions': (v) => streams.planner_decisions.add(fold.decision(v)),
      'privacy.requests': (v) => fold.privacy(v),
    };
    const run = randomBytes(3).toString('hex');
    await Promise.all(TOPICS.map((t) => {
      // Offsets stay far below 2^53: compared as numbers, once per record.
      const end = new Map([...ends.get(t)!].map(([p, o]) => [p, Number(o)]));
      return followTopic({
        kafka, admin, codec, topic: t, groupId: `${cfg.TOPIC_PREFIX}tracker-rebuild-${run}-${t}`,
        onMessage: (value, { partition, offset }) => { if (Number(offset) < (end.get(partition) ?? 0)) apply[t](value as never); },
      });
    }));
    const t1 = performance.now();
    // The retention rule at this moment (the same clock the tracker reads: SICANTIK_TEST_CLOCK_FILE in tests).
    const out = fold.output(`rebuild.${run}`, cfg.RETENTION_DAYS === 0 ? null : retentionCutoff(clock.now().getTime(), cfg.RETENTION_DAYS));
    // One insert stream per collection, concurrently: the database serialises the writes
    // to its file, but encoding and decoding overlap on the other core.
    await Promise.all([
      streams.planner_decisions.end(), streams.provider_messages.end(),
      insertAll(db, 'notifications', out.notifications), insertAll(db, 'provider_messages', out.messages),
      insertAll(db, 'pending_statuses', out.pending), insertAll(db, 'notification_stats', out.notificationStats), insertAll(db, 'decision_stats', out.decisionStats),
      insertAll(db, 'erased_subjects', out.erasedSubjects),
    ]);
    const t2 = performance.now();
    await (await member).commit(TOPICS.map((t) => ({ topic: codec.topic(t), ends: ends.get(t)! })));
    // Read back: the tracker started next must continue exactly at the ends.
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics: TOPICS.map((t) => codec.topic(t)) })) {
      const t = TOPICS.find((x) => codec.topic(x) === topic)!;
      for (const p of partitions) if (BigInt(p.offset) !== (ends.get(t)!.get(p.partition) ?? 0n)) throw new Error(`group ${groupId}: ${topic}[${p.partition}] committed at ${p.offset}, expected ${ends.get(t)!.get(p.partition)}`);
    }
    const documents = out.notifications.length + out.messages.length + out.pending.length + streams.planner_decisions.written + streams.provider_messages.written + out.notificationStats.length + out.decisionStats.length + out.erasedSubjects.length;
    const summary = {
      db: cfg.MONGO_DB, groupId, events: fold.events, notifications: out.notifications.length, documents,
      startSeconds: +(t0 / 1000).toFixed(2), readSeconds: +((t1 - t0) / 1000).toFixed(2), writeSeconds: +((t2 - t1) / 1000).toFixed(2), offsetsSeconds: +((performance.now() - t2) / 1000).toFixed(2),
      eventsPerSecond: Math.round(fold.events / ((t2 - t0) / 1000)), documentsPerSecondWritten: Math.round(documents / ((t2 - t1) / 1000)),
    };
    logger.info(summary, 'projections rebuilt; start the tracker with this MONGO_DB and CONSUMER_GROUP');
    return summary;
  } finally {
    await mongo.close();
    await privacy.close();
    await infra.close();
  }
}

// Run directly (node dist/rebuild.js [--help]): the same as `sicantik-tracker rebuild`.
if (require.main === module) {
  void import('./cli').then(({ main }) => main([process.argv[0]!, 'sicantik-tracker', 'rebuild', ...process.argv.slice(2)])).then((code) => process.exit(code));
}
