#!/usr/bin/env node
// Delivery-tracker projection: database commands and time per batch with N notifications
// already stored (flat cost). After the build, stack running:
//   eval "$(deploy/local/stack.sh env | sed 's/^/export /')"
//   STORED=0,20000,100000 ROUNDS=4 node services/delivery-tracker/bench/projection.bench.js
// For each STORED value: a fresh database, N delivered notifications (and their message
// ids) inserted directly in the projection's layout, then ROUNDS rounds of 500 new
// notifications through the projection as the consumer hands them over (one batch per
// topic-partition): 500 requests; 1000 dispatch records (SENDING and ACCEPTED of each);
// 1000 statuses (SENT and DELIVERED of each); 500 READ; and the same 500 READ again in
// a fresh process (nothing cached). Commands are counted by the driver's command
// monitoring (sicantik_db_operations_total), time is wall time per batch.
require('../../../bench/help')(__filename);
const { randomBytes } = require('node:crypto');
const { MongoClient } = require('mongodb');
const { countDbCommands, createMetrics } = require('@sicantik/observability');
const { NotificationProjection } = require('../dist/adapters/projections/store');
const { Serial } = require('../dist/adapters/projections/writer');
const { toDoc, requestedFact, dispatchFact, statusFact, merge, messageRef } = require('../dist/domain/model');

const E = process.env;
const STORED = (E.STORED ?? '0,20000').split(',').map(Number);
const ROUNDS = Number(E.ROUNDS ?? 4);
const N = 500;
const t0 = Date.parse('2026-11-24T02:00:00Z');
const id = randomBytes(3).toString('hex');

const requested = (n) => ({ eventId: `q-${n}`, occurredAt: t0, correlationId: 'c', causationId: null, notificationId: n, scenario: 'permit_ready', templateCode: 'permit_ready', pendaftaran_id: `REG-${n}`, recipient: { kind: 'APPLICANT', id: `REG-${n}`, name: 'Budi', phone: '+6281234567890' }, variables: {}, items: [], locale: 'id' });
const dispatched = (n, status) => ({ eventId: `d-${n}-${status}`, occurredAt: t0 + 1000, correlationId: 'c', causationId: null, notificationId: n, pendaftaran_id: `REG-${n}`, scenario: 'permit_ready', templateCode: 'permit_ready', recipientKind: 'APPLICANT', provider: 'meta', status, providerMessageId: status === 'ACCEPTED' ? `wamid.${n}` : null, attempt: 1, errorCode: null, reason: null });
const delivery = (n, status, s) => ({ eventId: `s-${n}-${status}`, occurredAt: t0 + s * 1000, correlationId: 'c', causationId: null, provider: 'meta', providerMessageId: `wamid.${n}`, status, providerTimestamp: t0 + s * 1000, receivedAt: t0 + s * 1000, errorCode: null, errorTitle: null });

async function seed(db, n) {
  // delivered notifications as the projection stores them, and their message ids
  for (let i = 0; i < n; i += 1000) {
    const ids = Array.from({ length: Math.min(1000, n - i) }, (_, j) => `stored-${i + j}`);
    await db.collection('notifications').insertMany(ids.map((x) => toDoc(x, [requestedFact(requested(x)), dispatchFact(dispatched(x, 'ACCEPTED')), statusFact({ e: 'e', s: 'delivered', at: t0 + 3000, code: null, title: null })].reduce(merge), 'seed', {})));
    await db.collection('provider_messages').insertMany(ids.map((x) => ({ _id: messageRef(`wamid.${x}`), notificationId: x })));
  }
}

async function main() {
  const client = await MongoClient.connect(E.MONGO_URL ?? 'mongodb://127.0.0.1:27017', { monitorCommands: true });
  const metrics = createMetrics('bench');
  countDbCommands(client, metrics);
  const commands = async () => (await metrics.dbOps.get()).values.reduce((s, v) => s + v.value, 0);
  const rows = [];
  try {
    for (const stored of STORED) {
      const name = `bench_tracker_${id}_${stored}`;
      const db = client.db(name);
      try {
        const serial = new Serial();
        const p = new NotificationProjection(db, {}, { serial });
        await p.init();
        await seed(db, stored);
        await new Promise((r) => setTimeout(r, 2500)); // the FerretDB wrapper adds its _id index to new tables within a second
        const sums = new Map();
        const offsets = new Map();
        const run = async (label, proj, topic, values) => {
          const first = offsets.get(topic) ?? 0; offsets.set(topic, first + values.length);
          const c = await commands(); const t = performance.now();
          await proj.apply({ topic, partition: 0, records: values.map((value, i) => ({ offset: String(first + i), value })) });
          const s = sums.get(label) ?? { events: 0, commands: 0, ms: 0, batches: 0 };
          s.events += values.length; s.commands += (await commands()) - c; s.ms += performance.now() - t; s.batches++;
          sums.set(label, s);
        };
        for (let r = 0; r < ROUNDS; r++) {
          const ids = Array.from({ length: N }, (_, i) => `r${r}-${i}`);
          await run('500 requests', p, 'notification.requests', ids.map(requested));
          await run('1000 dispatch records (SENDING, ACCEPTED)', p, 'notification.dispatch', ids.flatMap((x) => [dispatched(x, 'SENDING'), dispatched(x, 'ACCEPTED')]));
          await run('1000 statuses (SENT, DELIVERED)', p, 'delivery.status', ids.flatMap((x) => [delivery(x, 'SENT', 2), delivery(x, 'DELIVERED', 3)]));
          await run('500 statuses (READ)', p, 'delivery.status', ids.map((x) => delivery(x, 'READ', 4)));
          const cold = new NotificationProjection(db, {}, { serial }); await cold.init();
          await run('500 statuses (READ again), nothing cached', cold, 'delivery.status', ids.map((x) => delivery(x, 'READ', 4)));
        }
        const summary = await p.summary();
        // the seeded notifications were inserted without counters
        if (summary.total !== ROUNDS * N || summary.read !== ROUNDS * N) throw new Error(`unexpected summary ${JSON.stringify(summary)}`);
        for (const [label, s] of sums) rows.push({ stored, label, batches: s.batches, events: s.events / s.batches, commands: s.commands / s.batches, perEvent: s.commands / s.events, ms: s.ms / s.batches, msPerEvent: s.ms / s.events });
      } finally {
        await db.dropDatabase();
      }
    }
  } finally { await client.close(); }
  console.log('| stored notifications | batch | commands per batch | commands per event | ms per batch | ms per event |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.stored.toLocaleString('en')} | ${r.label} | ${r.commands.toFixed(1)} | ${r.perEvent.toFixed(3)} | ${r.ms.toFixed(0)} | ${r.msPerEvent.toFixed(2)} |`);
}

main().catch((e) => { console.error(e); process.exit(1); });
