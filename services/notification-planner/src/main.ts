import { MongoClient } from 'mongodb';
import { systemClock } from '@sicantik/core';
import { followTopic, installShutdown, runConsumer, runService, startInfra } from '@sicantik/kafka';
import { listen, opsRouter } from '@sicantik/observability';
import { createAdminApp } from './adapters/http';
import { PlannerStore } from './adapters/store';
import { readConfig } from './config';
import { Planner } from './planner';

////////// Composition root
async function main() {
  const cfg = readConfig();
  const infra = await startInfra('notification-planner', cfg, ['permit.events', 'directory.events', 'contact.events', 'notification.requests', 'planner.decisions']);
  const { logger, metrics, producer } = infra;
  const mongo = await MongoClient.connect(cfg.MONGO_URL, { serverSelectionTimeoutMS: 5000 });
  const store = new PlannerStore(mongo.db(cfg.MONGO_DB));
  const now = () => systemClock.now();
  const planner = new Planner(store, producer, {
    linkDashboard: cfg.LINK_DASHBOARD, linkPerpanjangan: cfg.LINK_PERPANJANGAN, kontakDpmptsp: cfg.KONTAK_DPMPTSP, reminderAfterHours: cfg.REMINDER_AFTER_HOURS,
    templates: cfg.SCENARIO_TEMPLATES, optInRequest: cfg.OPT_IN_REQUEST_ENABLED ? { linkOptIn: cfg.LINK_OPT_IN } : null, allowedCountries: cfg.ALLOWED_COUNTRIES,
  }, logger, now);
  // A new or rebuilt store first learns from the decision log what was already decided.
  const seeded = await planner.bootstrapFromDecisionLog(async (apply) => (await followTopic({
    kafka: infra.kafka, admin: infra.admin, codec: infra.codec, topic: 'planner.decisions',
    groupId: `${cfg.TOPIC_PREFIX}planner-bootstrap-${cfg.SERVICE_INSTANCE}-${process.pid}-${Date.now()}`, onMessage: apply,
  })).records);
  if (seeded !== null) logger.info({ decisions: seeded }, 'store seeded from the decision log');
  const planned = new metrics.client.Counter({ name: 'sicantik_planner_decisions_total', help: 'Planner decisions', labelNames: ['decision'], registers: [metrics.registry] });
  const consumer = await runConsumer({
    kafka: infra.kafka, codec: infra.codec, groupId: cfg.CONSUMER_GROUP ?? `${cfg.TOPIC_PREFIX}notification-planner`, dlqProducer: producer.producer, logger, metrics,
    handlers: {
      'permit.events': async ({ value }) => {
        const s = await planner.onPermitEvent(value);
        planned.inc({ decision: 'planned' }, s.planned);
        planned.inc({ decision: 'skipped' }, s.skipped);
        planned.inc({ decision: 'cancelled' }, s.cancelled);
      },
      'contact.events': async ({ value: e }) => {
        if (e.kind === 'OPTED_OUT' || e.kind === 'OPTED_IN') await store.putContact(e.phone, e.kind === 'OPTED_OUT', e.occurredAt, e.provider);
      },
      'directory.events': async ({ value: e }) => {
        await store.putDirectory({ id: e.entryId, role: e.role, name: e.name, phone: e.phone, jenisIzin: e.jenisIzin, active: e.active });
      },
    },
  });
  let timer: NodeJS.Timeout | undefined;
  if (cfg.SCHEDULER_ENABLED) {
    let busy = false;
    const tick = async () => {
      if (busy) return;
      busy = true;
      try { await planner.tick(); } catch (e) { logger.error({ err: (e as Error).message }, 'scheduler tick failed; retried next tick'); } finally { busy = false; }
    };
    timer = setInterval(() => void tick(), cfg.SCHEDULER_INTERVAL_MS);
    void tick();
  }
  const app = createAdminApp({
    planner, store, now, logger, adminToken: cfg.ADMIN_API_TOKEN, phoneRules: { allowedCountries: cfg.ALLOWED_COUNTRIES },
    ops: opsRouter(metrics, [...infra.checks, { name: 'mongodb', check: async () => { await mongo.db('admin').command({ ping: 1 }); } }]),
    publishDirectory: (e) => producer.send([{ topic: 'directory.events', key: e.entryId, value: e }]),
  });
  const { server, port } = await listen(app, cfg.HTTP_PORT, cfg.BIND_HOST);
  logger.info({ port }, 'notification-planner running');
  installShutdown(logger, [() => infra.close(), () => mongo.close(), () => consumer.stop(), async () => { if (timer) clearInterval(timer); }, () => new Promise((r) => server.close(r))]);
}

runService('notification-planner', main);
