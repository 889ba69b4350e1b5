import { MongoClient } from 'mongodb';
import { clockFromEnv } from '@sicantik/core';
import { coPartitionedAssigner, installShutdown, runBatchConsumer, runService, startInfra, type Infra } from '@sicantik/kafka';
import { countDbCommands, listen, opsRouter } from '@sicantik/observability';
import { contactEventKey, type TopicName } from '@sicantik/schemas';
import { createApp } from './adapters/http';
import { webhookRejectedCounter, type WebhookDeps } from './adapters/webhooks';
import { readConfig, type Config } from './config';
import { DecisionProjection } from './adapters/projections/decisions';
import { NotificationProjection } from './adapters/projections/store';
import { Serial } from './adapters/projections/writer';

/** The system clock, or a test's movable one (SICANTIK_TEST_CLOCK_FILE, see @sicantik/core clock.ts). */
const clock = clockFromEnv();

////////// Composition root
// TRACKER_ROLE (config.ts) chooses what this process runs: `receiver` the webhooks only
// (Kafka producer, no database, no consumer), `projection` the consumer, MongoDB and the
// statistics API only, `all` both. Every role serves /healthz, /readyz and /metrics.

const PROJECTED: readonly TopicName[] = ['notification.requests', 'notification.rendered', 'notification.dispatch', 'delivery.status', 'contact.events', 'planner.decisions'];
const RECEIVED: readonly TopicName[] = ['delivery.status', 'contact.events'];

/** The webhook side: verifies, writes what it received to delivery.status / contact.events, answers. */
function receiver(cfg: Config, infra: Infra): WebhookDeps {
  const { logger, metrics, producer } = infra;
  return {
    logger, now: () => clock.now(),
    publish: (events) => producer.send(events.map((e) => ({ topic: 'delivery.status' as const, key: e.providerMessageId, value: e }))),
    publishContacts: (events) => producer.send(events.map((e) => ({ topic: 'contact.events' as const, key: contactEventKey(e), value: e }))),
    providers: cfg.providers, ...(cfg.WEBHOOK_PUBLIC_BASE_URL ? { publicBaseUrl: cfg.WEBHOOK_PUBLIC_BASE_URL } : {}),
    onRejected: webhookRejectedCounter(metrics),
  };
}

/** The projection side: the batch consumer into MongoDB, and what the statistics API reads. */
async function projection(cfg: Config, infra: Infra) {
  const { logger, metrics, producer } = infra;
  const mongo = await MongoClient.connect(cfg.MONGO_URL, { serverSelectionTimeoutMS: 5000, monitorCommands: true });
  countDbCommands(mongo, metrics);
  const anomalies = new metrics.client.Counter({ name: 'sicantik_status_anomalies_total', help: 'Notifications that newly showed a status anomaly (failed_but_delivered: a failure reported for a delivered or read message)', labelNames: ['kind'], registers: [metrics.registry] });
  // One writer per process for both projections (writer.ts: FerretDB updates are not isolated, and update commands must not overlap).
  const serial = new Serial();
  const db = mongo.db(cfg.MONGO_DB);
  const notifications = new NotificationProjection(db, { onAnomaly: (kind, n) => anomalies.inc({ kind }, n) }, { serial, cacheSize: cfg.PROJECTION_CACHE_DOCS, mappingCacheSize: cfg.PROJECTION_CACHE_MESSAGES });
  await notifications.init();
  const decisions = new DecisionProjection(db, notifications.col, { serial });
  await decisions.init();
  // Batch-first: each handler gets one topic-partition's decoded records and writes once per document.
  const consumer = await runBatchConsumer({
    kafka: infra.kafka, codec: infra.codec, groupId: cfg.CONSUMER_GROUP ?? `${cfg.TOPIC_PREFIX}delivery-tracker-projection`, producer, logger, metrics,
    partitionAssigners: [coPartitionedAssigner],
    handlers: {
      'notification.requests': (b) => notifications.apply(b),
      'notification.rendered': (b) => notifications.apply(b),
      'notification.dispatch': (b) => notifications.apply(b),
      'delivery.status': (b) => notifications.apply(b),
      'planner.decisions': (b) => decisions.apply(b),
    },
  });
  return {
    logger, projection: notifications, decisions, statsApiToken: cfg.STATS_API_TOKEN!, // readConfig requires it in this role
    check: { name: 'mongodb', check: async () => { await mongo.db('admin').command({ ping: 1 }); } },
    close: [() => mongo.close(), () => consumer.stop()],
  };
}

async function main() {
  const cfg = readConfig();
  const role = cfg.TRACKER_ROLE;
  const infra = await startInfra('delivery-tracker', cfg, role === 'receiver' ? RECEIVED : PROJECTED);
  const { logger, metrics } = infra;
  const proj = role === 'receiver' ? undefined : await projection(cfg, infra);
  const ops = opsRouter(metrics, [...infra.checks, ...(proj ? [proj.check] : [])]);
  const app = !proj ? createApp({ role: 'receiver', ops, ...receiver(cfg, infra) })
    : role === 'projection' ? createApp({ role, ops, ...proj })
      : createApp({ ops, ...receiver(cfg, infra), ...proj });
  const { server, port } = await listen(app, cfg.HTTP_PORT, cfg.BIND_HOST);
  logger.info({ port, role, webhooks: cfg.providers.map((p) => p.name) }, 'delivery-tracker listening');
  installShutdown(logger, [() => infra.close(), ...(proj?.close ?? []), () => new Promise((r) => server.close(r))]);
}

runService('delivery-tracker', main);
