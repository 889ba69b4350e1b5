import type { AnyBulkWriteOperation, Collection, Db, Document, OptionalUnlessRequiredId } from 'mongodb';
import { duplicateKeyIndexes, ValidationError } from '@sicantik/core';
import type { CounterOp } from '../../domain/model';

////////// Database access shared by the tracker's projections
// FerretDB v1 (the embedded database) runs every update as read, change in Go, write
// back, with no isolation between the read and the write, so two writers of one
// document lose one of the writes whatever update operators they use. Within a
// process every projection write therefore goes through one Serial. On MongoDB,
// documents that other processes may write too are replaced under compare-and-set
// (a new `_v` on every write), which MongoDB makes atomic; on FerretDB, where such a
// filter would scan the collection (isFerretDb) and could not be atomic anyway, the
// process must be the only writer: one tracker instance. Update commands carry at most
// MAX_STATEMENTS statements and are never sent concurrently: FerretDB keeps a backend
// connection per update statement until the command ends and hangs when its pool
// runs out (docs/benchmarks.md, "Deadlock").

export const MAX_STATEMENTS = 40;

/** Runs tasks one at a time, in call order. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const r = this.tail.then(fn);
    this.tail = r.catch(() => undefined);
    return r;
  }
}

/** Lets readers wait while a batch's documents are written and its counters not yet. */
export class WriteGate {
  private current: Promise<void> | null = null;
  begin(): () => void {
    let release!: () => void;
    const p = new Promise<void>((r) => { release = r; });
    this.current = p;
    return () => { if (this.current === p) this.current = null; release(); };
  }
  async idle(): Promise<void> { if (this.current) await this.current; }
}

/** Least recently used cache (a Map keeps insertion order). */
export class Lru<K, V> {
  private readonly m = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) { this.m.delete(k); this.m.set(k, v); }
    return v;
  }
  set(k: K, v: V): void {
    this.m.delete(k);
    this.m.set(k, v);
    if (this.m.size > this.max) this.m.delete(this.m.keys().next().value as K);
  }
  delete(k: K): void { this.m.delete(k); }
  get size(): number { return this.m.size; }
}

export const chunks = <T>(xs: T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, (i + 1) * n));

/** Lookups by _id, a few at a time (reads never deadlock FerretDB; they only queue on its pool). */
export async function findByIds<T extends { _id: string }>(col: Collection<T>, ids: string[], parallel = 8): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  for (const c of chunks(ids, parallel)) {
    const docs = await Promise.all(c.map((id) => col.findOne({ _id: id } as never) as Promise<T | null>));
    docs.forEach((d, i) => { if (d) out.set(c[i]!, d); });
  }
  return out;
}

/** Inserts in one command; returns the indexes whose _id was already there (nothing else may go wrong). */
export async function insertNew<T extends Document>(col: Collection<T>, docs: OptionalUnlessRequiredId<T>[]): Promise<Set<number>> {
  if (docs.length === 0) return new Set();
  try {
    await col.insertMany(docs, { ordered: false });
    return new Set();
  } catch (err) {
    return new Set(duplicateKeyIndexes(err));
  }
}

/** Update statements in commands of at most MAX_STATEMENTS; returns the documents matched per command. */
export async function bulkUpdate<T extends Document>(col: Collection<T>, ops: AnyBulkWriteOperation<T>[], ordered: boolean): Promise<number[]> {
  const matched: number[] = [];
  for (const c of chunks(ops, MAX_STATEMENTS)) matched.push((await col.bulkWrite(c, { ordered })).matchedCount);
  return matched;
}

/** A counter document: appliedBatches.<tp> = the first offset of the last batch of that topic-partition whose counters it applied. */
export interface CounterDoc { _id: string; appliedBatches: Record<string, number> }

/**
 * Applies a batch's counter deltas (see counterOps) to counter documents `{_id, o, ...}`:
 * each document's share once, guarded by `appliedBatches.<tp>`, the first offset of the last batch
 * of that topic-partition it applied. Missing counter documents are created first
 * (insert-only, duplicates ignored), so no statement needs an upsert.
 */
export async function applyCounters(col: Collection<CounterDoc>, known: Set<string>, tp: string, firstOffset: number, ops: CounterOp[]): Promise<void> {
  await applyCountersOf(col, known, [{ tp, firstOffset, ops }]);
}

/** applyCounters for several batches (each guarded by its own topic-partition) in one insert and one update command. */
export async function applyCountersOf(col: Collection<CounterDoc>, known: Set<string>, batches: { tp: string; firstOffset: number; ops: CounterOp[] }[]): Promise<void> {
  const all = batches.flatMap((b) => b.ops);
  if (all.length === 0) return;
  const missing = [...new Set(all.map((o) => o.id).filter((id) => !known.has(id)))];
  await insertNew(col, missing.map((id) => ({ _id: id, appliedBatches: {} })));
  for (const id of missing) known.add(id);
  const statements: AnyBulkWriteOperation<CounterDoc>[] = [];
  for (const { tp, firstOffset, ops } of batches) {
    const field = `appliedBatches.${tp}`;
    for (const op of ops) {
      // ifApplied before ifNot: once ifNot has set appliedBatches.<tp> = firstOffset, ifApplied would match too.
      if (op.ifApplied) statements.push({ updateOne: { filter: { _id: op.id, [field]: { $gte: firstOffset } }, update: { $inc: op.ifApplied } } });
      if (op.ifNot) statements.push({ updateOne: { filter: { _id: op.id, [field]: { $not: { $gte: firstOffset } } }, update: { $inc: op.ifNot, $set: { [field]: firstOffset } } } });
    }
  }
  await bulkUpdate(col, statements, true);
}

/**
 * FerretDB v1 hands a filter to its backend only when it is exactly {_id: <value>};
 * any other filter, {_id, _v} included, reads the whole collection. So on FerretDB
 * a write cannot carry a compare-and-set condition and stays cheap.
 */
export async function isFerretDb(db: Db): Promise<boolean> {
  const info = await db.admin().command({ buildInfo: 1 });
  return typeof info.ferretdbVersion === 'string';
}

/**
 * The layout marker: a database written by another layout is refused, and rebuilt
 * from the topics into a new one instead (dist/rebuild.js; README "Replay and
 * rebuild"). Stored field names and status ranks are not kept stable across layouts.
 * - 1 (no marker): notifications without counters;
 * - 2: counters, per-batch deltas in documents, provider-message map;
 * - 3: the states accepted and no_report (ranks renumbered, acceptedAt, noReportAt)
 *   and descriptive stored field names (_baseSource, _providerOrder,
 *   _providerMessageIdOrder, _routeOrder, _batchDeltas {firstOffset, delta};
 *   provider_messages {notificationId, statusesWaiting}; pending_statuses {statuses};
 *   counter documents {appliedBatches}, decision_stats {counts}; planner_decisions
 *   _insertedBy).
 *   A layout-2 document read by this version would lose its dispatch order, and its
 *   ACCEPTED would stay `sending`: only a rebuild gives the new states to old events.
 * - 4: issue 16's states (deferred, held, dropped, coalesced, subject_erased; ranks
 *   renumbered; deferredAt, heldAt, notBefore, droppedAt, coalescedAt, subjectErasedAt,
 *   _deferralOrder), subjectId and anonymised in notification documents, counters
 *   droppedBy, provider_messages and pending_statuses keyed by the SHA-256 of the
 *   provider message id (model.ts messageRef) instead of the id, and erased_subjects.
 *   A layout-3 database holds provider message ids in clear and the old ranks: rebuild.
 * - 5: provider_messages and pending_statuses keyed by the keyed reference of the provider
 *   message id (the dispatcher's providerMessageRef: HMAC-SHA256 with the index key, provider
 *   included; messageRef.ts) instead of its unkeyed SHA-256, so the join survives an erasure.
 *   A layout-4 database's keys are not found by this version: rebuild.
 */
const LAYOUT_VERSION = 5;
export async function checkLayout(db: Db): Promise<void> {
  const meta = db.collection<{ _id: string; version: number }>('tracker_meta');
  const m = await meta.findOne({ _id: 'layout' });
  if (m?.version === LAYOUT_VERSION) return;
  if (m) throw new ValidationError(`database ${db.databaseName} holds delivery-tracker projections of layout ${m.version}, this version writes layout ${LAYOUT_VERSION}; rebuild them from the topics into a new MONGO_DB with a new CONSUMER_GROUP (dist/rebuild.js; README, "Replay and rebuild")`);
  for (const name of ['notifications', 'planner_decisions']) {
    if (await db.collection(name).findOne({}, { projection: { _id: 1 } })) {
      throw new ValidationError(`database ${db.databaseName} holds delivery-tracker projections of the previous layout (no counters); rebuild them from the topics into a new MONGO_DB with a new CONSUMER_GROUP (dist/rebuild.js; README, "Replay and rebuild")`);
    }
  }
  await insertNew(meta, [{ _id: 'layout', version: LAYOUT_VERSION }]);
}
