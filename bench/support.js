// Shared by the bench scripts: the local stack's addresses (from the environment,
// as `deploy/local/stack.sh env` prints them), a free port, and a polling wait.
const net = require('node:net');

const env = {
  KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
  SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
  MONGO_URL: process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017',
};
const freePort = () => new Promise((res) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
const waitUntil = async (probe, ms = 600_000) => { const end = Date.now() + ms; while (!(await probe())) { if (Date.now() > end) throw new Error('timed out'); await new Promise((r) => setTimeout(r, 50)); } };

module.exports = { env, freePort, waitUntil };
