#!/usr/bin/env node
// Planner benchmark. Run after `npm run build`, with the local stack up for part 2:
//   node bench/planner.bench.js [permits=2000]
// Part 1 (pure): decideDaily over N permits vs a baseline loop that only computes
// days-until-expiry for each permit (the least work any daily run must do).
// Part 2 (real Kafka + FerretDB): Planner.runDaily with N due warnings vs a
// baseline that produces the same 2N records (request + decision) in one batch
// per 500 with no claims. Both measured in the same run; ratios are printed.
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
  const { MongoClient } = require('mongodb');
  const { Kafka, logLevel } = require('kafkajs');
  const { SchemaCodec } = require('@sicantik/schemas');
  const { EventProducer, ensureTopics } = require('@sicantik/kafka');
  const { PlannerStore } = require(dist('services/notification-planner/dist/adapters/store.js'));
  const { Planner } = require(dist('services/notification-planner/dist/planner.js'));
  const pino = require('pino');
  const prefix = `bench-${randomBytes(3).toString('hex')}.`;
  const kafka = new Kafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'bench', logLevel: logLevel.NOTHING });
  const admin = kafka.admin(); await admin.connect();
  const topics = ['notification.requests', 'planner.decisions'];
  await ensureTopics(admin, { prefix, partitions: 6, replicationFactor: 1 }, topics);
  const codec = new SchemaCodec({ registryUrl: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7', topicPrefix: prefix });
  await codec.register(topics);
  const producer = EventProducer.create(kafka, codec); await producer.connect();
  const mongo = await MongoClient.connect(process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017');
  const db = mongo.db(`bench_${prefix.slice(6, 12)}`);
  try {
    const store = new PlannerStore(db);
    const ps = permits(N, true);
    for (let i = 0; i < ps.length; i += 500) await store.permits.insertMany(ps.slice(i, i + 500).map((p) => ({ _id: p.pendaftaran_id, ...p, expiryPlanned: [] })));
    const planner = new Planner(store, producer, settings, pino({ level: 'silent' }), () => new Date());
    // Baseline: the same decisions, produced in batches of 500 with no claims or marks.
    const { decisions } = decideDaily(ps, [], asOf, settings);
    const msgs = decisions.flatMap((d) => [
      { topic: 'notification.requests', key: d.request.pendaftaran_id, value: d.request },
      { topic: 'planner.decisions', key: d.request.pendaftaran_id, value: { eventId: `b-${d.request.notificationId}`, occurredAt: d.request.occurredAt, correlationId: 'b', causationId: null, decision: 'PLANNED', scenario: d.request.scenario, pendaftaran_id: d.request.pendaftaran_id, notificationId: d.request.notificationId, recipientKind: 'APPLICANT', recipientId: d.request.recipient.id, reason: null } },
    ]);
    let t = performance.now();
    for (let i = 0; i < msgs.length; i += 500) await producer.send(msgs.slice(i, i + 500));
    const base = performance.now() - t;
    t = performance.now();
    const summary = await planner.runDaily(asOf);
    const full = performance.now() - t;
    if (summary.planned !== N) throw new Error(`planned ${summary.planned}, expected ${N}`);
    t = performance.now();
    const again = await planner.runDaily(asOf);
    const rerun = performance.now() - t;
    if (again.planned !== 0) throw new Error('a second run planned again');
    rows.push([`Planner.runDaily, ${N} due warnings (Kafka + FerretDB)`, `${(full / 1000).toFixed(2)} s`, `${(base / 1000).toFixed(2)} s`, (full / base).toFixed(1), `${Math.round(N / (full / 1000))} warnings/s`]);
    rows.push([`same date again (all marked, nothing planned)`, `${(rerun / 1000).toFixed(2)} s`, '', '', '']);
    // Part 3: seeding a new store from the decision log (what a rebuild does first).
    const M = 10 * N;
    const log = Array.from({ length: M }, (_, i) => ({ eventId: `seed-${i}`, occurredAt: Date.now(), correlationId: 'c', causationId: i % 2 ? `evt-${i}` : 'schedule:daily:2026-11-22',
      decision: i % 3 ? 'PLANNED' : 'SKIPPED', scenario: i % 2 ? 'status_update' : 'permit_expiry_warning', pendaftaran_id: `REG-${i}`, notificationId: `n-${i}`, recipientKind: 'APPLICANT', recipientId: `REG-${i}`, reason: null }));
    for (let i = 0; i < log.length; i += 1000) await producer.send(log.slice(i, i + 1000).map((v) => ({ topic: 'planner.decisions', key: v.pendaftaran_id, value: v })));
    const { followTopic } = require('@sicantik/kafka');
    const total = (await admin.fetchTopicOffsets(`${prefix}planner.decisions`)).reduce((a, p) => a + Number(p.high), 0);
    t = performance.now();
    await followTopic({ kafka, admin, codec, topic: 'planner.decisions', groupId: `${prefix}read-${Date.now()}`, onMessage: () => undefined });
    const read = performance.now() - t;
    const fresh = new PlannerStore(mongo.db(`bench_${prefix.slice(6, 12)}_seed`));
    const seedPlanner = new Planner(fresh, producer, settings, pino({ level: 'silent' }), () => new Date());
    t = performance.now();
    const seeded = await seedPlanner.bootstrapFromDecisionLog(async (apply) => (await followTopic({ kafka, admin, codec, topic: 'planner.decisions', groupId: `${prefix}seed-${Date.now()}`, onMessage: apply })).records);
    const seed = performance.now() - t;
    await mongo.db(`bench_${prefix.slice(6, 12)}_seed`).dropDatabase();
    if (seeded !== total) throw new Error(`seeded ${seeded} of ${total}`);
    rows.push([`seed a new store from a ${total}-record decision log`, `${(seed / 1000).toFixed(2)} s`, `${(read / 1000).toFixed(2)} s (read + decode only)`, (seed / read).toFixed(1), `${Math.round(total / (seed / 1000))} records/s`]);
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await mongo.close(); await producer.disconnect();
    await admin.deleteTopics({ topics: topics.flatMap((x) => [`${prefix}${x}`, `${prefix}${x}.dlq`]) }).catch(() => undefined);
    await admin.disconnect();
  }
}

(async () => {
  if (process.env.BENCH_PURE_ONLY !== '1') await real();
  console.log('| what | time | baseline | ratio | rate |\n|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
})().catch((e) => { console.error(e); process.exit(1); });
