import { randomUUID } from 'node:crypto';
import { TransientError, ValidationError, clockFromEnv } from '@sicantik/core';
import { coPartitionedAssigner, followTopic, installShutdown, runBatchConsumer, runService, startInfra, untilAvailable } from '@sicantik/kafka';
import { listen, loadOpenApi, openApiPathFrom, opsRouter, withDocs } from '@sicantik/observability';
import { contactEventKey, retentionFactKey, type DirectoryEntryUpdated, type PlannerCommand, type SubjectRetentionFact } from '@sicantik/schemas';
import { directoryFacts } from './domain/retention';
import { createAdminApp } from './adapters/http';
import { PlannerMemory } from './adapters/memory';
import { consentPhrases, readConfig } from './config';
import { ConsentClassifier } from './adapters/contacts';
import { compilePhrases } from './domain/consent';
import { holidayMap } from './domain/holidays';
import { Planner, addSummaries, commandDoneKey, type RunSummary } from './adapters/planner';
import { privacySettings, startPrivacy } from '@sicantik/privacy';

/** The system clock, or a test's movable one (SICANTIK_TEST_CLOCK_FILE, see @sicantik/core clock.ts). */
const clock = clockFromEnv();

////////// Composition root
// No database: the planner's state is in memory, restored from Kafka (the changelog
// planner.state, directory.events, contact.events). Permit events and admin/scheduler
// commands of partition p are handled by the owner of p (co-partitioned assignment).
async function main() {
  const cfg = readConfig();
  const infra = await startInfra('notification-planner', cfg, ['permit.events', 'directory.events', 'contact.events', 'notification.requests', 'planner.decisions', 'planner.state', 'planner.commands', 'subject.keys', 'subject.index', 'subject.retention']);
  // Personal fields are encrypted with their subject's key on write and decrypted on read (the codec's hook); phone numbers become subjects here.
  const privacy = await startPrivacy({ kafka: infra.kafka, admin: infra.admin, codec: infra.codec, settings: privacySettings(cfg), topicPrefix: cfg.TOPIC_PREFIX, service: 'notification-planner', instance: cfg.SERVICE_INSTANCE, logger: infra.logger, registry: true });
  const { logger, metrics, producer, codec, kafka, admin } = infra;
  const now = () => clock.now();
  const memory = new PlannerMemory();
  const planner = new Planner({
    memory, producer, logger, now, erased: (subjectId) => privacy.ring.state(subjectId) === 'erased',
    settings: {
      linkDashboard: cfg.LINK_DASHBOARD, linkPerpanjangan: cfg.LINK_PERPANJANGAN, kontakDpmptsp: cfg.KONTAK_DPMPTSP, reminderAfterHours: cfg.REMINDER_AFTER_HOURS,
      templates: cfg.SCENARIO_TEMPLATES, optInRequest: cfg.OPT_IN_REQUEST_ENABLED ? { linkOptIn: cfg.LINK_OPT_IN } : null, allowedCountries: cfg.ALLOWED_COUNTRIES,
      timing: {
        officeZone: cfg.OFFICE_TIME_ZONE, quietHours: cfg.QUIET_HOURS, workingHours: cfg.WORKING_HOURS,
        holidays: holidayMap([...cfg.HOLIDAYS, ...cfg.HOLIDAYS_EXTRA]), urgency: cfg.URGENCY,
        coalescing: cfg.STATUS_COALESCE_AFTER_MS > 0 ? { afterLastMs: cfg.STATUS_COALESCE_AFTER_MS, maxMs: cfg.STATUS_COALESCE_MAX_MS } : null,
      },
    },
  });

  // Restore: the directory, the opt-in state and the whole changelog, then keep following them.
  const group = (what: string) => `${cfg.TOPIC_PREFIX}planner-${what}-${cfg.SERVICE_INSTANCE}-${process.pid}-${Date.now()}`;
  const started = Date.now();
  // The latest update of each directory entry as restored: its retention facts are written once restored (below).
  const restoredDirectory = new Map<string, DirectoryEntryUpdated>();
  let directoryRestored = false;
  const followers = await Promise.all([
    followTopic({ kafka, admin, codec, topic: 'directory.events', keepFollowing: true, groupId: group('directory'),
      onMessage: (e) => {
        if (!directoryRestored) restoredDirectory.set(e.entryId, e);
        memory.putDirectory({ id: e.entryId, role: e.role, name: e.name, phone: e.phone, jenisIzin: e.jenisIzin, active: e.active, zone: e.zone ?? null, subjectId: e.subjectId ?? null });
      } }),
    followTopic({ kafka, admin, codec, topic: 'contact.events', keepFollowing: true, groupId: group('contacts'),
      onMessage: (e) => {
        if (e.kind === 'OPTED_OUT' || e.kind === 'OPTED_IN') memory.putContact(e.phone, e.kind === 'OPTED_OUT', e.occurredAt, e.provider);
        else if (e.kind === 'WRONG_NUMBER' && e.pendaftaran_id) memory.putWrongNumber(e.pendaftaran_id, contactEventKey(e));
      } }),
    followTopic({ kafka, admin, codec, topic: 'planner.state', keepFollowing: true, groupId: group('state'),
      onMessage: (r, { offset }) => memory.applyChangelog(r, offset) }),
  ]);
  logger.info({ permits: memory.permits.size, directory: memory.directory.size, changelogRecords: followers[2].records, ms: Date.now() - started }, 'state restored from Kafka');
  // subject.retention: the directory's facts as restored (entries written before the topic existed; the same records again otherwise: each from its own update's time).
  directoryRestored = true;
  const retentionOut = (facts: SubjectRetentionFact[]) => facts.map((f) => ({ topic: 'subject.retention' as const, key: retentionFactKey(f), value: f }));
  const directoryOut = retentionOut([...restoredDirectory.values()].flatMap((e) => directoryFacts(null, e)));
  if (directoryOut.length) await producer.send(directoryOut);
  restoredDirectory.clear();

  const changelogTopic = codec.topic('planner.state');
  const permitTopic = codec.topic('permit.events');
  const partitions = (await untilAvailable(() => admin.fetchTopicMetadata({ topics: [permitTopic] }))).topics[0]!.partitions.length;

  // A partition is handled only once this instance has applied its changelog up to the end it had when assigned.
  const restoring = new Map<number, Promise<void>>();
  let assigned: number[] = [];
  const restored = (p: number): Promise<void> => {
    let r = restoring.get(p);
    if (!r) {
      r = (async () => {
        const offsets = await untilAvailable(() => admin.fetchTopicOffsets(changelogTopic));
        const high = BigInt(offsets.find((o) => o.partition === p)?.high ?? '0');
        await memory.until(() => memory.appliedOffset(p) >= high - 1n, 120_000, `changelog partition ${p} restored`);
        memory.own(p);
        // subject.retention for permits whose state predates it (planner.ts publishLegacyRetention).
        const legacy = await planner.publishLegacyRetention(p);
        logger.info({ partition: p, legacyRetentionFacts: legacy }, 'partition restored');
      })();
      restoring.set(p, r);
      r.catch(() => restoring.delete(p));
    }
    return r;
  };

  const decided = new metrics.client.Counter({ name: 'sicantik_planner_decisions_total', help: 'Planner decisions', labelNames: ['decision'], registers: [metrics.registry] });
  const count = (s: RunSummary) => {
    decided.inc({ decision: 'planned' }, s.planned);
    decided.inc({ decision: 'skipped' }, s.skipped + s.duplicates);
    decided.inc({ decision: 'cancelled' }, s.cancelled);
    decided.inc({ decision: 'deferred' }, s.deferred ?? 0);
    decided.inc({ decision: 'coalesced' }, s.coalesced ?? 0);
  };
  // The consent classifier: its own consumer group on contact.events (adapters/contacts.ts).
  const consent = cfg.CONSENT_CLASSIFIER_ENABLED ? new ConsentClassifier({
    kafka, admin, codec, producer, logger, metrics, memory, allowedCountries: cfg.ALLOWED_COUNTRIES,
    groupId: cfg.CONSENT_CONSUMER_GROUP ?? `${cfg.TOPIC_PREFIX}notification-planner-consent`,
    restoreGroupId: (p) => group(`consent-restore-p${p}`),
    settings: { phrases: compilePhrases(consentPhrases(cfg)), optInAnswerWindowMs: cfg.CONSENT_OPT_IN_ANSWER_HOURS * 3_600_000, kontakDpmptsp: cfg.KONTAK_DPMPTSP, linkDashboard: cfg.LINK_DASHBOARD, sendAnswers: cfg.CONSENT_ANSWERS_ENABLED },
  }) : null;
  // Its group joins beside the planner's own (not one after the other: after a crash each
  // join may wait for the dead member's session to expire); awaited once the API listens.
  const consentStarted = consent?.start();
  consentStarted?.catch(() => undefined);

  const consumer = await runBatchConsumer({
    kafka, codec, producer, logger, metrics, groupId: cfg.CONSUMER_GROUP ?? `${cfg.TOPIC_PREFIX}notification-planner`,
    partitionAssigners: [coPartitionedAssigner],
    onAssignment: (a) => {
      assigned = a[permitTopic] ?? [];
      for (const p of [...restoring.keys()]) if (!assigned.includes(p)) { restoring.delete(p); memory.disown(p); }
      for (const p of assigned) void restored(p).catch((e: Error) => logger.warn({ partition: p, err: e.message }, 'restore not finished; retried with the next batch'));
      logger.info({ partitions: assigned }, 'partitions assigned');
    },
    handlers: {
      'permit.events': async ({ partition, records }) => {
        await restored(partition);
        count(await planner.onPermitEvents(partition, records.map((r) => r.value)));
      },
      'planner.commands': async ({ partition, records }) => {
        await restored(partition);
        for (const r of records) count(await planner.onCommand(partition, r.value));
      },
    },
  });


  const sendCommands = (cmds: PlannerCommand[]) => producer.send(cmds.map((c) => ({ topic: 'planner.commands' as const, key: c.commandId, value: c, partition: c.partition })));

  /** An admin run: one command per partition, answered when every partition's owner reports it done. */
  const runSchedule = async (c: { kind: 'DAILY'; date: string } | { kind: 'DOCUMENT_DIGEST'; from: number; to: number }): Promise<RunSummary> => {
    if (c.kind === 'DAILY') planner.validateDaily(c.date); else planner.validateDigest(c.from, c.to);
    const commandId = `admin:${randomUUID()}`;
    const parts = c.kind === 'DAILY' ? Array.from({ length: partitions }, (_, p) => p) : [0];
    const base = { commandId, kind: c.kind, partitions: parts.length, requestedAt: now().getTime(), date: null, from: null, to: null };
    await sendCommands(parts.map((p) => ({ ...base, ...(c.kind === 'DAILY' ? { date: c.date } : { from: c.from, to: c.to }), partition: p })));
    try {
      await memory.until(() => parts.every((p) => memory.done.has(commandDoneKey(commandId, p))), cfg.COMMAND_TIMEOUT_MS, `command ${commandId}`);
    } catch {
      throw new TransientError(`the run was sent to every partition but not all reported done within ${cfg.COMMAND_TIMEOUT_MS} ms; it completes in the background`);
    }
    const dones = parts.map((p) => memory.done.get(commandDoneKey(commandId, p))!);
    const refused = dones.find((d) => d.error);
    if (refused) throw new ValidationError('refused', (refused.error!.body as { issues: { path: string; message: string }[] }).issues);
    return dones.map((d) => d.summary).reduce(addSummaries);
  };

  let timer: NodeJS.Timeout | undefined;
  if (cfg.SCHEDULER_ENABLED) {
    const requested = new Map<string, number>();
    const tick = async () => {
      const owned = assigned.filter((p) => memory.owns(p));
      const due = planner.dueCommands(owned, partitions).filter((c) => (requested.get(`${c.commandId}:${c.partition}`) ?? 0) < Date.now() - 10 * 60_000);
      if (due.length === 0) return;
      try {
        await sendCommands(due);
        for (const c of due) requested.set(`${c.commandId}:${c.partition}`, Date.now());
      } catch (e) { logger.error({ err: (e as Error).message }, 'scheduler tick failed; retried next tick'); }
    };
    timer = setInterval(() => void tick(), cfg.SCHEDULER_INTERVAL_MS);
    void tick();
  }
  const app = createAdminApp({
    runSchedule, memory, now, logger, keys: cfg.keys, phoneRules: { allowedCountries: cfg.ALLOWED_COUNTRIES },
    ops: withDocs(opsRouter(metrics, infra.checks), loadOpenApi(openApiPathFrom(__dirname))),
    // With the entry, its retention facts (and the former person's, when its number changed), in one produce.
    publishDirectory: (e) => producer.send([{ topic: 'directory.events', key: e.entryId, value: e }, ...retentionOut(directoryFacts(memory.directory.get(e.entryId)?.subjectId, e))]),
    subjectFor: (e164) => privacy.subjects!.subjectFor(e164),
  });
  const { server, port } = await listen(app, cfg.HTTP_PORT, cfg.BIND_HOST);
  await consentStarted;
  logger.info({ port }, 'notification-planner running');
  installShutdown(logger, [() => infra.close(), () => privacy.close(), ...followers.map((f) => () => f.stop()), () => consumer.stop(), async () => { await consent?.stop(); }, async () => { if (timer) clearInterval(timer); }, () => new Promise((r) => server.close(r))]);
}

runService('notification-planner', main);
