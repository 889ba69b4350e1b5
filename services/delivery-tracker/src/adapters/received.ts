import { messageRef } from '@sicantik/privacy';
import type { ContactEvent, DeliveryStatusReported } from '@sicantik/schemas';

////////// What the webhook receiver writes (issue 16: provider message ids are personal data)
// A provider message id can carry the number (Meta's wamid is base64 of bytes holding the
// recipient's digits). Reception is stateless and knows no subject for a status report, so it
// has no key to encrypt the id with: a delivery.status record carries the id's reference
// instead (@sicantik/privacy messageRef: HMAC-SHA256 with PRIVACY_INDEX_KEY, provider
// included), as its key, correlationId, providerMessageRef and, in place of the id,
// providerMessageId (a required string: kept, so the change is additive). Every reader joins
// by the ref. An inbound message's contact event names its subject, so its id is encrypted
// with the sender's key (packages/schemas personal.ts); its correlationId (carried on by the
// events and notifications it causes) is the ref too, never the id.

export interface ReceivedRecord<T> { key: string; value: T }

/** A verified delivery status as written to delivery.status: keyed by, and naming its message only by, the ref of its id. */
export function statusRecord(indexKey: Buffer, e: DeliveryStatusReported): ReceivedRecord<DeliveryStatusReported> {
  const ref = messageRef(indexKey, e.provider, e.providerMessageId);
  return { key: ref, value: { ...e, correlationId: ref, providerMessageId: ref, providerMessageRef: ref } };
}

/** An inbound message's contact event as written to contact.events: keyed by the sender's subject; correlated by the ref of its message id. */
export function contactRecord(indexKey: Buffer, e: ContactEvent, subjectId: string): ReceivedRecord<ContactEvent> {
  const correlationId = e.providerMessageId ? messageRef(indexKey, e.provider, e.providerMessageId) : e.correlationId;
  return { key: subjectId, value: { ...e, correlationId, subjectId } };
}
