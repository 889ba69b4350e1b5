import { deterministicId } from '@sicantik/core';
import type { ContactEvent } from '@sicantik/schemas';

////////// Inbound replies (pure): Meta webhook messages -> contact events
// Every inbound message is recorded (MESSAGE_RECEIVED). A reply that is exactly
// an opt-out or opt-in keyword (case, spaces and punctuation ignored) also records
// OPTED_OUT / OPTED_IN, which the planner uses to stop or resume messages.

export const OPT_OUT_KEYWORDS = ['STOP', 'BERHENTI', 'UNSUBSCRIBE', 'STOP NOTIFIKASI', 'JANGAN KIRIM'] as const;
export const OPT_IN_KEYWORDS = ['START', 'MULAI', 'SUBSCRIBE', 'DAFTAR NOTIFIKASI', 'YA SETUJU'] as const;

export function keywordKind(text: string): 'OPTED_OUT' | 'OPTED_IN' | null {
  const t = text.normalize('NFKC').toUpperCase().replace(/[^\p{L}\p{N} ]+/gu, ' ').replace(/\s+/g, ' ').trim();
  if ((OPT_OUT_KEYWORDS as readonly string[]).includes(t)) return 'OPTED_OUT';
  if ((OPT_IN_KEYWORDS as readonly string[]).includes(t)) return 'OPTED_IN';
  return null;
}

interface MetaMessage { from?: string; id?: string; timestamp?: string; type?: string; text?: { body?: string }; button?: { text?: string; payload?: string }; interactive?: { button_reply?: { title?: string; id?: string } } }
interface MetaPayload { object?: string; entry?: { changes?: { value?: { messages?: MetaMessage[] } }[] }[] }

/** Text of a reply: a text body, a quick-reply button, or an interactive button title. */
const replyText = (m: MetaMessage): string | null => m.text?.body ?? m.button?.text ?? m.button?.payload ?? m.interactive?.button_reply?.title ?? null;

export function metaContactEvents(payload: unknown, receivedAt: Date): ContactEvent[] {
  const p = payload as MetaPayload;
  if (p?.object !== 'whatsapp_business_account') return [];
  const out: ContactEvent[] = [];
  for (const entry of p.entry ?? []) {
    for (const change of entry.changes ?? []) {
      for (const m of change.value?.messages ?? []) {
        if (!m.id || !m.from || !/^\d{6,15}$/.test(m.from)) continue;
        const phone = `+${m.from}`;
        const at = m.timestamp && /^\d+$/.test(m.timestamp) ? Number(m.timestamp) * 1000 : receivedAt.getTime();
        const text = replyText(m);
        const base = { occurredAt: at, correlationId: m.id, provider: 'meta', phone };
        out.push({ ...base, eventId: deterministicId('sicantik.event', 'ContactEvent', 'meta', m.id, 'MESSAGE_RECEIVED'), causationId: null, kind: 'MESSAGE_RECEIVED', text });
        const kind = text ? keywordKind(text) : null;
        if (kind) out.push({ ...base, eventId: deterministicId('sicantik.event', 'ContactEvent', 'meta', m.id, kind), causationId: out[out.length - 1]!.eventId, kind, text: null });
      }
    }
  }
  return out;
}
