import { deterministicId } from '@sicantik/core';
import type { InboundEvent, ProviderName } from '@sicantik/providers';
import type { ContactEvent } from '@sicantik/schemas';

////////// Inbound replies (pure): a provider's inbound message -> contact events
// Every inbound message is recorded (MESSAGE_RECEIVED). A reply that is exactly
// an opt-out or opt-in keyword (case, spaces and punctuation ignored) also records
// OPTED_OUT / OPTED_IN, which the planner uses to stop or resume messages. The
// provider adapters (@sicantik/providers) have verified and parsed the webhook.
//
// This classification is stateless (a pure function of the one message's text), so it
// stays in the receiver role, which keeps no state. A rule that needs state (what we
// last sent this contact, earlier replies, consent history) does not belong here: it
// reads contact.events in a consumer (planner or dispatcher), never in the receiver.

export const OPT_OUT_KEYWORDS = ['STOP', 'BERHENTI', 'UNSUBSCRIBE', 'STOP NOTIFIKASI', 'JANGAN KIRIM'] as const;
export const OPT_IN_KEYWORDS = ['START', 'MULAI', 'SUBSCRIBE', 'DAFTAR NOTIFIKASI', 'YA SETUJU'] as const;

export function keywordKind(text: string): 'OPTED_OUT' | 'OPTED_IN' | null {
  const t = text.normalize('NFKC').toUpperCase().replace(/[^\p{L}\p{N} ]+/gu, ' ').replace(/\s+/g, ' ').trim();
  if ((OPT_OUT_KEYWORDS as readonly string[]).includes(t)) return 'OPTED_OUT';
  if ((OPT_IN_KEYWORDS as readonly string[]).includes(t)) return 'OPTED_IN';
  return null;
}

/**
 * One inbound message as contact events. `at`: the provider's time of the message,
 * or the time this webhook was received when the provider gives none. Ids depend only
 * on (provider, provider message id, kind), so a redelivered webhook gives the same events.
 */
export function contactEvents(provider: ProviderName, m: InboundEvent, at: number): ContactEvent[] {
  const text = m.text === '' ? null : m.text;
  const base = { occurredAt: at, correlationId: m.providerMessageId, provider, phone: m.fromE164 };
  const received: ContactEvent = {
    ...base, eventId: deterministicId('sicantik.event', 'ContactEvent', provider, m.providerMessageId, 'MESSAGE_RECEIVED'), causationId: null, kind: 'MESSAGE_RECEIVED', text,
  };
  const kind = text ? keywordKind(text) : null;
  if (!kind) return [received];
  return [received, { ...base, eventId: deterministicId('sicantik.event', 'ContactEvent', provider, m.providerMessageId, kind), causationId: received.eventId, kind, text: null }];
}
