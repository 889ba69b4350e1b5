import { MongoClient } from 'mongodb';
import { systemClock } from '@sicantik/core';
import { coPartitionedAssigner, installShutdown, runBatchConsumer, runService, startInfra } from '@sicantik/kafka';
import { countDbCommands, listen, opsRouter } from '@sicantik/observability';
import { createApp } from './adapters/http';
import { webhookRejectedCounter } from './adapters/webhooks';
import { readConfig } from './config';
import { DecisionProjection } from './adapters/projections/decisions';
import { NotificationProjection } from './adapters/projections/store';
import { Serial } from './adapters/projections/writer';

////////// Composition root
async function main() {
  const cfg = readConfig();
  const infra = await startInfra('delivery-tracker', cfg, ['notification.requests', 'notification.rendered', 'notification.dispatch', 'delivery.status', 'contact.events', 'planner.decisions']);
  const { logger, metrics, producer } = infra;
  const mongo = await MongoClient.connect(cfg.MONGO_URL, { serverSelectionTimeoutMS: 5000, monitorCommands: true });
  countDbCommands(mongo, metrics);
  const anomalies = new metrics.client.Counter({ name: 'sicantik_status_anomalies_total', help: 'Notifications that newly showed a status anomaly (failed_but_delivered: a failure reported for a delivered or read message)', labelNames: ['kind'], registers: [metrics.registry] });
  // One writer per process for both projections (writer.ts: FerretDB updates are not isolated, and update commands must not overlap).
  const serial = new Serial();
  const db = mongo.db(cfg.MONGO_DB);
  const projection = new NotificationProjection(db, { onAnomaly: (kind, n) => anomalies.inc({ kind }, n) }, { serial, cacheSize: cfg.PROJECTION_CACHE_DOCS, mappingCacheSize: cfg.PROJECTION_CACHE_MESSAGES });
  await projection.init();
  const decisions = new DecisionProjection(db, projection.col, { serial });
  await decisions.init();
  // Batch-first: each handler gets one topic-partition's decoded records and writes once per document.
  const consumer = await runBatchConsumer({
    kafka: infra.kafka, codec: infra.codec, groupId: cfg.CONSUMER_GROUP ?? `${cfg.TOPIC_PREFIX}delivery-tracker-projection`, producer, logger, metrics,
    partitionAssigners: [coPartitionedAssigner],
    handlers: {
      'notification.requests': (b) => projection.apply(b),
      'notification.rendered': (b) => projection.apply(b),
      'notification.dispatch': (b) => projection.apply(b),
      'delivery.status': (b) => projection.apply(b),
      'planner.decisions': (b) => decisions.apply(b),
    },
  });
  const app = createApp({
    logger, projection, decisions, now: () => systemClock.now(),
    ops: opsRouter(metrics, [...infra.checks, { name: 'mongodb', check: async () => { await mongo.db('admin').command({ ping: 1 }); } }]),
    publish: (events) => producer.send(events.map((e) => ({ topic: 'delivery.status' as const, key: e.providerMessageId, value: e }))),
    publishContacts: (events) => producer.send(events.map((e) => ({ topic: 'contact.events' as const, key: e.phone, value: e }))),
    providers: cfg.providers, ...(cfg.WEBHOOK_PUBLIC_BASE_URL ? { publicBaseUrl: cfg.WEBHOOK_PUBLIC_BASE_URL } : {}), statsApiToken: cfg.STATS_API_TOKEN,
    onRejected: webhookRejectedCounter(metrics),
  });
  const { server, port } = await listen(app, cfg.HTTP_PORT, cfg.BIND_HOST);
  logger.info({ port, webhooks: cfg.providers.map((p) => p.name) }, 'delivery-tracker listening');
  installShutdown(logger, [() => infra.close(), () => mongo.close(), () => consumer.stop(), () => new Promise((r) => server.close(r))]);
}

runService('delivery-tracker', main);
