// STORED=N for bench/pipeline.bench.js: pre-load N notifications that the system
// already holds (planned, rendered, sent and delivered long ago) before the
// measurement starts, so the per-event cost is measured at a realistic amount of
// stored data rather than on empty collections.
//
// What is seeded: the database-backed stores, where a cost that grows with stored data
// would live (FerretDB's updates used to scan whole collections):
//   - delivery-tracker: N delivered notification documents in the projection's layout
//     (services/delivery-tracker/dist/domain/model.js toDoc), their provider-message
//     map entries, and the counters (notification_stats 'all' and the seeded day) so the
//     statistics agree with the documents;
//   - permit-ingest: N done records and N claims (the duplicate check's collections).
// Not seeded: the planner's and the dispatcher's state. They keep no database; their
// state is in memory (a Map lookup per event) restored from compacted topics, so stored
// data costs them restore time and memory, not per-event time. Those are measured by
// bench/planner.bench.js (restore) and services/provider-dispatcher/bench.
//
// Inserted in batches of 1000 (insertMany, the embedded database's cheap operation),
// while the services run but before any event is posted; the tracker's caches are
// empty, so the measured events find nothing of the seed in memory either.
const { MongoClient } = require('mongodb');
const path = require('node:path');
const { env } = require('./support');

// About 300 days before the run: a day no measured event touches, and inside the tracker's
// retention period (RETENTION_DAYS, 400), so its sweep does not rewrite the seeded documents.
const T0 = Math.floor((Date.now() - 300 * 86_400_000) / 86_400_000) * 86_400_000 + 2 * 3_600_000; // 02:00Z, 09:00 WIB
const DAY = new Date(T0).toISOString().slice(0, 10);

/** Pre-loads `n` already-stored notifications into the running system of `ctx`. */
async function seedStored(n, ctx, log = () => undefined) {
  if (!(n > 0)) return;
  const model = require(path.join(__dirname, '..', 'services', 'delivery-tracker', 'dist', 'domain', 'model.js'));
  const { toDoc, requestedFact, dispatchFact, statusFact, merge } = model;
  // provider_messages is keyed by the keyed reference of the provider message id (layout 5), with the services' index key.
  const { messageRefOf } = require(path.join(__dirname, '..', 'services', 'delivery-tracker', 'dist', 'adapters', 'projections', 'messageRef.js'));
  const messageRef = messageRefOf(Buffer.from(env.PRIVACY_INDEX_KEY, 'base64'));
  const mongo = await MongoClient.connect(ctx.mongoUrl, { serverSelectionTimeoutMS: 5000 });
  const started = Date.now();
  try {
    const tracker = mongo.db(ctx.dbs['delivery-tracker']);
    const ingest = mongo.db(ctx.dbs['permit-ingest']);
    const requested = (x) => ({ eventId: `seed-q-${x}`, occurredAt: T0, correlationId: `seed-${x}`, causationId: null, notificationId: x, scenario: 'permit_ready', templateCode: 'permit_ready', pendaftaran_id: `SEED-${x}`, recipient: { kind: 'APPLICANT', id: `SEED-${x}`, name: 'Pemohon', phone: '+6281200000000' }, variables: {}, items: [], locale: 'id' });
    const accepted = (x) => ({ eventId: `seed-d-${x}`, occurredAt: T0 + 1000, correlationId: `seed-${x}`, causationId: null, notificationId: x, pendaftaran_id: `SEED-${x}`, scenario: 'permit_ready', templateCode: 'permit_ready', recipientKind: 'APPLICANT', provider: 'meta', status: 'ACCEPTED', providerMessageId: `wamid.seed-${x}`, attempt: 1, errorCode: null, reason: null });
    const delivered = (s) => statusFact({ eventId: `seed-s-${s}`, state: 'delivered', at: T0 + 3000, errorCode: null, errorTitle: null });
    const B = 1000;
    for (let i = 0; i < n; i += B) {
      const ids = Array.from({ length: Math.min(B, n - i) }, (_, j) => `seed-${ctx.id}-${i + j}`);
      await tracker.collection('notifications').insertMany(ids.map((x) => toDoc(x, [requestedFact(requested(x)), dispatchFact(accepted(x)), delivered(x)].reduce(merge), 'seed', {})), { ordered: false });
      await tracker.collection('provider_messages').insertMany(ids.map((x) => ({ _id: messageRef('meta', `wamid.seed-${x}`), notificationId: x })), { ordered: false });
      const at = new Date(T0);
      await ingest.collection('ingested_event_ids').insertMany(ids.map((x) => ({ _id: `seed-evt-${x}`, pendaftaran_id: `SEED-${x}`, at })), { ordered: false });
      await ingest.collection('ingest_claims').insertMany(ids.map((x) => ({ _id: `seed-evt-${x}`, at, instance: 'seed' })), { ordered: false });
      if ((i / B) % 50 === 49) log(`seeded ${i + B} of ${n} (${Math.round((i + B) / ((Date.now() - started) / 1000))} notifications/s)`);
    }
    // The counters: each seeded notification once, delivered (sent and delivered evidence).
    const counts = { total: n, sent: n, delivered: n, [`byStatus.delivered`]: n };
    const stats = tracker.collection('notification_stats');
    for (const id of ['all', DAY]) {
      await stats.insertOne({ _id: id, appliedBatches: {} }).catch(() => undefined);
      await stats.updateOne({ _id: id }, { $inc: counts });
    }
    log(`seeded ${n} stored notifications in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await mongo.close();
  }
}

module.exports = { seedStored };
