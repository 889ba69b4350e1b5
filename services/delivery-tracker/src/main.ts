import { MongoClient } from 'mongodb';
import { systemClock } from '@sicantik/core';
import { installShutdown, runConsumer, runService, startInfra } from '@sicantik/kafka';
import { listen, opsRouter } from '@sicantik/observability';
import { createApp } from './adapters/http';
import { readConfig } from './config';
import { DecisionProjection } from './projections/decisions';
import { NotificationProjection } from './projections/store';

////////// Composition root
async function main() {
  const cfg = readConfig();
  const infra = await startInfra('delivery-tracker', cfg, ['notification.requests', 'notification.rendered', 'notification.dispatch', 'delivery.status', 'contact.events', 'planner.decisions']);
  const { logger, metrics, producer } = infra;
  const mongo = await MongoClient.connect(cfg.MONGO_URL, { serverSelectionTimeoutMS: 5000 });
  const anomalies = new metrics.client.Counter({ name: 'sicantik_status_anomalies_total', help: 'Notifications that newly showed a status anomaly (failed_but_delivered: a failure reported for a delivered or read message)', labelNames: ['kind'], registers: [metrics.registry] });
  const projection = new NotificationProjection(mongo.db(cfg.MONGO_DB), { onAnomaly: (kind, n) => anomalies.inc({ kind }, n) });
  await projection.init();
  const decisions = new DecisionProjection(mongo.db(cfg.MONGO_DB), projection.col);
  await decisions.init();
  const rejected = new metrics.client.Counter({ name: 'sicantik_webhook_rejected_total', help: 'Webhooks rejected for a bad signature', labelNames: ['provider'], registers: [metrics.registry] });
  const consumer = await runConsumer({
    kafka: infra.kafka, codec: infra.codec, groupId: cfg.CONSUMER_GROUP ?? `${cfg.TOPIC_PREFIX}delivery-tracker-projection`, dlqProducer: producer.producer, logger, metrics,
    handlers: {
      'notification.requests': ({ value }) => projection.onRequested(value),
      'notification.rendered': ({ value }) => projection.onRendered(value),
      'notification.dispatch': ({ value }) => projection.onDispatch(value),
      'delivery.status': ({ value }) => projection.onDelivery(value),
      'planner.decisions': ({ value }) => decisions.onDecision(value),
    },
  });
  const app = createApp({
    logger, projection, decisions, now: () => systemClock.now(),
    ops: opsRouter(metrics, [...infra.checks, { name: 'mongodb', check: async () => { await mongo.db('admin').command({ ping: 1 }); } }]),
    publish: (events) => producer.send(events.map((e) => ({ topic: 'delivery.status' as const, key: e.providerMessageId, value: e }))),
    publishContacts: (events) => producer.send(events.map((e) => ({ topic: 'contact.events' as const, key: e.phone, value: e }))),
    metaAppSecret: cfg.META_APP_SECRET, metaVerifyToken: cfg.META_VERIFY_TOKEN, statsApiToken: cfg.STATS_API_TOKEN,
    onRejectedSignature: (p) => rejected.inc({ provider: p }),
  });
  const { server, port } = await listen(app, cfg.HTTP_PORT, cfg.BIND_HOST);
  logger.info({ port }, 'delivery-tracker listening');
  installShutdown(logger, [() => infra.close(), () => mongo.close(), () => consumer.stop(), () => new Promise((r) => server.close(r))]);
}

runService('delivery-tracker', main);
