import express from 'express';
import { MongoClient } from 'mongodb';
import { maskPhone, systemClock } from '@sicantik/core';
import { followTopic, installShutdown, runConsumer, runService, startInfra } from '@sicantik/kafka';
import { listen, opsRouter } from '@sicantik/observability';
import { ClaimStore } from './adapters/claims';
import { MetaProvider } from './adapters/providers/meta';
import { readConfig } from './config';
import { dispatch } from './dispatch';

////////// Composition root
async function main() {
  const cfg = readConfig();
  const infra = await startInfra('provider-dispatcher', cfg, ['notification.rendered', 'notification.dispatch']);
  const { logger, metrics, producer } = infra;
  const mongo = await MongoClient.connect(cfg.MONGO_URL, { serverSelectionTimeoutMS: 5000 });
  const claims = new ClaimStore(mongo.db(cfg.MONGO_DB));
  const provider = new MetaProvider({
    baseUrl: cfg.META_BASE_URL, apiVersion: cfg.META_API_VERSION, phoneNumberId: cfg.META_PHONE_NUMBER_ID,
    accessToken: cfg.META_ACCESS_TOKEN, timeoutMs: cfg.PROVIDER_TIMEOUT_MS,
  });
  // A new or rebuilt store first learns from the dispatch log what was sent: a replay never sends again.
  if (!(await claims.seeded())) {
    const n = await claims.seedFromLog(async (apply) => (await followTopic({
      kafka: infra.kafka, admin: infra.admin, codec: infra.codec, topic: 'notification.dispatch',
      groupId: `${cfg.TOPIC_PREFIX}dispatcher-bootstrap-${cfg.SERVICE_INSTANCE}-${process.pid}-${Date.now()}`, onMessage: apply,
    })).records, systemClock.now());
    logger.info({ claims: n }, 'claims seeded from the dispatch log');
  }
  const outcomes = new metrics.client.Counter({ name: 'sicantik_dispatch_outcomes_total', help: 'Dispatch outcomes by provider and status', labelNames: ['provider', 'status'], registers: [metrics.registry] });
  const consumer = await runConsumer({
    kafka: infra.kafka, codec: infra.codec, groupId: cfg.CONSUMER_GROUP ?? `${cfg.TOPIC_PREFIX}provider-dispatcher`, dlqProducer: producer.producer, logger, metrics,
    handlers: {
      'notification.rendered': async ({ value, heartbeat }) => {
        const status = await dispatch(value, {
          claims, provider, maxAttempts: cfg.RETRY_MAX_ATTEMPTS, retryDelayMs: cfg.RETRY_DELAY_MS,
          now: () => systemClock.now(),
          emit: (e) => producer.send([{ topic: 'notification.dispatch', key: e.pendaftaran_id, value: e }]),
          wait: async (ms) => {
            const until = Date.now() + ms;
            while (Date.now() < until) {
              await new Promise((r) => setTimeout(r, Math.min(3000, until - Date.now())));
              await heartbeat().catch(() => undefined);
            }
          },
        });
        outcomes.inc({ provider: provider.name, status });
        logger.info({ notificationId: value.notificationId, to: maskPhone(value.recipient.phone), status }, 'dispatch recorded');
      },
    },
  });
  const app = express();
  app.use(opsRouter(metrics, [...infra.checks, { name: 'mongodb', check: async () => { await mongo.db('admin').command({ ping: 1 }); } }]));
  const { server, port } = await listen(app, cfg.OPS_PORT, cfg.BIND_HOST);
  logger.info({ opsPort: port }, 'provider-dispatcher running');
  installShutdown(logger, [() => infra.close(), () => mongo.close(), () => consumer.stop(), () => new Promise((r) => server.close(r))]);
}

runService('provider-dispatcher', main);
