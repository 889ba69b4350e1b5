#!/usr/bin/env node
// Cost of single database operations as a collection grows (issue 8 groundwork), against
// any MongoDB-wire database (FerretDB on SQLite or on PostgreSQL, MongoDB):
//   MONGO_URL=mongodb://127.0.0.1:27017 node bench/db-op-costs.bench.js [label] [sizes=200,5000,20000]
// Env: BULK_CHUNK (update statements per bulkWrite command, default 40, see below),
// CALL_TIMEOUT_MS (default 180000: a longer call is reported as a probable deadlock),
// PG_ID_GIN / SQLITE_ID_INDEX (add an _id index FerretDB's own queries can use, see below).
// Derived from ../shared/tools/db-op-costs.cjs. For every size N a fresh collection is filled
// with N documents shaped like a projection's current-state row (~300 bytes, string _id),
// then each operation is timed (sequential calls, mean ms per call; the per-document cost
// of the 500-document operations is in brackets). Single-document operations: one untimed
// warm-up call, then up to 20 calls or 5 s; 500-document operations: up to 5 calls or 10 s,
// at least one. Counts stay near N: updates/replaces/finds touch existing ids, insertOne adds
// and deleteOne removes at most 21 each; insertMany runs on a separately filled collection
// per call. At N=200 the first bulkWrite call upserts 300 new documents (ids n200..n499).
// Prints a markdown table; the database it creates is dropped at the end.
require('./help')(__filename);
const { performance } = require('node:perf_hooks');
const { MongoClient } = require('mongodb');

const url = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017';
const label = process.argv[2] ?? url;
const sizes = (process.argv[3] ?? '200,5000,20000').split(',').map(Number);
const BATCH = 500;
// FerretDB v1.24 keeps every update statement's read cursor (and its pooled backend
// connection) open until the whole update command ends, so one command with as many update
// statements as the pool has connections deadlocks the database: 50 on PostgreSQL
// (pool_max_conns=50 by default), 100 on SQLite (100 connections per database, fixed).
// The 500 replaceOnes are therefore sent in commands of BULK_CHUNK statements (default 40;
// BULK_CHUNK=500 sends one command, which hangs on both backends with default settings).
const BULK_CHUNK = Number(process.env.BULK_CHUNK ?? 40);
const CALL_TIMEOUT_MS = Number(process.env.CALL_TIMEOUT_MS ?? 180_000);
// PG_ID_GIN=<postgres URL of FerretDB's database>: after every fill, add (with psql) a GIN
// index on _jsonb->'_id' to each collection table. FerretDB v1.24 on PostgreSQL filters _id
// with `_jsonb->'_id' @> '"id"'`, which its own btree index on _jsonb->'_id' cannot serve
// (FerretDB#4646); a jsonb_path_ops GIN index can.
const PG_ID_GIN = process.env.PG_ID_GIN;
// SQLITE_ID_INDEX=<FerretDB's SQLite directory>: after every fill, add (with the sqlite3
// CLI) an index on _ferretdb_sjson->'$._id' to each collection table. FerretDB v1.24 on
// SQLite indexes _id as _ferretdb_sjson->"_id" but filters with _ferretdb_sjson->'$._id',
// so its own index is never used and every _id lookup, update and delete scans the table.
const SQLITE_ID_INDEX = process.env.SQLITE_ID_INDEX;
const sqliteIndex = (db) => {
  const { execFileSync } = require('node:child_process');
  const file = require('node:path').join(SQLITE_ID_INDEX, `${db}.sqlite`);
  const tables = execFileSync('sqlite3', [file, 'SELECT table_name FROM _ferretdb_collections']).toString().split('\n').filter(Boolean);
  for (const t of tables) execFileSync('sqlite3', [file, `CREATE INDEX IF NOT EXISTS "${t}_id_path" ON "${t}" (_ferretdb_sjson->'$._id'); ANALYZE "${t}";`]);
};
const ginSql = (db) => `DO $$ DECLARE t text; BEGIN
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = '${db}' AND tablename NOT LIKE '\\_ferretdb%' LOOP
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin ((_jsonb->''_id'') jsonb_path_ops)', t || '_id_gin', '${db}', t);
    EXECUTE format('ANALYZE %I.%I', '${db}', t);
  END LOOP; END $$;`;

const doc = (id, i, status = 'queued') => ({
  _id: id, day: '2026-11-24', status, rank: i % 7, notificationId: `ntf-${i}`, pendaftaran_id: `REG-${String(i).padStart(6, '0')}`,
  phone: `+62812${String(10_000_000 + i)}`, scenario: 'permit_expiry_warning', provider: 'meta', attempts: 0, lastError: null,
  updatedAt: 1_795_000_000_000 + i, history: [{ at: 1_795_000_000_000, status: 'queued' }],
});
const fill = async (col, n) => {
  for (let i = 0; i < n; i += 1000) {
    await col.insertMany(Array.from({ length: Math.min(1000, n - i) }, (_, j) => doc(`n${i + j}`, i + j)), { ordered: false });
  }
  if (SQLITE_ID_INDEX) sqliteIndex(col.dbName);
  if (PG_ID_GIN) require('node:child_process').execFileSync('psql', ['-qX', '-v', 'ON_ERROR_STOP=1', PG_ID_GIN, '-c', ginSql(col.dbName)], { stdio: ['ignore', 'ignore', 'inherit'] });
};
/**
 * Mean ms per call of f(0), f(1), ... (after `warm` untimed calls f(-1), ...), up to `reps`
 * calls or `budgetMs`. A call that returns a number timed itself (ms).
 */
const time = async (f, { reps, budgetMs, warm }) => {
  for (let w = 1; w <= warm; w++) await f(-w);
  let n = 0;
  let total = 0;
  while (n < reps && (n === 0 || total < budgetMs)) {
    const t = performance.now();
    let timer;
    const own = await Promise.race([f(n), new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`a call took over ${CALL_TIMEOUT_MS} ms: is the database deadlocked (see BULK_CHUNK)?`)), CALL_TIMEOUT_MS);
    })]).finally(() => clearTimeout(timer));
    total += typeof own === 'number' ? own : performance.now() - t;
    n += 1;
  }
  return { ms: total / n, calls: n };
};
const single = { reps: 20, budgetMs: 5_000, warm: 1 };
const batch = { reps: 5, budgetMs: 10_000, warm: 0 };

(async () => {
  const client = await MongoClient.connect(url);
  const db = client.db(`op_costs_${Date.now()}`);
  const results = new Map(); // op -> [{ N, ms, calls, perDoc }]
  const record = (op, N, r, perDoc) => {
    process.stderr.write(`${label}: ${N} docs, ${op}: ${r.ms.toFixed(2)} ms x${r.calls}\n`);
    if (!results.has(op)) results.set(op, []);
    results.get(op).push({ N, ...r, perDoc });
  };
  const started = performance.now();
  try {
    for (const N of sizes) {
      const col = db.collection(`c${N}`);
      await fill(col, N);
      if ((await col.countDocuments()) !== N) throw new Error(`fill of ${N} failed`);
      // Ids spread over the whole collection (a prime stride), distinct per call.
      const spread = (k) => `n${(k * 7919 + 13) % N}`;
      record('findOne by _id', N, await time((i) => col.findOne({ _id: spread(i + 1) }), single));
      record(`find by _id $in (${BATCH} ids)`, N, await time(async (i) => {
        const ids = Array.from({ length: BATCH }, (_, j) => `n${(Math.max(i, 0) * 97 + j * Math.max(1, Math.floor(N / BATCH))) % Math.max(N, BATCH)}`);
        const got = await col.find({ _id: { $in: ids } }).toArray();
        if (got.length !== Math.min(N, BATCH)) throw new Error(`$in returned ${got.length}`);
      }, batch), BATCH);
      record('updateOne by _id ($set)', N, await time((i) => col.updateOne({ _id: spread(100 + i) }, { $set: { status: 'sent', updatedAt: Date.now() } }), single));
      record('replaceOne by _id', N, await time((i) => { const k = (200 + i) * 7919 % N; return col.replaceOne({ _id: `n${k}` }, doc(`n${k}`, k, 'delivered')); }, single));
      record(`bulkWrite ${BATCH} replaceOne by _id, upsert (commands of ${Math.min(BULK_CHUNK, BATCH)})`, N, await time(async (i) => {
        const ops = Array.from({ length: BATCH }, (_, j) => {
          const k = (i * BATCH + j) % Math.max(N, BATCH);
          return { replaceOne: { filter: { _id: `n${k}` }, replacement: doc(`n${k}`, k, 'read'), upsert: true } };
        });
        for (let j = 0; j < ops.length; j += BULK_CHUNK) await col.bulkWrite(ops.slice(j, j + BULK_CHUNK), { ordered: false });
      }, batch), BATCH);
      record('insertOne', N, await time((i) => col.insertOne(doc(`x${i}`, i)), single));
      record('deleteOne by _id', N, await time((i) => col.deleteOne({ _id: `n${N - 2 - i}` }), single));
      record(`insertMany ${BATCH} (new ids)`, N, await time(async (i) => {
        // Timed: only the insertMany into a collection already holding N documents.
        const fresh = db.collection(`m${N}_${i}`);
        await fill(fresh, N);
        const t = performance.now();
        await fresh.insertMany(Array.from({ length: BATCH }, (_, j) => doc(`y${j}`, j)), { ordered: false });
        const ms = performance.now() - t;
        await fresh.drop();
        return ms;
      }, { ...batch, reps: 3 }), BATCH);
      await col.drop();
    }
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
  console.log(`### ${label}\n`);
  console.log(`${url}, node ${process.version}, finished ${new Date().toISOString()} after ${((performance.now() - started) / 1000).toFixed(0)} s${PG_ID_GIN ? ', with PG_ID_GIN' : ''}${SQLITE_ID_INDEX ? ', with SQLITE_ID_INDEX' : ''}\n`);
  const head = sizes.map((n) => `${n.toLocaleString('en')} docs`);
  console.log(`| operation | ${head.join(' | ')} | ${sizes.at(-1).toLocaleString('en')} / ${sizes[0].toLocaleString('en')} |`);
  console.log(`|---|${sizes.map(() => '---|').join('')}---|`);
  for (const [op, rows] of results) {
    const cells = rows.map((r) => `${r.ms.toFixed(2)} ms${r.perDoc ? ` (${(r.ms / r.perDoc).toFixed(3)}/doc)` : ''} ×${r.calls}`);
    console.log(`| ${op} | ${cells.join(' | ')} | ${(rows.at(-1).ms / rows[0].ms).toFixed(1)}× |`);
  }
})().catch((e) => { console.error(e); process.exit(1); });
