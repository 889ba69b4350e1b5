import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { compactionLagConfig, ensureTopics } from '@sicantik/kafka';
import { privacyEnv, privacySettings, startPrivacy } from '@sicantik/privacy';
import { SchemaCodec, TOPIC_NAMES, TOPICS, type TopicName, type TopicValues } from '@sicantik/schemas';
import { z } from 'zod';
import { PRIVACY_TEST_ENV, freePort, freePorts, stack, uniq, waitFor } from './index';

////////// Runs the five services and the provider simulator as separate processes
// (built output, as in production) on random ports, topics and databases.

const root = path.resolve(__dirname, '..', '..');

const TOKENS = { ingest: 'e2e-ingest-token-000001', stats: 'e2e-stats-token-0000001', admin: 'e2e-admin-token-0000001' };
/** Authorization headers the test system accepts. */
export const AUTH = {
  ingest: { Authorization: `Bearer ${TOKENS.ingest}` },
  stats: { Authorization: `Bearer ${TOKENS.stats}` },
  admin: { Authorization: `Bearer ${TOKENS.admin}` },
};

/**
 * A codec for a running system's topics that reads personal fields as its services do:
 * with a key ring of the test keys (PRIVACY_TEST_ENV). Close it after.
 */
export async function systemCodec(sys: Pick<System, 'prefix'>): Promise<{ codec: SchemaCodec; close(): Promise<void> }> {
  const kafka = new Kafka({ brokers: stack.brokers, clientId: uniq('e2e-keys-'), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: sys.prefix });
  const privacy = await startPrivacy({ kafka, admin, codec, settings: privacySettings(z.object(privacyEnv).parse(PRIVACY_TEST_ENV)), topicPrefix: sys.prefix, service: 'e2e-reader', instance: uniq(''), registry: false, nudge: false });
  return { codec, close: async () => { await privacy.close(); await admin.disconnect(); } };
}

/** Follows topics of a running system from the beginning, decoding each record (personal fields decrypted); returns a stop function. */
export async function readTopics<T extends TopicName>(sys: System, topics: T[], onRecord: <K extends T>(topic: K, value: TopicValues[K]) => void): Promise<() => Promise<void>> {
  const kafka = new Kafka({ brokers: stack.brokers, clientId: uniq('e2e-reader-'), logLevel: logLevel.NOTHING });
  const { codec, close } = await systemCodec(sys);
  const consumer = kafka.consumer({ groupId: uniq('e2e-reader-') });
  await consumer.connect();
  await consumer.subscribe({ topics: topics.map((t) => `${sys.prefix}${t}`), fromBeginning: true });
  await consumer.run({ eachMessage: async ({ topic, message }) => {
    const logical = topic.slice(sys.prefix.length) as T;
    onRecord(logical, await codec.decode(logical, message.value!));
  } });
  return async () => { await consumer.disconnect(); await close(); };
}

export interface System {
  prefix: string;
  ingestUrl: string;
  /** The tracker's statistics API (with trackerRoles: the projection role). */
  trackerUrl: string;
  /** Where the providers' webhooks go: the tracker, or with trackerRoles its receiver role (instance `delivery-tracker-receiver`). */
  receiverUrl: string;
  simUrl: string;
  plannerUrl: string;
  rendererUrl: string;
  env: Record<string, string>;
  logs: Record<string, string>;
  stop(): Promise<void>;
  /** Stops a service or instance (SIGTERM: graceful; SIGKILL: a crash, nothing flushed). */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Names of the running instances of a service (the first one and those added). */
  instances(name: string): string[];
  /** Stops (SIGTERM, if still running) and starts again a service or instance, with the settings it started with. */
  /**
   * Stops a service and starts it again. `running: true` waits until the new process logs
   * "<service> running" (its consumer group joined): a test that needs the restarted
   * service to act then waits for that, not for a guess at how long a start takes.
   */
  restart(name: string, opts?: { running?: boolean }): Promise<void>;
  /** Starts one more instance of a service (same topics, group and database); returns its base URL. */
  addInstance(name: string, env?: Record<string, string>): Promise<string>;
  /** Database name a service uses (its MONGO_DB). */
  db(name: string): string;
  /** Base URL of the ops port of each service named in SystemOptions.opsPorts. */
  opsUrls: Record<string, string>;
}

const SERVICES: [name: string, dir: string][] = [
  ['provider-simulator', 'tools/provider-simulator'],
  ['delivery-tracker', 'services/delivery-tracker'],
  ['template-renderer', 'services/template-renderer'],
  ['provider-dispatcher', 'services/provider-dispatcher'],
  ['notification-planner', 'services/notification-planner'],
  ['permit-ingest', 'services/permit-ingest'],
];

export interface SystemOptions {
  /**
   * The tracker as two processes: `delivery-tracker` with TRACKER_ROLE=projection (consumer,
   * MongoDB, statistics API at trackerUrl) and `delivery-tracker-receiver` with
   * TRACKER_ROLE=receiver (webhooks only, at receiverUrl), where the simulator sends every
   * provider's webhooks (META_WEBHOOK_URL and SIM_WEBHOOK_BASE_URL).
   */
  trackerRoles?: boolean;
  /** Settings for every service that name the system's addresses (e.g. FONNTE_BASE_URL: `${simUrl}/fonnte`), over extraEnv. */
  envFor?: (urls: { simUrl: string; receiverUrl: string }) => Record<string, string>;
  /** Services given an OPS_PORT of their own (e.g. the dispatcher's admin API), at System.opsUrls[name]. */
  opsPorts?: string[];
  /**
   * The topics erasure compacts (those with a maxCompactionLagMs in the catalogue:
   * subject.keys, subject.index) drop a tombstoned key within about this many
   * milliseconds (plus the broker cleaner's back-off) instead of the catalogue's hours:
   * erasure tests see compaction run. (Only those: tiny segments on every compacted
   * topic would cost the shared broker many files.)
   */
  compactionLagMs?: number;
}

/**
 * Creates the system's topics before its services start (they would otherwise all create
 * them at once); with `compactionLagMs`, the erasure topics compact within that time.
 */
async function createTopics(prefix: string, partitions: number, compactionLagMs: number | undefined): Promise<void> {
  const kafka = new Kafka({ brokers: stack.brokers, clientId: uniq('e2e-topics-'), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (compactionLagMs) {
      const compacted = TOPIC_NAMES.filter((n) => TOPICS[n].compacted && TOPICS[n].maxCompactionLagMs);
      await admin.createTopics({ waitForLeaders: true, topics: compacted.map((n) => ({
        topic: `${prefix}${n}`, numPartitions: TOPICS[n].copartitioned ? partitions : 1, replicationFactor: 1,
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.cleanable.dirty.ratio', value: '0.001' }, ...compactionLagConfig(compactionLagMs)],
      })) });
    }
    await ensureTopics(admin, { prefix, partitions, replicationFactor: 1 });
  } finally { await admin.disconnect(); }
}

export async function startSystem(extraEnv: Record<string, string> = {}, opts: SystemOptions = {}): Promise<System> {
  const id = uniq('');
  const opsNames = opts.opsPorts ?? [];
  const [ingestPort, trackerPort, simPort, plannerPort, rendererPort, rolePort, ...opsPorts] = await freePorts(6 + opsNames.length) as [number, number, number, number, number, number, ...number[]];
  const receiverPort = opts.trackerRoles ? rolePort : trackerPort;
  const opsUrls = Object.fromEntries(opsNames.map((n, i) => [n, `http://127.0.0.1:${opsPorts[i]}`]));
  const logDir = path.join(root, '.stack', 'e2e', id);
  fs.mkdirSync(logDir, { recursive: true });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    LOG_LEVEL: 'info',
    KAFKA_BROKERS: stack.brokers.join(','),
    SCHEMA_REGISTRY_URL: stack.registryUrl,
    MONGO_URL: stack.mongoUrl,
    TOPIC_PREFIX: `e2e-${id}.`,
    TOPIC_PARTITIONS: '3',
    INGEST_API_TOKEN: TOKENS.ingest,
    STATS_API_TOKEN: TOKENS.stats,
    ADMIN_API_TOKEN: TOKENS.admin,
    ...PRIVACY_TEST_ENV,
    SCHEDULER_ENABLED: 'false',
    LINK_DASHBOARD: 'https://sicantik.test/dashboard',
    LINK_PERPANJANGAN: 'https://sicantik.test/perpanjangan',
    KONTAK_DPMPTSP: '(0628) 20655',
    META_ACCESS_TOKEN: 'e2e-meta-access-token',
    META_APP_SECRET: 'e2e-meta-app-secret',
    META_VERIFY_TOKEN: 'e2e-meta-verify-token',
    META_PHONE_NUMBER_ID: '100000000000001',
    META_BASE_URL: `http://127.0.0.1:${simPort}/meta`,
    META_WEBHOOK_URL: `http://127.0.0.1:${receiverPort}/webhooks/meta`,
    ...(opts.trackerRoles ? { SIM_WEBHOOK_BASE_URL: `http://127.0.0.1:${receiverPort}/webhooks` } : {}),
    SIM_PORT: String(simPort),
    SIM_WEBHOOK_DELAY_MS: '50',
    RETRY_DELAY_MS: '200',
    // Issue 16: quiet and working hours depend on the time of day the suite runs (schedule runs are planned
    // at the time they are requested); off unless a test turns them on (timing.e2e.spec.ts).
    QUIET_HOURS: 'off',
    WORKING_HOURS: 'off',
    // Meta alone and citizens who never opted in: these systems test the pipeline, not consent,
    // so they send anyway (the explicit setting); the hold is tested in dispatcher-waits.e2e.
    UNCONSENTED_OPT_IN_PROVIDERS: 'send',
    ...extraEnv,
    ...opts.envFor?.({ simUrl: `http://127.0.0.1:${simPort}`, receiverUrl: `http://127.0.0.1:${receiverPort}` }),
  };
  const perService: Record<string, Record<string, string>> = {
    'permit-ingest': { HTTP_PORT: String(ingestPort), MONGO_DB: `e2e_${id}_ingest` },
    'delivery-tracker': { HTTP_PORT: String(trackerPort), MONGO_DB: `e2e_${id}_projections`, ...(opts.trackerRoles ? { TRACKER_ROLE: 'projection' } : {}) },
    'provider-dispatcher': { MONGO_DB: `e2e_${id}_dispatch` },
    'notification-planner': { HTTP_PORT: String(plannerPort), MONGO_DB: `e2e_${id}_planner` },
    'template-renderer': { HTTP_PORT: String(rendererPort) },
  };
  opsNames.forEach((n, i) => { perService[n] = { ...perService[n], OPS_PORT: String(opsPorts[i]) }; });
  await createTopics(env.TOPIC_PREFIX!, Number(env.TOPIC_PARTITIONS), opts.compactionLagMs);
  const procs = new Map<string, ChildProcess>();
  /** How each instance was started, for restart. */
  const launched = new Map<string, { name: string; dir: string; over: Record<string, string> }>();
  const logs: Record<string, string> = {};
  const dirOf = (name: string) => SERVICES.find(([n]) => n === name)![1];
  const launch = (name: string, dir: string, instance = name, over: Record<string, string> = {}) => {
    const log = path.join(logDir, `${instance}.log`);
    logs[instance] = log;
    const out = fs.openSync(log, 'a');
    const p = spawn(process.execPath, ['dist/main.js'], { cwd: path.join(root, dir), env: { ...env, ...perService[name], ...over }, stdio: ['ignore', out, out] });
    procs.set(instance, p);
    launched.set(instance, { name, dir, over });
  };
  for (const [name, dir] of SERVICES) launch(name, dir);
  // The receiver role on its own port; its MONGO_URL leads nowhere (it never connects to a database).
  if (opts.trackerRoles) launch('delivery-tracker', dirOf('delivery-tracker'), 'delivery-tracker-receiver', { TRACKER_ROLE: 'receiver', HTTP_PORT: String(receiverPort), MONGO_URL: 'mongodb://127.0.0.1:1' });

  const sys: System = {
    prefix: env.TOPIC_PREFIX!, env, logs,
    ingestUrl: `http://127.0.0.1:${ingestPort}`, plannerUrl: `http://127.0.0.1:${plannerPort}`, rendererUrl: `http://127.0.0.1:${rendererPort}`, trackerUrl: `http://127.0.0.1:${trackerPort}`, simUrl: `http://127.0.0.1:${simPort}`,
    receiverUrl: `http://127.0.0.1:${receiverPort}`, opsUrls,
    kill: async (name, signal = 'SIGTERM') => {
      const p = procs.get(name);
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill(signal);
      await exited;
    },
    restart: async (name, o = {}) => {
      const how = launched.get(name) ?? { name, dir: dirOf(name), over: {} };
      await sys.kill(name);
      const line = `${how.name} running`;
      const count = () => fs.readFileSync(logs[name]!, 'utf8').split(line).length - 1;
      const before = o.running ? count() : 0;
      launch(how.name, how.dir, name, how.over);
      if (o.running) await waitFor(async () => count() > before, { timeoutMs: 180_000, what: `${name} running again` });
    },
    db: (name) => perService[name]!.MONGO_DB!,
    instances: (name) => [...procs.keys()].filter((k) => k === name || k.startsWith(`${name}-`)),
    addInstance: async (name, over = {}) => {
      const port = await freePort();
      const instance = `${name}-${procs.size}`;
      launch(name, dirOf(name), instance, { HTTP_PORT: String(port), OPS_PORT: String(port), ...over });
      const url = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => ({ ok: false }))).ok, { timeoutMs: 90_000, what: `${instance} ready` });
      return url;
    },
    stop: async () => {
      // What each service's /metrics shows at the end goes beside its log: the e2e log check (test/support/e2eLogCheck.ts) searches both.
      const metricsAt: Record<string, string> = { 'permit-ingest': sys.ingestUrl, 'delivery-tracker': sys.trackerUrl, 'notification-planner': sys.plannerUrl, 'template-renderer': sys.rendererUrl, ...opsUrls };
      if (opts.trackerRoles) metricsAt['delivery-tracker-receiver'] = sys.receiverUrl;
      await Promise.all(Object.entries(metricsAt).map(async ([n, url]) => {
        const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
        if (r?.ok) fs.writeFileSync(path.join(logDir, `${n}.metrics`), await r.text());
      }));
      await Promise.all([...procs.keys()].map((n) => sys.kill(n)));
    },
  };
  try {
    for (const url of [`${sys.simUrl}/healthz`, `${sys.ingestUrl}/readyz`, `${sys.trackerUrl}/readyz`, `${sys.receiverUrl}/readyz`, `${sys.plannerUrl}/readyz`, `${sys.rendererUrl}/readyz`]) {
      await waitFor(async () => (await fetch(url)).ok, { timeoutMs: 90_000, what: url });
    }
    // Consumers log "running" once their group has joined.
    for (const name of ['template-renderer', 'provider-dispatcher', 'notification-planner']) {
      await waitFor(async () => fs.readFileSync(logs[name]!, 'utf8').includes(`${name} running`), { timeoutMs: 90_000, what: `${name} running` });
    }
  } catch (e) {
    const tails = Object.entries(logs).map(([n, f]) => `--- ${n}\n${fs.readFileSync(f, 'utf8').split('\n').slice(-15).join('\n')}`).join('\n');
    await sys.stop();
    throw new Error(`system did not start: ${(e as Error).message}\n${tails}`);
  }
  return sys;
}
