import { MongoClient } from 'mongodb';
import { clockFromEnv } from '@sicantik/core';
import { coPartitionedAssigner, installShutdown, runBatchConsumer, runService, startInfra, type Infra } from '@sicantik/kafka';
import { countDbCommands, listen, loadOpenApi, openApiPathFrom, opsRouter, withDocs } from '@sicantik/observability';
import type { TopicName } from '@sicantik/schemas';
import { randomUUID } from 'node:crypto';
import { createApp } from './adapters/http';
import { LagMonitor } from './adapters/lag';
import { followPrivacyRequests, type PrivacyDeps } from './adapters/privacy';
import { KeyExpiryJob } from './adapters/keyExpiry';
import { messageRefOf } from './adapters/projections/messageRef';
import { contactRecord, statusRecord } from './adapters/received';
import { webhookRejectedCounter, type WebhookDeps } from './adapters/webhooks';
import { readConfig, type Config } from './config';
import { DecisionProjection } from './adapters/projections/decisions';
import { NotificationProjection } from './adapters/projections/store';
import { Serial } from './adapters/projections/writer';
import { privacySettings, startPrivacy, type KeyRing, type SubjectRegistry } from '@sicantik/privacy';

/** The system clock, or a test's movable one (SICANTIK_TEST_CLOCK_FILE, see @sicantik/core clock.ts). */
const clock = clockFromEnv();

////////// Composition root
// TRACKER_ROLE (config.ts) chooses what this process runs: `receiver` the webhooks only
// (Kafka producer, no database, no consumer), `projection` the consumer, MongoDB and the
// statistics API only, `all` both. Every role serves /healthz, /readyz and /metrics.

const PROJECTED: readonly TopicName[] = ['notification.requests', 'notification.rendered', 'notification.dispatch', 'delivery.status', 'contact.events', 'planner.decisions', 'privacy.requests', 'subject.keys', 'subject.index', 'subject.retention'];
const RECEIVED: readonly TopicName[] = ['delivery.status', 'contact.events', 'subject.keys', 'subject.index'];

/** The webhook side: verifies, writes what it received to delivery.status / contact.events, answers. */
function receiver(cfg: Config, infra: Infra, subjects: SubjectRegistry): WebhookDeps {
  const { logger, metrics, producer } = infra;
  return {
    logger, now: () => clock.now(),
    // Keyed by the message's ref (a keyed hash of the id; the dispatcher's reconciler keys dispatch.awaiting-report by the same); the id itself is not written (received.ts).
    publish: (events) => producer.send(events.map((e) => ({ topic: 'delivery.status' as const, ...statusRecord(cfg.PRIVACY_INDEX_KEY, e) }))),
    // Keyed by the sender's subject (found or allocated), never by the number; the value's personal fields are encrypted with its key.
    publishContacts: async (events) => {
      const subjectIds = await Promise.all(events.map((e) => subjects.subjectFor(e.phone)));
      await producer.send(events.map((e, i) => ({ topic: 'contact.events' as const, ...contactRecord(cfg.PRIVACY_INDEX_KEY, e, subjectIds[i]!) })));
    },
    providers: cfg.providers, ...(cfg.WEBHOOK_PUBLIC_BASE_URL ? { publicBaseUrl: cfg.WEBHOOK_PUBLIC_BASE_URL } : {}),
    onRejected: webhookRejectedCounter(metrics),
  };
}

/** The projection side: the batch consumer into MongoDB, and what the statistics API reads. */
async function projection(cfg: Config, infra: Infra, subjects: SubjectRegistry, ring: KeyRing) {
  const { logger, metrics, producer } = infra;
  const mongo = await MongoClient.connect(cfg.MONGO_URL, { serverSelectionTimeoutMS: 5000, monitorCommands: true });
  countDbCommands(mongo, metrics);
  const anomalies = new metrics.client.Counter({ name: 'sicantik_status_anomalies_total', help: 'Notifications that newly showed a status anomaly (failed_but_delivered: a failure reported for a delivered or read message)', labelNames: ['kind'], registers: [metrics.registry] });
  // One writer per process for both projections (writer.ts: FerretDB updates are not isolated, and update commands must not overlap).
  const serial = new Serial();
  const db = mongo.db(cfg.MONGO_DB);
  const notifications = new NotificationProjection(db, { onAnomaly: (kind, n) => anomalies.inc({ kind }, n) }, {
    serial, messageRefOf: messageRefOf(cfg.PRIVACY_INDEX_KEY), cacheSize: cfg.PROJECTION_CACHE_DOCS, mappingCacheSize: cfg.PROJECTION_CACHE_MESSAGES, statusWaitMs: cfg.STATUS_WAIT_MS,
    retentionDays: cfg.RETENTION_DAYS === 0 ? null : cfg.RETENTION_DAYS, now: () => clock.now().getTime(),
  });
  await notifications.init();
  const decisions = new DecisionProjection(db, notifications.col, { serial });
  await decisions.init();
  // The key-expiry job runs in one projection instance: the one that holds notification.requests partition 0.
  const lead = { held: false, gained: (): void => undefined };
  // Batch-first: each handler gets one topic-partition's decoded records and writes once per document.
  const consumer = await runBatchConsumer({
    kafka: infra.kafka, codec: infra.codec, groupId: cfg.CONSUMER_GROUP ?? `${cfg.TOPIC_PREFIX}delivery-tracker-projection`, producer, logger, metrics,
    partitionAssigners: [coPartitionedAssigner],
    // Every assigned partition's batch at once: they wait for the one writer anyway, and
    // those waiting together share its next turn (one write per document; store.ts apply).
    concurrency: 6 * cfg.TOPIC_PARTITIONS,
    onAssignment: (a) => {
      const had = lead.held;
      lead.held = (a[infra.codec.topic('notification.requests')] ?? []).includes(0);
      if (lead.held && !had) lead.gained();
    },
    handlers: {
      'notification.requests': (b) => notifications.apply(b),
      'notification.rendered': (b) => notifications.apply(b),
      'notification.dispatch': (b) => notifications.apply(b),
      'delivery.status': (b) => notifications.apply(b),
      // Decisions: the "why" projection, and COALESCED ones make their notification coalesced.
      'planner.decisions': async (b) => { await decisions.apply(b); await notifications.apply(b); },
      // ERASURE requests scrub the subject's notifications (privacy.requests).
      'privacy.requests': (b) => notifications.apply(b),
    },
  });
  // The retention job (and erasures recorded by another process): at start, then every RETENTION_SWEEP_MINUTES.
  let sweepRun: Promise<void> | null = null; // one sweep at a time
  const sweep = () => {
    sweepRun ??= notifications.sweep().then(
      (r) => { if (r.erased || r.expired) logger.info(r, 'personal data removed from notifications (erasure, retention)'); },
      (err: unknown) => logger.warn({ err }, 'personal-data sweep failed; retried at the next interval'),
    ).finally(() => { sweepRun = null; });
    return sweepRun;
  };
  void sweep();
  const sweeping = setInterval(() => void sweep(), cfg.RETENTION_SWEEP_MINUTES * 60_000);
  sweeping.unref();
  const expiry = await keyExpiry(cfg, infra, subjects, ring, lead);
  const privacy = await privacyApi(cfg, infra, subjects);
  const lag = new LagMonitor({ admin: infra.admin, prefix: cfg.TOPIC_PREFIX });
  return {
    logger, projection: notifications, decisions, keys: cfg.keys, lag, // readConfig requires a key in this role
    ...(privacy ? { privacy: privacy.deps } : {}),
    check: { name: 'mongodb', check: async () => { await mongo.db('admin').command({ ping: 1 }); } },
    close: [() => { clearInterval(sweeping); return Promise.resolve(); }, () => lag.stop(), ...(expiry ? [expiry] : []), () => mongo.close(), () => consumer.stop(), ...(privacy ? [privacy.stop] : [])],
  };
}

/**
 * The key-expiry job (adapters/keyExpiry.ts) in the instance that holds notification.requests partition 0 (`lead`): when
 * it gains it, then every KEY_EXPIRY_MINUTES; off with KEY_EXPIRY_MINUTES or RETENTION_DAYS 0. Returns its stop.
 */
async function keyExpiry(cfg: Config, infra: Infra, subjects: SubjectRegistry, ring: KeyRing, lead: { held: boolean; gained: () => void }): Promise<(() => Promise<void>) | undefined> {
  if (cfg.KEY_EXPIRY_MINUTES === 0 || cfg.RETENTION_DAYS === 0) { infra.logger.info('subject key expiry off (KEY_EXPIRY_MINUTES or RETENTION_DAYS is 0)'); return undefined; }
  const job = await KeyExpiryJob.start({
    infra, groupPrefix: `${cfg.TOPIC_PREFIX}delivery-tracker-key-expiry-${cfg.SERVICE_INSTANCE}-`, registry: subjects, ring, logger: infra.logger,
    now: () => clock.now().getTime(), retentionDays: cfg.RETENTION_DAYS, batch: cfg.KEY_EXPIRY_BATCH,
    publish: (records) => infra.producer.send(records.map((r) => ({ topic: 'privacy.requests' as const, key: r.requestId, value: r }))),
  });
  const run = () => (!lead.held ? Promise.resolve() : job.run().then(
    (r) => { if (r.expired) infra.logger.info(r, 'subject keys expired (retention period ended)'); },
    (err: unknown) => infra.logger.warn({ err: (err as Error).message }, 'key-expiry run failed; retried at the next interval'),
  ));
  lead.gained = () => void run();
  void run();
  const timer = setInterval(() => void run(), cfg.KEY_EXPIRY_MINUTES * 60_000);
  timer.unref();
  return async () => { clearInterval(timer); await job.stop(); };
}

/** The privacy admin API (access and erasure requests) when an admin key is set (ADMIN_API_TOKEN or API_KEYS): it follows privacy.requests for the open ones. */
async function privacyApi(cfg: Config, infra: Infra, eraser: SubjectRegistry): Promise<{ deps: PrivacyDeps; stop: () => Promise<void> } | undefined> {
  if (!cfg.keys.some((k) => k.role === 'admin')) { infra.logger.info('privacy admin API off (no admin key: neither ADMIN_API_TOKEN nor an admin entry of API_KEYS)'); return undefined; }
  const requests = new Map();
  const followed = await followPrivacyRequests({ infra, groupPrefix: cfg.TOPIC_PREFIX, requests });
  return {
    deps: {
      keys: cfg.keys, now: () => clock.now().getTime(), newRequestId: () => randomUUID(), requests, logger: infra.logger, eraser,
      publish: (r) => infra.producer.send([{ topic: 'privacy.requests', key: r.requestId, value: r }]),
    },
    stop: () => followed.stop(),
  };
}

async function main() {
  const cfg = readConfig();
  const role = cfg.TRACKER_ROLE;
  const infra = await startInfra('delivery-tracker', cfg, role === 'receiver' ? RECEIVED : PROJECTED);
  // Personal fields are encrypted with their subject's key on write and decrypted on read (the codec's hook); phone numbers become subjects here.
  const privacy = await startPrivacy({ kafka: infra.kafka, admin: infra.admin, codec: infra.codec, settings: privacySettings(cfg), topicPrefix: cfg.TOPIC_PREFIX, service: 'delivery-tracker', instance: cfg.SERVICE_INSTANCE, logger: infra.logger, registry: true });
  const { logger, metrics } = infra;
  const subjects = privacy.subjects!; // started with registry: true
  const proj = role === 'receiver' ? undefined : await projection(cfg, infra, subjects, privacy.ring);
  const ops = withDocs(opsRouter(metrics, [...infra.checks, ...(proj ? [proj.check] : [])]), loadOpenApi(openApiPathFrom(__dirname)));
  const app = !proj ? createApp({ role: 'receiver', ops, ...receiver(cfg, infra, subjects) })
    : role === 'projection' ? createApp({ role, ops, ...proj })
      : createApp({ ops, ...receiver(cfg, infra, subjects), ...proj });
  const { server, port } = await listen(app, cfg.HTTP_PORT, cfg.BIND_HOST);
  logger.info({ port, role, webhooks: cfg.providers.map((p) => p.name) }, 'delivery-tracker listening');
  installShutdown(logger, [() => infra.close(), () => privacy.close(), ...(proj?.close ?? []), () => new Promise((r) => server.close(r))]);
}

runService('delivery-tracker', main);
