import { deterministicId, jakartaDayNumber } from '@sicantik/core';
import type { DispatchRetryScheduled, DispatchStatus, NotificationDispatchRecorded, NotificationRendered } from '@sicantik/schemas';
import { isProviderName, type ProviderName } from '@sicantik/providers';

////////// The dispatch ledger (pure): per notification id, what this service did with it.
// Kafka is its system of record: dispatch.ledger holds, per notification id, the
// NotificationDispatchRecorded that set the entry; the last record of an id wins, so
// a compacted and an uncompacted changelog restore the same ledger. Every attempt
// (its provider, its outcome) is a record of the uncompacted log and an event on
// notification.dispatch; the entry keeps the latest.
//
// States of an entry and who moves it on:
//   SENDING          claimed, provider called, no outcome yet. Found at a redelivery
//                    (the process died mid-call): IN_DOUBT, never sent again.
//   RETRY_SCHEDULED  an attempt failed and another follows: with notBefore, a record on
//                    dispatch.retry.<tier> owns it (written before this ledger record);
//                    without (a fallback to the next provider, or an entry written
//                    before retry topics existed), it is due at once, on the next
//                    delivery of the notification from any topic.
//   DEFERRED         waiting for its notBefore (quiet hours, working hours, coalescing:
//                    the planner's stamp, or a send-time rule of gate.ts): a record on the
//                    last retry tier brings it back then (written before this ledger
//                    record). No attempt was made.
//   HELD             waiting for the contact's opt-in (only opt-in providers configured,
//                    UNCONSENTED_OPT_IN_PROVIDERS=hold): no retry record; the executor
//                    releases it (a `held` batch) when the contact opts in, and sweeps the
//                    held ones for expiry (notBefore = the hold's end) and staleness.
//                    A DEFERRED or HELD record carries the notification itself (`waiting`)
//                    and its supersedeKey: a restored ledger rebuilds the indexes
//                    supersedeKey -> waiting id and contact -> held ids from them.
//   ACCEPTED, FAILED, IN_DOUBT, SKIPPED, DROPPED, SUBJECT_ERASED  final: emitted again
//                    on a redelivery, never sent again (SKIPPED: nothing was sent on
//                    purpose, e.g. the contact opted out between planning and sending; a
//                    later opt-in does not bring it back; DROPPED: a waiting one was
//                    superseded, stale or its hold expired).
// (An operator's IN_DOUBT_POLICY=lookup can still turn IN_DOUBT into ACCEPTED/FAILED
// through the provider's status lookup, never by sending.)

/** The statuses that set a ledger entry (DUPLICATE_SUPPRESSED sets nothing). */
type LedgerStatus = Exclude<DispatchStatus, 'DUPLICATE_SUPPRESSED'>;

interface LedgerEntry {
  /** The status of the record that set the entry: SENDING and IN_DOUBT are both the state 'sending'. */
  status: LedgerStatus;
  provider: string;
  attempts: number;
  providerAttempt: number;
  providerMessageId: string | null;
  errorCode: string | null;
  reason: string | null;
  occurredAt: number;
  excluded: readonly string[];
  nextProvider: string | null;
  notBefore: number | null;
  routeReason: string | null;
  routeDetail: string | null;
  fallbackFrom: string | null;
  disposition: string | null;
  latencyMs: number | null;
  optInLink: boolean;
  supersedeKey: string | null;
  supersededBy: string | null;
  /** DEFERRED/HELD: the notification it waits with. */
  waiting: NotificationRendered | undefined;
  /** Written by this process (so its events are durable: a redelivery in this process need not emit them again). */
  local?: boolean;
}

/** The statuses after which nothing is ever sent for the notification (a replay or a retry record only re-emits or skips). */
export const FINAL_STATUSES: ReadonlySet<DispatchStatus> = new Set<DispatchStatus>(['ACCEPTED', 'FAILED', 'IN_DOUBT', 'SKIPPED', 'DROPPED', 'SUBJECT_ERASED']);
export const isFinal = (e: LedgerEntry): boolean => FINAL_STATUSES.has(e.status);
/** Statuses that count against a provider's daily quota: the message was or may have been accepted. */
const COUNTS = new Set<LedgerStatus>(['SENDING', 'IN_DOUBT', 'ACCEPTED']);

const NONE: readonly string[] = Object.freeze([]);
/** Few distinct values: one string each in memory. */
const interned = new Map<string, string>();
const intern = (s: string | null | undefined): string | null => {
  if (s === null || s === undefined) return null;
  const hit = interned.get(s);
  if (hit !== undefined) return hit;
  if (interned.size < 10_000) interned.set(s, s);
  return s;
};

/** The entry a ledger record sets, or undefined for a record that sets none. */
export function entryOf(r: NotificationDispatchRecorded): LedgerEntry | undefined {
  if (r.status === 'DUPLICATE_SUPPRESSED') return undefined;
  return {
    status: r.status, provider: intern(r.provider)!, attempts: r.attempt,
    // Records from before provider attempts were counted: every attempt was on one provider.
    providerAttempt: r.providerAttempt || r.attempt,
    providerMessageId: r.providerMessageId ?? null, errorCode: intern(r.errorCode), reason: r.reason ?? null, occurredAt: r.occurredAt,
    excluded: r.excludedProviders?.length ? r.excludedProviders.map((x) => intern(x)!) : NONE,
    nextProvider: intern(r.nextProvider), notBefore: r.notBefore ?? null, routeReason: intern(r.routeReason), routeDetail: intern(r.routeDetail),
    fallbackFrom: intern(r.fallbackFrom), disposition: intern(r.disposition), latencyMs: r.latencyMs ?? null, optInLink: r.optInLink ?? false,
    supersedeKey: r.supersedeKey ?? null, supersededBy: r.supersededBy ?? null,
    waiting: (r.status === 'DEFERRED' || r.status === 'HELD') && r.waiting ? r.waiting : undefined,
  };
}

/**
 * The event id of a dispatch status: the same for every emission of the same fact. A
 * scheduled retry also names its time: a notification waiting for a quota window is
 * scheduled again without a new attempt (its not-before times are deterministic).
 */
export const dispatchEventId = (notificationId: string, status: DispatchStatus, attempt: number, notBefore: number | null = null) =>
  notBefore !== null && (status === 'RETRY_SCHEDULED' || status === 'DEFERRED')
    ? deterministicId('sicantik.event', 'NotificationDispatchRecorded', notificationId, status, attempt, notBefore)
    : deterministicId('sicantik.event', 'NotificationDispatchRecorded', notificationId, status, attempt);

export function dispatchRecord(
  n: NotificationRendered, status: DispatchStatus, attempt: number, provider: string, at: number, extra: Partial<NotificationDispatchRecorded> = {},
): NotificationDispatchRecorded {
  return {
    eventId: dispatchEventId(n.notificationId, status, attempt, extra.notBefore ?? null),
    occurredAt: at,
    correlationId: n.correlationId,
    causationId: n.eventId,
    notificationId: n.notificationId,
    pendaftaran_id: n.pendaftaran_id,
    scenario: n.scenario,
    templateCode: n.templateCode,
    recipientKind: n.recipient.kind,
    // The recipient's subject (issue 16): its key encrypts the record's provider message id.
    subjectId: n.recipient.subjectId ?? null,
    provider,
    status,
    providerMessageId: null,
    attempt,
    errorCode: null,
    reason: null,
    providerAttempt: attempt,
    routeReason: null,
    routeDetail: null,
    fallbackFrom: null,
    excludedProviders: [],
    nextProvider: null,
    notBefore: null,
    disposition: null,
    latencyMs: null,
    optInLink: false,
    supersedeKey: null,
    supersededBy: null,
    ...extra,
  };
}

/** The recorded fact of an entry, emitted again for a redelivered notification (same event id, same content). */
const recordedAgain = (n: NotificationRendered, e: LedgerEntry): NotificationDispatchRecorded =>
  dispatchRecord(n, e.status, e.attempts, e.provider, e.occurredAt, {
    providerMessageId: e.providerMessageId, errorCode: e.errorCode, reason: e.reason, providerAttempt: e.providerAttempt,
    routeReason: e.routeReason, routeDetail: e.routeDetail, fallbackFrom: e.fallbackFrom, excludedProviders: [...e.excluded],
    nextProvider: e.nextProvider, notBefore: e.notBefore, disposition: e.disposition, latencyMs: e.latencyMs, optInLink: e.optInLink,
    supersedeKey: e.supersedeKey, supersededBy: e.supersededBy,
  });

export const INTERRUPTED = 'a previous attempt was interrupted before its outcome was recorded; not re-sent';

////////// What to do with one delivery of a notification

/** A delivery: the rendered record, or a record of a retry topic carrying it. */
export interface Job {
  n: NotificationRendered;
  /** A held notification brought back (the contact opted in, or the periodic sweep): decided again. */
  release?: boolean;
  retry?: Pick<DispatchRetryScheduled, 'kind' | 'attempt' | 'provider' | 'providerAttempt' | 'excludedProviders' | 'notBefore' | 'providerMessageId' | 'tier'> | undefined;
}

/** The next attempt to make: routing picks its provider (keeping `preferred` when it can still serve). */
export interface NextAttempt {
  attempt: number;
  excluded: string[];
  preferred: ProviderName | undefined;
  /** The previous attempt's provider and its count there (a retry on the same provider counts on). */
  previous: { provider: string; providerAttempt: number } | undefined;
  fallback: { from: ProviderName; because: string } | undefined;
  /** A released hold: when it expires (it is dropped then), and that holding again writes nothing. */
  heldUntil?: number | null;
}

type DeliveryDecision =
  /** Nothing to do and nothing to emit (a render failure; a stale or duplicate retry record). */
  | { kind: 'skip'; why?: string }
  /** The outcome is already in the ledger: emit it again (same event id), never send again. */
  | { kind: 'reemit'; record: NotificationDispatchRecorded }
  /** A fact to record (emit and write to the ledger) without calling the provider. */
  | { kind: 'record'; record: NotificationDispatchRecorded }
  /** A retry record before its time: wait (the partition is deferred until then). */
  | { kind: 'notDue'; until: number }
  /** Claim, then call a provider. */
  | { kind: 'attempt'; next: NextAttempt }
  /** Resolve an in-doubt attempt through the provider's status lookup (IN_DOUBT_POLICY=lookup). */
  | { kind: 'lookup'; attempt: number; provider: ProviderName; providerMessageId: string };

const asProvider = (s: string | null | undefined): ProviderName | undefined => (s && isProviderName(s) ? s : undefined);

/**
 * What to do with one delivery, given the notification's ledger entry and an outcome
 * this process knows but has not yet recorded (a produce failed after the provider
 * answered). A provider is called only when there is no entry, or the last attempt is
 * known to have failed without reaching a final state (RETRY_SCHEDULED), and then
 * only by the delivery that owns the next attempt.
 */
export function decideDelivery(job: Job, entry: LedgerEntry | undefined, unrecorded: NotificationDispatchRecorded | undefined, now: number): DeliveryDecision {
  const { n, retry } = job;
  if (n.outcome !== 'RENDERED') return { kind: 'skip', why: 'not rendered' };
  if (unrecorded && (!entry || unrecorded.attempt >= entry.attempts)) return { kind: 'record', record: unrecorded };

  if (retry?.kind === 'LOOKUP') {
    const p = asProvider(retry.provider);
    if (entry?.status === 'IN_DOUBT' && entry.attempts === retry.attempt && p && retry.providerMessageId) {
      return now < retry.notBefore ? { kind: 'notDue', until: retry.notBefore } : { kind: 'lookup', attempt: retry.attempt, provider: p, providerMessageId: retry.providerMessageId };
    }
    return { kind: 'skip', why: 'lookup no longer needed' };
  }

  if (!entry) {
    if (retry || job.release) return { kind: 'skip', why: 'retry record without a ledger entry' };
    return { kind: 'attempt', next: { attempt: 1, excluded: [], preferred: undefined, previous: undefined, fallback: undefined } };
  }

  /** The attempt a retry record makes (its time checked first). */
  const fromRetry = (r: NonNullable<Job['retry']>): DeliveryDecision => (now < r.notBefore
    ? { kind: 'notDue', until: r.notBefore }
    : { kind: 'attempt', next: { attempt: r.attempt, excluded: [...r.excludedProviders], preferred: asProvider(r.provider), previous: { provider: r.provider, providerAttempt: Math.max(0, r.providerAttempt - 1) }, fallback: undefined } });

  switch (entry.status) {
    case 'ACCEPTED': case 'FAILED': case 'IN_DOUBT': case 'SKIPPED': case 'DROPPED': case 'SUBJECT_ERASED':
      if (retry || job.release) return { kind: 'skip', why: 'already final' };
      return entry.local ? { kind: 'skip', why: 'already emitted by this process' } : { kind: 'reemit', record: recordedAgain(n, entry) };
    case 'DEFERRED':
      // Its record on the last retry tier brings it back at notBefore (an earlier retry record is stale).
      if (retry && retry.attempt === entry.attempts + 1) return fromRetry(retry);
      if (retry || job.release) return { kind: 'skip', why: 'stale retry record' };
      return entry.local ? { kind: 'skip', why: 'already emitted by this process' } : { kind: 'reemit', record: recordedAgain(n, entry) };
    case 'HELD':
      // Only a release decides it again (the contact opted in, the sweep: expiry, staleness).
      if (job.release) {
        return {
          kind: 'attempt',
          next: {
            attempt: entry.attempts + 1, excluded: [...entry.excluded], preferred: undefined, fallback: undefined, heldUntil: entry.notBefore,
            previous: entry.attempts > 0 ? { provider: entry.provider, providerAttempt: entry.providerAttempt } : undefined,
          },
        };
      }
      if (retry) return { kind: 'skip', why: 'held: a retry record is stale' };
      return entry.local ? { kind: 'skip', why: 'already emitted by this process' } : { kind: 'reemit', record: recordedAgain(n, entry) };
    case 'SENDING':
      // A retry record for the next attempt is written only after the previous attempt's
      // answer said "retry": it proves that attempt failed and may be made.
      if (retry && retry.attempt === entry.attempts + 1) return fromRetry(retry);
      // Claimed and never answered (the process died mid-call; whichever delivery comes
      // first finds it): the call may have reached the provider.
      return { kind: 'record', record: dispatchRecord(n, 'IN_DOUBT', entry.attempts, entry.provider, now, { reason: INTERRUPTED, providerAttempt: entry.providerAttempt, excludedProviders: [...entry.excluded], disposition: 'in_doubt', routeReason: entry.routeReason, routeDetail: entry.routeDetail, fallbackFrom: entry.fallbackFrom, optInLink: entry.optInLink }) };
    case 'RETRY_SCHEDULED': {
      if (entry.notBefore === null) {
        // Due at once: a fallback to the next provider (the failed one excluded, or its
        // circuit open), or a retry on the same provider written before retry topics existed.
        const sameAgain = !entry.excluded.includes(entry.provider) && (entry.disposition === null || entry.disposition === 'retry');
        const from = asProvider(entry.provider);
        return {
          kind: 'attempt',
          next: {
            attempt: entry.attempts + 1, excluded: [...entry.excluded],
            preferred: asProvider(entry.nextProvider) ?? (sameAgain ? from : undefined),
            previous: { provider: entry.provider, providerAttempt: entry.providerAttempt },
            fallback: !sameAgain && from ? { from, because: becauseOf(entry) } : undefined,
          },
        };
      }
      if (retry && retry.attempt === entry.attempts + 1) return fromRetry(retry);
      if (retry) return { kind: 'skip', why: 'stale retry record' };
      // The retry topic owns the next attempt.
      return entry.local ? { kind: 'skip', why: 'already emitted by this process' } : { kind: 'reemit', record: recordedAgain(n, entry) };
    }
  }
}

const becauseOf = (e: Pick<LedgerEntry, 'errorCode' | 'reason'>): string => [e.errorCode, e.reason].filter(Boolean).join(': ') || 'it failed';

/**
 * The ledger of one partition in memory: the entries restored from the changelog and
 * written since, and the outcomes known but not yet recorded. `syncedEnd` is the
 * changelog end offset at which the entries last equalled the log, `ownWrites` the
 * records this process has written to the partition since: if the end offset is then
 * anything else, another writer touched the partition and it must be read again.
 * It also counts, per provider and Jakarta day, the notifications that count against
 * the provider's daily quota (accepted, or maybe accepted).
 */
export class PartitionLedger {
  readonly entries = new Map<string, LedgerEntry>();
  readonly unrecorded = new Map<string, NotificationDispatchRecorded>();
  private readonly usage = new Map<string, number>();
  /** supersedeKey -> the DEFERRED/HELD notification waiting with it. */
  readonly waitingByKey = new Map<string, string>();
  /** Contact (subject id, and phone) -> its HELD notification ids. */
  readonly heldByContact = new Map<string, Set<string>>();
  /** Every HELD notification id. */
  readonly held = new Set<string>();
  syncedEnd = 0n;
  ownWrites = 0;

  /** A record read from the changelog (in log order). */
  restore(r: NotificationDispatchRecorded): void {
    const e = entryOf(r);
    if (e) this.set(r.notificationId, e);
  }

  /** Records this process has just written to the changelog. */
  recorded(records: NotificationDispatchRecorded[]): void {
    for (const r of records) {
      const e = entryOf(r);
      if (e) { e.local = true; this.set(r.notificationId, e); }
      const u = this.unrecorded.get(r.notificationId);
      if (u && u.attempt <= r.attempt) this.unrecorded.delete(r.notificationId);
    }
    this.ownWrites += records.length;
  }

  /** Notifications counting against `provider`'s daily quota on Jakarta day `day`. */
  usedOn(provider: string, day: number): number { return this.usage.get(`${provider}|${day}`) ?? 0; }
  usedToday(provider: string, now: number): number { return this.usedOn(provider, jakartaDayNumber(now)); }

  /** Whether the changelog's end offset is what this memory expects. */
  upToDate(end: bigint): boolean { return this.syncedEnd + BigInt(this.ownWrites) === end; }
  synced(end: bigint): void { this.syncedEnd = end; this.ownWrites = 0; }

  /** The HELD notification ids of a contact (by subject id and by phone). */
  heldOf(contact: { subjectId?: string | null; phone: string }): string[] {
    return [...new Set([...(contact.subjectId ? this.heldByContact.get(contact.subjectId) ?? [] : []), ...(this.heldByContact.get(contact.phone) ?? [])])];
  }

  private set(id: string, e: LedgerEntry): void {
    const before = this.entries.get(id);
    if (before && COUNTS.has(before.status)) this.count(before, -1);
    if (COUNTS.has(e.status)) this.count(e, 1);
    if (before?.waiting) this.unindex(id, before);
    if (e.waiting) this.index(id, e);
    this.entries.set(id, e);
  }

  private index(id: string, e: LedgerEntry): void {
    if (e.supersedeKey) this.waitingByKey.set(e.supersedeKey, id);
    if (e.status !== 'HELD') return;
    this.held.add(id);
    for (const k of contactKeys(e.waiting!)) {
      const s = this.heldByContact.get(k) ?? new Set<string>();
      s.add(id);
      this.heldByContact.set(k, s);
    }
  }

  private unindex(id: string, e: LedgerEntry): void {
    if (e.supersedeKey && this.waitingByKey.get(e.supersedeKey) === id) this.waitingByKey.delete(e.supersedeKey);
    this.held.delete(id);
    for (const k of contactKeys(e.waiting!)) {
      const s = this.heldByContact.get(k);
      if (!s) continue;
      s.delete(id);
      if (!s.size) this.heldByContact.delete(k);
    }
  }

  private count(e: LedgerEntry, d: number): void {
    const k = `${e.provider}|${jakartaDayNumber(e.occurredAt)}`;
    const v = (this.usage.get(k) ?? 0) + d;
    if (v) this.usage.set(k, v); else this.usage.delete(k);
  }
}

/** The contact a notification goes to: its subject id when it has one, else the phone (both are indexed, so either finds it). */
const contactKeys = (n: NotificationRendered): string[] => (n.recipient.subjectId ? [n.recipient.subjectId, n.recipient.phone] : [n.recipient.phone]);
