#!/usr/bin/env node
// Rebuild of the delivery tracker's projections from the topics (issue 8), against M:
// the raw batched insert rate of the same documents into the same database, same run.
// After the build, stack running:
//   eval "$(deploy/local/stack.sh env | sed 's/^/export /')"
//   EVENTS=1000000 node bench/rebuild.bench.js
//   (NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR' profiles the rebuild command; bench/profile-summary.js DIR)
// 1. Produces EVENTS events on fresh topics (prefix bench-rb-<id>.): per notification
//    5 events: NotificationRequested, PlannerDecisionRecorded (PLANNED), a dispatch
//    record (ACCEPTED, with its provider message id), and two delivery statuses (SENT,
//    DELIVERED); batches of 500, Avro through the registry, 6 partitions.
// 2. Runs the rebuild command (services/delivery-tracker/dist/rebuild.js) into a fresh
//    database with a fresh group: it reads every event, folds them in memory and writes
//    each document once. Timed from start to exit (reading, folding, writing, offsets).
// 3. M: the documents the rebuild wrote (every collection), read back and inserted again
//    into another fresh database with insertMany in batches of 1000 (the embedded
//    database's fastest write). Only the inserts are timed.
// Prints documents/s of both and the ratio (goal >= 0.75), then drops the topics and databases.
require('./help')(__filename);
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { Kafka, logLevel } = require('kafkajs');
const { MongoClient } = require('mongodb');
const { SchemaCodec } = require('@sicantik/schemas');
const { EventProducer, ensureTopics } = require('@sicantik/kafka');
const { env } = require('./support');

const EVENTS = Number(process.env.EVENTS ?? 1_000_000);
const PER = 5;
const K = Math.floor(EVENTS / PER);
const id = randomBytes(3).toString('hex');
const prefix = `bench-rb-${id}.`;
const say = (m) => process.stderr.write(`[rebuild ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const TOPICS = ['notification.requests', 'notification.rendered', 'notification.dispatch', 'delivery.status', 'planner.decisions'];
const t0 = Date.parse('2026-11-20T02:00:00Z');

function events(i) {
  const n = `rb-${id}-${i}`, reg = `REG-RB-${i}`, w = `wamid.rb-${id}-${i}`, at = t0 + i;
  const head = { correlationId: `c-${n}`, causationId: null };
  return [
    { topic: 'notification.requests', key: reg, value: { eventId: `q-${n}`, occurredAt: at, ...head, notificationId: n, scenario: 'permit_ready', templateCode: 'permit_ready', pendaftaran_id: reg, recipient: { kind: 'APPLICANT', id: reg, name: 'Pemohon', phone: '+6281200000000' }, variables: { nama_pemohon: 'Pemohon' }, items: [], locale: 'id' } },
    { topic: 'planner.decisions', key: reg, value: { eventId: `p-${n}`, occurredAt: at, ...head, decision: 'PLANNED', scenario: 'permit_ready', pendaftaran_id: reg, notificationId: n, recipientKind: 'APPLICANT', recipientId: reg, reason: null, reasonCode: null } },
    { topic: 'notification.dispatch', key: reg, value: { eventId: `d-${n}`, occurredAt: at + 1000, ...head, notificationId: n, pendaftaran_id: reg, scenario: 'permit_ready', templateCode: 'permit_ready', recipientKind: 'APPLICANT', provider: 'meta', status: 'ACCEPTED', providerMessageId: w, attempt: 1, errorCode: null, reason: null } },
    ...['SENT', 'DELIVERED'].map((s, j) => ({ topic: 'delivery.status', key: w, value: { eventId: `s-${n}-${s}`, occurredAt: at + 2000 + j, ...head, provider: 'meta', providerMessageId: w, status: s, providerTimestamp: at + 2000 + j, receivedAt: at + 2000 + j, errorCode: null, errorTitle: null } })),
  ];
}

async function main() {
  const kafka = new Kafka({ brokers: env.KAFKA_BROKERS.split(','), clientId: `bench-rebuild-${id}`, logLevel: logLevel.NOTHING });
  const admin = kafka.admin(); await admin.connect();
  const mongo = await MongoClient.connect(env.MONGO_URL);
  const dbs = { rebuild: `bench_rb_${id}`, raw: `bench_rb_${id}_raw` };
  const codec = new SchemaCodec({ registryUrl: env.SCHEMA_REGISTRY_URL, topicPrefix: prefix });
  try {
    await ensureTopics(admin, { prefix, partitions: 6, replicationFactor: 1 }, TOPICS);
    await codec.register(TOPICS);
    const producer = EventProducer.create(kafka, codec); await producer.connect();
    let t = performance.now();
    for (let i = 0; i < K; i += 100) {
      await producer.send(Array.from({ length: Math.min(100, K - i) }, (_, j) => events(i + j)).flat());
      if ((i / 100) % 200 === 199) say(`produced ${(i + 100) * PER} of ${K * PER} events`);
    }
    await producer.disconnect();
    say(`produced ${K * PER} events in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // The rebuild command, as an operator runs it.
    t = performance.now();
    const out = await new Promise((resolve, reject) => {
      const p = spawn(process.execPath, ['--max-old-space-size=8192', ...(process.env.NODE_ARGS ?? '').split(' ').filter(Boolean), 'dist/rebuild.js'], {
        cwd: path.join(__dirname, '..', 'services', 'delivery-tracker'),
        env: { PATH: process.env.PATH, ...env, TOPIC_PREFIX: prefix, TOPIC_PARTITIONS: '6', MONGO_DB: dbs.rebuild, CONSUMER_GROUP: `${prefix}tracker-rebuild`, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let s = ''; p.stdout.on('data', (d) => { s += d; });
      p.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`rebuild exited ${code}`))));
    });
    const rebuildS = (performance.now() - t) / 1000;
    const report = JSON.parse(out.trim().split('\n').pop());
    say(`rebuild: ${JSON.stringify(report)}`);

    // M: the same documents, inserted raw.
    const src = mongo.db(dbs.rebuild), dst = mongo.db(dbs.raw);
    const cols = (await src.listCollections().toArray()).map((c) => c.name);
    const docs = {};
    for (const c of cols) docs[c] = await src.collection(c).find({}).toArray();
    const total = Object.values(docs).reduce((a, d) => a + d.length, 0);
    t = performance.now();
    for (const c of cols) for (let i = 0; i < docs[c].length; i += 1000) await dst.collection(c).insertMany(docs[c].slice(i, i + 1000), { ordered: false });
    const rawS = (performance.now() - t) / 1000;
    const M = total / rawS, rb = total / rebuildS;
    const rows = [
      '| what | events | documents | seconds | documents/s | ratio to M |',
      '|---|---|---|---|---|---|',
      `| rebuild command (read ${report.readSeconds} s, write ${report.writeSeconds} s, whole process ${rebuildS.toFixed(1)} s) | ${report.events.toLocaleString('en')} | ${total.toLocaleString('en')} | ${rebuildS.toFixed(1)} | ${Math.round(rb).toLocaleString('en')} | ${(rb / M).toFixed(2)} |`,
      `| M: insertMany of the same documents, batches of 1000 | | ${total.toLocaleString('en')} | ${rawS.toFixed(1)} | ${Math.round(M).toLocaleString('en')} | 1.00 |`,
    ];
    console.log(rows.join('\n'));
    console.log(`\n- ${K.toLocaleString('en')} notifications, ${report.events.toLocaleString('en')} events (${PER} per notification): ${Math.round(report.events / rebuildS).toLocaleString('en')} events/s rebuilt; collections ${cols.map((c) => `${c} ${docs[c].length}`).join(', ')}`);
    console.log(`- machine: ${require('node:os').cpus().length} cores, node ${process.version}, load average at the end ${require('node:os').loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  } finally {
    await admin.deleteTopics({ topics: TOPICS.map((tp) => `${prefix}${tp}`).concat(TOPICS.map((tp) => `${prefix}${tp}.dlq`)) }).catch(() => undefined);
    for (const d of Object.values(dbs)) await mongo.db(d).dropDatabase().catch(() => undefined);
    await admin.disconnect(); await mongo.close();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
