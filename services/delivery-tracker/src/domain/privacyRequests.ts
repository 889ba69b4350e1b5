import { deterministicId } from '@sicantik/core';
import type { PrivacyRequestRecorded } from '@sicantik/schemas';

////////// Access and erasure requests (UU PDP No. 27/2022): each is recorded on
// privacy.requests when received, with its deadline (3 x 24 hours), and again when
// answered. Pure: the time and the request id are passed in.

/** A data subject's request must be answered within 3 x 24 hours of its receipt. */
export const PRIVACY_DEADLINE_MS = 3 * 24 * 60 * 60 * 1000;

export type PrivacyRequestKind = PrivacyRequestRecorded['kind'];
/** REQUEST: asked by the person; RETENTION: the key-expiry job (the retention period ended). */
export type PrivacyRequestReason = NonNullable<PrivacyRequestRecorded['reason']>;

/** The request as received: status RECEIVED, deadline receivedAt + 3 x 24 h. */
export function receivedRequest(o: { requestId: string; kind: PrivacyRequestKind; receivedAt: number; subjectId: string | null; detail: string | null; reason?: PrivacyRequestReason }): PrivacyRequestRecorded {
  return {
    ...(o.reason === 'RETENTION' ? { reason: o.reason } : {}),
    eventId: deterministicId('sicantik.event', 'PrivacyRequestRecorded', o.requestId, 'RECEIVED'), occurredAt: o.receivedAt,
    correlationId: `privacy:${o.requestId}`, causationId: null, requestId: o.requestId, kind: o.kind, subjectId: o.subjectId,
    receivedAt: o.receivedAt, deadline: o.receivedAt + PRIVACY_DEADLINE_MS, status: 'RECEIVED', detail: o.detail,
  };
}

/** A key expiry (reason RETENTION): its request id, one per subject, so a repeated run records the same request. */
export const retentionRequestId = (subjectId: string) => deterministicId('sicantik.privacy', 'RETENTION', subjectId);

/** The same request answered at `at`: DONE, NO_SUBJECT when the number belonged to nobody the service knows, KEPT (a key expiry not carried out). */
export function answeredRequest(received: PrivacyRequestRecorded, o: { at: number; status: 'DONE' | 'NO_SUBJECT' | 'KEPT'; subjectId: string | null; detail: string | null }): PrivacyRequestRecorded {
  return {
    ...received, eventId: deterministicId('sicantik.event', 'PrivacyRequestRecorded', received.requestId, o.status), occurredAt: o.at,
    causationId: received.eventId, subjectId: o.subjectId ?? received.subjectId, status: o.status, detail: o.detail,
  };
}

/** The latest record of each request, by request id (records of one request share its key, so they arrive in order). */
export type PrivacyRequests = Map<string, PrivacyRequestRecorded>;

export function applyPrivacyRequest(state: PrivacyRequests, r: PrivacyRequestRecorded): void {
  const had = state.get(r.requestId);
  // An answer is final: a RECEIVED record read again (a replay, a retried write) does not reopen it.
  if (had && had.status !== 'RECEIVED' && r.status === 'RECEIVED') return;
  state.set(r.requestId, r);
}

export interface OpenRequest {
  requestId: string; kind: PrivacyRequestKind; subjectId: string | null;
  receivedAt: string; deadline: string;
  /** Hours left until the deadline (negative: late), rounded down. */
  hoursLeft: number;
  overdue: boolean;
  detail: string | null;
}

/** The requests not answered yet, the nearest deadline first. */
export function openRequests(state: PrivacyRequests, now: number): OpenRequest[] {
  return [...state.values()].filter((r) => r.status === 'RECEIVED')
    .sort((a, b) => a.deadline - b.deadline || a.requestId.localeCompare(b.requestId))
    .map((r) => ({
      requestId: r.requestId, kind: r.kind, subjectId: r.subjectId,
      receivedAt: new Date(r.receivedAt).toISOString(), deadline: new Date(r.deadline).toISOString(),
      hoursLeft: Math.floor((r.deadline - now) / 3_600_000), overdue: r.deadline < now, detail: r.detail,
    }));
}

/** How many requests there are by kind and status (answered ones included); key expiries as `ERASURE.RETENTION.<status>`. */
export function requestCounts(state: PrivacyRequests): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of state.values()) {
    const k = `${r.kind}${r.reason === 'RETENTION' ? '.RETENTION' : ''}.${r.status}`;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}
