#!/usr/bin/env node
// Front door throughput. Run after `npm run build`, with the local stack up:
//   node bench/ingest.bench.js [events=2000] [clients=32] [stored=0] [type=issued]
// `stored`: event ids already accepted before the run (claims and done records), to see
// how the per-event cost grows with the data the ledger holds.
// `type`: `issued` times N PermitIssued (a number each: the subject from the registry);
// `pending` first posts N PermitIssued (untimed), then times N DocumentPendingSignature of
// the same permits (the name without a number: the permit's subject read from the ledger).
// - R (same run): raw kafkajs produce -> consume of N records of ~600 B on fresh topics
//   (batches of 500, acks=-1), the broker's ceiling for this machine;
// - ingest: the real permit-ingest process (built output) taking N PermitIssued events
//   over HTTP from `clients` concurrent keep-alive clients, until all are answered 202;
//   events/s, latency p50/p99 per request, and the produce requests it made (from
//   its /metrics): how many requests shared one produce.
require('./help')(__filename);
const { performance } = require('node:perf_hooks');
const { randomBytes } = require('node:crypto');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { MongoClient } = require('mongodb');
const { Kafka, logLevel } = require('kafkajs');

const N = Number(process.argv[2] ?? 2000);
const CLIENTS = Number(process.argv[3] ?? 32);
const STORED = Number(process.argv[4] ?? 0);
const TYPE = process.argv[5] ?? 'issued';
if (!['issued', 'pending'].includes(TYPE)) throw new Error(`type must be issued or pending, not ${TYPE}`);
const { env, freePort, waitUntil } = require('./support');
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

async function rawR(kafka, id) {
  const topic = `bench-raw-${id}`;
  const admin = kafka.admin(); await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 }); await producer.connect();
  const consumer = kafka.consumer({ groupId: `bench-raw-${id}` }); await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let got = 0;
  const t = performance.now();
  const done = new Promise((resolve) => consumer.run({ eachBatch: async ({ batch }) => { got += batch.messages.length; if (got >= N) resolve(); } }));
  const value = Buffer.alloc(600, 'x');
  for (let i = 0; i < N; i += 500) await producer.send({ topic, acks: -1, messages: Array.from({ length: Math.min(500, N - i) }, (_, j) => ({ key: `k${i + j}`, value })) });
  await done;
  const s = (performance.now() - t) / 1000;
  await consumer.disconnect(); await producer.disconnect();
  return N / s;
}

(async () => {
  const id = randomBytes(3).toString('hex');
  const kafka = new Kafka({ brokers: env.KAFKA_BROKERS.split(','), clientId: 'bench', logLevel: logLevel.NOTHING });
  const R = await rawR(kafka, id);

  const port = await freePort();
  const dbName = `bench_${id}_ingest`;
  const token = 'bench-ingest-token-000001';
  const child = spawn(process.execPath, ['dist/main.js'], { cwd: path.resolve(__dirname, '../services/permit-ingest'), stdio: ['ignore', 'ignore', 'inherit'],
    env: { PATH: process.env.PATH, ...env, TOPIC_PREFIX: `bench-${id}.`, TOPIC_PARTITIONS: '6', MONGO_DB: dbName, HTTP_PORT: String(port), INGEST_API_TOKEN: token, LOG_LEVEL: 'warn' } });
  try {
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => ({ ok: false }))).ok, 120_000);
    if (STORED > 0) {
      const mongo = await MongoClient.connect(env.MONGO_URL);
      const db = mongo.db(dbName);
      const at = new Date();
      for (let i = 0; i < STORED; i += 1000) {
        const ids = Array.from({ length: Math.min(1000, STORED - i) }, (_, j) => `old-${id}-${i + j}`);
        await db.collection('ingest_claims').insertMany(ids.map((_id) => ({ _id, at, instance: 'bench' })));
        await db.collection('ingested_event_ids').insertMany(ids.map((_id) => ({ _id, pendaftaran_id: 'REG-old', at })));
      }
      await mongo.close();
    }
    const issued = (i) => JSON.stringify({ event_id: `bench-${id}-${i}`, type: 'PermitIssued', occurred_at: '2026-11-22T09:00:00+07:00', pendaftaran_id: `REG-${id}-${i}`,
      data: { no_surat: `503/${i}/2026`, jenis_izin: 'PBG', nama_pemohon: `Pemohon ${i}`, telepon_pemohon: '0812-3456-7890', tanggal_terbit: '2026-11-22', link_download: 'https://sicantik.test/x.pdf', tanggal_berakhir: '2027-11-22' } });
    const pending = (i) => JSON.stringify({ event_id: `bench-${id}-${i}-pending`, type: 'DocumentPendingSignature', occurred_at: '2026-11-22T09:00:00+07:00', pendaftaran_id: `REG-${id}-${i}`,
      data: { document_id: `DOC-${i}`, jenis_izin: 'PBG', nama_pemohon: `Pemohon ${i}`, pending_since: '2026-11-22T09:00:00+07:00' } });
    const scrape = async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const sum = (re) => [...metrics.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
      return { produced: sum(/^sicantik_produce_requests_total(?:\{[^}]*\})? (\d+)/gm), db: sum(/^sicantik_db_operations_total(?:\{[^}]*\})? (\d+)/gm) };
    };
    const post = async (body) => {
      const lat = [];
      let next = 0, bad = 0;
      const t = performance.now();
      await Promise.all(Array.from({ length: CLIENTS }, async () => {
        for (let i = next++; i < N; i = next++) {
          const s = performance.now();
          const r = await fetch(`http://127.0.0.1:${port}/v1/permit-events`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: body(i) });
          await r.text();
          if (r.status !== 202) bad++;
          lat.push(performance.now() - s);
        }
      }));
      return { s: (performance.now() - t) / 1000, lat, bad };
    };
    if (TYPE === 'pending') { const warm = await post(issued); if (warm.bad) throw new Error(`${warm.bad} PermitIssued not accepted`); }
    const m0 = await scrape();
    const { s, lat, bad } = await post(TYPE === 'pending' ? pending : issued);
    const m1 = await scrape();
    const produced = m1.produced - m0.produced;
    const rate = N / s;
    console.log(`\n| what | value |\n|---|---|`);
    console.log(`| R: raw kafkajs produce -> consume, ${N} records of 600 B | ${Math.round(R).toLocaleString('en')} records/s |`);
    console.log(`| ingest: ${N} ${TYPE === 'pending' ? 'DocumentPendingSignature (after a PermitIssued each)' : 'PermitIssued'} over HTTP, ${CLIENTS} clients, ${STORED} ids stored before | ${Math.round(rate).toLocaleString('en')} events/s (${(rate / R).toFixed(3)}·R), ${bad} not 202 |`);
    console.log(`| database commands per event (ingest) | ${((m1.db - m0.db) / N).toFixed(2)} |`);
    console.log(`| ingest latency per request | p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms |`);
    console.log(`| produce requests made by ingest | ${produced ? `${produced} (${(N / produced).toFixed(1)} events per request)` : 'n/a'} |`);
  } finally {
    child.kill('SIGTERM');
    const mongo = await MongoClient.connect(env.MONGO_URL); await mongo.db(dbName).dropDatabase().catch(() => undefined); await mongo.close();
  }
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
