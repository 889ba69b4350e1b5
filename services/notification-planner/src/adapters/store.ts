import type { Collection, Db } from 'mongodb';
import { duplicateKeyIndexes, isDuplicateKey, notificationId } from '@sicantik/core';
import type { PlannerDecisionRecorded } from '@sicantik/schemas';
import type { Contacts, DirectoryEntry } from '../domain/decide';
import { EXPIRY_THRESHOLDS, daysUntil } from '../domain/expiry';
import type { ExpiryMark } from '../domain/decide';
import { initialState, withExpiryPlanned, type PermitState } from '../domain/state';

/** For unordered bulk inserts: duplicates of ids already present are fine, anything else is not. */
const ignoreDuplicates = (e: unknown) => { duplicateKeyIndexes(e); };

/** Inserts {_id, at} for each id in one unordered bulk insert; ids already present are skipped. */
async function insertOnceMany(c: Collection<IdDoc>, ids: string[], at: Date): Promise<void> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return;
  await c.insertMany(unique.map((_id) => ({ _id, at })), { ordered: false }).catch(ignoreDuplicates);
}

////////// Planner state in MongoDB, rebuilt from permit.events and directory.events.
// Updates are idempotent: replaying an event writes the same state.

type PermitDoc = Omit<PermitState, 'expiryPlanned'> & { _id: string; expiryPlanned: { expiry: string; threshold: number }[] };
type DirectoryDoc = DirectoryEntry & { _id: string };
/** A claimed notification id (before its request is produced) and the event or run that claimed it; `emitted_notifications` holds those produced. */
interface PlannedDoc { _id: string; scenario: string; at: Date; cause?: string | null }
interface IdDoc { _id: string; at: Date }
interface RunDoc { _id: string; at: Date }
/** Opt-in state per E.164 number, from contact.events (keyed by phone, so in order). */
interface ContactDoc { _id: string; optedOut: boolean; at: number; provider: string }

export class PlannerStore {
  readonly permits: Collection<PermitDoc>;
  readonly directory: Collection<DirectoryDoc>;
  readonly planned: Collection<PlannedDoc>;
  readonly runs: Collection<RunDoc>;
  readonly emitted: Collection<IdDoc>;
  readonly contactsColl: Collection<ContactDoc>;
  /** Permit events whose decisions are all out: a redelivery or replay only updates the state. */
  readonly decidedEvents: Collection<IdDoc>;
  /** Expiry-warning ids decided before (planned or skipped), from the decision log: marks that survive a rebuild. */
  readonly expiryDecided: Collection<IdDoc>;
  constructor(db: Db) {
    this.permits = db.collection<PermitDoc>('permits');
    this.directory = db.collection<DirectoryDoc>('directory');
    this.planned = db.collection<PlannedDoc>('planned_notifications');
    this.runs = db.collection<RunDoc>('schedule_runs');
    this.emitted = db.collection<IdDoc>('emitted_notifications');
    this.contactsColl = db.collection<ContactDoc>('contacts');
    this.decidedEvents = db.collection<IdDoc>('decided_events');
    this.expiryDecided = db.collection<IdDoc>('expiry_decided');
  }

  private static toState(d: PermitDoc): PermitState {
    const { _id, expiryPlanned, ...rest } = d;
    const byDate: Record<string, number[]> = {};
    for (const m of expiryPlanned ?? []) (byDate[m.expiry] ??= []).push(m.threshold);
    return { ...rest, expiryPlanned: byDate };
  }

  async load(pendaftaranId: string): Promise<PermitState> {
    const d = await this.permits.findOne({ _id: pendaftaranId });
    return d ? PlannerStore.toState(d) : initialState(pendaftaranId);
  }

  /**
   * The state with the thresholds already decided for its current expiry date (the marks
   * live apart, insert-only). Read only when an event ends the current expiry plan, so
   * other events pay no lookup.
   */
  async withExpiryMarks(s: PermitState): Promise<PermitState> {
    const expiry = s.tanggal_berakhir;
    if (!expiry) return s;
    const byId = new Map<string, number>(EXPIRY_THRESHOLDS.map((t) => [notificationId('permit_expiry_warning', s.pendaftaran_id, `${expiry}:${t}`), t]));
    for (const m of await this.expiryDecided.find({ _id: { $in: [...byId.keys()] } }, { projection: { _id: 1 } }).toArray()) s = withExpiryPlanned(s, expiry, byId.get(m._id)!);
    return s;
  }

  /** Saves everything but the expiry marks, which only grow through markExpiry. */
  async save(s: PermitState): Promise<void> {
    const { expiryPlanned: _ignored, ...rest } = s;
    await this.permits.updateOne({ _id: s.pendaftaran_id }, { $set: rest, $setOnInsert: { expiryPlanned: [] } }, { upsert: true });
  }

  /**
   * Marks thresholds as decided: insert-only by the warning's notification id (one
   * bulk insert; the same ids the decision log seeds), merged into the state by scheduled().
   */
  async markExpiryMany(marks: ExpiryMark[], at: Date): Promise<void> {
    await insertOnceMany(this.expiryDecided, marks.map((m) => notificationId('permit_expiry_warning', m.pendaftaran_id, `${m.expiry}:${m.threshold}`)), at);
  }

  /**
   * Permits a schedule may concern: an expiry date or documents waiting. With
   * `expiryAsOf` (a daily run's date), the thresholds already decided are merged in
   * for the permits whose warnings can be due that day (0 < days left <= 90).
   */
  async scheduled(expiryAsOf?: string): Promise<PermitState[]> {
    const docs = await this.permits.find({ $or: [{ tanggal_berakhir: { $ne: null } }, { 'pendingDocuments.0': { $exists: true } }] }).toArray();
    const states = docs.map(PlannerStore.toState);
    if (!expiryAsOf) return states;
    const maxT = Math.max(...EXPIRY_THRESHOLDS);
    const ids = new Map<string, { s: PermitState; t: number }>();
    for (const s of states) {
      if (!s.tanggal_berakhir) continue;
      const left = daysUntil(s.tanggal_berakhir, expiryAsOf);
      if (left <= 0 || left > maxT) continue;
      for (const t of EXPIRY_THRESHOLDS) ids.set(notificationId('permit_expiry_warning', s.pendaftaran_id, `${s.tanggal_berakhir}:${t}`), { s, t });
    }
    if (ids.size) {
      const keys = [...ids.keys()];
      const mark = (id: string) => { const hit = ids.get(id); if (hit) Object.assign(hit.s, withExpiryPlanned(hit.s, hit.s.tanggal_berakhir!, hit.t)); };
      // Few candidates: look them up ($in). Many, relative to the marks stored: one scan is
      // cheaper (measured on FerretDB/SQLite: ~0.26 ms per $in id vs ~0.035 ms per scanned mark).
      if (keys.length * 8 > (await this.expiryDecided.estimatedDocumentCount())) {
        for await (const d of this.expiryDecided.find({}, { projection: { _id: 1 } })) mark(d._id);
      } else {
        for (let i = 0; i < keys.length; i += 2000) {
          for (const d of await this.expiryDecided.find({ _id: { $in: keys.slice(i, i + 2000) } }, { projection: { _id: 1 } }).toArray()) mark(d._id);
        }
      }
    }
    return states;
  }

  /** Permits with documents waiting for a signature (the document digest needs no others). */
  async withPendingDocuments(): Promise<PermitState[]> {
    return (await this.permits.find({ 'pendingDocuments.0': { $exists: true } }).toArray()).map(PlannerStore.toState);
  }

  async directoryEntries(): Promise<DirectoryEntry[]> {
    return (await this.directory.find({}).sort({ _id: 1 }).toArray()).map(({ _id, ...e }) => e);
  }
  async putDirectory(e: DirectoryEntry): Promise<void> {
    // Two concurrent upserts of a new id can both try to insert (the admin API and the
    // directory consumer apply the same entry): the loser retries as a plain update.
    for (let attempt = 0; ; attempt++) {
      try { await this.directory.updateOne({ _id: e.id }, { $set: e }, { upsert: true }); return; } catch (err) {
        if (!isDuplicateKey(err) || attempt > 0) throw err;
      }
    }
  }

  /**
   * True for the first caller only: the planner emits a request once per notification id.
   * A claim left `claimed` for longer than `staleMs` (its process died before producing)
   * is taken over, so a crash between claim and produce never loses the message.
   */
  async claimPlanned(notificationId: string, scenario: string, at: Date, staleMs = 120_000): Promise<boolean> {
    return (await this.claimMany([{ id: notificationId, scenario }], at, staleMs)).has(notificationId);
  }
  /**
   * Claims many ids in one bulk insert: returns the ids this caller won (new
   * claims, plus abandoned ones taken over).
   */
  async claimMany(claims: { id: string; scenario: string; cause?: string }[], at: Date, staleMs = 120_000): Promise<Set<string>> {
    const won = new Set<string>();
    if (claims.length === 0) return won;
    const unique = [...new Map(claims.map((c) => [c.id, c])).values()];
    let lost = new Set<string>();
    try {
      await this.planned.insertMany(unique.map((c) => ({ _id: c.id, scenario: c.scenario, at, cause: c.cause ?? null })), { ordered: false });
    } catch (e) {
      lost = new Set(duplicateKeyIndexes(e).map((i) => unique[i]!.id));
    }
    for (const c of unique) if (!lost.has(c.id)) won.add(c.id);
    if (lost.size) {
      const stale = await this.planned.find({ _id: { $in: [...lost] }, at: { $lt: new Date(at.getTime() - staleMs) } }, { projection: { _id: 1, at: 1 } }).toArray();
      const done = new Set((await this.emitted.find({ _id: { $in: stale.map((d) => d._id) } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
      for (const d of stale.filter((x) => !done.has(x._id))) {
        const r = await this.planned.updateOne({ _id: d._id, at: d.at }, { $set: { at } });
        if (r.modifiedCount === 1) won.add(d._id);
      }
    }
    return won;
  }
  /** Which event or run claimed each id (null: claimed before causes were recorded). */
  async claimCauses(ids: string[]): Promise<Map<string, string | null>> {
    const docs = await this.planned.find({ _id: { $in: [...new Set(ids)] } }, { projection: { _id: 1, cause: 1 } }).toArray();
    return new Map(docs.map((d) => [d._id, d.cause ?? null]));
  }
  async releaseMany(ids: string[]): Promise<void> { if (ids.length) await this.planned.deleteMany({ _id: { $in: ids } }); }
  /** Insert-only (bulk inserts are fast on every MongoDB-compatible store; bulk updates are not). */
  async markEmittedMany(ids: string[], at = new Date()): Promise<void> { await insertOnceMany(this.emitted, ids, at); }
  async markEmitted(notificationId: string): Promise<void> { await this.markEmittedMany([notificationId]); }

  async eventDecided(eventId: string): Promise<boolean> { return (await this.decidedEvents.countDocuments({ _id: eventId }, { limit: 1 })) > 0; }
  async markEventDecided(eventId: string, at: Date): Promise<void> { await insertOnceMany(this.decidedEvents, [eventId], at); }

  /** Rebuilds claims, expiry marks and decided events from one record of the decision log. */
  async recordPastDecision(d: PlannerDecisionRecorded): Promise<void> {
    const seeder = this.seeder();
    seeder.add(d);
    await seeder.flush();
  }

  /**
   * Collects decision-log records and writes what they imply in bulk inserts of up
   * to `batch` ids per collection (a rebuild reads the whole log).
   */
  seeder(batch = 1000): { add(d: PlannerDecisionRecorded): Promise<void> | void; flush(): Promise<void> } {
    const planned = new Map<string, { scenario: string; at: Date; cause: string | null }>();
    const expiry: string[] = [], events: string[] = [];
    let at = new Date(0);
    const flush = async () => {
      if (planned.size) {
        const docs = [...planned].map(([_id, v]) => ({ _id, ...v }));
        planned.clear();
        await this.planned.insertMany(docs, { ordered: false }).catch(ignoreDuplicates);
        await insertOnceMany(this.emitted, docs.map((x) => x._id), at);
      }
      await insertOnceMany(this.expiryDecided, expiry.splice(0), at);
      await insertOnceMany(this.decidedEvents, events.splice(0), at);
    };
    return {
      add: (d) => {
        at = new Date(d.occurredAt);
        if (d.notificationId && d.decision === 'PLANNED') planned.set(d.notificationId, { scenario: d.scenario, at, cause: d.causationId });
        if (d.notificationId && d.scenario === 'permit_expiry_warning' && d.decision !== 'CANCELLED') expiry.push(d.notificationId);
        if (d.causationId && !d.causationId.startsWith('schedule:')) events.push(d.causationId);
        if (planned.size >= batch || expiry.length >= batch || events.length >= batch) return flush();
      },
      flush,
    };
  }

  /** Applies an opt-in or opt-out; an older event than the stored one changes nothing. */
  async putContact(phone: string, optedOut: boolean, at: number, provider: string): Promise<void> {
    const cur = await this.contactsColl.findOne({ _id: phone });
    if (cur && cur.at > at) return;
    try { await this.contactsColl.updateOne({ _id: phone }, { $set: { optedOut, at, provider } }, { upsert: true }); } catch (e) {
      if (!isDuplicateKey(e)) throw e;
      await this.contactsColl.updateOne({ _id: phone, at: { $lte: at } }, { $set: { optedOut, at, provider } });
    }
  }
  async contact(phone: string): Promise<ContactDoc | null> { return this.contactsColl.findOne({ _id: phone }); }
  /** Opt-in state of the given numbers (all known numbers when none are given). */
  async contacts(phones?: string[]): Promise<Contacts> {
    if (phones && phones.length === 0) return { optedOut: new Set(), optedIn: new Set() };
    const docs = await this.contactsColl.find(phones ? { _id: { $in: [...new Set(phones)] } } : {}, { projection: { _id: 1, optedOut: 1 } }).toArray();
    return { optedOut: new Set(docs.filter((d) => d.optedOut).map((d) => d._id)), optedIn: new Set(docs.filter((d) => !d.optedOut).map((d) => d._id)) };
  }

  async runDone(key: string): Promise<boolean> { return (await this.runs.countDocuments({ _id: key }, { limit: 1 })) > 0; }
  async markRun(key: string, at: Date): Promise<void> {
    // Two instances finishing the same run insert the same key: the loser's duplicate is the same fact.
    try { await this.runs.updateOne({ _id: key }, { $setOnInsert: { at } }, { upsert: true }); } catch (e) {
      if (!isDuplicateKey(e)) throw e;
    }
  }
}
