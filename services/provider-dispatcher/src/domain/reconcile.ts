import { deterministicId } from '@sicantik/core';
import type { AwaitingReport, DeliveryStatus, DeliveryStatusReported, NotificationDispatchRecorded, ReconcileEntry } from '@sicantik/schemas';

////////// Reconciliation (pure): a message a provider accepted that gets no final status report
// Per provider message (keyed by its ref, a keyed hash of the id that the adapter puts on
// every input: providerMessageRef), an entry (the state of dispatch.reconcile). Inputs: the
// acceptance (dispatch.awaiting-report), a status report (delivery.status, whoever wrote
// it), the clock (a tick), and a status lookup's answer. A final report (DELIVERED, READ,
// FAILED) resolves the entry. An accepted entry without one is looked at RECONCILE_AFTER_MS
// after the acceptance: through the provider's status API where it has one (a final answer
// becomes a delivery.status event, source LOOKUP; SENT is reported too and the entry is
// looked at again; accepted, not found and errors are looked at again, with backoff),
// until RECONCILE_GIVE_UP_MS after the acceptance. Where the provider has no status API,
// or at giving up: NO_REPORT (source RECONCILER), unless SENT was reported (then the true
// state is sent: nothing more is emitted). A resolved entry stays resolved: a repeated
// acceptance or a later report changes nothing. Time is passed in; the events' ids are
// deterministic (a repeat is the same event).

export type Entry = ReconcileEntry;
type Outcome = NonNullable<Entry['outcome']>;

/** A status lookup's answer, as the gateway gives it. */
export type LookupAnswer =
  | { kind: 'found'; status: 'accepted' | 'sent' | 'delivered' | 'read' | 'failed'; errorCode?: string }
  | { kind: 'not_found' }
  | { kind: 'error'; reason: string }
  | { kind: 'unsupported' };

export type ReconcileInput =
  | { kind: 'accepted'; record: AwaitingReport }
  | { kind: 'report'; record: DeliveryStatusReported }
  | { kind: 'tick' }
  | { kind: 'lookup'; answer: LookupAnswer };

export interface ReconcileSettings {
  /** First look this long after the acceptance. */
  afterMs: number;
  /** No lookups after this long after the acceptance: the entry is concluded. */
  giveUpMs: number;
  /** Wait before the second lookup; doubles for each further one. */
  lookupBackoffMs: number;
  /** Entries are forgotten this long after their last change; older acceptances are ignored. */
  rememberMs: number;
  /** Whether the provider has a status API (and it is configured here). */
  canLookup(provider: string): boolean;
}

export interface Decision {
  /** The entry after the input; undefined: forgotten (or never known). */
  entry: Entry | undefined;
  /** The entry changed: write it to the changelog. */
  changed: boolean;
  /** A delivery.status event to produce. */
  event?: DeliveryStatusReported;
  /** Ask the provider's status API now (then decide its answer). */
  lookup?: true;
  /** Resolved by this input (counted). */
  outcome?: Outcome;
  /** The input was ignored because its acceptance is older than the retention. */
  tooOld?: true;
}

const FINAL_STATUSES: ReadonlySet<DeliveryStatus> = new Set(['DELIVERED', 'READ', 'FAILED']);
const LOOKED_UP: Readonly<Record<'sent' | 'delivered' | 'read' | 'failed', DeliveryStatus>> = { sent: 'SENT', delivered: 'DELIVERED', read: 'READ', failed: 'FAILED' };

const same = (entry: Entry | undefined): Decision => ({ entry, changed: false });
const put = (entry: Entry, extra: Omit<Decision, 'entry' | 'changed'> = {}): Decision => ({ entry, changed: true, ...extra });
const blank = (r: { providerMessageId: string; provider: string; providerMessageRef?: string | null; subjectId?: string | null }, now: number): Entry => ({
  providerMessageId: r.providerMessageId, provider: r.provider, providerMessageRef: r.providerMessageRef ?? null, subjectId: r.subjectId ?? null, notificationId: null, causationId: null, acceptedAt: null, reported: null, lookups: 0, nextLookupAt: null, outcome: null, updatedAt: now,
});

/** An entry that is accepted, not resolved and due at `now`. */
export const isDue = (e: Entry, now: number): boolean => e.outcome === null && e.acceptedAt !== null && e.nextLookupAt !== null && e.nextLookupAt <= now;

/** An entry is forgotten `rememberMs` after its last change (left out of memory and of restores; its changelog record expires with the topic's retention). */
export const isExpired = (e: Entry, now: number, s: ReconcileSettings): boolean => e.updatedAt + s.rememberMs <= now;

/** Wait before lookup number n + 1 (n lookups made). */
const backoffAfter = (lookups: number, s: ReconcileSettings): number => s.lookupBackoffMs * 2 ** Math.max(0, Math.min(lookups - 1, 20));

export function decide(prev: Entry | undefined, input: ReconcileInput, now: number, s: ReconcileSettings): Decision {
  switch (input.kind) {
    case 'accepted': {
      const r = input.record;
      if (r.acceptedAt + s.rememberMs <= now) return { ...same(prev), tooOld: true };
      if (prev && (prev.outcome !== null || prev.acceptedAt !== null)) return same(prev);
      const base = prev ?? blank(r, now);
      // The acceptance knows the subject (and so encrypts the id); a report before it did not.
      return put({ ...base, providerMessageId: r.providerMessageId, subjectId: r.subjectId ?? base.subjectId ?? null, provider: r.provider, notificationId: r.notificationId, causationId: r.causationId, acceptedAt: r.acceptedAt, nextLookupAt: r.acceptedAt + s.afterMs, updatedAt: now });
    }
    case 'report': {
      const r = input.record;
      if (r.status === 'NO_REPORT' || prev?.outcome) return same(prev);
      // A report before the acceptance knows no subject, so the id could not be encrypted: the
      // entry keeps the ref only (the acceptance brings the id, needed for lookups only after it).
      const base = prev ?? blank({ ...r, providerMessageId: r.providerMessageRef ? '' : r.providerMessageId }, now);
      if (FINAL_STATUSES.has(r.status)) return put({ ...base, outcome: 'reported', nextLookupAt: null, updatedAt: now }, { outcome: 'reported' });
      if (base.reported === 'SENT') return same(prev);
      return put({ ...base, reported: 'SENT', updatedAt: now });
    }
    case 'tick': {
      if (!prev || !isDue(prev, now)) return same(prev);
      if (s.canLookup(prev.provider)) return { ...same(prev), lookup: true };
      return conclude(prev, now, s, 'the provider has no status API');
    }
    case 'lookup':
      return afterLookup(prev, input.answer, now, s);
  }
}

function afterLookup(prev: Entry | undefined, a: LookupAnswer, now: number, s: ReconcileSettings): Decision {
  if (!prev || prev.outcome !== null || prev.acceptedAt === null) return same(prev); // resolved meanwhile (a report came)
  if (a.kind === 'unsupported') return conclude(prev, now, s, 'the provider has no status API');
  const looked: Entry = { ...prev, lookups: prev.lookups + 1, updatedAt: now };
  if (a.kind === 'found' && a.status !== 'accepted' && a.status !== 'sent') {
    const status = LOOKED_UP[a.status];
    return put({ ...looked, outcome: 'looked_up', nextLookupAt: null }, { event: lookupEvent(prev, status, now, a.errorCode), outcome: 'looked_up' });
  }
  const sentNow = a.kind === 'found' && a.status === 'sent' && prev.reported !== 'SENT';
  const next: Entry = a.kind === 'found' && a.status === 'sent' ? { ...looked, reported: 'SENT' } : looked;
  const event = sentNow ? lookupEvent(prev, 'SENT', now) : undefined;
  const reason = a.kind === 'found' ? `the status API still says ${a.status}` : a.kind === 'not_found' ? 'the status API does not know the message' : `the status API failed: ${a.reason}`;
  if (now >= prev.acceptedAt + s.giveUpMs) {
    // With SENT found just now the conclusion is sent_only (no event of its own): the SENT event goes out.
    const done = conclude(next, now, s, `no final status before giving up (${reason})`);
    return event ? { ...done, event } : done;
  }
  return put({ ...next, nextLookupAt: now + backoffAfter(next.lookups, s) }, event ? { event } : {});
}

/** No final report and no more lookups: sent_only where SENT was reported, else NO_REPORT. */
function conclude(e: Entry, now: number, s: ReconcileSettings, why: string): Decision {
  if (e.reported === 'SENT') return put({ ...e, outcome: 'sent_only', nextLookupAt: null, updatedAt: now }, { outcome: 'sent_only' });
  return put({ ...e, outcome: 'no_report', nextLookupAt: null, updatedAt: now }, { event: noReportEvent(e, s, why), outcome: 'no_report' });
}

/**
 * What a delivery.status event of the reconciler names its message by: the ref, never the id
 * (a delivery status names no subject, so the id would be written in plain, and Meta's encode
 * the number; the schema keeps the required field, holding the ref). The adapter gives every
 * entry its ref; an entry without one (an older record whose id reads as erased) keeps its id.
 */
const statusMessageId = (e: Entry): string => e.providerMessageRef ?? e.providerMessageId;

/** A status the provider's status API gave: the same id whenever that status is found again. */
function lookupEvent(e: Entry, status: DeliveryStatus, now: number, errorCode?: string): DeliveryStatusReported {
  return {
    eventId: deterministicId('sicantik.event', 'DeliveryStatusReported', e.provider, e.providerMessageId, status, 'lookup'),
    occurredAt: now, correlationId: e.providerMessageRef ?? e.providerMessageId, causationId: e.causationId,
    provider: e.provider, providerMessageId: statusMessageId(e), providerMessageRef: e.providerMessageRef ?? null, status, providerTimestamp: null, receivedAt: now,
    errorCode: errorCode ?? null, errorTitle: status === 'FAILED' ? 'failed (found by a status lookup)' : null, source: 'LOOKUP',
  };
}

/** 2.5 s, 15 min, 1 h. */
const duration = (ms: number): string => (ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);

/** NO_REPORT: one id per message, its time the moment a report was due (the same event whenever it is concluded again). */
function noReportEvent(e: Entry, s: ReconcileSettings, why: string): DeliveryStatusReported {
  const due = (e.acceptedAt ?? e.updatedAt) + s.afterMs;
  return {
    eventId: deterministicId('sicantik.event', 'DeliveryStatusReported', e.provider, e.providerMessageId, 'NO_REPORT'),
    occurredAt: due, correlationId: e.providerMessageRef ?? e.providerMessageId, causationId: e.causationId,
    provider: e.provider, providerMessageId: statusMessageId(e), providerMessageRef: e.providerMessageRef ?? null, status: 'NO_REPORT', providerTimestamp: null, receivedAt: due,
    errorCode: 'NO_REPORT', errorTitle: `no status report within ${duration(s.afterMs)} of the acceptance; ${why}`, source: 'RECONCILER',
  };
}

/** An ACCEPTED dispatch record with a provider message id, re-keyed for the reconciler (others: undefined). */
export function awaitingOf(r: NotificationDispatchRecorded): AwaitingReport | undefined {
  if (r.status !== 'ACCEPTED' || !r.providerMessageId) return undefined;
  return {
    eventId: deterministicId('sicantik.event', 'AwaitingReport', r.eventId), occurredAt: r.occurredAt, correlationId: r.correlationId, causationId: r.eventId,
    notificationId: r.notificationId, pendaftaran_id: r.pendaftaran_id, provider: r.provider, providerMessageId: r.providerMessageId, acceptedAt: r.occurredAt,
    providerMessageRef: r.providerMessageRef ?? null, subjectId: r.subjectId ?? null,
  };
}

/**
 * The partitions of delivery.status read up to where they ended at the previous look
 * (`before`: end offsets then), by the group's committed offsets (-1: none): only
 * these are looked at, so a report still unread is not taken for a missing one. A
 * partition first seen now waits for the next look; one that was empty is ready.
 */
export function caughtUpPartitions(before: ReadonlyMap<number, bigint>, now: readonly { partition: number; low: bigint }[], committed: ReadonlyMap<number, bigint>): Set<number> {
  const ready = new Set<number>();
  for (const e of now) {
    const end = before.get(e.partition);
    if (end !== undefined && (end <= e.low || (committed.get(e.partition) ?? -1n) >= end)) ready.add(e.partition);
  }
  return ready;
}
