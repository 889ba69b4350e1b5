import express from 'express';
import { clockFromEnv } from '@sicantik/core';
import { followTopic, installShutdown, runService, startInfra } from '@sicantik/kafka';
import { listen, loadOpenApi, openApiPathFrom, opsRouter, withDocs } from '@sicantik/observability';
import { configuredProviders, type ProviderName } from '@sicantik/providers';
import { createAdminApp } from './adapters/http/admin';
import { fetchExecutor } from './adapters/http/executor';
import { ProviderGateway } from './adapters/providers/gateway';
import { gatewayLookups } from './adapters/reconcileLookups';
import { RECONCILER_TOPICS, startReconciler } from './adapters/reconciler';
import { readConfig } from './config';
import { DEFAULT_OPT_IN_TEXT, defaultMetaTemplates } from './domain/outbound';
import { effectiveChain, hasOptInGateway } from './domain/routing';
import type { OperatorDeps } from './adapters/operators';
import { messageRefFn } from './adapters/messageRefs';
import { DISPATCHER_OUTPUTS, DISPATCHER_TOPICS, startDispatcher, type ContactFeed } from './adapters/consumer';
import { privacySettings, startPrivacy } from '@sicantik/privacy';

/** The system clock, or a test's movable one (SICANTIK_TEST_CLOCK_FILE, see @sicantik/core clock.ts). */
const clock = clockFromEnv();

////////// Composition root
// No database: the dispatch ledger lives in memory for the partitions this instance
// owns and in Kafka (dispatch.ledger, co-partitioned with notification.rendered); the
// opt-in state is contact.events, followed whole in memory.
async function main() {
  const cfg = readConfig();
  // Meta's template for a code: META_TEMPLATES, else the built-in templates' Meta twins.
  const env = { ...process.env, META_TEMPLATES: process.env.META_TEMPLATES ?? (process.env.META_TEMPLATES_FILE ? undefined : defaultMetaTemplates()) };
  const providers = configuredProviders(env, { roles: ['send'] });
  const configured = new Set(providers.map((p) => p.name));
  const { chain, notConfigured } = effectiveChain({ chain: cfg.PROVIDER_CHAIN, defaultProvider: cfg.DEFAULT_PROVIDER, configured });
  if (chain.length === 0) throw new Error(`no provider of PROVIDER_CHAIN (${cfg.PROVIDER_CHAIN.join(', ')}) is configured; set a provider's credentials (docs/providers.md)`);
  const routing = { chain, optInRequired: new Set<ProviderName>(cfg.OPT_IN_REQUIRED), unconsented: cfg.UNCONSENTED_OPT_IN_PROVIDERS };

  const infra = await startInfra('provider-dispatcher', cfg, [...new Set([...DISPATCHER_TOPICS, ...DISPATCHER_OUTPUTS, 'contact.events' as const, 'subject.keys' as const, 'subject.index' as const, ...(cfg.RECONCILE === 'on' ? RECONCILER_TOPICS : [])])]);
  // Personal fields are encrypted with their subject's key on write and decrypted on read (the codec's hook).
  const privacy = await startPrivacy({ kafka: infra.kafka, admin: infra.admin, codec: infra.codec, settings: privacySettings(cfg), topicPrefix: cfg.TOPIC_PREFIX, service: 'provider-dispatcher', instance: cfg.SERVICE_INSTANCE, logger: infra.logger, registry: false });
  const { logger, metrics, kafka, admin, codec } = infra;
  if (notConfigured.length) logger.warn({ notConfigured }, 'providers of PROVIDER_CHAIN without credentials are left out');
  if (!hasOptInGateway(routing)) logger.warn({ unconsented: cfg.UNCONSENTED_OPT_IN_PROVIDERS }, cfg.UNCONSENTED_OPT_IN_PROVIDERS === 'hold' ? 'only opt-in providers are configured: notifications to contacts who have not opted in are HELD until they opt in' : 'only opt-in providers are configured and UNCONSENTED_OPT_IN_PROVIDERS=send: contacts who have not opted in are sent to anyway');
  if (hasOptInGateway(routing) && !cfg.OPT_IN_LINK) logger.warn('OPT_IN_LINK is not set: gateway messages to contacts who have not opted in carry no opt-in link');
  logger.info({ chain, optInRequired: cfg.OPT_IN_REQUIRED, configured: [...configured] }, 'providers');

  const circuitState = new metrics.client.Gauge({ name: 'sicantik_dispatch_circuit_open', help: 'Circuit breaker per provider: 0 closed, 0.5 half-open, 1 open', labelNames: ['provider'], registers: [metrics.registry] });
  const gateway = new ProviderGateway({
    providers, executor: fetchExecutor, timeoutMs: cfg.PROVIDER_TIMEOUT_MS,
    breaker: { errorPercent: cfg.CIRCUIT_ERROR_PERCENT, volume: cfg.CIRCUIT_VOLUME, windowMs: cfg.CIRCUIT_WINDOW_MS, resetMs: cfg.CIRCUIT_RESET_MS },
    onStateChange: (p, state) => {
      circuitState.set({ provider: p }, state === 'open' ? 1 : state === 'half-open' ? 0.5 : 0);
      logger[state === 'open' ? 'warn' : 'info']({ provider: p, state }, 'provider circuit');
    },
  });

  // The opt-in changes: the dispatcher reads contact.events to its end before the first batch, then follows it.
  const contactChanges: ContactFeed = (apply) => followTopic({
    kafka, admin, codec, topic: 'contact.events', keepFollowing: true, groupId: `${cfg.TOPIC_PREFIX}dispatcher-contacts-${cfg.SERVICE_INSTANCE}-${process.pid}-${Date.now()}`,
    onMessage: (e) => apply(e),
  });

  const optInLink = cfg.OPT_IN_LINK ? { url: cfg.OPT_IN_LINK, text: cfg.OPT_IN_TEXT ?? DEFAULT_OPT_IN_TEXT } : undefined;
  const now = () => clock.now().getTime();
  const dispatcher = await startDispatcher({
    kafka, admin, codec, producer: infra.producer, logger, metrics, sender: gateway, routing, contactChanges, messageRef: messageRefFn(cfg.PRIVACY_INDEX_KEY),
    pacing: { rates: cfg.RATE_LIMITS, pairRates: cfg.PAIR_RATE_LIMITS, quotas: cfg.DAILY_QUOTAS },
    retry: { maxAttempts: cfg.RETRY_MAX_ATTEMPTS, delayMs: cfg.RETRY_DELAY_MS, backoff: cfg.RETRY_BACKOFF, jitter: cfg.RETRY_JITTER, tiers: 3 },
    quotaExhausted: cfg.QUOTA_EXHAUSTED, inDoubtPolicy: cfg.IN_DOUBT_POLICY, lookupDelayMs: cfg.IN_DOUBT_LOOKUP_DELAY_MS, optInLink,
    holdExpiresAfterMs: cfg.HOLD_EXPIRES_AFTER_MS, holdSweepMs: cfg.HOLD_SWEEP_MS, maxPauseMs: cfg.WAIT_RECHECK_MS,
    groupId: cfg.CONSUMER_GROUP ?? `${cfg.TOPIC_PREFIX}provider-dispatcher`,
    readerGroupPrefix: `${cfg.TOPIC_PREFIX}dispatcher-ledger-${cfg.SERVICE_INSTANCE}-${process.pid}`,
    maxBatch: cfg.DISPATCH_BATCH_MAX, sendConcurrency: cfg.PROVIDER_CONCURRENCY, partitionConcurrency: cfg.PARTITION_CONCURRENCY, maxWaitMs: cfg.FETCH_MAX_WAIT_MS, now,
  });

  // Accepted messages without a final status report: looked up, or NO_REPORT (RECONCILE.md).
  const looks = gatewayLookups(gateway);
  const reconciler = cfg.RECONCILE === 'off' ? undefined : await startReconciler({
    kafka, admin, codec, producer: infra.producer, logger, metrics, lookup: looks.lookup, now, messageRef: messageRefFn(cfg.PRIVACY_INDEX_KEY),
    settings: { afterMs: cfg.RECONCILE_AFTER_MS, giveUpMs: cfg.RECONCILE_GIVE_UP_MS, lookupBackoffMs: cfg.RECONCILE_LOOKUP_BACKOFF_MS, rememberMs: cfg.RECONCILE_REMEMBER_MS, canLookup: looks.canLookup },
    groupId: cfg.RECONCILE_CONSUMER_GROUP ?? `${cfg.TOPIC_PREFIX}dispatcher-reconcile`, readerGroupPrefix: `${cfg.TOPIC_PREFIX}dispatcher-reconcile-reader-${cfg.SERVICE_INSTANCE}-${process.pid}`,
    tickMs: cfg.RECONCILE_TICK_MS, lookupConcurrency: cfg.RECONCILE_LOOKUP_CONCURRENCY, maxWaitMs: cfg.FETCH_MAX_WAIT_MS,
  });

  const ops = withDocs(opsRouter(metrics, [...infra.checks, {
    name: 'dispatch-ledger',
    check: async () => { if (dispatcher.ledger.restoring > 0) throw new Error(`restoring ${dispatcher.ledger.restoring} partition(s) from dispatch.ledger`); },
  }, {
    name: 'reconciler',
    check: async () => { if (reconciler && reconciler.state.restoring > 0) throw new Error(`restoring ${reconciler.state.restoring} partition(s) from dispatch.reconcile`); },
  }]), loadOpenApi(openApiPathFrom(__dirname)));
  const operators: OperatorDeps = {
    routing, configured: [...configured], sender: gateway, contact: dispatcher.contact, pacer: dispatcher.pacer, optInLink, now,
    budgetUse: { owned: dispatcher.partitions.owned, usedToday: (p, q) => dispatcher.ledger.loaded().get(q)?.usedToday(p, now()) ?? 0 },
    inDoubt: () => dispatcher.ledger.readAll(dispatcher.partitions.total),
    settings: {
      rateLimits: Object.fromEntries([...cfg.RATE_LIMITS].map(([k, v]) => [k, `${v.limit}/${v.periodMs}ms`])),
      pairRateLimits: Object.fromEntries([...cfg.PAIR_RATE_LIMITS].map(([k, v]) => [k, `${v.limit}/${v.periodMs}ms`])),
      dailyQuotas: Object.fromEntries(cfg.DAILY_QUOTAS), quotaExhausted: cfg.QUOTA_EXHAUSTED,
      retry: { maxAttempts: cfg.RETRY_MAX_ATTEMPTS, delayMs: cfg.RETRY_DELAY_MS, backoff: cfg.RETRY_BACKOFF, jitter: cfg.RETRY_JITTER },
      inDoubtPolicy: cfg.IN_DOUBT_POLICY, timeoutMs: cfg.PROVIDER_TIMEOUT_MS,
      circuit: { errorPercent: cfg.CIRCUIT_ERROR_PERCENT, volume: cfg.CIRCUIT_VOLUME, windowMs: cfg.CIRCUIT_WINDOW_MS, resetMs: cfg.CIRCUIT_RESET_MS },
    },
  };
  let app: express.Express;
  if (cfg.keys.length > 0) {
    app = createAdminApp({ operators, keys: cfg.keys, logger, ops });
  } else {
    app = express();
    app.use(ops);
    logger.warn('neither ADMIN_API_TOKEN nor API_KEYS is set: the admin API (/v1/admin/...) is off');
  }
  const { server, port } = await listen(app, cfg.OPS_PORT, cfg.BIND_HOST);
  logger.info({ opsPort: port, adminApi: cfg.keys.length > 0 }, 'provider-dispatcher running');
  installShutdown(logger, [() => infra.close(), () => privacy.close(), async () => reconciler?.stop(), () => dispatcher.stop(), async () => gateway.close(), () => new Promise((r) => server.close(r))]);
}

runService('provider-dispatcher', main);
