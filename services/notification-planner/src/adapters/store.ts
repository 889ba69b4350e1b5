import type { Collection, Db } from 'mongodb';
import { notificationId } from '@sicantik/core';
import type { PlannerDecisionRecorded } from '@sicantik/schemas';
import type { Contacts, DirectoryEntry } from '../domain/decide';
import { EXPIRY_THRESHOLDS } from '../domain/expiry';
import type { ExpiryMark } from '../domain/decide';
import { initialState, withExpiryPlanned, type PermitState } from '../domain/state';

const ignoreDuplicate = (e: unknown) => { if ((e as { code?: number }).code !== 11000) throw e; };
/** Inserts {_id, at} unless present; a concurrent insert of the same id is the same fact. */
async function upsertOnce(c: Collection<IdDoc>, id: string, at: Date): Promise<void> {
  await c.updateOne({ _id: id }, { $setOnInsert: { at } }, { upsert: true }).catch(ignoreDuplicate);
}

////////// Planner state in MongoDB, rebuilt from permit.events and directory.events.
// Updates are idempotent: replaying an event writes the same state.

type PermitDoc = Omit<PermitState, 'expiryPlanned'> & { _id: string; expiryPlanned: { expiry: string; threshold: number }[] };
type DirectoryDoc = DirectoryEntry & { _id: string };
/** A planned notification id: `claimed` before its request is produced, `emitted` after. */
interface PlannedDoc { _id: string; scenario: string; at: Date; state?: 'claimed' | 'emitted' }
interface IdDoc { _id: string; at: Date }
interface RunDoc { _id: string; at: Date }
/** Opt-in state per E.164 number, from contact.events (keyed by phone, so in order). */
interface ContactDoc { _id: string; optedOut: boolean; at: number; provider: string }

export class PlannerStore {
  readonly permits: Collection<PermitDoc>;
  readonly directory: Collection<DirectoryDoc>;
  readonly planned: Collection<PlannedDoc>;
  readonly runs: Collection<RunDoc>;
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

  /** Saves everything but the expiry marks, which only grow through markExpiry. */
  async save(s: PermitState): Promise<void> {
    const { expiryPlanned: _ignored, ...rest } = s;
    await this.permits.updateOne({ _id: s.pendaftaran_id }, { $set: rest, $setOnInsert: { expiryPlanned: [] } }, { upsert: true });
  }

  async markExpiry(m: ExpiryMark): Promise<void> {
    await this.permits.updateOne({ _id: m.pendaftaran_id }, { $addToSet: { expiryPlanned: { expiry: m.expiry, threshold: m.threshold } } });
  }

  /** Permits a schedule may concern: an expiry date or documents waiting. */
  async scheduled(): Promise<PermitState[]> {
    const docs = await this.permits.find({ $or: [{ tanggal_berakhir: { $ne: null } }, { 'pendingDocuments.0': { $exists: true } }] }).toArray();
    const states = docs.map(PlannerStore.toState);
    // Thresholds decided in the decision log count as planned too (a rebuilt store has no marks of its own).
    const ids = new Map<string, { s: PermitState; t: number }>();
    for (const s of states) if (s.tanggal_berakhir) for (const t of EXPIRY_THRESHOLDS) ids.set(notificationId('permit_expiry_warning', s.pendaftaran_id, `${s.tanggal_berakhir}:${t}`), { s, t });
    if (ids.size) {
      const keys = [...ids.keys()];
      for (let i = 0; i < keys.length; i += 5000) {
        for (const d of await this.expiryDecided.find({ _id: { $in: keys.slice(i, i + 5000) } }, { projection: { _id: 1 } }).toArray()) {
          const { s, t } = ids.get(d._id)!;
          Object.assign(s, withExpiryPlanned(s, s.tanggal_berakhir!, t));
        }
      }
    }
    return states;
  }

  async directoryEntries(): Promise<DirectoryEntry[]> {
    return (await this.directory.find({}).sort({ _id: 1 }).toArray()).map(({ _id, ...e }) => e);
  }
  async putDirectory(e: DirectoryEntry): Promise<void> {
    // Two concurrent upserts of a new id can both try to insert (the admin API and the
    // directory consumer apply the same entry): the loser retries as a plain update.
    for (let attempt = 0; ; attempt++) {
      try { await this.directory.updateOne({ _id: e.id }, { $set: e }, { upsert: true }); return; } catch (err) {
        if ((err as { code?: number }).code !== 11000 || attempt > 0) throw err;
      }
    }
  }

  /**
   * True for the first caller only: the planner emits a request once per notification id.
   * A claim left `claimed` for longer than `staleMs` (its process died before producing)
   * is taken over, so a crash between claim and produce never loses the message.
   */
  async claimPlanned(notificationId: string, scenario: string, at: Date, staleMs = 120_000): Promise<boolean> {
    try { await this.planned.insertOne({ _id: notificationId, scenario, at, state: 'claimed' }); return true; } catch (e) {
      if ((e as { code?: number }).code !== 11000) throw e;
    }
    const takeover = await this.planned.updateOne({ _id: notificationId, state: 'claimed', at: { $lt: new Date(at.getTime() - staleMs) } }, { $set: { at } });
    return takeover.modifiedCount === 1;
  }
  async markEmitted(notificationId: string): Promise<void> { await this.planned.updateOne({ _id: notificationId }, { $set: { state: 'emitted' } }); }

  async eventDecided(eventId: string): Promise<boolean> { return (await this.decidedEvents.countDocuments({ _id: eventId }, { limit: 1 })) > 0; }
  async markEventDecided(eventId: string, at: Date): Promise<void> { await upsertOnce(this.decidedEvents, eventId, at); }

  /** Rebuilds claims, expiry marks and decided events from one record of the decision log. */
  async recordPastDecision(d: PlannerDecisionRecorded): Promise<void> {
    const at = new Date(d.occurredAt);
    if (d.notificationId && d.decision === 'PLANNED') {
      await this.planned.updateOne({ _id: d.notificationId }, { $set: { state: 'emitted' }, $setOnInsert: { scenario: d.scenario, at } }, { upsert: true }).catch(ignoreDuplicate);
    }
    if (d.notificationId && d.scenario === 'permit_expiry_warning' && d.decision !== 'CANCELLED') await upsertOnce(this.expiryDecided, d.notificationId, at);
    if (d.causationId && !d.causationId.startsWith('schedule:')) await upsertOnce(this.decidedEvents, d.causationId, at);
  }
  async releasePlanned(notificationId: string): Promise<void> { await this.planned.deleteOne({ _id: notificationId }); }

  /** Applies an opt-in or opt-out; an older event than the stored one changes nothing. */
  async putContact(phone: string, optedOut: boolean, at: number, provider: string): Promise<void> {
    const cur = await this.contactsColl.findOne({ _id: phone });
    if (cur && cur.at > at) return;
    try { await this.contactsColl.updateOne({ _id: phone }, { $set: { optedOut, at, provider } }, { upsert: true }); } catch (e) {
      if ((e as { code?: number }).code !== 11000) throw e;
      await this.contactsColl.updateOne({ _id: phone, at: { $lte: at } }, { $set: { optedOut, at, provider } });
    }
  }
  async contact(phone: string): Promise<ContactDoc | null> { return this.contactsColl.findOne({ _id: phone }); }
  async contacts(): Promise<Contacts> {
    const docs = await this.contactsColl.find({}, { projection: { _id: 1, optedOut: 1 } }).toArray();
    return { optedOut: new Set(docs.filter((d) => d.optedOut).map((d) => d._id)), optedIn: new Set(docs.filter((d) => !d.optedOut).map((d) => d._id)) };
  }

  async runDone(key: string): Promise<boolean> { return (await this.runs.countDocuments({ _id: key }, { limit: 1 })) > 0; }
  async markRun(key: string, at: Date): Promise<void> {
    // Two instances finishing the same run insert the same key: the loser's duplicate is the same fact.
    try { await this.runs.updateOne({ _id: key }, { $setOnInsert: { at } }, { upsert: true }); } catch (e) {
      if ((e as { code?: number }).code !== 11000) throw e;
    }
  }
}
