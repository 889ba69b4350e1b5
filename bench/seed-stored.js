// STORED=N for bench/pipeline.bench.js: pre-load N notifications that the system
// already holds (planned, rendered, sent and delivered long ago) before the
// measurement starts, so the per-event cost is measured at a realistic amount of
// stored data rather than on empty collections.
//
// Not written yet: the storage layout is being redesigned (issue 8), and seeding
// the current collections would measure a layout that is about to go away.
// Whoever fills it in gets, in `ctx` (see bench/pipeline-system.js):
//   ctx.id           this run's unique id
//   ctx.prefix       TOPIC_PREFIX of this run's services (e.g. "bench-pipe-1a2b3c.")
//   ctx.env          the environment every service was started with
//   ctx.dbs          { 'permit-ingest': name, 'notification-planner': name,
//                      'provider-dispatcher': name, 'delivery-tracker': name } (MONGO_DB each)
//   ctx.mongoUrl     MONGO_URL;  ctx.kafka  a connected-on-demand kafkajs Kafka
//   ctx.urls         { ingest, tracker, planner, renderer, dispatcher, sim } base URLs
//   ctx.tokens       { ingest, stats, admin } bearer tokens
//   ctx.restart(name) restarts one service (e.g. after writing behind its back)
// It must leave the system consistent (every layer agrees these notifications exist
// and were delivered), so that the measured events are the only work in flight.

/** Pre-loads `n` already-stored notifications into the running system of `ctx`. */
async function seedStored(n, ctx) { // eslint-disable-line no-unused-vars
  if (!(n > 0)) return;
  throw new Error('not implemented yet: the storage layout is being redesigned');
}

module.exports = { seedStored };
