import { deterministicId } from '@sicantik/core';
import {
  DISPATCH_RETRY_TOPICS,
  type ContactEvent, type DispatchDeadLettered, type DispatchRetryScheduled, type DispatchRetryTopic, type NotificationDispatchRecorded, type NotificationRendered,
} from '@sicantik/schemas';
import type { ProviderName } from '@sicantik/providers';
import { isFinal, type PartitionLedger } from './ledger';
import type { RetryPolicy } from './retry';

////////// The records the dispatcher writes (pure): what each topic receives, built from a fact
//   notification.dispatch  every status of every attempt (keyed by permit: order per permit)
//   dispatch.ledger        the same facts, on the partition of the input (the changelog of the ledger)
//   dispatch.retry.<tier>  the next attempt, or an in-doubt status lookup, and its time
//   dispatch.dead-letter   a notification that failed for good, with why
//   contact.events         MESSAGE_SENT for every send a provider accepted (keyed by subject id,
//                          else phone, like every contact event), so a reply can be matched to it

export type DispatchMessage =
  | { topic: 'notification.dispatch'; key: string; value: NotificationDispatchRecorded }
  | { topic: 'dispatch.ledger'; key: string; value: NotificationDispatchRecorded; partition: number }
  | { topic: DispatchRetryTopic; key: string; value: DispatchRetryScheduled; partition: number }
  | { topic: 'dispatch.dead-letter'; key: string; value: DispatchDeadLettered }
  | { topic: 'contact.events'; key: string; value: ContactEvent };

/** The provider of a fact without one (skipped, no provider could take it). */
export const NONE_PROVIDER = 'none';

/** What accompanies a recorded fact: a retry record on its tier, a dead letter. */
export interface FollowUps { retry?: DispatchRetryScheduled; tier?: number; deadLetter?: boolean }

export const retryMessage = (n: NotificationRendered, retry: DispatchRetryScheduled, tier: number, partition: number): DispatchMessage =>
  ({ topic: DISPATCH_RETRY_TOPICS[tier - 1]!, key: n.pendaftaran_id, value: retry, partition });

export function retryRecord(n: NotificationRendered, o: { attempt: number; provider: string; providerAttempt: number; excluded: readonly string[]; notBefore: number; tier: number; routeReason: string | null; routeDetail: string | null }): DispatchRetryScheduled {
  return {
    eventId: deterministicId('sicantik.event', 'DispatchRetryScheduled', n.notificationId, 'SEND', o.attempt, o.notBefore),
    occurredAt: o.notBefore, correlationId: n.correlationId, causationId: n.eventId,
    notificationId: n.notificationId, pendaftaran_id: n.pendaftaran_id, kind: 'SEND', attempt: o.attempt, provider: o.provider,
    providerAttempt: o.providerAttempt, excludedProviders: [...o.excluded], notBefore: o.notBefore, tier: o.tier,
    routeReason: o.routeReason, routeDetail: o.routeDetail, providerMessageId: null, notification: n,
  };
}

export function lookupRecord(n: NotificationRendered, attempt: number, provider: string, providerMessageId: string, notBefore: number, tier: number): DispatchRetryScheduled {
  return {
    eventId: deterministicId('sicantik.event', 'DispatchRetryScheduled', n.notificationId, 'LOOKUP', attempt, notBefore),
    occurredAt: notBefore, correlationId: n.correlationId, causationId: n.eventId,
    notificationId: n.notificationId, pendaftaran_id: n.pendaftaran_id, kind: 'LOOKUP', attempt, provider, providerAttempt: 0,
    excludedProviders: [], notBefore, tier, routeReason: 'IN_DOUBT_RESOLVED', routeDetail: null, providerMessageId, notification: n,
  };
}

export function deadLetterOf(n: NotificationRendered, r: NotificationDispatchRecorded, ledger: PartitionLedger): DispatchDeadLettered {
  const entry = ledger.entries.get(n.notificationId);
  const providers = [...new Set([...(r.excludedProviders ?? []), ...(r.provider !== NONE_PROVIDER ? [r.provider] : []), ...(entry && !isFinal(entry) && !entry.waiting ? [entry.provider] : [])])];
  return {
    eventId: deterministicId('sicantik.event', 'DispatchDeadLettered', n.notificationId, r.attempt),
    occurredAt: r.occurredAt, correlationId: n.correlationId, causationId: r.eventId,
    notificationId: n.notificationId, pendaftaran_id: n.pendaftaran_id, attempts: r.attempt, providers,
    lastProvider: r.provider === NONE_PROVIDER ? null : r.provider, errorCode: r.errorCode ?? null, reason: r.reason ?? 'failed', notification: n,
  };
}

/**
 * A scheduled wait without an attempt (nothing was sent): a daily quota's window, or a
 * send-time rule (see gate.ts). It waits on the last retry tier. A retry after a
 * provider's answer always carries that answer's error code; a wait carries
 * QUOTA_EXHAUSTED or none.
 */
const isParked = (r: Pick<NotificationDispatchRecorded, 'errorCode' | 'routeReason'>): boolean =>
  r.routeReason === 'QUOTA_EXHAUSTED' || r.errorCode == null;

/** What must accompany a recorded fact that was known before (a batch retried after a failed produce). */
export function followUpsOf(n: NotificationRendered, r: NotificationDispatchRecorded, retry: RetryPolicy): FollowUps {
  if (r.status === 'FAILED') return { deadLetter: true };
  if (r.status === 'DEFERRED' && r.notBefore != null) return { tier: retry.tiers, retry: deferredRetry(n, r, retry.tiers) };
  if (r.status === 'RETRY_SCHEDULED' && r.notBefore != null) {
    const parked = isParked(r);
    const tier = parked ? retry.tiers : Math.min(Math.max(1, r.providerAttempt ?? 1), retry.tiers);
    const provider = (r.nextProvider ?? r.provider) as ProviderName;
    const providerAttempt = parked && provider !== r.provider ? 1 : (r.providerAttempt ?? 0) + 1;
    return { tier, retry: retryRecord(n, { attempt: r.attempt + 1, provider, providerAttempt, excluded: r.excludedProviders ?? [], notBefore: r.notBefore, tier, routeReason: parked ? r.routeReason ?? null : 'RETRY', routeDetail: r.routeDetail ?? null }) };
  }
  return {};
}

/**
 * The retry record that brings a DEFERRED notification back at its notBefore (on the
 * last tier), made from the DEFERRED record alone so that a batch delivered again after
 * a failed write makes the same one. No provider is kept: routing decides afresh then.
 */
export const deferredRetry = (n: NotificationRendered, r: NotificationDispatchRecorded, tier: number): DispatchRetryScheduled =>
  retryRecord(n, { attempt: r.attempt + 1, provider: NONE_PROVIDER, providerAttempt: 1, excluded: r.excludedProviders ?? [], notBefore: r.notBefore!, tier, routeReason: r.routeReason ?? null, routeDetail: r.routeDetail ?? null });

/** The contact a notification goes to, as contact.events is keyed: its subject id, else its phone. */
const contactKey = (n: NotificationRendered): string => n.recipient.subjectId ?? n.recipient.phone;

/**
 * MESSAGE_SENT: a provider accepted the message (event id from notification id and
 * attempt: the same for every emission). `optInRequest`: the opt-in link was appended,
 * so a bare "YA" in reply may be read as consent.
 */
export function messageSent(n: NotificationRendered, r: NotificationDispatchRecorded): { topic: 'contact.events'; key: string; value: ContactEvent } {
  return {
    topic: 'contact.events', key: contactKey(n),
    value: {
      eventId: deterministicId('sicantik.event', 'ContactEvent', 'MESSAGE_SENT', n.notificationId, r.attempt),
      occurredAt: r.occurredAt, correlationId: n.correlationId, causationId: r.eventId,
      provider: r.provider, phone: n.recipient.phone, kind: 'MESSAGE_SENT', text: null, subjectId: n.recipient.subjectId ?? null,
      providerMessageId: r.providerMessageId ?? null, contextId: null, notificationId: n.notificationId, pendaftaran_id: n.pendaftaran_id,
      reason: null, optInRequest: r.optInLink ?? false,
    },
  };
}
