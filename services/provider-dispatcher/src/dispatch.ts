import { deterministicId } from '@sicantik/core';
import type { DispatchStatus, NotificationDispatchRecorded, NotificationRendered } from '@sicantik/schemas';
import type { Claims } from './adapters/claims';
import type { Provider } from './domain/provider';

////////// Dispatch one rendered notification: claim, send, record; never twice.

export interface DispatchDeps {
  claims: Claims;
  provider: Provider;
  emit(e: NotificationDispatchRecorded): Promise<void>;
  now(): Date;
  /** Waits between attempts; must keep the consumer alive (heartbeats). */
  wait(ms: number): Promise<void>;
  maxAttempts: number;
  retryDelayMs: number;
}

export async function dispatch(n: NotificationRendered, deps: DispatchDeps): Promise<DispatchStatus | 'SKIPPED_NOT_RENDERED'> {
  if (n.outcome !== 'RENDERED') return 'SKIPPED_NOT_RENDERED'; // the failure is already an event on the rendered topic
  const { claims, provider } = deps;
  const record = (status: DispatchStatus, attempt: number, extra: Partial<NotificationDispatchRecorded> = {}): NotificationDispatchRecorded => ({
    eventId: deterministicId('sicantik.event', 'NotificationDispatchRecorded', n.notificationId, status, attempt),
    occurredAt: deps.now().getTime(),
    correlationId: n.correlationId,
    causationId: n.eventId,
    notificationId: n.notificationId,
    pendaftaran_id: n.pendaftaran_id,
    scenario: n.scenario,
    templateCode: n.templateCode,
    recipientKind: n.recipient.kind,
    provider: provider.name,
    status,
    providerMessageId: null,
    attempt,
    errorCode: null,
    reason: null,
    ...extra,
  });

  for (;;) {
    const c = await claims.acquire(n.notificationId, provider.name, deps.now());
    if (!c.acquired) {
      const { claim } = c;
      // Re-emit the recorded outcome (same event id: idempotent downstream), never re-send.
      if (claim.state === 'accepted') {
        await deps.emit(record('ACCEPTED', claim.attempts, { providerMessageId: claim.providerMessageId ?? null, provider: claim.provider }));
        return 'ACCEPTED';
      }
      if (claim.state === 'failed') {
        await deps.emit(record('FAILED', claim.attempts, { errorCode: claim.errorCode ?? null, reason: claim.reason ?? null, provider: claim.provider }));
        return 'FAILED';
      }
      // 'sending': an earlier process died after claiming and before recording the outcome.
      await deps.emit(record('IN_DOUBT', claim.attempts, { reason: 'a previous attempt was interrupted before its outcome was recorded; not re-sent' }));
      return 'IN_DOUBT';
    }
    const attempt = c.claim.attempts;
    await deps.emit(record('SENDING', attempt));
    const r = await provider.send(n);
    if (r.ok) {
      await claims.settle(n.notificationId, { state: 'accepted', providerMessageId: r.providerMessageId }, deps.now());
      await deps.emit(record('ACCEPTED', attempt, { providerMessageId: r.providerMessageId }));
      return 'ACCEPTED';
    }
    if (r.inDoubt) {
      // The claim stays 'sending': a redelivery reports IN_DOUBT instead of sending again.
      await deps.emit(record('IN_DOUBT', attempt, { errorCode: r.errorCode, reason: r.reason }));
      return 'IN_DOUBT';
    }
    if (!r.retriable || attempt >= deps.maxAttempts) {
      const reason = r.retriable ? `retries exhausted after ${attempt} attempts: ${r.reason}` : r.reason;
      await claims.settle(n.notificationId, { state: 'failed', errorCode: r.errorCode, reason }, deps.now());
      await deps.emit(record('FAILED', attempt, { errorCode: r.errorCode, reason }));
      return 'FAILED';
    }
    await claims.settle(n.notificationId, { state: 'retry_wait', errorCode: r.errorCode, reason: r.reason }, deps.now());
    await deps.emit(record('RETRY_SCHEDULED', attempt, { errorCode: r.errorCode, reason: r.reason }));
    await deps.wait(deps.retryDelayMs);
  }
}
