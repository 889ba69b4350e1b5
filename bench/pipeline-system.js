// The five services and the provider simulator as child processes from their built
// output (as scripts/services.sh and test/support/system.ts start them), with this
// run's own TOPIC_PREFIX, MONGO_DB names and free ports. Used by bench/pipeline.bench.js.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { MongoClient } = require('mongodb');
const net = require('node:net');
const { env: stackEnv } = require('./support');

const root = path.resolve(__dirname, '..');
/** Whose built services run: this checkout's, or another one's (SERVICES_ROOT=/path/to/checkout, built). */
const servicesRoot = path.resolve(process.env.SERVICES_ROOT || root);
const SERVICES = [
  ['provider-simulator', 'tools/provider-simulator'],
  ['delivery-tracker', 'services/delivery-tracker'],
  ['template-renderer', 'services/template-renderer'],
  ['provider-dispatcher', 'services/provider-dispatcher'],
  ['notification-planner', 'services/notification-planner'],
  ['permit-ingest', 'services/permit-ingest'],
];
const TOKENS = { ingest: 'bench-ingest-token-000001', stats: 'bench-stats-token-0000001', admin: 'bench-admin-token-0000001' };

/**
 * A free port below the kernel's ephemeral range (32768 and up by default): a port
 * from listen(0) is ephemeral, and another child's outgoing connection (to Kafka, the
 * database) can take it between the check and the service's own listen.
 */
async function freePort() {
  for (;;) {
    const p = 20_000 + Math.floor(Math.random() * 12_000);
    const ok = await new Promise((res) => { const s = net.createServer(); s.once('error', () => res(false)); s.listen(p, '127.0.0.1', () => s.close(() => res(true))); });
    if (ok) return p;
  }
}

/** Every live system, so a signal handler can stop them all. */
const live = new Set();

/**
 * Starts one system and waits until every HTTP endpoint answers ready.
 * `extraEnv` is added to every process's environment (e.g. a metrics switch);
 * `nodeArgs` go before the entry point (e.g. --cpu-prof, not allowed in NODE_OPTIONS).
 */
async function startSystem({ id, extraEnv = {}, nodeArgs = [], logLevel = 'warn', partitions = 6, webhookDelayMs = 50, log = () => undefined }) {
  const [ingest, tracker, planner, renderer, dispatcher, sim] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const logDir = path.join(root, '.stack', 'bench', id);
  fs.mkdirSync(logDir, { recursive: true });
  const prefix = `bench-pipe-${id}.`;
  const dbs = {
    'permit-ingest': `bench_${id}_ingest`, 'delivery-tracker': `bench_${id}_projections`,
    'provider-dispatcher': `bench_${id}_dispatch`, 'notification-planner': `bench_${id}_planner`,
  };
  const env = {
    PATH: process.env.PATH ?? '', ...stackEnv, LOG_LEVEL: logLevel,
    TOPIC_PREFIX: prefix, TOPIC_PARTITIONS: String(partitions),
    INGEST_API_TOKEN: TOKENS.ingest, STATS_API_TOKEN: TOKENS.stats, ADMIN_API_TOKEN: TOKENS.admin,
    SCHEDULER_ENABLED: 'false', // the daily expiry run is not part of the event path
    LINK_DASHBOARD: 'https://sicantik.test/dashboard', LINK_PERPANJANGAN: 'https://sicantik.test/perpanjangan', KONTAK_DPMPTSP: '(0628) 20655',
    META_ACCESS_TOKEN: 'bench-meta-access-token', META_APP_SECRET: 'bench-meta-app-secret', META_VERIFY_TOKEN: 'bench-meta-verify-token',
    META_PHONE_NUMBER_ID: '100000000000001', META_BASE_URL: `http://127.0.0.1:${sim}/meta`,
    META_WEBHOOK_URL: `http://127.0.0.1:${tracker}/webhooks/meta`, SIM_PORT: String(sim),
    SIM_STATUSES: 'sent,delivered', SIM_WEBHOOK_DELAY_MS: String(webhookDelayMs), RETRY_DELAY_MS: '1000',
    // Meta alone, citizens never asked: sent anyway (the hold would keep the pipeline's messages back).
    UNCONSENTED_OPT_IN_PROVIDERS: 'send',
    ...extraEnv,
  };
  const perService = {
    'permit-ingest': { HTTP_PORT: String(ingest), MONGO_DB: dbs['permit-ingest'] },
    'delivery-tracker': { HTTP_PORT: String(tracker), MONGO_DB: dbs['delivery-tracker'] },
    'provider-dispatcher': { OPS_PORT: String(dispatcher), MONGO_DB: dbs['provider-dispatcher'] },
    'notification-planner': { HTTP_PORT: String(planner), MONGO_DB: dbs['notification-planner'] },
    'template-renderer': { HTTP_PORT: String(renderer) },
    'provider-simulator': {},
  };
  const u = (p) => `http://127.0.0.1:${p}`;
  const urls = { ingest: u(ingest), tracker: u(tracker), planner: u(planner), renderer: u(renderer), dispatcher: u(dispatcher), sim: u(sim) };
  /** Base URL serving /metrics, per service. */
  const metricsUrls = { 'permit-ingest': urls.ingest, 'delivery-tracker': urls.tracker, 'notification-planner': urls.planner, 'template-renderer': urls.renderer, 'provider-dispatcher': urls.dispatcher };
  const procs = new Map();
  const exits = [];
  const launch = (name) => {
    const dir = SERVICES.find(([n]) => n === name)[1];
    const file = path.join(logDir, `${name}.log`);
    const out = fs.openSync(file, 'a');
    const p = spawn(process.execPath, [...nodeArgs, 'dist/main.js'], { cwd: path.join(servicesRoot, dir), env: { ...env, ...perService[name] }, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    p.on('exit', (code, signal) => { if (!sys.stopping && procs.get(name) === p) exits.push(`${name} exited (${code ?? signal}); see ${file}`); });
    procs.set(name, p);
  };
  const kill = async (name) => {
    const p = procs.get(name);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await exited; clearTimeout(t);
  };
  const sys = {
    id, prefix, env, dbs, urls, metricsUrls, tokens: TOKENS, logDir, stopping: false,
    auth: (k) => ({ Authorization: `Bearer ${TOKENS[k]}` }),
    pids: () => Object.fromEntries([...procs].map(([n, p]) => [n, p.pid])),
    /** Deaths not caused by stop(): a benchmark must not go on with a dead service. */
    exits,
    restart: async (name) => { await kill(name); launch(name); await ready(); },
    stop: async () => { sys.stopping = true; await Promise.all([...procs.keys()].map(kill)); live.delete(sys); },
    /** Stops the processes, then drops the databases (topics are dropped by the caller, which holds an admin client). */
    dropData: async () => {
      const mongo = await MongoClient.connect(stackEnv.MONGO_URL, { serverSelectionTimeoutMS: 5000 });
      try { for (const db of Object.values(dbs)) await mongo.db(db).dropDatabase().catch(() => undefined); } finally { await mongo.close(); }
    },
    logTail: (name, lines = 15) => { try { return fs.readFileSync(path.join(logDir, `${name}.log`), 'utf8').split('\n').slice(-lines).join('\n'); } catch { return ''; } },
  };
  const ready = async () => {
    const checks = [`${urls.sim}/healthz`, `${urls.ingest}/readyz`, `${urls.tracker}/readyz`, `${urls.planner}/readyz`, `${urls.renderer}/readyz`, `${urls.dispatcher}/readyz`];
    const end = Date.now() + 180_000;
    for (const url of checks) {
      for (;;) {
        if (exits.length) throw new Error(exits.join('; '));
        if ((await fetch(url).catch(() => ({ ok: false }))).ok) break;
        if (Date.now() > end) throw new Error(`not ready: ${url}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  live.add(sys);
  for (const [name] of SERVICES) launch(name);
  log(`started ${SERVICES.length} processes from ${servicesRoot === root ? 'this checkout' : servicesRoot} (prefix ${prefix}, logs ${path.relative(root, logDir)})`);
  try {
    await ready();
  } catch (e) {
    const tails = SERVICES.map(([n]) => `--- ${n}\n${sys.logTail(n)}`).join('\n');
    await sys.stop();
    throw Object.assign(new Error(`system did not start: ${e.message}\n${tails}`), { sys });
  }
  return sys;
}

/** Kills every process of every live system at once (for signal handlers). */
function killAllNow() {
  for (const sys of live) { sys.stopping = true; }
  for (const sys of live) for (const pid of Object.values(sys.pids())) { try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
}

/** CPU seconds (user + system) a process has used so far, from /proc; NaN where unavailable. */
function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch { return NaN; }
}

/** The systems started and not yet stopped. */
const liveSystems = () => [...live];

module.exports = { startSystem, killAllNow, liveSystems, cpuSeconds, TOKENS };
