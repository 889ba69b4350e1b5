import { deterministicId } from '@sicantik/core';
import type { ProviderName, StatusEvent, WebhookEvent } from '@sicantik/providers';
import type { ContactEvent, DeliveryStatus, DeliveryStatusReported } from '@sicantik/schemas';
import { contactEvents } from './inbound';

////////// Verified webhook events (pure) -> the tracker's events
// @sicantik/providers verifies each provider's webhook and parses it into status and
// inbound events; here they become delivery.status and contact.events records.
//
// Event ids are deterministic: (provider, provider message id, status, provider
// time) for a status, (provider, provider message id, kind) for an inbound message.
// A provider that gives no time (Twilio always; Fonnte's status webhook) has the
// time left out of the id, so a redelivered or replayed webhook is the same event
// whenever it comes. Its time is the time the tracker first received that report
// (firstSeen, kept by the caller), so a redelivery soon after is the same record
// too; a later one can only carry a later time, which the projection's join ignores
// (every state keeps its earliest time, statuses only move forward).

const STATUS: Readonly<Record<StatusEvent['status'], DeliveryStatus>> = { sent: 'SENT', delivered: 'DELIVERED', read: 'READ', failed: 'FAILED' };

/** Identifies one report of a provider for first-seen times (events that carry no provider time). */
export const firstSeenKey = (provider: ProviderName, e: WebhookEvent): string =>
  e.kind === 'status' ? `${provider}\u0000status\u0000${e.providerMessageId}\u0000${e.status}` : `${provider}\u0000inbound\u0000${e.providerMessageId}`;

export interface Reception {
  provider: ProviderName;
  /** When this request arrived. */
  receivedAt: number;
  /** When each report without a provider time was first received (by firstSeenKey); receivedAt when absent. */
  firstSeen: ReadonlyMap<string, number>;
}

function deliveryStatusEvent(r: Reception, e: StatusEvent): DeliveryStatusReported {
  const status = STATUS[e.status];
  const providerTimestamp = e.at ? e.at.getTime() : null;
  const receivedAt = providerTimestamp === null ? (r.firstSeen.get(firstSeenKey(r.provider, e)) ?? r.receivedAt) : r.receivedAt;
  return {
    eventId: deterministicId('sicantik.event', 'DeliveryStatusReported', r.provider, e.providerMessageId, status, providerTimestamp ?? 'no-provider-time'),
    occurredAt: providerTimestamp ?? receivedAt,
    correlationId: e.providerMessageId,
    causationId: null,
    provider: r.provider,
    providerMessageId: e.providerMessageId,
    status,
    providerTimestamp,
    receivedAt,
    errorCode: e.errorCode ?? null,
    errorTitle: e.reason ?? null,
  };
}

/** A verified webhook's events as delivery.status and contact.events records, in the webhook's order. */
export function trackerEvents(r: Reception, events: readonly WebhookEvent[]): { statuses: DeliveryStatusReported[]; contacts: ContactEvent[] } {
  const statuses: DeliveryStatusReported[] = [];
  const contacts: ContactEvent[] = [];
  for (const e of events) {
    if (e.kind === 'status') statuses.push(deliveryStatusEvent(r, e));
    else contacts.push(...contactEvents(r.provider, e, e.at ? e.at.getTime() : (r.firstSeen.get(firstSeenKey(r.provider, e)) ?? r.receivedAt)));
  }
  return { statuses, contacts };
}
