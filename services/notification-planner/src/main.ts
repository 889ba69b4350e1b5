import express from 'express';
import { systemClock } from '@sicantik/core';
import { installShutdown, runConsumer, startInfra } from '@sicantik/kafka';
import { listen, opsRouter } from '@sicantik/observability';
import { readConfig } from './config';
import { plan } from './domain/plan';

////////// Composition root
async function main() {
  const cfg = readConfig();
  const infra = await startInfra('notification-planner', cfg, ['permit.events', 'notification.requests']);
  const { logger, metrics, producer } = infra;
  const skipped = new metrics.client.Counter({ name: 'sicantik_planner_skipped_total', help: 'Notifications not planned, by scenario', labelNames: ['scenario'], registers: [metrics.registry] });
  const consumer = await runConsumer({
    kafka: infra.kafka, codec: infra.codec, groupId: cfg.CONSUMER_GROUP ?? `${cfg.TOPIC_PREFIX}notification-planner`, dlqProducer: producer.producer, logger, metrics,
    handlers: {
      'permit.events': async ({ value }) => {
        const decisions = plan(value, { now: systemClock.now() });
        const planned = decisions.flatMap((d) => (d.kind === 'planned' ? [d.request] : []));
        for (const d of decisions) {
          if (d.kind === 'skipped') {
            skipped.inc({ scenario: d.scenario });
            logger.warn({ scenario: d.scenario, pendaftaranId: d.pendaftaran_id, reason: d.reason }, 'notification skipped');
          }
        }
        await producer.send(planned.map((r) => ({ topic: 'notification.requests' as const, key: r.pendaftaran_id, value: r })));
        for (const r of planned) logger.info({ notificationId: r.notificationId, scenario: r.scenario, causationId: r.causationId }, 'notification planned');
      },
    },
  });
  const app = express();
  app.use(opsRouter(metrics, infra.checks));
  const { server, port } = await listen(app, cfg.OPS_PORT, cfg.BIND_HOST);
  logger.info({ opsPort: port }, 'notification-planner running');
  installShutdown(logger, [() => infra.close(), () => consumer.stop(), () => new Promise((r) => server.close(r))]);
}

main().catch((e) => {
  process.stderr.write(`notification-planner failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
