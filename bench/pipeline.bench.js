#!/usr/bin/env node
// Whole pipeline (issue 8, "Throughput redesign"). Run after the build, with the local stack up:
//   eval "$(deploy/local/stack.sh env | sed 's/^/export /')"
//   MODE=rate    [WINDOW_S=60] [RATES=250,500,1000 | START_RATE=2] node bench/pipeline.bench.js
//   MODE=latency [RATE=...] node bench/pipeline.bench.js
//   MODE=metrics [RATE=...] [METRICS_OFF_ENV=NAME=value] node bench/pipeline.bench.js
// (the mode may also be the first argument). It starts its own copies of the five
// services and the provider simulator (built output, fresh TOPIC_PREFIX, MONGO_DB
// names and ports; bench/pipeline-system.js), feeds PermitIssued events through the
// ingest HTTP API, and stops and cleans up everything at the end (also on error or Ctrl-C).
//
// - R (same run): raw kafkajs produce -> consume of records of the size of a real
//   PermitIssued record (read back from this run's permit.events topic), batches of
//   500, acks=-1, on the same broker (bench/support.js rawR).
// - rate: the highest rate at which every consumer group's lag stays flat. For each
//   rate, events are posted on an open-loop schedule by CLIENTS concurrent clients for
//   WINDOW_S; every consumer group of this run is sampled every second (committed
//   offsets vs end offsets of the group's topics). Sustained when: the clients kept
//   the rate (>= 95 %) and every post was answered 202; for every group, the lag at the
//   end of the window (mean of the last 3 samples) is at most the lag early in the
//   window (mean of the samples between 20 % and 35 % of it) plus LAG_TOL_S seconds
//   of that group's input (at least LAG_TOL_MIN records); and every accepted event
//   reached the simulator within GRACE_S after the window. Rates: RATES (ascending,
//   stops at the first that fails) or START_RATE doubled until one fails, then bisected
//   down to PRECISION. Between rates the backlog is drained (all lags 0, up to DRAIN_S).
// - latency: at RATE (default: half of the sustained rate, found first), per event
//   ingest POST -> the provider call recorded by the simulator (correlated by the
//   pendaftaran_id carried in link_download), and POST -> "delivered" visible in the
//   statistics API (GET /v1/stats/notifications/:id, polled every POLL_MS
//   once the event reached the simulator; the simulator reports sent and delivered by
//   signed webhook after SIM_WEBHOOK_DELAY_MS each).
// - metrics: the same fixed-rate run on two fresh systems, metrics on (as shipped) and
//   off. The services have no switch for their metrics today; METRICS_OFF_ENV names
//   the environment that turns them off once one exists (e.g. METRICS_ENABLED=false).
// - every row: database operations per event from counters with "db" in their name on
//   each service's /metrics (sicantik_db_operations_total once it exists; "n/a" before),
//   and CPU ms per event of the five service processes (from /proc).
// - ingest answers other than 202 (5xx, refused connections) are retried like an upstream
//   client would (RETRIES=3, 0.5 s, 1 s, 1.5 s); events still refused make the rate not sustained.
// - SERVICES_ROOT=/path/to/another/checkout (built): run that checkout's services instead
//   of this one's, e.g. a "before" commit exported with git archive.
// - SERVICE_ENV='NAME=value;NAME2=value': environment for every service (tuning).
// - NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof': node options for every service
//   process (here: a CPU profile per process, written when it stops).
// - STORED=N: bench/seed-stored.js seedStored(N, ctx) before measuring: N delivered
//   notifications already in the tracker's projections and the ingest's duplicate check.
require('./help')(__filename);
const { randomBytes } = require('node:crypto');
const { Kafka, logLevel, AssignerProtocol } = require('kafkajs');
const { env: stackEnv, pct, rawR } = require('./support');
const { startSystem, killAllNow, liveSystems, cpuSeconds } = require('./pipeline-system');
const { seedStored } = require('./seed-stored');
const { notificationId } = require('@sicantik/core');
const fs = require('node:fs');
const path = require('node:path');
/** The stack's process ids (deploy/local/stack.sh keeps them in its data directory). */
const STACK_DATA = process.env.STACK_DATA_DIR || path.join(__dirname, '..', '.stack');
function readPid(name) { try { return fs.readFileSync(path.join(STACK_DATA, `${name}.pid`), 'utf8').trim(); } catch { return ''; } }

const E = process.env;
const num = (name, def) => (E[name] === undefined || E[name] === '' ? def : Number(E[name]));
const MODE = E.MODE ?? process.argv[2] ?? 'rate';
const cfg = {
  windowS: num('WINDOW_S', 60), clients: num('CLIENTS', 16), rates: E.RATES ? E.RATES.split(',').map(Number).sort((a, b) => a - b) : null,
  startRate: num('START_RATE', 2), maxRate: num('MAX_RATE', 20_000), precision: num('PRECISION', 0.2), maxSteps: num('MAX_STEPS', 10),
  rate: num('RATE', undefined), graceS: num('GRACE_S', 20), drainS: num('DRAIN_S', 180), lagTolS: num('LAG_TOL_S', 2), lagTolMin: num('LAG_TOL_MIN', 10),
  rN: num('R_N', 10_000), retries: num('RETRIES', 3), warmup: num('WARMUP', 5), stored: num('STORED', 0), pollMs: num('POLL_MS', 200), webhookDelayMs: num('SIM_WEBHOOK_DELAY_MS', 50),
  partitions: num('TOPIC_PARTITIONS', 6), logLevel: E.LOG_LEVEL ?? 'warn', keep: E.KEEP === '1', metricsOffEnv: E.METRICS_OFF_ENV,
  // SERVICE_ENV='A=1;B=x y': added to every service of every system (tuning)
  nodeArgs: (E.NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
  serviceEnv: Object.fromEntries((E.SERVICE_ENV ?? '').split(';').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')).trim(), kv.slice(kv.indexOf('=') + 1).trim()])),
};
if (!['rate', 'latency', 'metrics'].includes(MODE)) { console.error(`unknown mode ${MODE}: rate, latency or metrics`); process.exit(2); }

const id = randomBytes(3).toString('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (msg) => process.stderr.write(`[pipeline ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');
const kafka = new Kafka({ brokers: stackEnv.KAFKA_BROKERS.split(','), clientId: `bench-pipeline-${id}`, logLevel: logLevel.NOTHING });

////////// One running system plus what the bench knows about its events

class Run {
  constructor(sys, admin) {
    this.sys = sys; this.admin = admin;
    this.events = new Map(); // k -> { k, post, status, simAt, sends, visibleAt }
    this.next = 0;
    this.samples = [];
    this.groupTopics = new Map();
    this.pipelineGroups = null; // groups that commit (the services' consumer groups), fixed after warm-up
    this.re = new RegExp(`BP-${id}-(\\d+)(?!\\d)`);
  }
  reg(k) { return `BP-${id}-${k}`; }
  body(k) {
    const reg = this.reg(k);
    return JSON.stringify({ event_id: `${reg}-issued`, type: 'PermitIssued', occurred_at: '2026-11-24T09:00:00+07:00', pendaftaran_id: reg,
      data: { no_surat: `503/${reg}/2026`, jenis_izin: 'PBG', nama_pemohon: `Pemohon ${k}`, telepon_pemohon: `0812${String(k % 1e8).padStart(8, '0')}`,
        tanggal_terbit: '2026-11-24', link_download: `https://sicantik.test/izin/${reg}.pdf`, tanggal_berakhir: '2027-11-24' } });
  }
  async post(k) {
    const ev = { k, post: Date.now(), status: 0, sends: 0 };
    this.events.set(k, ev);
    // Like an upstream client: a 5xx or a failed connection is retried (RETRIES times, 0.5 s, 1 s, ...);
    // a retry answered 200 "duplicate" means the first attempt got in.
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await fetch(`${this.sys.urls.ingest}/v1/permit-events`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...this.sys.auth('ingest') }, body: this.body(k) });
        await r.text();
        ev.status = r.status;
      } catch (e) { ev.status = 0; ev.error = e.message; }
      if ((ev.status === 0 || ev.status >= 500) && attempt < cfg.retries) { ev.retries = attempt + 1; await sleep(500 * (attempt + 1)); continue; }
      break;
    }
    if (ev.status === 200 && ev.retries) ev.status = 202;
    ev.answered = Date.now();
    return ev;
  }
  /** Posts round(rate * seconds) events on an open-loop schedule (event j due at t0 + j / rate) from `clients` clients. */
  async feed(rate, seconds, clients = cfg.clients) {
    const total = Math.max(1, Math.round(rate * seconds));
    const first = this.next; this.next += total;
    const t0 = Date.now();
    let j = 0;
    await Promise.all(Array.from({ length: Math.min(clients, total) }, async () => {
      for (let i = j++; i < total; i = j++) {
        const wait = t0 + (i * 1000) / rate - Date.now();
        if (wait > 0) await sleep(wait);
        await this.post(first + i);
      }
    }));
    const evs = this.range(first, total);
    return { first, total, t0, t1: Date.now(), lastAnswered: Math.max(...evs.map((e) => e.answered)), accepted: evs.filter((e) => e.status === 202).length };
  }
  range(first, total) { return Array.from({ length: total }, (_, i) => this.events.get(first + i)).filter(Boolean); }

  /** Reads the simulator's recorded provider calls; the first accepted call per event sets its simAt. */
  async pollSim() {
    const recs = await (await fetch(`${this.sys.urls.sim}/_sim/requests?provider=meta`)).json();
    for (const rec of recs) {
      const m = this.re.exec(JSON.stringify(rec.body));
      const ev = m && this.events.get(Number(m[1]));
      if (!ev) continue;
      if (ev.seen?.has(rec.at + rec.messageId)) continue;
      (ev.seen ??= new Set()).add(rec.at + rec.messageId);
      if (rec.responseStatus === 200) { ev.sends++; if (ev.simAt === undefined) { ev.simAt = Date.parse(rec.at); ev.wamid = rec.messageId; } }
    }
  }
  /** Polls until every accepted event in `evs` reached the simulator, or until `deadline`. */
  async untilReached(evs, deadline, everyMs = 2000) {
    for (;;) {
      this.checkAlive();
      await this.pollSim();
      if (evs.every((e) => e.status !== 202 || e.simAt !== undefined) || Date.now() > deadline) return;
      await sleep(everyMs);
    }
  }
  /**
   * Is the event's message delivered (or read) in the statistics API? Asked by
   * notification id (GET /v1/stats/notifications/:id, a read by _id): the id is the
   * planner's deterministic one for a PermitIssued event. (The decisions query by
   * pendaftaran_id would scan planner_decisions on the embedded database and make the
   * bench itself the load.)
   */
  async visible(ev) {
    const reg = this.reg(ev.k);
    const id = notificationId('permit_ready', reg, `503/${reg}/2026`);
    const r = await fetch(`${this.sys.urls.tracker}/v1/stats/notifications/${id}`, { headers: this.sys.auth('stats') });
    if (!r.ok) { await r.text(); return false; }
    const d = await r.json();
    return ['delivered', 'read'].includes(d.status ?? d.notification?.status);
  }
  /** While `active()`: every POLL_MS, asks the statistics API for events that reached the simulator and are not yet seen delivered. */
  async watchVisible(active) {
    const running = new Set();
    while (active()) {
      const pending = [...this.events.values()].filter((e) => e.simAt !== undefined && e.visibleAt === undefined && !running.has(e.k)).slice(0, 8 - running.size);
      for (const ev of pending) {
        running.add(ev.k);
        const asked = Date.now();
        this.visible(ev).then((ok) => { if (ok) ev.visibleAt = asked; }, () => undefined).finally(() => running.delete(ev.k));
      }
      await sleep(cfg.pollMs);
    }
  }
  checkAlive() { if (this.sys.exits.length) throw new Error(`a service died: ${this.sys.exits.join('; ')}`); }

  ////////// Consumer lag, sampled every second

  async sampleLag() {
    const { groups } = await this.admin.listGroups();
    const mine = groups.map((g) => g.groupId).filter((g) => g.startsWith(this.sys.prefix));
    const unknown = mine.filter((g) => !this.groupTopics.has(g));
    if (unknown.length) {
      const { groups: desc } = await this.admin.describeGroups(unknown);
      for (const d of desc) {
        const topics = new Set();
        for (const m of d.members) { try { for (const t of AssignerProtocol.MemberMetadata.decode(m.memberMetadata).topics) topics.add(t); } catch { /* not a consumer protocol member */ } }
        if (topics.size) this.groupTopics.set(d.groupId, [...topics]);
      }
    }
    const known = mine.filter((g) => this.groupTopics.has(g));
    const topics = [...new Set(known.flatMap((g) => this.groupTopics.get(g)))];
    const ends = new Map(await Promise.all(topics.map(async (t) => [t, new Map((await this.admin.fetchTopicOffsets(t)).map((p) => [p.partition, p]))])));
    const out = {};
    await Promise.all(known.map(async (g) => {
      const offs = await this.admin.fetchOffsets({ groupId: g, topics: this.groupTopics.get(g) });
      let lag = 0, high = 0, committed = false;
      for (const { topic, partitions } of offs) {
        for (const p of partitions) {
          const end = ends.get(topic)?.get(p.partition);
          if (!end) continue;
          const c = Number(p.offset);
          if (c >= 0) committed = true;
          lag += Number(end.high) - (c >= 0 ? c : Number(end.low));
          high += Number(end.high);
        }
      }
      out[g] = { lag, high, committed };
    }));
    return { t: Date.now(), groups: out };
  }
  startSampling() {
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        const t = Date.now();
        try { this.samples.push(await this.sampleLag()); } catch (e) { say(`lag sample failed: ${e.message}`); }
        if (this.samples.length > 4000) this.samples.splice(0, 1000);
        await sleep(Math.max(0, 1000 - (Date.now() - t)));
      }
    })();
    this.stopSampling = async () => { stopped = true; await loop; };
  }
  lastSample() { return this.samples[this.samples.length - 1]; }
  /** Waits for a sample taken after now in which every pipeline group's lag is 0. */
  async untilDrained(ms) {
    const since = Date.now(), end = since + ms;
    for (;;) {
      this.checkAlive();
      const s = this.lastSample();
      if (s && s.t > since && this.pipelineGroups.every((g) => s.groups[g] && s.groups[g].lag === 0)) return true;
      if (Date.now() > end) return false;
      await sleep(500);
    }
  }
  /** Per pipeline group: lag early vs late in [t0, t1], and whether it stayed flat. */
  lagVerdict(t0, t1) {
    const W = t1 - t0;
    const inWin = this.samples.filter((s) => s.t >= t0 && s.t <= t1);
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return this.pipelineGroups.map((g) => {
      const ss = inWin.filter((s) => s.groups[g]);
      if (ss.length < 4) return { group: g, flat: false, why: 'too few lag samples' };
      let early = ss.filter((s) => s.t >= t0 + 0.2 * W && s.t <= t0 + 0.35 * W);
      if (!early.length) early = ss.slice(1, 3);
      const late = ss.slice(-3);
      const e = mean(early.map((s) => s.groups[g].lag)), l = mean(late.map((s) => s.groups[g].lag));
      const input = (ss[ss.length - 1].groups[g].high - ss[0].groups[g].high) / ((ss[ss.length - 1].t - ss[0].t) / 1000);
      const tol = Math.max(cfg.lagTolMin, cfg.lagTolS * input);
      return { group: g.slice(this.sys.prefix.length), early: e, late: l, tol, flat: l - e <= tol };
    });
  }

  ////////// Counters: database operations (any *db*_total counter on /metrics) and CPU

  async dbOps() {
    const per = {};
    let found = false;
    await Promise.all(Object.entries(this.sys.metricsUrls).map(async ([svc, url]) => {
      const text = await (await fetch(`${url}/metrics`)).text().catch(() => '');
      let sum = 0;
      for (const m of text.matchAll(/^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/gm)) {
        if (/db/i.test(m[1]) && m[1].endsWith('_total')) { sum += Number(m[3]); found = true; }
      }
      per[svc] = sum;
    }));
    return found ? per : null;
  }
  /** CPU seconds so far per process: the five services, and the stack's broker, registry and database (shared with other work). */
  cpu() {
    const out = {};
    for (const [n, pid] of Object.entries(this.sys.pids())) if (n !== 'provider-simulator') out[n] = cpuSeconds(pid);
    for (const n of ['kafka', 'registry', 'mongo']) {
      const pid = Number(readPid(n));
      if (pid) out[`stack ${n}`] = cpuSeconds(pid);
    }
    return out;
  }
}

////////// Steps

async function withSystem(extraEnv, fn) {
  const admin = kafka.admin();
  await admin.connect();
  let sys;
  try {
    sys = await startSystem({ id: `${id}${extraEnv && Object.keys(extraEnv).length ? 'b' : ''}`, extraEnv: { ...cfg.serviceEnv, ...extraEnv }, nodeArgs: cfg.nodeArgs, logLevel: cfg.logLevel, partitions: cfg.partitions, webhookDelayMs: cfg.webhookDelayMs, log: say });
  } catch (e) {
    if (e.sys) await cleanUpSystem(e.sys, admin).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    throw e;
  }
  const run = new Run(sys, admin);
  current.add(run);
  run.startSampling();
  try {
    await seedStored(cfg.stored, {
      id: sys.id, prefix: sys.prefix, env: sys.env, dbs: sys.dbs, mongoUrl: stackEnv.MONGO_URL, kafka, urls: sys.urls, tokens: sys.tokens, restart: sys.restart,
    }, say);
    await warmUp(run);
    return await fn(run);
  } finally {
    current.delete(run);
    await run.stopSampling().catch(() => undefined);
    await cleanUpSystem(sys, admin);
    await admin.disconnect().catch(() => undefined);
  }
}

/** A few events through the whole pipeline, one by one: proves it works end to end, finds the consumer groups and the record size. */
async function warmUp(run) {
  say(`warm-up: ${cfg.warmup} events through the whole pipeline`);
  const evs = [];
  for (let i = 0; i < cfg.warmup; i++) { evs.push(await run.post(run.next++)); await sleep(200); }
  const bad = evs.filter((e) => e.status !== 202);
  if (bad.length) throw new Error(`ingest answered ${bad.map((e) => e.status || e.error).join(', ')} to the warm-up events (see ${run.sys.logDir})`);
  await run.untilReached(evs, Date.now() + 120_000, 500);
  if (!evs.every((e) => e.simAt)) throw new Error(`warm-up events did not reach the simulator in 120 s (see ${run.sys.logDir})`);
  let seen = false;
  const watch = run.watchVisible(() => !seen);
  const end = Date.now() + 60_000;
  while (!evs.every((e) => e.visibleAt) && Date.now() < end) await sleep(200);
  seen = true; await watch;
  run.deliveredVisible = evs.every((e) => e.visibleAt);
  if (!run.deliveredVisible) say('warm-up: delivered never became visible in the statistics API; latency to "delivered" will be n/a');
  // The services' consumer groups are the ones that commit; throw-away readers (bootstrap, template follower) never do.
  const until = Date.now() + 30_000;
  for (;;) {
    const s = run.lastSample();
    const committing = s ? Object.entries(s.groups).filter(([, v]) => v.committed).map(([g]) => g) : [];
    if ((committing.length >= 4 && committing.every((g) => s.groups[g].lag === 0)) || Date.now() > until) { run.pipelineGroups = committing.sort(); break; }
    await sleep(500);
  }
  const other = Object.keys(run.lastSample()?.groups ?? {}).filter((g) => !run.pipelineGroups.includes(g));
  say(`consumer groups measured: ${run.pipelineGroups.map((g) => g.slice(run.sys.prefix.length)).join(', ')}${other.length ? `; not measured (never commit): ${other.map((g) => g.slice(run.sys.prefix.length)).join(', ')}` : ''}`);
  if (!run.pipelineGroups.length) throw new Error('no consumer group of this run commits offsets');
  run.recordSize = await recordSize(run);
  say(`warm-up done: POST -> provider ${evs.map((e) => e.simAt - e.post).join(', ')} ms; a PermitIssued record is ${run.recordSize} B`);
}

async function recordSize(run) {
  const groupId = `bench-size-${id}`;
  const c = kafka.consumer({ groupId });
  await c.connect();
  try {
    await c.subscribe({ topic: `${run.sys.prefix}permit.events`, fromBeginning: true });
    return await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no record on permit.events')), 30_000);
      c.run({ autoCommit: false, eachMessage: async ({ message }) => { clearTimeout(t); resolve(message.value.length); } });
    });
  } finally { await c.disconnect(); await run.admin.deleteGroups([groupId]).catch(() => undefined); }
}

/** One fixed-rate window: feed, judge the lag, wait for the provider calls, drain, count. */
async function measureWindow(run, rate, { latency = false, label } = {}) {
  run.checkAlive();
  const db0 = await run.dbOps(), cpu0 = run.cpu();
  say(`${label ?? 'rate'} ${rate} events/s for ${cfg.windowS} s (${Math.round(rate * cfg.windowS)} events, ${cfg.clients} clients)`);
  let feeding = true;
  const watchers = latency ? [
    (async () => { while (feeding) { await run.pollSim().catch(() => undefined); await sleep(500); } })(),
  ] : [];
  let watchingVisible = latency && run.deliveredVisible;
  if (watchingVisible) watchers.push(run.watchVisible(() => watchingVisible));
  let f;
  try { f = await run.feed(rate, cfg.windowS); } finally { feeding = false; }
  const evs = run.range(f.first, f.total);
  const accepted = evs.filter((e) => e.status === 202);
  const windowS = Math.max(cfg.windowS, (f.lastAnswered - f.t0) / 1000);
  const achieved = accepted.length / windowS;
  const lag = run.lagVerdict(f.t0, f.t1);
  await run.untilReached(accepted, f.t1 + cfg.graceS * 1000);
  const reachedInGrace = accepted.filter((e) => e.simAt !== undefined).length;
  if (watchingVisible) { const end = Date.now() + cfg.graceS * 1000; while (accepted.some((e) => e.simAt !== undefined && e.visibleAt === undefined) && Date.now() < end) await sleep(200); }
  watchingVisible = false;
  await Promise.all(watchers);
  const drained = await run.untilDrained(cfg.drainS * 1000);
  if (drained) await run.untilReached(accepted, Date.now() + 10_000);
  const db1 = await run.dbOps(), cpu1 = run.cpu();
  const lat = accepted.filter((e) => e.simAt !== undefined).map((e) => e.simAt - e.post);
  const vis = accepted.filter((e) => e.visibleAt !== undefined).map((e) => e.visibleAt - e.post);
  const worst = lag.reduce((a, b) => ((b.late - b.early) / b.tol > (a.late - a.early) / a.tol ? b : a), lag[0]);
  const r = {
    label: label ?? 'rate', rate, total: f.total, accepted: accepted.length, bad: f.total - accepted.length, achieved,
    keptUp: achieved >= 0.95 * rate, lagFlat: lag.every((g) => g.flat), lag, worst,
    reached: reachedInGrace, allReached: reachedInGrace === accepted.length, reachedAfterDrain: accepted.filter((e) => e.simAt !== undefined).length,
    duplicates: accepted.filter((e) => e.sends > 1).length, drained, retried: evs.filter((e) => e.retries).length,
    refused: [...new Set(evs.filter((e) => e.status !== 202).map((e) => e.status || e.error))].join(', '),
    p50: pct(lat, 50), p99: pct(lat, 99), vis50: latency ? pct(vis, 50) : undefined, vis99: latency ? pct(vis, 99) : undefined, visN: vis.length,
    dbPerEvent: db0 && db1 ? Object.keys(db1).reduce((a, s) => a + (db1[s] - (db0[s] ?? 0)), 0) / accepted.length : NaN,
    dbDetail: db0 && db1 ? Object.entries(db1).map(([s, v]) => `${s.replace(/^(permit|notification|template|provider|delivery)-/, '')} ${fmt((v - (db0[s] ?? 0)) / accepted.length, 1)}`).join(', ') : null,
    cpuPerEvent: Object.keys(cpu1).filter((n) => !n.startsWith('stack ')).reduce((a, n) => a + cpu1[n] - (cpu0[n] ?? 0), 0) * 1000 / accepted.length,
    cpuDetail: Object.keys(cpu1).map((n) => `${n.replace(/^(permit|notification|template|provider|delivery)-/, '')} ${fmt(((cpu1[n] - (cpu0[n] ?? 0)) * 1000) / accepted.length, 1)}`).join(', '),
  };
  r.sustained = r.bad === 0 && r.keptUp && r.lagFlat && r.allReached;
  say(`  -> ${r.sustained ? 'SUSTAINED' : 'not sustained'}: ${r.accepted}/${r.total} accepted, ${fmt(achieved, 1)} events/s posted, lag ${r.lagFlat ? 'flat' : 'growing'} (worst ${worst?.group}: ${fmt(worst?.early, 0)} -> ${fmt(worst?.late, 0)}, tolerance ${fmt(worst?.tol, 0)}${lag.filter((g) => !g.flat).length > 1 ? `; also growing: ${lag.filter((g) => !g.flat && g !== worst).map((g) => `${g.group} ${fmt(g.early)} -> ${fmt(g.late)}`).join(', ')}` : ''}), ${r.reached}/${r.accepted} at the provider within ${cfg.graceS} s${drained ? '' : `, backlog not drained in ${cfg.drainS} s`}`);
  return r;
}

////////// Output

const rows = [];
const header = '| run | R (records/s) | rate (events/s) | ratio to R | lag flat | at provider in grace | POST→provider p50 / p99 (ms) | POST→delivered visible p50 / p99 (ms) | DB ops / event | CPU ms / event: services (per process; stack = broker, registry, database) |\n|---|---|---|---|---|---|---|---|---|---|';
function row(R, r, name) {
  const line = `| ${name} | ${fmt(R)} | ${fmt(r.rate, r.rate < 10 ? 1 : 0)}${r.keptUp ? '' : ` (posted ${fmt(r.achieved, 1)})`} | ${(r.rate / R).toFixed(5)} | ${r.lagFlat ? 'yes' : `no (${r.worst.group} ${fmt(r.worst.early)}→${fmt(r.worst.late)})`} | ${r.reached}/${r.accepted}${r.bad ? `, ${r.bad} refused (${r.refused})` : ''}${r.retried ? `, ${r.retried} retried` : ''}${r.duplicates ? `, ${r.duplicates} sent twice` : ''} | ${fmt(r.p50)} / ${fmt(r.p99)} | ${r.vis50 === undefined ? '—' : `${fmt(r.vis50)} / ${fmt(r.vis99)}`} | ${Number.isFinite(r.dbPerEvent) ? `${fmt(r.dbPerEvent, 1)} (${r.dbDetail})` : 'n/a'} | ${fmt(r.cpuPerEvent, 1)} (${r.cpuDetail}) |`;
  rows.push(line);
  console.log(line);
}

async function findSustained(run, R) {
  const tried = new Map();
  const step = async (rate) => {
    rate = Math.round(rate * 10) / 10;
    if (tried.has(rate)) return tried.get(rate).sustained;
    const r = await measureWindow(run, rate);
    tried.set(rate, r);
    row(R, r, `rate step ${tried.size}${r.sustained ? ' ✓' : ' ✗'}`);
    if (!r.drained) throw Object.assign(new Error(`backlog of the ${rate} events/s step did not drain within ${cfg.drainS} s; search stopped`), { partial: true });
    return r.sustained;
  };
  let lo = 0, hi = Infinity;
  try {
    if (cfg.rates) {
      for (const rate of cfg.rates) { if (await step(rate)) lo = rate; else { hi = rate; break; } }
    } else {
      let rate = cfg.startRate;
      while (rate <= cfg.maxRate && (await step(rate))) { lo = rate; rate *= 2; }
      hi = Math.min(rate, cfg.maxRate);
      if (lo === 0) { for (rate = cfg.startRate / 2; rate >= 0.5 && tried.size < cfg.maxSteps; rate /= 2) if (await step(rate)) { lo = rate; break; } else hi = rate; }
      while (lo > 0 && hi !== Infinity && (hi - lo) / lo > cfg.precision && tried.size < cfg.maxSteps) {
        const mid = (lo + hi) / 2;
        if (await step(mid)) lo = Math.round(mid * 10) / 10; else hi = Math.round(mid * 10) / 10;
      }
    }
  } catch (e) { if (!e.partial) throw e; say(e.message); }
  const best = [...tried.values()].filter((r) => r.sustained).sort((a, b) => b.rate - a.rate)[0] ?? null;
  return { best, lo, hi };
}

////////// Clean-up

const current = new Set();
/** Stops the system's processes, then (unless KEEP=1) drops its databases, topics and consumer groups. */
async function cleanUpSystem(sys, admin) {
  await sys.stop();
  if (cfg.keep) { say(`KEEP=1: left databases ${Object.values(sys.dbs).join(', ')} and topics ${sys.prefix}*`); return; }
  await sys.dropData().catch((e) => say(`could not drop databases: ${e.message}`));
  const topics = (await admin.listTopics().catch(() => [])).filter((t) => t.startsWith(sys.prefix));
  if (topics.length) await admin.deleteTopics({ topics }).catch((e) => say(`could not delete topics: ${e.message}`));
  // A group whose member was stopped without leaving stays non-empty until its session times out (30 s).
  const end = Date.now() + 45_000;
  for (;;) {
    const groups = ((await admin.listGroups().catch(() => ({ groups: [] }))).groups).map((g) => g.groupId).filter((g) => g.startsWith(sys.prefix));
    for (const g of groups) await admin.deleteGroups([g]).catch(() => undefined);
    const left = ((await admin.listGroups().catch(() => ({ groups: [] }))).groups).map((g) => g.groupId).filter((g) => g.startsWith(sys.prefix));
    if (!left.length) return;
    if (Date.now() > end) { say(`consumer groups left (they expire on their own): ${left.join(', ')}`); return; }
    await sleep(5000);
  }
}
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    say(`${sig}: stopping the services and cleaning up (again to quit at once)`);
    const systems = liveSystems();
    killAllNow();
    const t = setTimeout(() => process.exit(130), 60_000);
    (async () => {
      const admin = kafka.admin();
      await admin.connect();
      await Promise.all(systems.map((s) => cleanUpSystem(s, admin).catch(() => undefined)));
      await admin.disconnect();
    })().catch(() => undefined).finally(() => { clearTimeout(t); process.exit(130); });
  });
}

////////// Main

(async () => {
  say(`mode ${MODE}, run id ${id}, window ${cfg.windowS} s, ${cfg.clients} clients; machine: ${require('node:os').cpus().length} cores, node ${process.version}`);
  const summary = [];
  const load0 = require('node:os').loadavg().map((x) => x.toFixed(1)).join(' ');
  let R;
  const measureR = async (run) => {
    if (R) return;
    say(`R: raw produce -> consume of ${cfg.rN} records of ${run.recordSize} B, batches of 500, acks=-1`);
    R = await rawR(kafka, { n: cfg.rN, size: run.recordSize, id: `${id}-r` });
    say(`R = ${fmt(R)} records/s`);
  };
  let sustainedRate;
  const needSearch = MODE === 'rate' || cfg.rate === undefined;
  if (needSearch) {
    await withSystem({}, async (run) => {
      await measureR(run);
      console.log(`\n${header}`);
      const { best, lo, hi } = await findSustained(run, R);
      sustainedRate = best?.rate;
      if (best) { row(R, best, '**highest sustained**'); summary.push(`highest sustained rate: ${fmt(best.rate, 1)} events/s = ${(best.rate / R).toFixed(5)}·R (R = ${fmt(R)} records/s of ${run.recordSize} B); first rate not sustained: ${hi === Infinity ? 'none tried' : fmt(hi, 1)}`); }
      else summary.push(`no rate sustained (lowest tried: ${fmt(hi, 1)} events/s); R = ${fmt(R)} records/s`);
      void lo;
    });
  }
  if (MODE === 'latency' || MODE === 'metrics') {
    const rate = cfg.rate ?? (sustainedRate ? Math.max(0.5, Math.round(sustainedRate * 5) / 10) : undefined);
    if (!rate) throw new Error('no sustained rate found to take half of; give RATE=...');
    if (MODE === 'latency') {
      await withSystem({}, async (run) => {
        await measureR(run);
        if (!needSearch) console.log(`\n${header}`);
        const r = await measureWindow(run, rate, { latency: true, label: 'latency' });
        row(R, r, `latency at ${cfg.rate ? 'RATE' : 'half the sustained rate'}`);
        summary.push(`latency at ${fmt(rate, 1)} events/s: POST→provider p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms; POST→delivered visible in /v1/stats/notifications/:id p50 ${fmt(r.vis50)} ms, p99 ${fmt(r.vis99)} ms (${r.visN}/${r.accepted} seen delivered, poll every ${cfg.pollMs} ms, simulator webhook delay ${cfg.webhookDelayMs} ms x 2)`);
      });
    } else {
      if (!needSearch) console.log(`\n${header}`);
      let on;
      await withSystem({}, async (run) => {
        await measureR(run);
        on = await measureWindow(run, rate, { latency: true, label: 'metrics on' });
        row(R, on, 'metrics on (as shipped)');
      });
      if (!cfg.metricsOffEnv) {
        const line = `| metrics off | ${fmt(R)} | ${fmt(rate, 1)} | | n/a: the services have no switch to turn their metrics off (none in packages/observability or packages/config); set METRICS_OFF_ENV=NAME=value once one exists | | | | | |`;
        rows.push(line); console.log(line);
        summary.push('metrics off: not measured, there is no switch for the services\' metrics');
      } else {
        const extra = Object.fromEntries(cfg.metricsOffEnv.split(',').map((kv) => kv.split('=')).map(([k, ...v]) => [k.trim(), v.join('=').trim()]));
        await withSystem(extra, async (run) => {
          const off = await measureWindow(run, rate, { latency: true, label: 'metrics off' });
          const text = await (await fetch(`${run.sys.urls.ingest}/metrics`).catch(() => null))?.text().catch(() => '') ?? '';
          const noEffect = /^sicantik_\w+(\{[^}]*\})? [1-9]/m.test(text);
          row(R, off, `metrics off (${cfg.metricsOffEnv})${noEffect ? ' — switch had no effect: /metrics still counts' : ''}`);
          summary.push(`metrics off vs on: CPU ${fmt(off.cpuPerEvent, 1)} vs ${fmt(on.cpuPerEvent, 1)} ms/event, POST→provider p50 ${fmt(off.p50)} vs ${fmt(on.p50)} ms`);
        });
      }
    }
  }
  summary.push(`machine: ${require('node:os').cpus().length} cores, node ${process.version}; load average at the start ${load0}, at the end ${require('node:os').loadavg().map((x) => x.toFixed(1)).join(' ')} (other work on the machine shows here)`);
  console.log(`\n${header}\n${rows.join('\n')}\n`);
  for (const s of summary) console.log(`- ${s}`);
  process.exit(0);
})().catch((e) => {
  if (interrupted) return; // the signal handler cleans up and exits
  console.error(e);
  killAllNow(); // withSystem's finally has cleaned up what it started; this only catches stragglers
  process.exit(1);
});
