import express from 'express';
import { installShutdown, runService, startInfra } from '@sicantik/kafka';
import { listen, opsRouter } from '@sicantik/observability';
import { MetaProvider } from './adapters/providers/meta';
import { readConfig } from './config';
import { startDispatcher } from './service';

////////// Composition root
// No database: the dispatch ledger lives in memory for the partitions this instance
// owns and in Kafka (dispatch.ledger, co-partitioned with notification.rendered).
async function main() {
  const cfg = readConfig();
  const infra = await startInfra('provider-dispatcher', cfg, ['notification.rendered', 'notification.dispatch', 'dispatch.ledger']);
  const { logger, metrics } = infra;
  const provider = new MetaProvider({
    baseUrl: cfg.META_BASE_URL, apiVersion: cfg.META_API_VERSION, phoneNumberId: cfg.META_PHONE_NUMBER_ID,
    accessToken: cfg.META_ACCESS_TOKEN, timeoutMs: cfg.PROVIDER_TIMEOUT_MS,
  });
  const dispatcher = await startDispatcher({
    kafka: infra.kafka, admin: infra.admin, codec: infra.codec, producer: infra.producer, logger, metrics, provider,
    groupId: cfg.CONSUMER_GROUP ?? `${cfg.TOPIC_PREFIX}provider-dispatcher`,
    readerGroupPrefix: `${cfg.TOPIC_PREFIX}dispatcher-ledger-${cfg.SERVICE_INSTANCE}-${process.pid}`,
    maxAttempts: cfg.RETRY_MAX_ATTEMPTS, retryDelayMs: cfg.RETRY_DELAY_MS, maxBatch: cfg.DISPATCH_BATCH_MAX, sendConcurrency: cfg.PROVIDER_CONCURRENCY,
  });
  const app = express();
  app.use(opsRouter(metrics, [...infra.checks, {
    name: 'dispatch-ledger',
    check: async () => { if (dispatcher.ledger.restoring > 0) throw new Error(`restoring ${dispatcher.ledger.restoring} partition(s) from dispatch.ledger`); },
  }]));
  const { server, port } = await listen(app, cfg.OPS_PORT, cfg.BIND_HOST);
  logger.info({ opsPort: port }, 'provider-dispatcher running');
  installShutdown(logger, [() => infra.close(), () => dispatcher.stop(), () => new Promise((r) => server.close(r))]);
}

runService('provider-dispatcher', main);
