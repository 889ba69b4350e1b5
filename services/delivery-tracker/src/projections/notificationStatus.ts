import type { DeliveryStatus, DispatchStatus } from '@sicantik/schemas';

////////// Notification status model (pure)
// queued -> sending -> sent -> delivered -> read, or failed, or skipped. A status only
// ever moves up this rank, so out-of-order or repeated events are no-ops. Invariant:
// the final status is the highest evidence seen, whatever the arrival order:
//   read > delivered > failed > skipped > sent > sending > queued
// A failure beats queued/sending/sent, but a delivery or read receipt proves
// delivery and beats a failure (reported before or after it). A failure together
// with delivery evidence is kept (failedAt, failureReason) and flagged as an anomaly.
// skipped: the dispatcher sent nothing on purpose (the contact opted out between
// planning and sending); final like failed, and not a failure. It beats what comes
// before a send; a failure reported by a provider (evidence that something was sent)
// and delivery evidence beat it.

export type MessageState = 'queued' | 'sending' | 'sent' | 'delivered' | 'read' | 'failed' | 'skipped';
export const RANK: Record<MessageState, number> = { queued: 1, sending: 2, sent: 3, skipped: 4, failed: 5, delivered: 6, read: 7 };
export const STATES = Object.keys(RANK) as MessageState[];
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
export const ANOMALIES = {
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
    case 'SENDING': case 'ACCEPTED': case 'RETRY_SCHEDULED': case 'IN_DOUBT': return 'sending';
    case 'FAILED': return 'failed';
    case 'SKIPPED': return 'skipped';
    case 'DUPLICATE_SUPPRESSED': return undefined;
    default: { const _n: never = s; return _n; }
  }
}

export function fromDelivery(s: DeliveryStatus): MessageState {
  // NO_REPORT (the dispatcher's reconciler: no report in time, no status API) says nothing about delivery: as
  // 'sending' it never moves a status, until the projection has a state of its own for it (issue 15, section 5).
  return ({ SENT: 'sent', DELIVERED: 'delivered', READ: 'read', FAILED: 'failed', NO_REPORT: 'sending' } as const)[s];
}

/** Timestamp field that records when a state was first reached. */
export const STAMP: Record<MessageState, string> = {
  queued: 'queuedAt', sending: 'sendingAt', sent: 'sentAt', delivered: 'deliveredAt', read: 'readAt', failed: 'failedAt', skipped: 'skippedAt',
};
