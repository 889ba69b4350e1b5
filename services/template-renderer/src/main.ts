import { clockFromEnv } from '@sicantik/core';
import { installShutdown, runBatchConsumer, runService, startInfra } from '@sicantik/kafka';
import { listen, loadOpenApi, openApiPathFrom, opsRouter, withDocs } from '@sicantik/observability';
import { createTemplateAdminApp } from './adapters/http';
import { TemplateStore } from './adapters/templateStore';
import { readConfig } from './config';
import { renderRequest } from './domain/renderRequest';
import { privacySettings, startPrivacy } from '@sicantik/privacy';

/** The system clock, or a test's movable one (SICANTIK_TEST_CLOCK_FILE, see @sicantik/core clock.ts). */
const clock = clockFromEnv();

////////// Composition root
async function main() {
  const cfg = readConfig();
  const infra = await startInfra('template-renderer', cfg, ['template.events', 'notification.requests', 'notification.rendered', 'subject.keys', 'subject.index']);
  // Personal fields are encrypted with their subject's key on write and decrypted on read (the codec's hook).
  const privacy = await startPrivacy({ kafka: infra.kafka, admin: infra.admin, codec: infra.codec, settings: privacySettings(cfg), topicPrefix: cfg.TOPIC_PREFIX, service: 'template-renderer', instance: cfg.SERVICE_INSTANCE, logger: infra.logger, registry: false });
  const { logger, metrics, producer } = infra;
  const store = new TemplateStore(infra.kafka, infra.admin, infra.codec, logger);
  await store.start(cfg.SERVICE_INSTANCE);
  const seeded = await store.seedDefaults(producer, clock.now());
  if (seeded.length) logger.info({ seeded }, 'seeded default templates');
  // Batch-first: a partition's records are rendered from memory and produced in one request.
  const consumer = await runBatchConsumer({
    kafka: infra.kafka, codec: infra.codec, groupId: cfg.CONSUMER_GROUP ?? `${cfg.TOPIC_PREFIX}template-renderer`, producer, logger, metrics,
    handlers: {
      'notification.requests': async ({ records }) => {
        const rendered = records.map(({ value }) => renderRequest(value, store.get(value.templateCode)));
        for (const out of rendered) {
          if (out.outcome === 'FAILED') logger.warn({ notificationId: out.notificationId, reason: out.failureReason }, 'notification could not be rendered');
          else logger.debug({ notificationId: out.notificationId, template: out.templateCode, version: out.templateVersion }, 'notification rendered');
        }
        return { out: rendered.map((out) => ({ topic: 'notification.rendered' as const, key: out.pendaftaran_id, value: out })) };
      },
    },
  });
  const app = createTemplateAdminApp({
    store, logger, now: () => clock.now(), keys: cfg.keys, ops: withDocs(opsRouter(metrics, infra.checks), loadOpenApi(openApiPathFrom(__dirname))),
    publish: (t) => producer.send([{ topic: 'template.events', key: t.code, value: t }]),
  });
  const { server, port } = await listen(app, cfg.HTTP_PORT, cfg.BIND_HOST);
  logger.info({ port }, 'template-renderer running');
  installShutdown(logger, [() => infra.close(), () => privacy.close(), () => store.stop(), () => consumer.stop(), () => new Promise((r) => server.close(r))]);
}

runService('template-renderer', main);
