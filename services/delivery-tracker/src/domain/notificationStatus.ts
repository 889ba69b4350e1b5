import type { DeliveryStatus, DispatchStatus } from '@sicantik/schemas';

////////// Notification status model (pure)
// The states, in their order (docs/states.md lists them, and a test keeps that list equal
// to STATES below). A status only ever moves up this rank, so out-of-order or repeated
// events are no-ops. Invariant: the final status is the highest evidence seen,
// whatever the arrival order:
//   read > delivered > failed > skipped > sent > no_report > accepted > subject_erased >
//   coalesced > dropped > sending > held > deferred > queued
//
// - deferred: not to be handed to a provider before its time (quiet hours, working hours,
//   holidays, coalescing): the request's notBefore, or the dispatcher's DEFERRED; shown
//   with deferredAt, notBefore and deferReason.
// - held: the dispatcher holds it until the contact opts in (HELD; heldAt). Above
//   deferred: a held message can wait for days, a deferred one hours; a held message
//   released into quiet hours stays shown as held (deferredAt and notBefore say so) until
//   it goes on to sending.
// - sending: the dispatcher claimed an attempt (SENDING), scheduled a retry
//   (RETRY_SCHEDULED) or lost track of one (IN_DOUBT, also flagged inDoubt): no
//   provider has taken the message yet, as far as anyone knows.
// - dropped, coalesced, subject_erased: final, nothing sent for this notification on
//   purpose, so they beat every waiting state (deferred, held, sending); the provider's
//   evidence (accepted and above) beats them. dropped: a held message superseded by a
//   later one, stale, or expired (DROPPED; droppedAt, dropReasonCode SUPERSEDED, STALE or
//   EXPIRED, dropReason, supersededBy). coalesced: the planner's COALESCED decision, the
//   change is carried by another message (coalescedAt, carriedBy); above dropped, since
//   the dispatcher drops a coalesced message as superseded and "coalesced" says why.
//   subject_erased: the person's key was erased before it was sent (SUBJECT_ERASED;
//   subjectErasedAt); above the other two, the strongest reason.
// - accepted: the provider accepted the message (the dispatcher's ACCEPTED, with the
//   provider message id) and has not reported on it yet. Its own state, never shown as
//   sending; first reached at acceptedAt.
// - no_report: the provider accepted the message but sent no status report in time
//   and has no status lookup API, or its lookups found nothing final before the
//   reconciler gave up (the dispatcher's reconciler says so with a
//   delivery.status NO_REPORT, first reached at noReportAt). A late sent, delivered or
//   read webhook, or a failure, still moves it on; nothing moves it back to accepted.
//   Where the provider has a lookup API, the reconciler's answer is an ordinary
//   delivery.status (SENT/DELIVERED/READ/FAILED) and is folded in like a webhook.
// - sent / delivered / read: the provider's reports (webhooks or the reconciler's
//   lookups).
// - failed: a failure beats every state below it, but a delivery or
//   read receipt proves delivery and beats a failure (reported before or after it). A
//   failure together with delivery evidence is kept (failedAt, failureReason) and
//   flagged as an anomaly.
// - skipped: the dispatcher sent nothing on purpose (the contact opted out between
//   planning and sending); final like failed, and not a failure. It beats what comes
//   before a send; a failure reported by a provider (evidence that something was sent)
//   and delivery evidence beat it. (Its place above sent is older than the other
//   "nothing sent" states and kept.)
//
// Upgrading: every layout that adds states renumbers the ranks, and notification
// documents store the ranks. Existing projections are not migrated: the tracker refuses
// a database of the previous layout (writer.ts, LAYOUT_VERSION) and the projections are
// rebuilt from the topics (dist/rebuild.js).

export type MessageState =
  | 'queued' | 'deferred' | 'held' | 'sending' | 'dropped' | 'coalesced' | 'subject_erased'
  | 'accepted' | 'no_report' | 'sent' | 'skipped' | 'failed' | 'delivered' | 'read';
export const RANK: Record<MessageState, number> = {
  queued: 1, deferred: 2, held: 3, sending: 4, dropped: 5, coalesced: 6, subject_erased: 7,
  accepted: 8, no_report: 9, sent: 10, skipped: 11, failed: 12, delivered: 13, read: 14,
};
/** Every state, in rank order (the order docs/states.md lists). */
export const STATES = (Object.keys(RANK) as MessageState[]).sort((a, b) => RANK[a] - RANK[b]);
/** The state of a rank (the inverse of RANK). */
export const STATE_OF_RANK: Record<number, MessageState> = Object.fromEntries(STATES.map((s) => [RANK[s], s]));

export function advance(current: MessageState | undefined, next: MessageState): MessageState {
  if (!current) return next;
  return RANK[next] > RANK[current] ? next : current;
}

/**
 * Anomalies, each a set of states seen together: `failed_but_delivered`, a failure
 * reported for a message with delivery evidence (delivered or read), in any order.
 */
const ANOMALIES = {
  failed_but_delivered: { all: ['failed'], any: ['delivered', 'read'] },
} as const satisfies Record<string, { all: readonly MessageState[]; any: readonly MessageState[] }>;
export type AnomalyKind = keyof typeof ANOMALIES;
export const ANOMALY_KINDS = Object.keys(ANOMALIES) as AnomalyKind[];

/** Anomalies shown by the states seen for one message (a set: order and repetition do not matter). */
export function anomaliesOf(seen: Iterable<MessageState>): AnomalyKind[] {
  const s = new Set<MessageState>(seen);
  return ANOMALY_KINDS.filter((k) => ANOMALIES[k].all.every((x) => s.has(x)) && ANOMALIES[k].any.some((x) => s.has(x)));
}

export function fromDispatch(s: DispatchStatus): MessageState | undefined {
  switch (s) {
    case 'SENDING': case 'RETRY_SCHEDULED': case 'IN_DOUBT': return 'sending';
    case 'ACCEPTED': return 'accepted';
    case 'FAILED': return 'failed';
    case 'SKIPPED': return 'skipped';
    case 'DUPLICATE_SUPPRESSED': return undefined;
    case 'DEFERRED': return 'deferred';
    case 'HELD': return 'held';
    case 'DROPPED': return 'dropped';
    case 'SUBJECT_ERASED': return 'subject_erased';
    default: { const _n: never = s; return _n; }
  }
}

/** The state a provider's report (or the dispatcher's reconciler) gives. */
export type ReportedState = 'no_report' | 'sent' | 'delivered' | 'read' | 'failed';
export function fromDelivery(s: DeliveryStatus): ReportedState {
  return ({ NO_REPORT: 'no_report', SENT: 'sent', DELIVERED: 'delivered', READ: 'read', FAILED: 'failed' } as const)[s];
}

