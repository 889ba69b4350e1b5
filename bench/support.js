// Shared by the bench scripts: the local stack's addresses (from the environment,
// as `deploy/local/stack.sh env` prints them), a free port, a polling wait, a
// percentile, and R: the broker's raw produce -> consume rate on this machine.
const net = require('node:net');
const { performance } = require('node:perf_hooks');

const env = {
  KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
  SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
  MONGO_URL: process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017',
  // Personal data keys every service needs (bench-only keys).
  PRIVACY_MASTER_KEYS: process.env.PRIVACY_MASTER_KEYS ?? 'bench1:lmzKvF1AAnBDaITIlpeWd5+y+ybNd8NY5YK7rrDc5e0=',
  PRIVACY_INDEX_KEY: process.env.PRIVACY_INDEX_KEY ?? 'LSIaSPYkGbcTO6k5OxklSrjGEpJOnbT+Ug1gT78XIaU=',
};
const freePort = () => new Promise((res) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
const waitUntil = async (probe, ms = 600_000) => { const end = Date.now() + ms; while (!(await probe())) { if (Date.now() > end) throw new Error('timed out'); await new Promise((r) => setTimeout(r, 50)); } };
/** p-th percentile (nearest rank) of a list of numbers; NaN for an empty list. */
const pct = (xs, p) => { if (!xs.length) return NaN; const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

/**
 * R: raw kafkajs produce -> consume of `n` records of `size` bytes on a fresh topic
 * (6 partitions), produced in batches of `batch` with acks=-1 by an idempotent
 * producer, consumed by one consumer group; records/s from the first send to the
 * last record consumed. The topic is deleted afterwards unless `keep`.
 */
async function rawR(kafka, { n = 10_000, size = 600, batch = 500, id = Math.random().toString(16).slice(2, 8), keep = false } = {}) {
  const topic = `bench-raw-${id}`;
  const admin = kafka.admin(); await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 }); await producer.connect();
  const consumer = kafka.consumer({ groupId: `bench-raw-${id}` }); await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let got = 0;
    const t = performance.now();
    const done = new Promise((resolve) => consumer.run({ eachBatch: async ({ batch: b }) => { got += b.messages.length; if (got >= n) resolve(); } }));
    const value = Buffer.alloc(size, 'x');
    for (let i = 0; i < n; i += batch) await producer.send({ topic, acks: -1, messages: Array.from({ length: Math.min(batch, n - i) }, (_, j) => ({ key: `k${i + j}`, value })) });
    await done;
    return n / ((performance.now() - t) / 1000);
  } finally {
    await consumer.disconnect(); await producer.disconnect();
    if (!keep) {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.deleteGroups([`bench-raw-${id}`]).catch(() => undefined);
    }
    await admin.disconnect();
  }
}

module.exports = { env, freePort, waitUntil, pct, rawR };
