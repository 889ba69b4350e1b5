#!/usr/bin/env node
// Metrics overhead (issue 8: "pipeline with metrics on vs off: <= 2 %"), measured part by
// part. The pipeline bench's MODE=metrics compares two whole systems, whose run-to-run
// noise on a shared 2-core machine (about ±10 % of CPU per event) is larger than the
// effect; this script measures what metrics add, each part against its own baseline in
// the same run, and relates the sum to the services' CPU per event.
// After the build (no stack needed):
//   node bench/metrics-overhead.bench.js
//   SERVICES_CPU_MS=14.1 RATE=50 IDLE_S=20 node bench/metrics-overhead.bench.js
// 1. Recording on the hot path, per event through all five services (worst case: every
//    batch holds one event). What the code records (grep metrics. in packages/kafka,
//    services): per produced record a labelled counter (ingest 1, planner 2, renderer 1,
//    dispatcher 2 = 6), dispatcher outcome and route counters (2), planner decision
//    counter (1), one labelled counter per database command (ingest + tracker: about 5
//    per event, docs/benchmarks.md), and per consumed batch one histogram timer and one
//    labelled counter in each of the 5 services' consumer loops. Timed with metrics on
//    (createMetrics as shipped) and off (METRICS_ENABLED=false: the same calls are no-ops).
// 2. The default process collectors (event-loop delay sampling, GC observer): CPU of an
//    otherwise idle child process with them vs without, IDLE_S seconds each, interleaved;
//    also with prom-client's own defaults (10 ms event-loop sampling), as shipped before.
// 3. A scrape: registry.metrics() with the label sets a running service holds; per
//    second at one scrape every SCRAPE_S (15) seconds per service.
// Overhead at RATE events/s = (1 * RATE + 5 * (2 + 3)) / (RATE * SERVICES_CPU_MS) where the
// services' CPU per event comes from the pipeline bench (lowest measured: 14.1 ms at 50
// events/s with 1 000 000 stored, docs/benchmarks.md; the lower it is, the larger the ratio).
require('./help')(__filename);
const { spawn } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const { createMetrics } = require('@sicantik/observability');

const SERVICES_CPU_MS = Number(process.env.SERVICES_CPU_MS ?? 14.1);
const RATE = Number(process.env.RATE ?? 50);
const IDLE_S = Number(process.env.IDLE_S ?? 20);
const SCRAPE_S = Number(process.env.SCRAPE_S ?? 15);
const SERVICES = 5;
const say = (m) => process.stderr.write(`[metrics ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

function idleChild() {
  // Child: the service's metrics objects (on or off), then idle like a service between batches.
  const mode = process.argv[3];
  if (mode === 'prom-default') {
    // prom-client's own defaults (event-loop delay sampled every 10 ms), as shipped before.
    const client = require('prom-client');
    client.collectDefaultMetrics({ register: new client.Registry() });
  } else {
    createMetrics('bench-idle', { enabled: mode === 'on' });
  }
  const t0 = process.cpuUsage();
  setTimeout(() => {
    const u = process.cpuUsage(t0);
    process.stdout.write(JSON.stringify({ cpuMs: (u.user + u.system) / 1000 }));
    process.exit(0);
  }, IDLE_S * 1000);
  // A timer that keeps the loop as a service's consumer keeps it (fetch polls every 100 ms).
  setInterval(() => undefined, 100);
}

/** One event's recording through the five services (worst case: batches of one). */
function recordOneEvent(m, extra) {
  const end = [];
  for (let s = 0; s < SERVICES; s++) end.push(m.handleSeconds.startTimer({ topic: TOPICS[s] }));
  for (const t of PRODUCED) m.produced.inc({ topic: t });
  extra.outcomes.inc({ provider: 'meta', status: 'ACCEPTED' });
  extra.routes.inc({ reason: 'OPTED_IN' });
  extra.decided.inc({ decision: 'PLANNED' });
  for (let i = 0; i < 5; i++) m.dbOps.inc({ op: i % 2 ? 'insert' : 'update' });
  for (let s = 0; s < SERVICES; s++) { end[s](); m.consumed.inc({ topic: TOPICS[s], outcome: 'ok' }, 1); }
}
const TOPICS = ['sicantik.permit.events', 'sicantik.notification.requests', 'sicantik.notification.rendered', 'sicantik.notification.dispatch', 'sicantik.delivery.status'];
const PRODUCED = ['sicantik.permit.events', 'sicantik.notification.requests', 'sicantik.planner.decisions', 'sicantik.notification.rendered', 'sicantik.notification.dispatch', 'sicantik.dispatch.ledger'];

function metricsFor(enabled) {
  const m = createMetrics(`bench-${enabled ? 'on' : 'off'}`, { enabled });
  const C = m.client.Counter;
  const extra = {
    outcomes: new C({ name: 'x_outcomes_total', help: 'x', labelNames: ['provider', 'status'], registers: [m.registry] }),
    routes: new C({ name: 'x_routes_total', help: 'x', labelNames: ['reason'], registers: [m.registry] }),
    decided: new C({ name: 'x_decided_total', help: 'x', labelNames: ['decision'], registers: [m.registry] }),
  };
  if (!enabled) for (const c of Object.values(extra)) c.inc = () => undefined; // as if those were switched off too
  return { m, extra };
}

function timeRecording(enabled, n) {
  const { m, extra } = metricsFor(enabled);
  for (let i = 0; i < 20_000; i++) recordOneEvent(m, extra); // warm-up
  const t = performance.now();
  for (let i = 0; i < n; i++) recordOneEvent(m, extra);
  return ((performance.now() - t) * 1e6) / n; // ns per event
}

async function idleCpu(mode) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [__filename, '--idle-child', mode], { env: { ...process.env, IDLE_S: String(IDLE_S) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let s = ''; p.stdout.on('data', (d) => { s += d; });
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(s).cpuMs / IDLE_S) : reject(new Error(`idle child exited ${code}`))));
  });
}

async function main() {
  // 1. Recording: alternate on/off runs, keep the median of each.
  const N = 200_000;
  const on = [], off = [];
  for (let r = 0; r < 5; r++) { on.push(timeRecording(true, N)); off.push(timeRecording(false, N)); }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const recNs = med(on) - med(off);
  say(`recording per event through ${SERVICES} services: on ${med(on).toFixed(0)} ns, off ${med(off).toFixed(0)} ns (runs on ${on.map((x) => x.toFixed(0)).join('/')}, off ${off.map((x) => x.toFixed(0)).join('/')})`);

  // 2. Default collectors: idle children, interleaved on/off/on/off.
  const idle = { on: [], off: [], 'prom-default': [] };
  for (const mode of ['on', 'off', 'prom-default', 'on', 'off', 'prom-default']) { idle[mode].push(await idleCpu(mode)); say(`idle ${mode}: ${idle[mode].at(-1).toFixed(3)} ms CPU/s`); }
  const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const collectorsMsPerS = Math.max(0, avg(idle.on) - avg(idle.off));

  // 3. A scrape of a service's registry with its label sets populated.
  const { m, extra } = metricsFor(true);
  for (let i = 0; i < 1000; i++) recordOneEvent(m, extra);
  for (let i = 0; i < 20; i++) await m.registry.metrics();
  const S = 200; const t = performance.now();
  for (let i = 0; i < S; i++) await m.registry.metrics();
  const scrapeMs = (performance.now() - t) / S;
  const scrapeMsPerS = scrapeMs / SCRAPE_S;

  const addedMsPerS = (recNs / 1e6) * RATE + SERVICES * (collectorsMsPerS + scrapeMsPerS);
  const servicesMsPerS = RATE * SERVICES_CPU_MS;
  const ratio = addedMsPerS / servicesMsPerS;
  const rows = [
    ['recording, per event through 5 services', `${recNs.toFixed(0)} ns/event`, `${((recNs / 1e6) * RATE).toFixed(3)} ms/s`],
    ['default collectors, per service (idle CPU on − off)', `${collectorsMsPerS.toFixed(3)} ms/s (on ${avg(idle.on).toFixed(3)}, off ${avg(idle.off).toFixed(3)})`, `${(SERVICES * collectorsMsPerS).toFixed(3)} ms/s`],
    ['(for comparison: prom-client\'s default collectors, 10 ms event-loop sampling, as shipped before)', `${Math.max(0, avg(idle['prom-default']) - avg(idle.off)).toFixed(3)} ms/s`, `${(SERVICES * Math.max(0, avg(idle['prom-default']) - avg(idle.off))).toFixed(3)} ms/s`],
    [`one scrape, every ${SCRAPE_S} s per service`, `${scrapeMs.toFixed(2)} ms/scrape`, `${(SERVICES * scrapeMsPerS).toFixed(3)} ms/s`],
  ];
  console.log('| part | measured | at the rate, all services |');
  console.log('|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(`\nAt ${RATE} events/s: metrics add ${addedMsPerS.toFixed(2)} ms CPU/s; the services spend ${servicesMsPerS.toFixed(0)} ms/s (${SERVICES_CPU_MS} ms/event): overhead ${(ratio * 100).toFixed(2)} % (goal <= 2 %)`);
  // At what services CPU per event would the overhead reach 2 %?
  console.log(`The overhead would reach 2 % only if the services spent ${(addedMsPerS / RATE / 0.02).toFixed(2)} ms CPU per event at this rate.`);
}

if (process.argv[2] === '--idle-child') idleChild();
else main().catch((e) => { console.error(e); process.exit(1); });
