import { deterministicId } from '@sicantik/core';
import type { InboundEvent, ProviderName } from '@sicantik/providers';
import type { ContactEvent } from '@sicantik/schemas';

////////// Inbound replies (pure): a provider's inbound message -> one contact event
// Every inbound message is recorded as one MESSAGE_RECEIVED carrying its proof: the
// time, the number, the provider, the exact text, the provider's message id and the
// message it answered where the provider says so (contextId). The provider adapters
// (@sicantik/providers) have verified and parsed the webhook.
//
// Reception keeps no state and does not classify: what a reply means (an opt-out, an
// opt-in, a YA that answers our opt-in request, a help request, a wrong number) needs
// the contact's history, so the notification-planner's consent classifier decides it
// from contact.events, partitioned by subject (services/notification-planner/src/domain/consent.ts).
// The topic's key is contactEventKey (@sicantik/schemas): the subject id, else the number.

/**
 * One inbound message as its contact event. `at`: the provider's time of the message,
 * or the time this webhook was received when the provider gives none. The id depends
 * only on (provider, provider message id), so a redelivered webhook gives the same event.
 */
export function receivedEvent(provider: ProviderName, m: InboundEvent, at: number): ContactEvent {
  return {
    eventId: deterministicId('sicantik.event', 'ContactEvent', provider, m.providerMessageId, 'MESSAGE_RECEIVED'),
    occurredAt: at, correlationId: m.providerMessageId, causationId: null,
    provider, phone: m.fromE164, kind: 'MESSAGE_RECEIVED',
    text: m.text === '' ? null : m.text,
    subjectId: null,
    providerMessageId: m.providerMessageId,
    contextId: m.contextId ?? null,
    notificationId: null, pendaftaran_id: null, reason: null, optInRequest: false,
  };
}
