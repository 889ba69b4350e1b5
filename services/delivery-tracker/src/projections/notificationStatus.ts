import type { DeliveryStatus, DispatchStatus } from '@sicantik/schemas';

////////// Notification status model (pure)
// draft -> queued -> sending -> sent -> delivered -> read, or failed (terminal).
// A status only ever moves forward: out-of-order or repeated events are no-ops.

export type MessageState = 'queued' | 'sending' | 'sent' | 'delivered' | 'read' | 'failed';
export const RANK: Record<MessageState, number> = { queued: 1, sending: 2, sent: 3, delivered: 4, read: 5, failed: 9 };

export function advance(current: MessageState | undefined, next: MessageState): MessageState {
  if (!current) return next;
  return RANK[next] > RANK[current] ? next : current;
}

export function fromDispatch(s: DispatchStatus): MessageState | undefined {
  switch (s) {
    case 'SENDING': case 'ACCEPTED': case 'RETRY_SCHEDULED': case 'IN_DOUBT': return 'sending';
    case 'FAILED': return 'failed';
    case 'DUPLICATE_SUPPRESSED': return undefined;
    default: { const _n: never = s; return _n; }
  }
}

export function fromDelivery(s: DeliveryStatus): MessageState {
  return ({ SENT: 'sent', DELIVERED: 'delivered', READ: 'read', FAILED: 'failed' } as const)[s];
}

/** Timestamp field that records when a state was first reached. */
export const STAMP: Record<MessageState, string> = {
  queued: 'queuedAt', sending: 'sendingAt', sent: 'sentAt', delivered: 'deliveredAt', read: 'readAt', failed: 'failedAt',
};
