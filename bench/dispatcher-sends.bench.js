#!/usr/bin/env node
// provider-dispatcher sends per second against the provider simulator, with its limits
// lifted, against a same-run baseline. Run after the build, with the local stack up:
//   eval "$(deploy/local/stack.sh env | sed 's/^/export /')"
//   node bench/dispatcher-sends.bench.js [sends=20000] [concurrency=64] [latencyRate=200]
// Both the simulator and the dispatcher run as their own processes (built output), as in
// production; the simulator reports no webhooks.
//  1. Baseline: a minimal HTTP client (Node's fetch, keep-alive, `concurrency` requests
//     in flight) sends the same Meta template requests straight to the simulator:
//     sends/s and request latency.
//  2. Throughput: one dispatcher instance drains a backlog of `sends` rendered
//     notifications (6 partitions) through its whole path (ledger claim produce, provider
//     call through the circuit breaker, outcome produce; PROVIDER_CONCURRENCY=`concurrency`):
//     sends/s from the simulator's arrival times (first to last request).
//  3. Added latency: notifications produced at `latencyRate`/s for 10 s, each measured from
//     its append to notification.rendered (the record's timestamp) to its arrival at the
//     simulator; the baseline's request time is what any client pays anyway.
require('./help')(__filename);
const { spawn } = require('node:child_process');
const path = require('node:path');
const os = require('node:os');
const { performance } = require('node:perf_hooks');
const { randomBytes } = require('node:crypto');
const { env, freePort, waitUntil, pct } = require('./support');

const M = Number(process.argv[2] ?? 20_000);
const C = Number(process.argv[3] ?? 64);
const RATE = Number(process.argv[4] ?? 200);
const root = path.resolve(__dirname, '..');
const TOKEN = 'bench-meta-access-token';
const prefix = `bench-dsend-${randomBytes(3).toString('hex')}.`;
const phone = (i) => `+62812${String(10_000_000 + i)}`;

const procs = [];
function start(name, dir, extra) {
  const p = spawn(process.execPath, ['dist/main.js'], { cwd: path.join(root, dir), env: { PATH: process.env.PATH, PRIVACY_MASTER_KEYS: env.PRIVACY_MASTER_KEYS, PRIVACY_INDEX_KEY: env.PRIVACY_INDEX_KEY, ...extra }, stdio: ['ignore', 'ignore', 'inherit'] });
  procs.push(p);
  return p;
}
const stopAll = () => { for (const p of procs) p.kill('SIGTERM'); };

function templateBody(to) {
  return JSON.stringify({
    messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'template',
    template: { name: 'sicantik_permit_ready', language: { code: 'id', policy: 'deterministic' }, components: [{ type: 'body', parameters: ['Budi Santoso', 'PBG', '503/1/2026', '22 November 2026', 'https://sicantik.test/a.pdf'].map((text) => ({ type: 'text', text })) }] },
  });
}

async function baseline(simUrl, n) {
  const url = `${simUrl}/meta/v23.0/100000000000001/messages`;
  const lat = [];
  let next = 0;
  const t = performance.now();
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const s = performance.now();
      const r = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: templateBody(phone(900_000 + i)) });
      await r.text();
      if (r.status !== 200) throw new Error(`baseline: HTTP ${r.status}`);
      lat.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: C }, worker));
  return { perSec: n / ((performance.now() - t) / 1000), p50: pct(lat, 50), p99: pct(lat, 99) };
}

const rendered = (run, i) => ({
  eventId: `${run}-r-${i}`, occurredAt: Date.now(), correlationId: `${run}-c-${i}`, causationId: `${run}-q-${i}`, notificationId: `${run}-n-${i}`,
  scenario: 'permit_ready', templateCode: 'permit_ready', templateVersion: 1, pendaftaran_id: `REG-${run}-${i}`,
  recipient: { kind: 'APPLICANT', id: `REG-${i}`, name: 'Budi Santoso', phone: phone(i) }, outcome: 'RENDERED', text: 'Izin Anda telah terbit.',
  parameters: ['nama_pemohon', 'jenis_izin', 'no_surat', 'tanggal_terbit', 'link_download'].map((name, k) => ({ name, value: ['Budi Santoso', 'PBG', '503/1/2026', '22 November 2026', 'https://sicantik.test/a.pdf'][k] })),
  language: 'id', failureReason: null, providerParameters: {},
});

async function simRequests(simUrl, since) {
  const r = await fetch(`${simUrl}/_sim/requests?provider=meta&kind=send&since=${since}`);
  return r.json();
}

(async () => {
  const { Kafka, logLevel } = require('kafkajs');
  const { SchemaCodec } = require('@sicantik/schemas');
  const { EventProducer, ensureTopics } = require('@sicantik/kafka');
  const simPort = await freePort();
  const simUrl = `http://127.0.0.1:${simPort}`;
  start('provider-simulator', 'tools/provider-simulator', { SIM_PORT: String(simPort), SIM_STATUSES: '', META_ACCESS_TOKEN: TOKEN, SIM_MAX_RECORDED: String(4 * M + 100_000) });
  await waitUntil(async () => (await fetch(`${simUrl}/healthz`).catch(() => ({ ok: false }))).ok, 30_000);

  // 1. Baseline (after a warm-up of the simulator's JIT)
  await baseline(simUrl, 2000);
  const base = await baseline(simUrl, M);
  console.log(`baseline: ${M} requests, ${C} in flight: ${Math.round(base.perSec)} sends/s; latency p50 ${base.p50.toFixed(1)} ms, p99 ${base.p99.toFixed(1)} ms`);

  // 2. Throughput of one dispatcher instance over a backlog
  const kafka = new Kafka({ brokers: env.KAFKA_BROKERS.split(','), clientId: 'bench-dsend', logLevel: logLevel.NOTHING });
  const admin = kafka.admin(); await admin.connect();
  const topics = ['notification.rendered', 'notification.dispatch', 'dispatch.ledger', 'dispatch.retry.1', 'dispatch.retry.2', 'dispatch.retry.3', 'dispatch.dead-letter', 'contact.events'];
  await ensureTopics(admin, { prefix, partitions: 6, replicationFactor: 1 }, topics);
  const codec = new SchemaCodec({ registryUrl: env.SCHEMA_REGISTRY_URL, topicPrefix: prefix }); await codec.register(topics);
  const producer = EventProducer.create(kafka, codec); await producer.connect();
  const run = randomBytes(3).toString('hex');
  for (let i = 0; i < M; i += 1000) await producer.send(Array.from({ length: Math.min(1000, M - i) }, (_, k) => { const n = rendered(run, i + k); return { topic: 'notification.rendered', key: n.pendaftaran_id, value: n }; }));
  const opsPort = await freePort();
  const t0 = Date.now();
  start('provider-dispatcher', 'services/provider-dispatcher', {
    KAFKA_BROKERS: env.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL, TOPIC_PREFIX: prefix, TOPIC_PARTITIONS: '6', OPS_PORT: String(opsPort), LOG_LEVEL: 'warn',
    META_BASE_URL: `${simUrl}/meta`, META_ACCESS_TOKEN: TOKEN, META_PHONE_NUMBER_ID: '100000000000001', PROVIDER_CHAIN: 'meta', UNCONSENTED_OPT_IN_PROVIDERS: 'send',
    RATE_LIMITS: 'meta=off', PAIR_RATE_LIMITS: 'meta=off', PROVIDER_CONCURRENCY: String(C), DISPATCH_BATCH_MAX: '500',
  });
  const accepted = async () => {
    const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`).catch(() => ({ text: async () => '' }))).text();
    const m = /^sicantik_dispatch_outcomes_total\{[^}]*status="ACCEPTED"[^}]*\} (\d+)/m.exec(text);
    return m ? Number(m[1]) : 0;
  };
  await waitUntil(async () => (await accepted()) >= M, 900_000);
  const reqs = (await simRequests(simUrl, t0)).filter((r) => r.recipient && r.recipient < phone(900_000));
  const times = reqs.map((r) => r.atMs).sort((a, b) => a - b);
  const perSec = reqs.length / ((times.at(-1) - times[0]) / 1000);
  const dup = reqs.length - new Set(reqs.map((r) => r.recipient)).size;
  console.log(`dispatcher: ${reqs.length} sends (${dup} repeated) of a ${M} backlog in ${((times.at(-1) - times[0]) / 1000).toFixed(1)} s = ${Math.round(perSec)} sends/s (${(100 * perSec / base.perSec).toFixed(0)} % of the baseline); ${((times[0] - t0) / 1000).toFixed(1)} s from process start to the first send`);

  // 3. Added latency at a steady rate
  const lrun = randomBytes(3).toString('hex');
  const appended = new Map();
  const L = RATE * 10;
  const tl = Date.now();
  for (let i = 0; i < L; i += RATE / 10) {
    const due = tl + (i / RATE) * 1000;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const batch = Array.from({ length: RATE / 10 }, (_, k) => rendered(lrun, M + i + k));
    const at = Date.now();
    await producer.send(batch.map((n) => ({ topic: 'notification.rendered', key: n.pendaftaran_id, value: n })));
    for (const n of batch) appended.set(n.recipient.phone, at);
  }
  await waitUntil(async () => (await accepted()) >= M + L, 120_000);
  const lreqs = (await simRequests(simUrl, tl)).filter((r) => appended.has(r.recipient));
  const added = lreqs.map((r) => r.atMs - appended.get(r.recipient));
  console.log(`added latency at ${RATE}/s (${lreqs.length} sends): from the append to notification.rendered to the arrival at the provider p50 ${pct(added, 50).toFixed(0)} ms, p95 ${pct(added, 95).toFixed(0)} ms, p99 ${pct(added, 99).toFixed(0)} ms (a direct client's own request takes p50 ${base.p50.toFixed(1)} ms at ${C} in flight)`);
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);

  stopAll();
  await producer.disconnect();
  await admin.deleteTopics({ topics: topics.flatMap((x) => [`${prefix}${x}`, `${prefix}${x}.dlq`]) }).catch(() => undefined);
  await admin.disconnect();
})().catch((e) => { console.error(e); stopAll(); process.exit(1); });
