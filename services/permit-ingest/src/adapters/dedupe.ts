import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Collection, Db } from 'mongodb';
import { TransientError, duplicateKeyIndexes, groupCommit } from '@sicantik/core';

////////// De-duplication by event id (MongoDB): one publish per id, across requests and instances
// A request first claims the id (insert into `ingest_claims`; the unique _id makes
// exactly one insert win), then publishes, then records the id done (insert into
// `ingested_event_ids`). The success path only inserts and reads nothing: a won claim
// means no claim for the id existed, and every done record has its claim (see below),
// so it was not done either. Deletes happen only on failures.
// - A request that finds the id claimed (its insert lost) waits for the holder, polling
//   the done record and the claim by _id (two findOnes in parallel; an _id lookup is
//   flat with the index the embedded FerretDB adds, a `$in` would scan the collection):
//   done → duplicate; claim released because the holder could not publish → it claims
//   again, checks the done record once it wins, and publishes itself; still busy after
//   `waitMs` → retriable error (503, retry with the same id).
// - A claim older than `staleMs` without a done record (holder crashed before
//   publishing) is taken over, atomically on the old claim's `at`.
// - Concurrent requests for one id in one process share one attempt.
// - Batch-first: the claims and done records of concurrent requests are group-committed
//   (one insertMany each per batch), and so is their publish (the producer), so a burst
//   costs a few round trips, not a few per event, whatever the ledger already holds.
// - Done records written before claims existed get their claims once per database, at
//   start (`prepare`, marked done in `ingest_ledger_meta`), so they stay duplicates.
// A claim is deleted only by its holder after a failed publish or as stale without a
// done record, so a done record without a claim needs a holder slower than `staleMs`.
// A crash after publishing but before the done record, or such a slow holder, leaves
// an id that can be published again: downstream is idempotent (deterministic ids).
//
////////// The permit's applicant subject (issue 16), in the same collection
// `publish` may return the subject it found from the event's own number; the ledger
// records it as the permit's applicant subject, `{ _id: 'permit/<pendaftaran_id>',
// kind: 'permit-subject', subjectId }`, in the same insertMany as the done record (no
// extra command). An event id cannot contain '/', so the _id never meets one. Insert-only:
// the first subject stays (a duplicate key is ignored), except when `replace` is asked
// (ApplicantContactChanged: one replaceOne upsert more, for that rare event). An event
// with the applicant's name but no number reads it with `permitSubject` (one findOne by
// _id, flat on FerretDB too, where a batched `$in` would scan the collection; concurrent
// reads of one permit share it). Each instance keeps the records it wrote or read in
// memory (bounded, each for `subjectTtlMs`), so the usual order (the permit's event with
// a number, then its events without) reads nothing when both reach one instance. What
// another instance replaced meanwhile is seen once the entry expires.

export type Outcome = 'accepted' | 'duplicate';
interface Done { _id: string; pendaftaran_id: string; at: Date }
interface Claim { _id: string; at: Date; instance: string }
interface Meta { _id: string; at: Date }
export interface PermitSubjectRecord { _id: string; kind: 'permit-subject'; pendaftaran_id: string; subjectId: string; at: Date }
/** The subject `publish` used from the event's own number, to record as the permit's. */
export interface PermitSubjectUpdate { subjectId: string; replace: boolean }
/** The _id of a permit's subject record in the done collection. */
export const permitSubjectKey = (pendaftaranId: string) => `permit/${pendaftaranId}`;
/** Marks a database whose done records all have their claims. */
const DONE_RECORDS_CLAIMED = 'done-records-claimed';
/** Names the claims `prepare` writes for done records that had none. */
const RECORDED_BEFORE_CLAIMS = 'recorded-before-claims';

export interface LedgerOptions {
  /** How long a request waits for another holder of its id (ms). */
  waitMs?: number;
  /** Age after which a claim without a done record is taken over (ms); longer than any publish. */
  staleMs?: number;
  pollMs?: number;
  /** Names this process in its claims. */
  instance?: string;
  /** Told when an event was published but could not be recorded done. */
  onUnrecorded?: (eventId: string, err: unknown) => void;
  /** Told when a permit's new applicant subject (ApplicantContactChanged) could not be recorded. */
  onSubjectUnrecorded?: (eventId: string, err: unknown) => void;
  /** Permits whose subject is kept in memory (the oldest go first). */
  subjectCacheSize?: number;
  /** How long a permit's subject is used from memory before it is read again (ms). */
  subjectTtlMs?: number;
}

export class EventIdLedger {
  readonly done: Collection<Done>;
  readonly claims: Collection<Claim>;
  readonly meta: Collection<Meta>;
  /** The done collection, as it holds the permits' subject records too. */
  readonly permits: Collection<PermitSubjectRecord>;
  private readonly inflight = new Map<string, Promise<Outcome>>();
  private prepared: Promise<void> | undefined;
  /** true: this claim was inserted; false: the id was claimed already. */
  private readonly claim: (c: Claim) => Promise<boolean>;
  /** Resolves once recorded (an id already recorded counts as recorded): a done record, with its permit's subject record; true if that record was inserted (not there before). */
  private readonly recordDone: (docs: (Done | PermitSubjectRecord)[]) => Promise<boolean>;
  /** pendaftaran_id -> the permit's subject as this instance last wrote or read it (insertion order = age). */
  private readonly subjectCache = new Map<string, { subjectId: string | null; until: number }>();
  private readonly subjectReads = new Map<string, Promise<string | null>>();
  private readonly opts: Required<Omit<LedgerOptions, 'onUnrecorded' | 'onSubjectUnrecorded'>> & Pick<LedgerOptions, 'onUnrecorded' | 'onSubjectUnrecorded'>;

  constructor(db: Db, opts: LedgerOptions = {}) {
    this.done = db.collection<Done>('ingested_event_ids');
    this.claims = db.collection<Claim>('ingest_claims');
    this.meta = db.collection<Meta>('ingest_ledger_meta');
    this.permits = db.collection<PermitSubjectRecord>('ingested_event_ids');
    this.opts = { waitMs: 5000, staleMs: 120_000, pollMs: 100, subjectCacheSize: 100_000, subjectTtlMs: 600_000, instance: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`, ...opts };
    this.claim = groupCommit(async (cs: Claim[]) => {
      const taken = await this.claims.insertMany(cs, { ordered: false }).then(() => new Set<number>(), (e: unknown) => new Set(duplicateKeyIndexes(e)));
      return cs.map((_, i) => !taken.has(i));
    });
    const all = db.collection<Done | PermitSubjectRecord>('ingested_event_ids');
    this.recordDone = groupCommit(async (ds: (Done | PermitSubjectRecord)[][]) => {
      const taken = await all.insertMany(ds.flat(), { ordered: false }).then(() => new Set<number>(), (e: unknown) => new Set(duplicateKeyIndexes(e)));
      let at = 0;
      return ds.map((docs) => { const last = (at += docs.length) - 1; return docs.length > 1 && !taken.has(last); });
    });
  }

  /**
   * Makes sure every done record has its claim (done records written before claims
   * existed), once per database: a single findOne when already done. Called at start;
   * `acceptOnce` waits for it too. Retried on the next call if it failed.
   */
  prepare(): Promise<void> {
    this.prepared ??= this.claimDoneRecords().catch((e: unknown) => { this.prepared = undefined; throw e; });
    return this.prepared;
  }

  private async claimDoneRecords(): Promise<void> {
    if (await this.meta.findOne({ _id: DONE_RECORDS_CLAIMED })) return;
    const insert = async (cs: Claim[]) => { await this.claims.insertMany(cs, { ordered: false }).catch((e: unknown) => { duplicateKeyIndexes(e); }); };
    let batch: Claim[] = [];
    for await (const d of this.done.find({ kind: { $exists: false } } as object, { projection: { _id: 1, at: 1 }, batchSize: 1000 })) {
      batch.push({ _id: d._id, at: d.at instanceof Date ? d.at : new Date(0), instance: RECORDED_BEFORE_CLAIMS });
      if (batch.length === 1000) { await insert(batch); batch = []; }
    }
    if (batch.length) await insert(batch);
    await this.meta.insertOne({ _id: DONE_RECORDS_CLAIMED, at: new Date() }).catch((e: unknown) => { duplicateKeyIndexes(e); });
  }

  private async isDone(eventId: string): Promise<boolean> {
    return (await this.done.findOne({ _id: eventId }, { projection: { _id: 1 } })) !== null;
  }

  /**
   * Runs `publish` unless this event id was (or is being) published by another request:
   * 'accepted' if this call published it, 'duplicate' otherwise. Throws if it could not
   * be published now (retriable: the caller answers 503 and upstream retries).
   */
  async acceptOnce(eventId: string, pendaftaranId: string, publish: () => Promise<PermitSubjectUpdate | null | void>): Promise<Outcome> {
    await this.prepare();
    const deadline = Date.now() + this.opts.waitMs;
    for (let running = this.inflight.get(eventId); running; running = this.inflight.get(eventId)) {
      const ok = await settledBy(running, deadline);
      if (ok === 'timeout') throw busy(eventId);
      if (ok) return 'duplicate';
      if (this.inflight.get(eventId) === running) this.inflight.delete(eventId); // it failed: try ourselves
    }
    const attempt = this.claimAndPublish(eventId, pendaftaranId, publish, deadline);
    this.inflight.set(eventId, attempt);
    try {
      return await attempt;
    } finally {
      if (this.inflight.get(eventId) === attempt) this.inflight.delete(eventId);
    }
  }

  private async claimAndPublish(eventId: string, pendaftaranId: string, publish: () => Promise<PermitSubjectUpdate | null | void>, deadline: number): Promise<Outcome> {
    for (let contested = false; ; contested = true) {
      const claim: Claim = { _id: eventId, at: new Date(), instance: this.opts.instance };
      if (!(await this.claim(claim))) {
        if (await this.awaitHolder(eventId, deadline)) return 'duplicate';
        continue; // released or stale: claim again
      }
      // A first claim needs no lookup (see the top). One won after waiting replaces a
      // released or stale claim, whose holder may have recorded the id done meanwhile.
      if (contested && (await this.isDone(eventId))) return 'duplicate';
      let subject: PermitSubjectUpdate | null | void;
      try {
        subject = await publish();
      } catch (e) {
        // Released so that a waiting request or the upstream retry publishes it.
        await this.claims.deleteOne({ _id: eventId, at: claim.at, instance: claim.instance }).catch(() => undefined);
        throw e;
      }
      const at = new Date();
      const permit: PermitSubjectRecord | null = subject ? { _id: permitSubjectKey(pendaftaranId), kind: 'permit-subject', pendaftaran_id: pendaftaranId, subjectId: subject.subjectId, at } : null;
      try {
        // The permit's record is remembered only when it is what the database holds now.
        if (await this.recordDone(permit && !subject?.replace ? [{ _id: eventId, pendaftaran_id: pendaftaranId, at }, permit] : [{ _id: eventId, pendaftaran_id: pendaftaranId, at }])) this.remember(pendaftaranId, permit!.subjectId);
      } catch (e) {
        // The event is on Kafka: accepted. Our claim stays, so repeats wait, then take over once stale.
        this.opts.onUnrecorded?.(eventId, e);
      }
      if (permit && subject?.replace) {
        this.subjectCache.delete(pendaftaranId);
        await this.permits.replaceOne({ _id: permit._id }, permit, { upsert: true })
          .then(() => this.remember(pendaftaranId, permit.subjectId), (e: unknown) => this.opts.onSubjectUnrecorded?.(eventId, e));
      }
      return 'accepted';
    }
  }

  /**
   * The permit's applicant subject as recorded from an earlier event with a number; null
   * when none was (no such event, one accepted before the ingest kept subjects, or its
   * record failed). From memory when this instance wrote or read it within `subjectTtlMs`,
   * else one findOne by _id; concurrent reads of one permit share it.
   */
  permitSubject(pendaftaranId: string): Promise<string | null> {
    const known = this.subjectCache.get(pendaftaranId);
    if (known && known.until > Date.now()) return Promise.resolve(known.subjectId);
    let read = this.subjectReads.get(pendaftaranId);
    if (!read) {
      read = this.permits.findOne({ _id: permitSubjectKey(pendaftaranId) }, { projection: { subjectId: 1 } })
        .then((r) => {
          const subjectId = typeof r?.subjectId === 'string' && r.subjectId ? r.subjectId : null;
          if (subjectId) this.remember(pendaftaranId, subjectId); // none yet: read again next time
          return subjectId;
        })
        .finally(() => this.subjectReads.delete(pendaftaranId));
      this.subjectReads.set(pendaftaranId, read);
    }
    return read;
  }

  private remember(pendaftaranId: string, subjectId: string): void {
    this.subjectCache.delete(pendaftaranId);
    this.subjectCache.set(pendaftaranId, { subjectId, until: Date.now() + this.opts.subjectTtlMs });
    while (this.subjectCache.size > this.opts.subjectCacheSize) this.subjectCache.delete(this.subjectCache.keys().next().value!);
  }

  /** Waits while another request holds the claim: true once the id is done, false once the claim is gone. */
  private async awaitHolder(eventId: string, deadline: number): Promise<boolean> {
    for (;;) {
      const [done, holder] = await Promise.all([this.isDone(eventId), this.claims.findOne({ _id: eventId })]);
      if (done) return true;
      if (!holder) return false;
      if (Date.now() - holder.at.getTime() >= this.opts.staleMs) {
        if (await this.isDone(eventId)) return true; // recorded just now: not stale after all
        await this.claims.deleteOne({ _id: eventId, at: holder.at, instance: holder.instance });
        return false;
      }
      if (Date.now() + this.opts.pollMs > deadline) throw busy(eventId);
      await new Promise((r) => setTimeout(r, this.opts.pollMs));
    }
  }
}

const busy = (eventId: string) => new TransientError(`event ${eventId} is being accepted by another request; retry later with the same event_id`);

/** true if `p` resolved, false if it rejected, 'timeout' if neither by `deadline`. */
function settledBy(p: Promise<unknown>, deadline: number): Promise<boolean | 'timeout'> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()));
    p.then(() => { clearTimeout(t); resolve(true); }, () => { clearTimeout(t); resolve(false); });
  });
}
