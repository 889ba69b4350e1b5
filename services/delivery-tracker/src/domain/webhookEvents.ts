import { deterministicId } from '@sicantik/core';
import type { ProviderName, StatusEvent, WebhookEvent } from '@sicantik/providers';
import type { ContactEvent, DeliveryStatus, DeliveryStatusReported } from '@sicantik/schemas';
import { receivedEvent } from './inbound';

////////// Verified webhook events (pure) -> the tracker's events
// @sicantik/providers verifies each provider's webhook and parses it into status and
// inbound events; here they become delivery.status and contact.events records.
//
// Event ids are deterministic: (provider, provider message id, status, provider
// time) for a status, (provider, provider message id) for an inbound message.
// A provider that gives no time (Twilio always; Fonnte's status webhook) has the
// time left out of the id, so a redelivered or replayed webhook is the same event
// whenever it comes. Its time is the time this request was received (reception keeps
// no state, so it runs as several instances): a redelivery carries the same id and a
// later time, which the projection's join ignores (every state keeps its earliest
// time, statuses only move forward), live and in a rebuild alike.

const STATUS: Readonly<Record<StatusEvent['status'], DeliveryStatus>> = { sent: 'SENT', delivered: 'DELIVERED', read: 'READ', failed: 'FAILED' };

export interface Reception {
  provider: ProviderName;
  /** When this request arrived; the time of the reports that carry none. */
  receivedAt: number;
}

function deliveryStatusEvent(r: Reception, e: StatusEvent): DeliveryStatusReported {
  const status = STATUS[e.status];
  const providerTimestamp = e.at ? e.at.getTime() : null;
  const receivedAt = r.receivedAt;
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
    else contacts.push(receivedEvent(r.provider, e, e.at ? e.at.getTime() : r.receivedAt));
  }
  return { statuses, contacts };
}
