#!/usr/bin/env node
// Planner benchmark. Run after `npm run build`, with the local stack up for part 2:
//   node bench/planner.bench.js [permits=2000]
// Part 1 (pure): decideDaily over N permits vs a baseline loop that only computes
// days-until-expiry for each permit (the least work any daily run must do).
// Part 2 (real Kafka, no database): the daily run command with N due warnings vs a
// baseline that produces the same 2N records (request + decision) in batches of
// 500 with no state. Part 3: restoring an instance from the changelog. Both measured in the same run; ratios are printed.
require('./help')(__filename);
const { performance } = require('node:perf_hooks');
const { randomBytes } = require('node:crypto');
const path = require('node:path');
const dist = (p) => path.resolve(__dirname, '..', p);
const { decideDaily } = require(dist('services/notification-planner/dist/domain/decide.js'));
const { daysUntil } = require(dist('services/notification-planner/dist/domain/expiry.js'));
const { initialState } = require(dist('services/notification-planner/dist/domain/state.js'));

const N = Number(process.argv[2] ?? 2000);
const settings = { linkDashboard: 'https://d.test', linkPerpanjangan: 'https://p.test', kontakDpmptsp: '0628', reminderAfterHours: 24 };
const dir = [{ id: 'staff-1', role: 'STAFF', name: 'Rina', phone: '0813-1111-2222', jenisIzin: ['*'], active: true }];
const asOf = '2026-11-22';
const addDays = (d) => new Date(Date.parse(`${asOf}T00:00:00Z`) + d * 864e5).toISOString().slice(0, 10);
const permits = (n, due) => Array.from({ length: n }, (_, i) => ({
  ...initialState(`REG-${i}`), nama_pemohon: `Pemohon ${i}`, telepon_pemohon: `+62812${String(10_000_000 + i)}`, jenis_izin: 'PBG', no_surat: `503/${i}`,
  tanggal_berakhir: addDays(due ? 90 : 1 + (i % 400)),
}));
const time = (fn, reps) => { fn(); const t = performance.now(); for (let r = 0; r < reps; r++) fn(); return (performance.now() - t) / reps; };
const rows = [];

for (const n of [1_000, 10_000, 50_000]) {
  const ps = permits(n, false);
  const reps = n >= 50_000 ? 3 : 10;
  const base = time(() => { let s = 0; for (const p of ps) s += daysUntil(p.tanggal_berakhir, asOf); return s; }, reps);
  const full = time(() => decideDaily(ps, dir, asOf, settings), reps);
  rows.push([`pure decideDaily, ${n} permits (expiry 1–400 days ahead)`, `${full.toFixed(1)} ms`, `${base.toFixed(1)} ms`, (full / base).toFixed(1), `${Math.round(n / (full / 1000)).toLocaleString('en')} permits/s`]);
}

async function real() {
  const { Kafka, logLevel } = require('kafkajs');
  const { SchemaCodec } = require('@sicantik/schemas');
  const { EventProducer, ensureTopics, followTopic } = require('@sicantik/kafka');
  const { PlannerMemory } = require(dist('services/notification-planner/dist/adapters/memory.js'));
  const { Planner } = require(dist('services/notification-planner/dist/planner.js'));
  const pino = require('pino');
  const prefix = `bench-${randomBytes(3).toString('hex')}.`;
  const kafka = new Kafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'bench', logLevel: logLevel.NOTHING });
  const admin = kafka.admin(); await admin.connect();
  const topics = ['notification.requests', 'planner.decisions', 'planner.state'];
  await ensureTopics(admin, { prefix, partitions: 6, replicationFactor: 1 }, topics);
  const codec = new SchemaCodec({ registryUrl: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7', topicPrefix: prefix });
  await codec.register(topics);
  const producer = EventProducer.create(kafka, codec); await producer.connect();
  try {
    // All N permits in partition 0 (in memory, as restored): the daily run is one command for that partition.
    const memory = new PlannerMemory();
    const ps = permits(N, true);
    for (const st of ps) memory.put(0, { state: st, claims: {}, decided: [] });
    memory.own(0);
    const planner = new Planner({ memory, producer, settings, logger: pino({ level: 'silent' }), now: () => new Date(`${asOf}T10:00:00+07:00`) });
    const cmd = (id) => ({ commandId: id, kind: 'DAILY', date: asOf, from: null, to: null, partition: 0, partitions: 1, requestedAt: Date.now() });
    // Baseline: the same decisions, produced in batches of 500 with no state.
    const { decisions } = decideDaily(ps, [], asOf, settings);
    const msgs = decisions.flatMap((d) => [
      { topic: 'notification.requests', key: d.request.pendaftaran_id, value: d.request },
      { topic: 'planner.decisions', key: d.request.pendaftaran_id, value: { eventId: `b-${d.request.notificationId}`, occurredAt: d.request.occurredAt, correlationId: 'b', causationId: null, decision: 'PLANNED', scenario: d.request.scenario, pendaftaran_id: d.request.pendaftaran_id, notificationId: d.request.notificationId, recipientKind: 'APPLICANT', recipientId: d.request.recipient.id, reason: null, reasonCode: null } },
    ]);
    let t = performance.now();
    for (let i = 0; i < msgs.length; i += 500) await producer.send(msgs.slice(i, i + 500));
    const base = performance.now() - t;
    t = performance.now();
    const summary = await planner.onCommand(0, cmd('bench-1'));
    const full = performance.now() - t;
    if (summary.planned !== N) throw new Error(`planned ${summary.planned}, expected ${N}`);
    t = performance.now();
    const again = await planner.onCommand(0, cmd('bench-2'));
    const rerun = performance.now() - t;
    if (again.planned !== 0) throw new Error('a second run planned again');
    rows.push([`daily run, ${N} due warnings (in-memory state, Kafka: requests + decisions + changelog)`, `${(full / 1000).toFixed(2)} s`, `${(base / 1000).toFixed(2)} s`, (full / base).toFixed(1), `${Math.round(N / (full / 1000))} warnings/s`]);
    rows.push([`same date again (all marked, nothing planned)`, `${(rerun / 1000).toFixed(2)} s`, '', '', '']);
    // Part 3: restoring an instance from the changelog (what a restart or a new owner does).
    const M = 10 * N;
    const body = (i) => JSON.stringify({ state: { ...ps[i % ps.length], pendaftaran_id: `REG-R-${i}` }, claims: { [`n-${i}`]: `evt-${i}` }, decided: [`evt-${i}`] });
    for (let i = 0; i < M; i += 1000) {
      await producer.send(Array.from({ length: Math.min(1000, M - i) }, (_, j) => ({ topic: 'planner.state', key: `REG-R-${i + j}`, value: { key: `REG-R-${i + j}`, kind: 'PERMIT', partition: (i + j) % 6, body: body(i + j), updatedAt: Date.now() }, partition: (i + j) % 6 })));
    }
    const total = (await admin.fetchTopicOffsets(`${prefix}planner.state`)).reduce((a, p) => a + Number(p.high), 0);
    t = performance.now();
    await followTopic({ kafka, admin, codec, topic: 'planner.state', groupId: `${prefix}read-${Date.now()}`, onMessage: () => undefined });
    const read = performance.now() - t;
    const fresh = new PlannerMemory();
    t = performance.now();
    const restored = await followTopic({ kafka, admin, codec, topic: 'planner.state', groupId: `${prefix}restore-${Date.now()}`, onMessage: (r, { offset }) => fresh.applyChangelog(r, offset) });
    const restore = performance.now() - t;
    if (restored.records !== total) throw new Error(`restored ${restored.records} of ${total}`);
    rows.push([`restore an instance from a ${total}-record changelog`, `${(restore / 1000).toFixed(2)} s`, `${(read / 1000).toFixed(2)} s (read + decode only)`, (restore / read).toFixed(1), `${Math.round(total / (restore / 1000))} records/s`]);
  } finally {
    await producer.disconnect();
    await admin.deleteTopics({ topics: topics.flatMap((x) => [`${prefix}${x}`, `${prefix}${x}.dlq`]) }).catch(() => undefined);
    await admin.disconnect();
  }
}

(async () => {
  if (process.env.BENCH_PURE_ONLY !== '1') await real();
  console.log('| what | time | baseline | ratio | rate |\n|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
})().catch((e) => { console.error(e); process.exit(1); });
