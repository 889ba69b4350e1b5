import { deterministicId } from '@sicantik/core';
import type { DispatchStatus, NotificationDispatchRecorded, NotificationRendered } from '@sicantik/schemas';
import type { SendResult } from './provider';

////////// The dispatch ledger (pure): per notification id, what this service did with it.
// Kafka is its system of record: dispatch.ledger holds, per notification id, the
// NotificationDispatchRecorded that set the entry; the last record of an id wins, so
// a compacted and an uncompacted changelog restore the same ledger.

export type LedgerState = 'sending' | 'retry_wait' | 'accepted' | 'failed';
/** The statuses that set a ledger entry (DUPLICATE_SUPPRESSED sets nothing). */
export type LedgerStatus = Exclude<DispatchStatus, 'DUPLICATE_SUPPRESSED'>;

export interface LedgerEntry {
  /** The status of the record that set the entry: SENDING and IN_DOUBT are both the state 'sending'. */
  status: LedgerStatus;
  provider: string;
  attempts: number;
  providerMessageId: string | null;
  errorCode: string | null;
  reason: string | null;
  occurredAt: number;
}

const STATE: Record<LedgerStatus, LedgerState> = { SENDING: 'sending', IN_DOUBT: 'sending', RETRY_SCHEDULED: 'retry_wait', ACCEPTED: 'accepted', FAILED: 'failed' };
export const stateOf = (e: LedgerEntry): LedgerState => STATE[e.status];

/** The entry a ledger record sets, or undefined for a record that sets none. */
export function entryOf(r: NotificationDispatchRecorded): LedgerEntry | undefined {
  if (r.status === 'DUPLICATE_SUPPRESSED') return undefined;
  return { status: r.status, provider: r.provider, attempts: r.attempt, providerMessageId: r.providerMessageId ?? null, errorCode: r.errorCode ?? null, reason: r.reason ?? null, occurredAt: r.occurredAt };
}

/** The event id of a dispatch status: the same for every emission of the same fact. */
export const dispatchEventId = (notificationId: string, status: DispatchStatus, attempt: number) =>
  deterministicId('sicantik.event', 'NotificationDispatchRecorded', notificationId, status, attempt);

export function dispatchRecord(
  n: NotificationRendered, status: DispatchStatus, attempt: number, provider: string, at: number, extra: Partial<NotificationDispatchRecorded> = {},
): NotificationDispatchRecorded {
  return {
    eventId: dispatchEventId(n.notificationId, status, attempt),
    occurredAt: at,
    correlationId: n.correlationId,
    causationId: n.eventId,
    notificationId: n.notificationId,
    pendaftaran_id: n.pendaftaran_id,
    scenario: n.scenario,
    templateCode: n.templateCode,
    recipientKind: n.recipient.kind,
    provider,
    status,
    providerMessageId: null,
    attempt,
    errorCode: null,
    reason: null,
    ...extra,
  };
}

/** The recorded fact of an entry, emitted again for a redelivered notification (same event id). */
export const recordedAgain = (n: NotificationRendered, e: LedgerEntry): NotificationDispatchRecorded =>
  dispatchRecord(n, e.status, e.attempts, e.provider, e.occurredAt, { providerMessageId: e.providerMessageId, errorCode: e.errorCode, reason: e.reason });

export const INTERRUPTED = 'a previous attempt was interrupted before its outcome was recorded; not re-sent';

export type Decision =
  /** Nothing to do: a render failure is already an event on the rendered topic. */
  | { kind: 'skip' }
  /** The outcome is already in the ledger: emit it again (same event id), never send again. */
  | { kind: 'reemit'; record: NotificationDispatchRecorded }
  /** A fact to record (emit and write to the ledger) without calling the provider. */
  | { kind: 'record'; record: NotificationDispatchRecorded }
  /** Claim, then call the provider: the first attempt, or one whose predecessor certainly failed retriably. */
  | { kind: 'send'; attempt: number };

/**
 * What to do with a rendered notification, given its ledger entry and an outcome this
 * process knows but has not yet recorded (a produce failed after the provider answered).
 * The provider is called only when there is no entry or the last attempt is known to
 * have failed retriably.
 */
export function decide(n: NotificationRendered, entry: LedgerEntry | undefined, unrecorded: NotificationDispatchRecorded | undefined, at: number): Decision {
  if (n.outcome !== 'RENDERED') return { kind: 'skip' };
  if (unrecorded && (!entry || unrecorded.attempt >= entry.attempts)) return { kind: 'record', record: unrecorded };
  if (!entry) return { kind: 'send', attempt: 1 };
  switch (entry.status) {
    case 'ACCEPTED': case 'FAILED': case 'IN_DOUBT': return { kind: 'reemit', record: recordedAgain(n, entry) };
    // Claimed and never answered: the call may have reached the provider.
    case 'SENDING': return { kind: 'record', record: dispatchRecord(n, 'IN_DOUBT', entry.attempts, entry.provider, at, { reason: INTERRUPTED }) };
    case 'RETRY_SCHEDULED': return { kind: 'send', attempt: entry.attempts + 1 };
  }
}

/** The record a provider answer makes, and whether it asks for another attempt. */
export function outcomeOf(
  n: NotificationRendered, attempt: number, provider: string, r: SendResult, maxAttempts: number, at: number,
): { record: NotificationDispatchRecorded; retry: boolean } {
  if (r.ok) return { record: dispatchRecord(n, 'ACCEPTED', attempt, provider, at, { providerMessageId: r.providerMessageId }), retry: false };
  // A timeout or reset may have been accepted: in doubt, never retried.
  if (r.inDoubt) return { record: dispatchRecord(n, 'IN_DOUBT', attempt, provider, at, { errorCode: r.errorCode, reason: r.reason }), retry: false };
  if (!r.retriable || attempt >= maxAttempts) {
    const reason = r.retriable ? `retries exhausted after ${attempt} attempts: ${r.reason}` : r.reason;
    return { record: dispatchRecord(n, 'FAILED', attempt, provider, at, { errorCode: r.errorCode, reason }), retry: false };
  }
  return { record: dispatchRecord(n, 'RETRY_SCHEDULED', attempt, provider, at, { errorCode: r.errorCode, reason: r.reason }), retry: true };
}

/**
 * The ledger of one partition in memory: the entries restored from the changelog and
 * written since, and the outcomes known but not yet recorded. `syncedEnd` is the
 * changelog end offset at which the entries last equalled the log, `ownWrites` the
 * records this process has written to the partition since: if the end offset is then
 * anything else, another writer touched the partition and it must be read again.
 */
export class PartitionLedger {
  readonly entries = new Map<string, LedgerEntry>();
  readonly unrecorded = new Map<string, NotificationDispatchRecorded>();
  syncedEnd = 0n;
  ownWrites = 0;

  /** A record read from the changelog (in log order). */
  restore(r: NotificationDispatchRecorded): void {
    const e = entryOf(r);
    if (e) this.entries.set(r.notificationId, e);
  }

  /** Records this process has just written to the changelog. */
  recorded(records: NotificationDispatchRecorded[]): void {
    for (const r of records) {
      this.restore(r);
      const u = this.unrecorded.get(r.notificationId);
      if (u && u.attempt <= r.attempt) this.unrecorded.delete(r.notificationId);
    }
    this.ownWrites += records.length;
  }

  /** Whether the changelog's end offset is what this memory expects. */
  upToDate(end: bigint): boolean { return this.syncedEnd + BigInt(this.ownWrites) === end; }
  synced(end: bigint): void { this.syncedEnd = end; this.ownWrites = 0; }
}
