#!/usr/bin/env node
// Producer throughput with and without Kafka transactions (kafkajs, local stack up):
//   node bench/kafka-transactions.bench.js [records=5000] [perTransaction=500] [partitions=3] [rounds=3]
// Every mode writes the same N records of ~600 bytes to its own fresh topic, in sends of
// `perTransaction` records with acks=-1; the modes run interleaved, `rounds` times each,
// and the median is printed (records/s, markdown table). Modes:
//   plain          non-idempotent producer
//   idempotent     idempotent, maxInFlightRequests 1 (the services' current EventProducer settings)
//   tx             transactional (+ idempotent, maxInFlightRequests 1): one transaction per send
//   tx+offsets     as tx, plus sendOffsets for a consumer group in every transaction
//                  (the consume → produce → offsets shape)
//   tx+offsets+fastretry   as tx+offsets with the producer's retry.initialRetryTime 10 ms
//                  instead of kafkajs's 300 ms (see docs/kafka-transactions.md)
//   tx+offsets/50 (+fastretry)   transactions of 50 records (per-transaction overhead)
// BENCH_MODES=plain,tx,... runs only the named modes (the vs-idempotent column needs idempotent).
// Every transactional topic is checked afterwards: its end offset must be N + one commit
// marker per partition per transaction, and read_committed must see exactly N records.
require('./help')(__filename);
const { performance } = require('node:perf_hooks');
const { randomBytes } = require('node:crypto');
const { Kafka, logLevel, Partitioners } = require('kafkajs');

const N = Number(process.argv[2] ?? 5000);
const PER_TX = Number(process.argv[3] ?? 500);
const PARTITIONS = Number(process.argv[4] ?? 3);
const ROUNDS = Number(process.argv[5] ?? 3);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const kafka = new Kafka({ brokers, clientId: 'bench-tx', logLevel: logLevel.NOTHING });
const run = randomBytes(3).toString('hex');

// ~600 bytes, shaped like an event record (JSON, distinct per record, compressible like real data).
const value = (i) => {
  const base = JSON.stringify({ eventId: `evt-${run}-${i}`, occurredAt: 1_795_000_000_000 + i, correlationId: `corr-${i}`, kind: 'NOTIFICATION_REQUESTED', pendaftaran_id: `REG-${i % 997}`, phone: `+62812${String(10_000_000 + i)}`, text: '' });
  return base.replace('"text":""', `"text":"${'Yth. Bapak/Ibu, izin Anda akan berakhir. '.repeat(12).slice(0, 600 - base.length)}"`);
};
const records = Array.from({ length: N }, (_, i) => ({ key: `k${i}`, value: value(i) }));
const avgBytes = Math.round(records.reduce((a, r) => a + Buffer.byteLength(r.value) + r.key.length, 0) / N);

const admin = kafka.admin();
const retries = {};
const created = [];
const newTopic = async (mode, round) => {
  const topic = `bench-tx-${run}-${mode.replace(/\W/g, '_')}-${round}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
  created.push(topic);
  return topic;
};
const base = { createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false };
const eos = { idempotent: true, maxInFlightRequests: 1 };
// kafkajs retries AddPartitionsToTxn's CONCURRENT_TRANSACTIONS (the previous transaction's
// markers are still being written) with the producer's retry settings: 300 ms first wait by default.
const fastRetry = { retry: { initialRetryTime: 10, retries: 10 } };
const modes = {
  plain: { producer: () => kafka.producer({ ...base }), size: PER_TX },
  idempotent: { producer: () => kafka.producer({ ...base, ...eos }), size: PER_TX },
  tx: { producer: (id) => kafka.producer({ ...base, ...eos, transactionalId: id }), size: PER_TX, tx: true },
  'tx+offsets': { producer: (id) => kafka.producer({ ...base, ...eos, transactionalId: id }), size: PER_TX, tx: true, offsets: true },
  'tx+offsets+fastretry': { producer: (id) => kafka.producer({ ...base, ...eos, ...fastRetry, transactionalId: id }), size: PER_TX, tx: true, offsets: true },
  'tx+offsets/50': { producer: (id) => kafka.producer({ ...base, ...eos, transactionalId: id }), size: 50, tx: true, offsets: true },
  'tx+offsets/50+fastretry': { producer: (id) => kafka.producer({ ...base, ...eos, ...fastRetry, transactionalId: id }), size: 50, tx: true, offsets: true },
};
const only = process.env.BENCH_MODES ? process.env.BENCH_MODES.split(',') : null;
if (only) for (const k of Object.keys(modes)) if (!only.includes(k)) delete modes[k];

async function measure(name, round) {
  const m = modes[name];
  const topic = await newTopic(name, round);
  const producer = m.producer(`bench-tx-${run}-${name}-${round}`);
  let addPartitions = 0;
  producer.on(producer.events.REQUEST, ({ payload }) => { if (payload.apiName === 'AddPartitionsToTxn') addPartitions += 1; });
  await producer.connect();
  const group = `bench-tx-${run}-group-${round}`;
  let transactions = 0;
  // (the offsets are committed for the output topic itself: any existing topic costs the same)
  // The producer id (InitProducerId) is obtained before timing, as a long-running service would.
  if (m.tx) { const warm = await producer.transaction(); await warm.abort(); }
  const t = performance.now();
  for (let i = 0; i < N; i += m.size) {
    const messages = records.slice(i, i + m.size);
    if (!m.tx) { await producer.send({ topic, acks: -1, messages }); continue; }
    const tx = await producer.transaction();
    await tx.send({ topic, acks: -1, messages });
    if (m.offsets) await tx.sendOffsets({ consumerGroupId: group, topics: [{ topic, partitions: [{ partition: 0, offset: String(i + m.size) }] }] });
    await tx.commit();
    transactions += 1;
  }
  const ms = performance.now() - t;
  await producer.disconnect();
  if (m.tx) await check(topic, transactions);
  retries[name].push(m.tx ? addPartitions - transactions : 0); // one AddPartitionsToTxn per transaction, the rest are retries
  return ms;
}

/** End offsets = N + commit markers; read_committed sees exactly N. */
async function check(topic, transactions) {
  const markers = transactions * PARTITIONS; // every send of >= PARTITIONS records touches every partition
  // commit() resolves once the coordinator has logged the decision; the markers (and with
  // them the last stable offset that read_committed consumers and this ListOffsets see)
  // follow asynchronously, so the last transaction may not be visible yet.
  let end = 0;
  for (const until = Date.now() + 10_000; end !== N + markers && Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
    end = (await admin.fetchTopicOffsets(topic)).reduce((a, p) => a + Number(p.high), 0);
  }
  if (end !== N + markers) throw new Error(`${topic}: end offsets ${end}, expected ${N} records + ${markers} markers`);
  const c = kafka.consumer({ groupId: `bench-tx-${run}-check-${topic}`, readUncommitted: false, maxWaitTimeInMs: 100 });
  let seen = 0;
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({ autoCommit: false, eachBatch: async ({ batch }) => { seen += batch.messages.length; } });
  const deadline = Date.now() + 30_000;
  while (seen < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 200));
  await c.disconnect();
  if (seen !== N) throw new Error(`${topic}: read_committed saw ${seen} records, expected ${N}`);
}

(async () => {
  await admin.connect();
  const times = Object.fromEntries(Object.keys(modes).map((k) => [k, []]));
  for (const k of Object.keys(modes)) retries[k] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order every round so no mode always runs first (warm-up) or last.
      const order = Object.keys(modes);
      for (let k = 0; k < r; k++) order.push(order.shift());
      for (const name of order) times[name].push(await measure(name, r));
    }
  } finally {
    if (created.length) await admin.deleteTopics({ topics: created }).catch(() => undefined);
    await admin.disconnect();
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ref = times.idempotent ? median(times.idempotent) : NaN;
  console.log(`N=${N} records of ${avgBytes} bytes (key + value), ${PARTITIONS} partitions, acks=-1, median of ${ROUNDS} rounds, kafkajs ${require('kafkajs/package.json').version}\n`);
  console.log('| mode | records per send / transaction | time (median) | records/s | vs idempotent | all rounds (ms) | AddPartitionsToTxn retries per round |\n|---|---|---|---|---|---|---|');
  for (const [name, xs] of Object.entries(times)) {
    const ms = median(xs);
    console.log(`| ${name} | ${modes[name].size} | ${ms.toFixed(0)} ms | ${Math.round(N / (ms / 1000)).toLocaleString('en')} | ${(ms / ref).toFixed(2)}× time | ${xs.map((x) => x.toFixed(0)).join(', ')} | ${modes[name].tx ? `${retries[name].join(', ')} (of ${Math.ceil(N / modes[name].size)} transactions)` : ''} |`);
  }
})().catch((e) => { console.error(e); process.exit(1); });
