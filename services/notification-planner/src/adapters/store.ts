import type { Collection, Db } from 'mongodb';
import type { Contacts, DirectoryEntry } from '../domain/decide';
import type { ExpiryMark } from '../domain/decide';
import { initialState, type PermitState } from '../domain/state';

////////// Planner state in MongoDB, rebuilt from permit.events and directory.events.
// Updates are idempotent: replaying an event writes the same state.

type PermitDoc = Omit<PermitState, 'expiryPlanned'> & { _id: string; expiryPlanned: { expiry: string; threshold: number }[] };
type DirectoryDoc = DirectoryEntry & { _id: string };
interface PlannedDoc { _id: string; scenario: string; at: Date }
interface RunDoc { _id: string; at: Date }
/** Opt-in state per E.164 number, from contact.events (keyed by phone, so in order). */
interface ContactDoc { _id: string; optedOut: boolean; at: number; provider: string }

export class PlannerStore {
  readonly permits: Collection<PermitDoc>;
  readonly directory: Collection<DirectoryDoc>;
  readonly planned: Collection<PlannedDoc>;
  readonly runs: Collection<RunDoc>;
  readonly contactsColl: Collection<ContactDoc>;
  constructor(db: Db) {
    this.permits = db.collection<PermitDoc>('permits');
    this.directory = db.collection<DirectoryDoc>('directory');
    this.planned = db.collection<PlannedDoc>('planned_notifications');
    this.runs = db.collection<RunDoc>('schedule_runs');
    this.contactsColl = db.collection<ContactDoc>('contacts');
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
    return docs.map(PlannerStore.toState);
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

  /** True for the first caller only: the planner emits a request once per notification id. */
  async claimPlanned(notificationId: string, scenario: string, at: Date): Promise<boolean> {
    try { await this.planned.insertOne({ _id: notificationId, scenario, at }); return true; } catch (e) {
      if ((e as { code?: number }).code === 11000) return false;
      throw e;
    }
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
