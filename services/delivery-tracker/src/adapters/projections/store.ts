import { randomBytes } from 'node:crypto';
import type { AnyBulkWriteOperation, Collection, Db } from 'mongodb';
import { TransientError } from '@sicantik/core';
import type { DeliveryStatusReported, NotificationDispatchRecorded, NotificationRendered, NotificationRequested, PlannerDecisionRecorded, PrivacyRequestRecorded } from '@sicantik/schemas';
import {
  ALL, BatchCounts, EMPTY, ERASED, EXPIRED, counterOps, decisionFact, dispatchFact, dispatchRef, foldInto, fromDoc, merge, planDocs, providerStatus, publicView, renderedFact, requestedFact,
  retentionCutoff, statusFact, statusRef, summaryOf, toDoc, tpKey, withRules,
  type Core, type DocPlan, type ErasedSubject, type MessageMapping, type MessageRefOf, type NotificationDoc, type PendingStatuses, type PersonalDataRules, type ProviderStatus, type Stored, type StoredDoc,
} from '../../domain/model';
import type { AnomalyKind } from '../../domain/notificationStatus';
import { Lru, Serial, WriteGate, applyCountersOf, type CounterDoc, bulkUpdate, chunks, checkLayout, findByIds, insertNew, isFerretDb, MAX_STATEMENTS } from './writer';

export type { NotificationDoc } from '../../domain/model';

////////// MongoDB projection of notifications, built only from topics (replayable), batch-first.
// A fetched batch (one topic-partition) folds into one patch per notification
// (model.ts: a join, so order and repetition do not matter) and becomes one write per
// document: an insert for a notification not seen before, else a replace by _id under
// compare-and-set on `_v`. The state before the write comes from an in-process cache
// of the documents this process wrote or read (a read by _id only on a miss), so no
// per-event cost grows with the stored data and nothing is read on the common path.
// Counters (notification_stats: one document per Jakarta day of the request plus
// 'all') get contrib(after) - contrib(before) of every write, summed per batch: one
// $inc per counter document per batch, exactly once (model.ts, counterOps).
//
// Delivery statuses name a provider message id, not a notification. provider_messages
// maps the id to its notification (inserted when a dispatch record carries the id).
// A status whose mapping is not there yet waits in pending_statuses (by message id)
// and a placeholder mapping without a notification is inserted after it; the dispatch
// record's insert of the mapping then fails on the placeholder, so that batch knows
// to fold the waiting statuses in. Either side that comes second does the join.
// (A delivery.status NO_REPORT from the dispatcher's reconciler takes the same path.)
// Both collections are keyed by the reference of the provider message id (model.ts
// dispatchRef/statusRef: the dispatch record's providerMessageRef, an HMAC with the index
// key), never by the id itself (personal data: Meta's ids encode the phone number); the
// reference stays readable after an erasure, so the join does too (also in a rebuild).
//
// Personal data (model.ts): every write applies the rules (withRules): a notification of
// an erased subject (erased_subjects, from privacy.requests ERASURE) or requested before
// the retention cut-off loses its personal fields. An erasure also scrubs the documents
// already written (found by subjectId), and sweep() (a periodic job) anonymises the
// documents that grew older than the retention period, and re-applies the erasures
// another process may have recorded. Counters never change for either.

/** A counter document of notification_stats (writer.ts, CounterDoc). */
interface StatsDoc extends CounterDoc { total?: number; sent?: number; delivered?: number; read?: number; inDoubt?: number; byStatus?: Record<string, number>; droppedBy?: Record<string, number>; anomalies?: Record<string, number> }

export type TrackerTopic = 'notification.requests' | 'notification.rendered' | 'notification.dispatch' | 'delivery.status' | 'planner.decisions' | 'privacy.requests';
type Values = {
  'notification.requests': NotificationRequested; 'notification.rendered': NotificationRendered; 'notification.dispatch': NotificationDispatchRecorded; 'delivery.status': DeliveryStatusReported;
  'planner.decisions': PlannerDecisionRecorded; 'privacy.requests': PrivacyRequestRecorded;
};
/** `timestamp`: the record's Kafka timestamp (epoch ms), read by the status wait (statusWaitMs). */
export interface TrackerBatch<T extends TrackerTopic = TrackerTopic> { topic: T; partition: number; records: { offset: string; value: Values[T]; timestamp?: number }[] }
/** A batch's outcome for the batch consumer: records[from..] are delivered again, not before `until` (the status wait). */
export interface ApplyOutcome { defer?: { from: number; until: number } }

export interface ProjectionOptions {
  /** How a provider message id becomes its reference (messageRef.ts messageRefOf with the index key). */
  messageRefOf: MessageRefOf;
  /** Shared with the other projections of the same database (one writer per process). */
  serial?: Serial;
  /** Notification documents kept in memory (default 50 000). */
  cacheSize?: number;
  /** Provider message id -> notification entries kept in memory (default 200 000). */
  mappingCacheSize?: number;
  /**
   * Replace documents only if unchanged since read or cached (several writer processes).
   * Default: on unless the database is FerretDB (writer.ts, isFerretDb): there the
   * process must be the only writer of the projection.
   */
  compareAndSet?: boolean;
  /** Notifications requested longer ago than this many days are anonymised (null: never; default 400). */
  retentionDays?: number | null;
  /** The clock of the retention rule (default: the system's). */
  now?: () => number;
  /**
   * The status wait: a status whose message is not mapped yet (its dispatch record not read
   * yet) and that was received less than this long ago is delivered again once it is this
   * old, instead of being parked in pending_statuses at once (default 0: parked at once).
   * The dispatch record usually arrives meanwhile, and both sides then skip the parking
   * and its join (about eight database commands per message).
   */
  statusWaitMs?: number;
  /** Real time, for the age of a record's Kafka timestamp (default Date.now). */
  wallClock?: () => number;
  /** Records one turn of the writer takes at most from the batches waiting for it (default 2000; a batch is never split). */
  maxTurnRecords?: number;
}

/** One batch's patches, written with the other batches of its turn (writeNow). `likelyNew`: its documents are probably not there yet (try the insert). */
interface WriteGroup { tp: string; firstOffset: number; patches: Map<string, Core>; likelyNew: boolean }
/** The order of a turn's batches: a dispatch record's mapping before the statuses that look for it. */
const TOPIC_ORDER: Record<TrackerTopic, number> = { 'notification.requests': 0, 'notification.rendered': 1, 'planner.decisions': 2, 'notification.dispatch': 3, 'delivery.status': 4, 'privacy.requests': 5 };

/** What sweep() did. */
export interface SweepResult { erased: number; expired: number }
/** Documents one sweep round rewrites at most (the next round continues). */
const SWEEP_ROUND = 2000;

export class NotificationProjection {
  readonly col: Collection<StoredDoc>;
  private readonly stats: Collection<StatsDoc>;
  private readonly maps: Collection<MessageMapping>;
  private readonly pending: Collection<PendingStatuses>;
  private readonly serial: Serial;
  private readonly cache: Lru<string, Stored>;
  private readonly mapCache: Lru<string, string>;
  private readonly knownStats = new Set<string>();
  private readonly instance = randomBytes(6).toString('hex');
  private seq = 0;
  private cas: boolean | undefined;
  private readonly writing = new WriteGate();
  private readonly erasedCol: Collection<ErasedSubject>;
  private readonly erased = new Set<string>();
  private readonly retentionDays: number | null;
  private readonly now: () => number;
  private readonly refOf: MessageRefOf;
  private readonly statusWaitMs: number;
  private readonly wallClock: () => number;
  /** Batches waiting for the writer's next turn (apply). */
  private queued: { batch: TrackerBatch; resolve(o: ApplyOutcome | void): void; reject(err: unknown): void }[] = [];
  private readonly maxTurnRecords: number;

  /** onAnomaly: called with how many documents newly showed an anomaly (the status_anomalies metric). */
  constructor(private readonly db: Db, private readonly hooks: { onAnomaly?(kind: AnomalyKind, n: number): void } = {}, opts: ProjectionOptions) {
    this.refOf = opts.messageRefOf;
    this.col = db.collection<StoredDoc>('notifications');
    this.stats = db.collection<StatsDoc>('notification_stats');
    this.maps = db.collection<MessageMapping>('provider_messages');
    this.pending = db.collection<PendingStatuses>('pending_statuses');
    this.serial = opts.serial ?? new Serial();
    this.cache = new Lru(opts.cacheSize ?? 50_000);
    this.mapCache = new Lru(opts.mappingCacheSize ?? 200_000);
    this.cas = opts.compareAndSet;
    this.erasedCol = db.collection<ErasedSubject>('erased_subjects');
    this.retentionDays = opts.retentionDays === undefined ? 400 : opts.retentionDays;
    this.now = opts.now ?? (() => Date.now());
    this.statusWaitMs = opts.statusWaitMs ?? 0;
    this.wallClock = opts.wallClock ?? (() => Date.now());
    this.maxTurnRecords = opts.maxTurnRecords ?? 2000;
  }

  /** The personal-data rules at this moment (model.ts withRules). */
  rules(): PersonalDataRules {
    return { erasedSubjects: this.erased, retainFrom: this.retentionDays === null ? null : retentionCutoff(this.now(), this.retentionDays) };
  }

  /**
   * Checks the layout marker (writer.ts). Nothing else: the previous layout's start-up
   * migration (an updateMany of old failed ranks) is moot, the rank is recomputed on
   * every write, and no index is needed since every read and write is by _id.
   */
  async init(): Promise<void> {
    await checkLayout(this.db);
    this.cas ??= !(await isFerretDb(this.db));
    // For the erasure and retention queries (MongoDB; FerretDB v1 scans for them either way, rarely).
    await this.col.createIndex({ subjectId: 1 });
    await this.col.createIndex({ queuedAt: 1 });
    await this.loadErased();
  }

  /** Reads erased_subjects; returns the subjects this process did not know yet (recorded by another process). */
  private async loadErased(): Promise<string[]> {
    const fresh: string[] = [];
    for (const e of await this.erasedCol.find({}, { projection: { _id: 1 } }).toArray()) if (!this.erased.has(e._id)) { this.erased.add(e._id); fresh.push(e._id); }
    return fresh;
  }

  /**
   * Applies one fetched batch of one topic-partition (records in offset order). Batches
   * handed in while the writer is busy wait for its next turn and share it (applyQueued):
   * one write per document for all of them, one counter update.
   */
  apply<T extends TrackerTopic>(batch: TrackerBatch<T>): Promise<ApplyOutcome | void> {
    if (batch.records.length === 0) return Promise.resolve();
    if (batch.topic === 'privacy.requests') return this.serial.run(() => this.erase(batch as TrackerBatch<'privacy.requests'>));
    // Most decisions change no notification (only COALESCED ones do): no turn in the writer for those.
    if (batch.topic === 'planner.decisions' && !batch.records.some((r) => decisionFact(r.value as PlannerDecisionRecorded))) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queued.push({ batch: batch as TrackerBatch, resolve, reject });
      if (this.queued.length === 1) void this.serial.run(() => this.applyQueued());
    });
  }

  /**
   * One turn of the writer for every batch queued since the last turn began, in topic order
   * (a dispatch record's mapping before the statuses that need it). Should the shared turn
   * fail, each batch is applied alone, so that one batch's error is its own (a retried or
   * dead-lettered batch never takes the others with it); what the shared attempt wrote is
   * found by each one's retry (its batch deltas, as after a crash).
   */
  private async applyQueued(): Promise<void> {
    // At most maxTurnRecords records a turn (at least one batch), in arrival order: a turn
    // after a long pause stays short, and the batches that finish heartbeat in between.
    let n = 0;
    let take = 0;
    while (take < this.queued.length && (take === 0 || n + this.queued[take]!.batch.records.length <= this.maxTurnRecords)) n += this.queued[take++]!.batch.records.length;
    const items = this.queued.splice(0, take).sort((a, b) => TOPIC_ORDER[a.batch.topic] - TOPIC_ORDER[b.batch.topic]);
    if (this.queued.length) void this.serial.run(() => this.applyQueued());
    if (items.length > 1) {
      try {
        const outcomes = await this.applyNow(items.map((i) => i.batch));
        items.forEach((it, k) => it.resolve(outcomes[k]));
        return;
      } catch { /* each alone, below */ }
    }
    for (const it of items) {
      try { it.resolve((await this.applyNow([it.batch]))[0]); } catch (err) { it.reject(err); }
    }
  }

  /**
   * ERASURE requests, once DONE (a key expiry names its subject already when RECEIVED, and
   * may end KEPT): the subject is recorded in erased_subjects (so every later write of
   * its notifications scrubs them), then the documents already written for it are
   * scrubbed. Both steps are idempotent: a redelivered batch does them again. Other
   * requests (ACCESS) change nothing here.
   */
  private async erase(batch: TrackerBatch<'privacy.requests'>): Promise<void> {
    const subjects = [...new Set(batch.records.map((r) => r.value).filter((v) => v.kind === 'ERASURE' && v.status === 'DONE' && v.subjectId).map((v) => v.subjectId!))];
    if (subjects.length === 0) return;
    await insertNew(this.erasedCol, subjects.map((s) => ({ _id: s })));
    for (const s of subjects) this.erased.add(s);
    await this.scrub(tpKey(batch.topic, batch.partition), Number(batch.records[0]!.offset), { subjectId: { $in: subjects } }, ERASED, (fn) => fn());
  }

  /**
   * Rewrites every document matching `filter` with `fact` merged in, in rounds of
   * SWEEP_ROUND (the filter must stop matching a rewritten document). Counters are
   * untouched by the facts used here (ERASED, EXPIRED). `run` runs each write: directly
   * inside a task of the Serial, else through it (the query itself needs no turn: on
   * FerretDB it scans the collection, and batches need not wait for that).
   */
  private async scrub(tp: string, firstOffset: number, filter: Record<string, unknown>, fact: Core, run: (fn: () => Promise<void>) => Promise<void>): Promise<number> {
    let n = 0;
    for (;;) {
      const ids = (await this.col.find(filter, { projection: { _id: 1 } }).limit(SWEEP_ROUND).toArray()).map((d) => d._id);
      if (ids.length === 0) return n;
      await run(() => this.write([{ tp, firstOffset, patches: new Map(ids.map((id) => [id, fact])), likelyNew: false }]));
      n += ids.length;
      if (ids.length < SWEEP_ROUND) return n;
    }
  }

  /**
   * The periodic job: anonymises the documents requested before the retention cut-off
   * that are not yet, and scrubs the documents of subjects another process recorded as
   * erased since this one read erased_subjects (with several writer processes on MongoDB,
   * one of them may have written such a document before it knew). Returns how many
   * documents it rewrote for each. Its queries run beside the batches; its writes take
   * their turn in the Serial.
   */
  async sweep(): Promise<SweepResult> {
    const fresh = await this.loadErased();
    const tp = 'personal_data';
    const started = this.now();
    const inTurn = (fn: () => Promise<void>) => this.serial.run(fn);
    let erased = 0;
    for (let i = 0; i < fresh.length; i += 1000) erased += await this.scrub(tp, started, { subjectId: { $in: fresh.slice(i, i + 1000) } }, ERASED, inTurn);
    const { retainFrom } = this.rules();
    const expired = retainFrom === null ? 0 : await this.scrub(tp, started, { queuedAt: { $lt: new Date(retainFrom) }, anonymised: { $ne: 'retention' } }, EXPIRED, inTurn);
    return { erased, expired };
  }

  /** The batches' patches (in order: see applyQueued), then one write of them all; each batch's outcome. */
  private async applyNow(batches: TrackerBatch[]): Promise<(ApplyOutcome | undefined)[]> {
    const outcomes: (ApplyOutcome | undefined)[] = [];
    const groups: WriteGroup[] = [];
    const afters: (() => Promise<void>)[] = [];
    for (const batch of batches) {
      const r = await this.prepare(batch);
      outcomes.push(r.outcome);
      if (r.group) groups.push(r.group);
      if (r.after) afters.push(r.after);
    }
    if (groups.length) await this.write(groups);
    for (const after of afters) await after();
    return outcomes;
  }

  /** One batch's patches (a write group), what runs once they are written, and its outcome (the status wait). */
  private async prepare(whole: TrackerBatch): Promise<{ group?: WriteGroup; after?: () => Promise<void>; outcome?: ApplyOutcome }> {
    let batch = whole;
    let outcome: ApplyOutcome | undefined;
    const tp = tpKey(batch.topic, batch.partition);
    const firstOffset = Number(batch.records[0]!.offset);
    const patches = new Map<string, Core>();
    let after: (() => Promise<void>) | undefined;
    let found: Map<string, MessageMapping> | undefined;
    if (batch.topic === 'delivery.status') {
      // Mappings not cached: read once here (resolveStatuses uses them), then the status wait.
      const misses = [...new Set(batch.records.map((r) => statusRef(r.value as DeliveryStatusReported, this.refOf)).filter((w): w is string => !!w && this.mapCache.get(w) === undefined))];
      found = await findByIds(this.maps, misses);
      const defer = this.statusWait(batch as TrackerBatch<'delivery.status'>, found);
      if (defer) {
        outcome = { defer };
        if (defer.from === 0) return { outcome };
        batch = { ...batch, records: batch.records.slice(0, defer.from) };
      }
    }
    switch (batch.topic) {
      case 'notification.requests':
        for (const { value } of batch.records) foldInto(patches, (value as NotificationRequested).notificationId, requestedFact(value as NotificationRequested));
        break;
      case 'notification.rendered':
        for (const { value } of batch.records) foldInto(patches, (value as NotificationRendered).notificationId, renderedFact(value as NotificationRendered));
        break;
      case 'notification.dispatch':
        for (const { value } of batch.records) foldInto(patches, (value as NotificationDispatchRecorded).notificationId, dispatchFact(value as NotificationDispatchRecorded));
        after = await this.mapMessages(batch.records.map((r) => r.value as NotificationDispatchRecorded), patches);
        break;
      case 'delivery.status':
        await this.resolveStatuses(batch.records.map((r) => r.value as DeliveryStatusReported), patches, found ?? new Map());
        break;
      case 'planner.decisions':
        for (const { value } of batch.records) {
          const d = value as PlannerDecisionRecorded;
          const f = decisionFact(d);
          if (f) foldInto(patches, d.notificationId!, f);
        }
        break;
      case 'privacy.requests': return {}; // apply() hands these to erase()
    }
    // A request is usually a new notification (try the insert); anything else usually finds its document there.
    return { group: patches.size ? { tp, firstOffset, patches, likelyNew: batch.topic === 'notification.requests' } : undefined, after, outcome };
  }

  /**
   * The status wait (statusWaitMs): the first status whose message has no mapping at all
   * (not cached, not in `found`) and whose record is younger than the wait, and the time
   * it is that old. The statuses before it are applied now; it and the rest come back then.
   */
  private statusWait(batch: TrackerBatch<'delivery.status'>, found: Map<string, MessageMapping>): { from: number; until: number } | undefined {
    if (this.statusWaitMs <= 0) return undefined;
    const now = this.wallClock();
    const from = batch.records.findIndex((r) => {
      const w = statusRef(r.value, this.refOf);
      if (!w || this.mapCache.get(w) !== undefined || found.has(w) || r.timestamp === undefined) return false;
      const age = now - r.timestamp;
      return age < this.statusWaitMs;
    });
    if (from < 0) return undefined;
    // Not before the record is statusWaitMs old (at most statusWaitMs from now: a timestamp ahead of this clock waits no longer).
    const until = Math.min(batch.records[from]!.timestamp! + this.statusWaitMs, now + this.statusWaitMs);
    return { from, until: Math.max(until, now + 1) };
  }

  /**
   * Inserts the message id -> notification mappings of dispatch records not seen
   * before. An insert that fails on a placeholder means statuses are waiting: the
   * mapping is completed (notificationId, and statusesWaiting until they are folded in), the waiting statuses
   * join this batch's patch, and the returned step clears statusesWaiting and the waiting list
   * once the documents are written.
   */
  private async mapMessages(records: NotificationDispatchRecorded[], patches: Map<string, Core>): Promise<(() => Promise<void>) | undefined> {
    const fresh = new Map<string, string>();
    for (const e of records) {
      const w = dispatchRef(e, this.refOf);
      if (!w) continue;
      if (this.mapCache.get(w) !== e.notificationId) fresh.set(w, e.notificationId);
    }
    if (fresh.size === 0) return undefined;
    const list = [...fresh];
    const dups = await insertNew(this.maps, list.map(([w, n]) => ({ _id: w, notificationId: n })));
    const joins: [string, string][] = [];
    const existing = await findByIds(this.maps, list.filter((_, i) => dups.has(i)).map(([w]) => w));
    for (const [i, [w, n]] of list.entries()) {
      if (!dups.has(i)) { this.mapCache.set(w, n); continue; }
      const m = existing.get(w);
      if (m?.notificationId && !m.statusesWaiting) { this.mapCache.set(w, m.notificationId); continue; }
      joins.push([w, n]);
    }
    if (joins.length === 0) return undefined;
    // Complete the mapping before reading the waiting statuses: a status parked after this
    // read sees the mapping when it re-checks, and applies itself.
    await bulkUpdate(this.maps, joins.map(([w, n]) => ({ updateOne: { filter: { _id: w }, update: { $set: { notificationId: n, statusesWaiting: true } } } })), false);
    const waiting = await findByIds(this.pending, joins.map(([w]) => w));
    for (const [w, n] of joins) for (const s of waiting.get(w)?.statuses ?? []) foldInto(patches, n, statusFact(s));
    // Cached only once the join is written: a write that fails leaves the mapping uncached
    // (statusesWaiting still set), so the batch's retry joins again.
    return async () => {
      await bulkUpdate(this.maps, joins.map(([w]) => ({ updateOne: { filter: { _id: w }, update: { $unset: { statusesWaiting: '' } } } })), false);
      await this.pending.bulkWrite(joins.map(([w]) => ({ deleteOne: { filter: { _id: w } } })), { ordered: false });
      for (const [w, n] of joins) this.mapCache.set(w, n);
    };
  }

  /** Statuses -> patches of their notifications; those whose mapping is not there yet wait. */
  private async resolveStatuses(records: DeliveryStatusReported[], patches: Map<string, Core>, read: Map<string, MessageMapping>): Promise<void> {
    const byMessage = new Map<string, ProviderStatus[]>();
    for (const e of records) { const w = statusRef(e, this.refOf); if (!w) continue; const l = byMessage.get(w) ?? []; l.push(providerStatus(e)); byMessage.set(w, l); }
    const resolved = new Map<string, string>();
    const misses: string[] = [];
    for (const w of byMessage.keys()) { const n = this.mapCache.get(w); if (n) resolved.set(w, n); else misses.push(w); }
    // `read`: the mappings applyNow read for the batch's misses (a mapping cached since is used from the cache).
    const found = read;
    const unknown: string[] = []; const placeholders: string[] = [];
    for (const w of misses) {
      const m = found.get(w);
      // A mapping whose waiting statuses are not folded in yet (statusesWaiting) resolves, but is not cached: its dispatch batch may still have to join.
      if (m?.notificationId) { resolved.set(w, m.notificationId); if (!m.statusesWaiting) this.mapCache.set(w, m.notificationId); } else (m ? placeholders : unknown).push(w);
    }
    if (unknown.length || placeholders.length) {
      const waiting = [...unknown, ...placeholders];
      // Park first, then (re)check the mapping: see mapMessages for the other side.
      await bulkUpdate(this.pending, waiting.map((w) => ({ updateOne: { filter: { _id: w }, update: { $addToSet: { statuses: { $each: byMessage.get(w)! } } }, upsert: true } })), false);
      const dups = await insertNew(this.maps, unknown.map((w) => ({ _id: w })));
      const recheck = [...unknown.filter((_, i) => dups.has(i)), ...placeholders];
      // Completed meanwhile: applied here. Their waiting list stays (the completing batch may
      // be reading it); it is dropped by that batch, or left behind, harmless, when the
      // mapping's own insert came first.
      for (const [w, m] of await findByIds(this.maps, recheck)) if (m.notificationId) { resolved.set(w, m.notificationId); if (!m.statusesWaiting) this.mapCache.set(w, m.notificationId); }
    }
    for (const [w, n] of resolved) for (const s of byMessage.get(w)!) foldInto(patches, n, statusFact(s));
  }

  private nextVersion(): string { return `${this.instance}.${(++this.seq).toString(36)}`; }

  /**
   * One write per patched document (insert, or replace by _id, under compare-and-set
   * when on), then the counter deltas of every group (batch) in one update. A document
   * patched by several groups is planned group after group (model.ts planDocs), so each
   * batch's delta is recorded under its own topic-partition. A compare-and-set that misses
   * (another process wrote the document) re-reads the document and plans it again. A
   * write that fails forgets what it cached of its documents: its retry reads them, so it
   * finds whatever the failed attempt wrote. Reads of this process wait while documents
   * are ahead of the counters (a document seen here is already in a later summary).
   */
  private async write(groups: WriteGroup[]): Promise<void> {
    const release = this.writing.begin();
    try {
      await this.writeNow(groups);
    } catch (err) {
      for (const g of groups) for (const id of g.patches.keys()) this.cache.delete(id);
      throw err;
    } finally { release(); }
  }

  private async writeNow(groups: WriteGroup[]): Promise<void> {
    const counts = groups.map(() => new BatchCounts());
    const stepsOf = new Map<string, { g: number; tp: string; firstOffset: number; patch: Core }[]>();
    groups.forEach((grp, g) => {
      for (const [id, patch] of grp.patches) {
        const l = stepsOf.get(id) ?? [];
        l.push({ g, tp: grp.tp, firstOffset: grp.firstOffset, patch });
        stepsOf.set(id, l);
      }
    });
    const likelyNew = new Set(groups.filter((g) => g.likelyNew).flatMap((g) => [...g.patches.keys()]));
    type Planned = ReturnType<typeof planDocs>;
    const count = (id: string, p: Planned) => stepsOf.get(id)!.forEach((s, i) => counts[s.g]!.add(p.plans[i]!));
    const done = (id: string, p: Planned, v: string) => { this.cache.set(id, { core: p.after, v, batchDeltas: p.batchDeltas }); count(id, p); };
    const rules = this.rules();
    // undefined: not known here (try an insert); null: known to be absent.
    let todo = new Map<string, Stored | null | undefined>([...stepsOf.keys()].map((id) => [id, this.cache.get(id)]));
    const unknown = [...todo].filter(([id, s]) => s === undefined && !likelyNew.has(id)).map(([id]) => id);
    const found = await findByIds(this.col, unknown);
    for (const id of unknown) { const d = found.get(id); todo.set(id, d ? fromDoc(d) : null); }
    for (let round = 0; todo.size > 0; round++) {
      if (round >= 10) throw new TransientError(`notification projection: ${todo.size} documents kept changing under compare-and-set`);
      const inserts: { id: string; plan: Planned; v: string }[] = [];
      const replaces: { id: string; plan: Planned; v: string; before: Stored }[] = [];
      for (const [id, before] of todo) {
        const plan = planDocs(before ?? null, stepsOf.get(id)!, rules);
        if (!before) inserts.push({ id, plan, v: this.nextVersion() });
        else if (plan.write) replaces.push({ id, plan, v: this.nextVersion(), before });
        else count(id, plan); // nothing new; its earlier attempt's delta (if any) still counts
      }
      const reread: string[] = [];
      const dups = await insertNew(this.col, inserts.map((x) => toDoc(x.id, x.plan.after, x.v, x.plan.batchDeltas)));
      inserts.forEach((x, i) => { if (dups.has(i)) reread.push(x.id); else done(x.id, x.plan, x.v); });
      const unsure: typeof replaces = [];
      for (const c of chunks(replaces, MAX_STATEMENTS)) {
        const ops: AnyBulkWriteOperation<StoredDoc>[] = c.map((x) => ({ replaceOne: { filter: this.cas ? { _id: x.id, _v: x.before.v } : { _id: x.id }, replacement: toDoc(x.id, x.plan.after, x.v, x.plan.batchDeltas) } }));
        const r = await this.col.bulkWrite(ops, { ordered: false });
        if (r.matchedCount === c.length) for (const x of c) done(x.id, x.plan, x.v);
        else unsure.push(...c);
      }
      const next = new Map<string, Stored | null>();
      const current = await findByIds(this.col, [...reread, ...unsure.map((x) => x.id)]);
      for (const x of unsure) {
        const d = current.get(x.id);
        if (d?._v === x.v) done(x.id, x.plan, x.v); // this write went through
        else next.set(x.id, d ? fromDoc(d) : null);
      }
      for (const id of reread) { const d = current.get(id); next.set(id, d ? fromDoc(d) : null); }
      todo = next;
    }
    await applyCountersOf(this.stats, this.knownStats, groups.map((g, i) => ({ tp: g.tp, firstOffset: g.firstOffset, ops: counterOps(counts[i]!) })));
    for (const c of counts) for (const [kind, n] of Object.entries(c.anomalies)) this.hooks.onAnomaly?.(kind as AnomalyKind, n!);
  }

  ////////// Queries for the statistics API
  // Each notification is counted once in byStatus (and in accepted, noReport, failed or
  // skipped), under its final status; sent/delivered/read count the evidence reached (a
  // read receipt proves delivery).
  // From the counters: one document for all days, or one per day of the range.
  async summary(from?: string, to?: string) {
    await this.writing.idle();
    const docs = from || to
      ? await this.stats.find({ _id: { $gte: from ?? '0000-01-01', $lte: to ?? '9999-12-31' } }).toArray()
      : [await this.stats.findOne({ _id: ALL })].filter((d): d is StatsDoc => !!d);
    return summaryOf(docs);
  }

  async get(id: string): Promise<NotificationDoc | null> {
    await this.writing.idle();
    const d = await this.col.findOne({ _id: id });
    return d ? publicView(d) : null;
  }
}
