import type { PlannerStateRecord } from '@sicantik/schemas';
import { wrongNumberKey, type Contacts, type DirectoryEntry } from '../domain/decide';
import { initialState, type PermitState } from '../domain/state';

////////// The planner's state, in memory, restored from Kafka (no database)
// - Permit records (state, expiry marks, claimed notification ids, decided event ids)
//   and schedule-run markers come from the compacted changelog `planner.state`,
//   co-partitioned with permit.events. Every instance follows the whole changelog, so
//   it also has a recent view of the permits other instances own (the staff digests
//   list documents of every permit). For a partition it owns, the instance's own
//   writes are the truth: once the partition is restored, the changelog's echo of
//   them is not applied again.
// - The directory and the opt-in state come from directory.events and contact.events,
//   followed whole by every instance.

/** One permit's record: what the planner decides with, and what it already decided. */
export interface PermitRecord {
  state: PermitState;
  /** Notification ids claimed (requests emitted) for this permit, with the event or run that claimed each. */
  claims: Record<string, string>;
  /** Permit events already decided (a redelivery or replay only evolves the state), most recent last. */
  decided: string[];
}

/** How many decided event ids a permit record keeps (a redelivery comes soon after the first delivery). */
export const DECIDED_KEPT = 200;

const emptyRecord = (pendaftaranId: string): PermitRecord => ({ state: initialState(pendaftaranId), claims: {}, decided: [] });

/** A finished command for one partition, with its summary. */
export interface CommandDone { commandId: string; partition: number; partitions: number; summary: { planned: number; skipped: number; duplicates: number; cancelled: number; /** Issue 16 (absent in older records) */ deferred?: number; coalesced?: number }; error?: { status: number; body: unknown } }

interface ContactState { optedOut: boolean; at: number; provider: string }

export class PlannerMemory {
  readonly permits = new Map<string, { partition: number; rec: PermitRecord }>();
  /** Run markers and claims of notifications no permit owns (staff digests): key → body. */
  readonly runs = new Map<string, { at: number; cause?: string }>();
  readonly done = new Map<string, CommandDone>();
  readonly directory = new Map<string, DirectoryEntry>();
  private readonly contactMap = new Map<string, ContactState>();
  private readonly optedOut = new Set<string>();
  private readonly optedIn = new Set<string>();
  private readonly wrongNumber = new Set<string>();
  /** Partitions this instance owns and has restored: its own writes are the truth for them. */
  private readonly owned = new Set<number>();
  /** Last changelog offset applied, per partition. */
  private readonly applied = new Map<number, bigint>();
  private waiters: (() => void)[] = [];

  ////////// Changelog
  applyChangelog(r: PlannerStateRecord, offset: string): void {
    this.applied.set(r.partition, BigInt(offset));
    if (r.kind === 'PERMIT') {
      // A body that is not JSON is a permit whose applicant was erased (its body reads as the erased marker): the planner forgets it.
      if (!r.body.startsWith('{')) { if (!this.owned.has(r.partition)) this.permits.delete(r.key); }
      else if (!this.owned.has(r.partition)) this.permits.set(r.key, { partition: r.partition, rec: JSON.parse(r.body) as PermitRecord });
    } else if (r.kind === 'RUN') {
      if (!this.runs.has(r.key)) this.runs.set(r.key, JSON.parse(r.body) as { at: number; cause?: string });
    } else {
      this.done.set(r.key, JSON.parse(r.body) as CommandDone);
    }
    this.wake();
  }

  /** Records a changelog partition's offsets as seen (records without value, control records). */
  seen(partition: number, offset: string): void {
    const cur = this.applied.get(partition);
    if (cur === undefined || BigInt(offset) > cur) this.applied.set(partition, BigInt(offset));
    this.wake();
  }

  private wake(): void { const w = this.waiters; this.waiters = []; for (const f of w) f(); }
  /** Resolves when `pred` holds (re-checked after every changelog record), or rejects after `ms`. */
  until(pred: () => boolean, ms: number, what: string): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(Object.assign(new Error(`timed out after ${ms} ms waiting for ${what}`), { retriable: true })), ms);
      const check = () => { if (pred()) { clearTimeout(timer); resolve(); } else this.waiters.push(check); };
      this.waiters.push(check);
    });
  }

  /** Offset of the last changelog record applied for a partition (-1: none). */
  appliedOffset(partition: number): bigint { return this.applied.get(partition) ?? -1n; }
  /** From now on this instance's own writes are the truth for the partition (call once it is restored). */
  own(partition: number): void { this.owned.add(partition); }
  disown(partition: number): void { this.owned.delete(partition); }
  owns(partition: number): boolean { return this.owned.has(partition); }

  ////////// Permits
  record(pendaftaranId: string): PermitRecord { return this.permits.get(pendaftaranId)?.rec ?? emptyRecord(pendaftaranId); }
  put(partition: number, rec: PermitRecord): void { this.permits.set(rec.state.pendaftaran_id, { partition, rec }); }
  statesOf(partition: number): PermitState[] { const out: PermitState[] = []; for (const v of this.permits.values()) if (v.partition === partition) out.push(v.rec.state); return out; }
  allStates(): PermitState[] { return [...this.permits.values()].map((v) => v.rec.state); }

  ////////// Directory and contacts
  putDirectory(e: DirectoryEntry): void { this.directory.set(e.id, e); }
  directoryEntries(): DirectoryEntry[] { return [...this.directory.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)); }
  /** Applies an opt-in or opt-out; an older event than the one kept changes nothing. */
  putContact(phone: string, optedOut: boolean, at: number, provider: string): void {
    const cur = this.contactMap.get(phone);
    if (cur && cur.at > at) return;
    this.contactMap.set(phone, { optedOut, at, provider });
    (optedOut ? this.optedOut : this.optedIn).add(phone);
    (optedOut ? this.optedIn : this.optedOut).delete(phone);
  }
  contact(phone: string): ContactState | undefined { return this.contactMap.get(phone); }
  /** The live opt-in sets (read-only views; they change as contact events arrive). */
  contacts(): Contacts { return { optedOut: this.optedOut, optedIn: this.optedIn, wrongNumber: this.wrongNumber }; }
  /** A BUKAN SAYA about a permit (WRONG_NUMBER): that permit's applicant messages skip this person from now on. */
  putWrongNumber(pendaftaranId: string, person: string): void { this.wrongNumber.add(wrongNumberKey(pendaftaranId, person)); }
}
