#!/usr/bin/env node
// Planner event throughput. Run after `npm run build`, with the local stack up:
//   node bench/planner-events.bench.js [events=2000]
// Produces N permit events (half PermitRegistered, half PermitStatusChanged, which
// plans one status_update each) for N/2 permits on fresh topics, then measures:
// - baseline: the shared consumer loop (decode + commit per record) with a no-op handler;
// - planner: the real notification-planner process (built output) consuming the same
//   events, until every event is decided (its decided_events count reaches N).
require('./help')(__filename);
const { performance } = require('node:perf_hooks');
const { randomBytes } = require('node:crypto');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { MongoClient } = require('mongodb');
const { Kafka, logLevel } = require('kafkajs');
const pino = require('pino');
const { SchemaCodec, TOPIC_NAMES } = require('@sicantik/schemas');
const { EventProducer, ensureTopics, runBatchConsumer } = require('@sicantik/kafka');
const { createMetrics } = require('@sicantik/observability');

const N = Number(process.argv[2] ?? 2000);
const { env, freePort, waitUntil } = require('./support');

(async () => {
  const id = randomBytes(3).toString('hex');
  const prefix = `bench-${id}.`;
  const kafka = new Kafka({ brokers: env.KAFKA_BROKERS.split(','), clientId: 'bench', logLevel: logLevel.NOTHING });
  const admin = kafka.admin(); await admin.connect();
  await ensureTopics(admin, { prefix, partitions: 6, replicationFactor: 1 }, TOPIC_NAMES);
  const codec = new SchemaCodec({ registryUrl: env.SCHEMA_REGISTRY_URL, topicPrefix: prefix });
  await codec.register(TOPIC_NAMES);
  const producer = EventProducer.create(kafka, codec); await producer.connect();
  // The planner process.
  const port = await freePort();
  const dbName = `bench_${id}_planner`;
  const child = spawn(process.execPath, ['dist/main.js'], { cwd: path.resolve(__dirname, '../services/notification-planner'), stdio: ['ignore', 'ignore', 'inherit'],
    env: { PATH: process.env.PATH, ...env, TOPIC_PREFIX: prefix, TOPIC_PARTITIONS: '6', MONGO_DB: dbName, HTTP_PORT: String(port), ADMIN_API_TOKEN: 'bench-admin-token-000001', SCHEDULER_ENABLED: 'false', LOG_LEVEL: 'warn', ...(process.env.PLANNER_ENV ? JSON.parse(process.env.PLANNER_ENV) : {}) } });
  const mongo = await MongoClient.connect(env.MONGO_URL);
  await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => ({ ok: false }))).ok, 120_000);
  let t = performance.now();
  const t0 = Date.parse('2026-11-22T02:00:00Z');
  const events = [];
  for (let i = 0; i < N / 2; i++) {
    const reg = `REG-${i}`;
    events.push({ eventId: `${id}-${i}-r`, occurredAt: t0, correlationId: `c-${i}`, causationId: null, source: 'bench', pendaftaran_id: reg,
      payload: { type: 'PermitRegistered', jenis_izin: 'PBG', nama_pemohon: `Pemohon ${i}`, telepon_pemohon: `+62812${10_000_000 + i}`, status: 'Baru' } });
    events.push({ eventId: `${id}-${i}-s`, occurredAt: t0 + 1000, correlationId: `c-${i}`, causationId: null, source: 'bench', pendaftaran_id: reg,
      payload: { type: 'PermitStatusChanged', status_lama: 'Baru', status_baru: 'Verifikasi', changedAt: t0 + 1000, link_detail: null } });
  }
  for (let i = 0; i < events.length; i += 500) await producer.send(events.slice(i, i + 500).map((e) => ({ topic: 'permit.events', key: e.pendaftaran_id, value: e })));

  // Done when the planner's group has committed every permit event (it commits a batch after its outputs and changelog are written).
  const committed = async () => (await admin.fetchOffsets({ groupId: `${prefix}notification-planner`, topics: [`${prefix}permit.events`] }))[0].partitions.reduce((a, p) => a + Math.max(0, Number(p.offset)), 0);
  await waitUntil(async () => (await committed()) >= N, 300_000);
  const planner = (performance.now() - t) / 1000;

  // Baseline: the consumer loop alone.
  let seen = 0;
  t = performance.now();
  const base = await runBatchConsumer({ kafka, codec, groupId: `${prefix}bench-baseline`, handlers: { 'permit.events': async ({ records }) => { seen += records.length; } }, producer, logger: pino({ level: 'silent' }), metrics: createMetrics('bench') });
  await waitUntil(async () => seen >= N);
  const baseline = (performance.now() - t) / 1000;
  await base.stop();

  try {
    console.log('| what | time | rate | ratio to baseline |\n|---|---|---|---|');
    console.log(`| baseline: consumer loop, no-op handler, ${N} events | ${baseline.toFixed(2)} s | ${Math.round(N / baseline)} events/s | 1 |`);
    console.log(`| notification-planner process (ready, then ${N} events produced and decided), ${N / 2} status updates planned | ${planner.toFixed(2)} s | ${Math.round(N / planner)} events/s | ${(planner / baseline).toFixed(1)} |`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await mongo.db(dbName).dropDatabase().catch(() => undefined);
    await mongo.close(); await producer.disconnect();
    await admin.deleteTopics({ topics: TOPIC_NAMES.flatMap((x) => [`${prefix}${x}`, `${prefix}${x}.dlq`]) }).catch(() => undefined);
    await admin.disconnect();
  }
})().catch((e) => { console.error(e); process.exit(1); });
