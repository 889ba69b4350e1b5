// Dispatcher bench (built output; run `npx turbo run build` first, stack running):
//   node --expose-gc services/provider-dispatcher/bench/dispatcher.bench.js [ledgerNotifications=100000] [dispatched=20000]
// 1. Restore: the ledger of N notifications (SENDING + ACCEPTED each: 2N records, as
//    before compaction) over 3 partitions, read by a fresh instance: time and heap per entry.
// 2. Throughput: M rendered notifications through the real consumer loop (claim produce,
//    provider call, outcome produce per batch) with an in-process provider that answers
//    at once: records/s, produce requests per record.
require('../../../bench/help')(__filename);
const { Kafka, logLevel } = require('kafkajs');
const { randomBytes } = require('node:crypto');
const { EventProducer, ensureTopics } = require('@sicantik/kafka');
const { SchemaCodec } = require('@sicantik/schemas');
const { createMetrics } = require('@sicantik/observability');
const pino = require('pino');
const { LedgerPartitions } = require('../dist/adapters/ledgerPartitions');
const { kafkaChangelog } = require('../dist/adapters/kafkaChangelog');
const { dispatchRecord } = require('../dist/domain/ledger');
const { startDispatcher, DISPATCHER_TOPICS, DISPATCHER_OUTPUTS } = require('../dist/adapters/consumer');

const N = Number(process.argv[2] ?? 100_000);
const M = Number(process.argv[3] ?? 20_000);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const prefix = `bench-dispatch-${randomBytes(3).toString('hex')}.`;
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const gc = () => { if (global.gc) global.gc(); };

const rendered = (i) => ({
  eventId: `r-${i}`, occurredAt: Date.now(), correlationId: `c-${i}`, causationId: `q-${i}`, notificationId: `0b7e${String(i).padStart(8, '0')}-5a4d-4f53-9c2e-7f1d2a3b4c5d`, scenario: 'permit_ready', templateCode: 'permit_ready',
  templateVersion: 1, pendaftaran_id: `REG-2025-${String(i).padStart(6, '0')}`, recipient: { kind: 'APPLICANT', id: `REG-${i}`, name: 'Budi Santoso', phone: '+6281234567890' },
  outcome: 'RENDERED', text: 'Izin Anda telah terbit.', parameters: [], language: 'id', failureReason: null,
});

(async () => {
  const kafka = new Kafka({ brokers, clientId: 'bench-dispatch', logLevel: logLevel.NOTHING });
  const admin = kafka.admin(); await admin.connect();
  const topics = [...DISPATCHER_TOPICS, ...DISPATCHER_OUTPUTS];
  await ensureTopics(admin, { prefix, partitions: 3, replicationFactor: 1 }, topics);
  const codec = new SchemaCodec({ registryUrl, topicPrefix: prefix }); await codec.register(topics);
  const producer = EventProducer.create(kafka, codec); await producer.connect();

  // 1. Restore
  let t = Date.now();
  for (let i = 0; i < N; i += 1000) {
    const msgs = [];
    for (let j = i; j < Math.min(N, i + 1000); j++) {
      const n = rendered(j);
      for (const s of ['SENDING', 'ACCEPTED']) msgs.push({ topic: 'dispatch.ledger', key: n.notificationId, partition: j % 3, value: dispatchRecord(n, s, 1, 'meta', Date.now(), s === 'ACCEPTED' ? { providerMessageId: `wamid.SIM${randomBytes(12).toString('hex').toUpperCase()}` } : {}) });
    }
    await producer.send(msgs);
  }
  console.log(`wrote ${2 * N} ledger records in ${Date.now() - t} ms`);
  gc(); const heap0 = process.memoryUsage().heapUsed;
  const ledger = new LedgerPartitions(kafkaChangelog({ kafka, admin, codec, readerGroup: () => `${prefix}reader-${Date.now()}` }), logger);
  t = Date.now();
  ledger.assign([0, 1, 2]);
  for (const p of [0, 1, 2]) await ledger.withPartition(p, async () => undefined, async () => undefined);
  const restoreMs = Date.now() - t;
  gc(); const heap1 = process.memoryUsage().heapUsed;
  console.log(`restore: ${N} notifications (${2 * N} records) in ${restoreMs} ms = ${Math.round((2 * N) / (restoreMs / 1000))} records/s; ${ledger.size()} entries, ~${Math.round((heap1 - heap0) / ledger.size())} bytes of heap per entry`);

  // 2. Throughput through the real loop
  const calls = { n: 0, first: 0 };
  const sender = { openCircuits: () => new Map(), send: async () => { if (calls.n++ === 0) calls.first = Date.now(); return { kind: 'accepted', providerMessageId: `wamid.${calls.n}`, latencyMs: 0 }; } };
  for (let i = 0; i < M; i += 1000) await producer.send(Array.from({ length: Math.min(1000, M - i) }, (_, k) => { const n = rendered(N + i + k); return { topic: 'notification.rendered', key: n.pendaftaran_id, value: n }; }));
  const metrics = createMetrics('bench');
  const requests0 = producer.requests;
  t = Date.now();
  const d = await startDispatcher({
    kafka, admin, codec, producer, logger, metrics, sender, groupId: `${prefix}dispatcher`, readerGroupPrefix: `${prefix}r`,
    // Meta alone and contacts never seen: sent anyway (UNCONSENTED_OPT_IN_PROVIDERS=send), the bench measures sends.
    routing: { chain: ['meta'], optInRequired: new Set(['meta']), unconsented: 'send' }, contactChanges: async () => ({ stop: async () => undefined }),
    pacing: { rates: new Map(), pairRates: new Map(), quotas: new Map() }, retry: { maxAttempts: 3, delayMs: 1000, backoff: 2, jitter: 0, tiers: 3 },
  });
  while (calls.n < M) await new Promise((r) => setTimeout(r, 20));
  const ms = Date.now() - t; const steady = Date.now() - calls.first;
  console.log(`dispatch: ${M} notifications in ${ms} ms from start (join, restore of ${2 * N} records), ${steady} ms from the first provider call = ${Math.round(M / (steady / 1000))} notifications/s; ${producer.requests - requests0} produce requests (${((producer.requests - requests0) / M).toFixed(3)} per notification)`);
  await d.stop(); await producer.disconnect();
  await admin.deleteTopics({ topics: topics.flatMap((x) => [`${prefix}${x}`, `${prefix}${x}.dlq`]) }).catch(() => undefined);
  await admin.disconnect();
})().catch((e) => { console.error(e); process.exit(1); });
