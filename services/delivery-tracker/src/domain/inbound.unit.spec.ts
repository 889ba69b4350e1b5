import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { configuredProviders, type InboundEvent } from '@sicantik/providers';
import { OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, contactEvents, keywordKind } from './inbound';
import { trackerEvents } from './webhookEvents';

const t = Date.parse('2026-11-22T02:00:00Z');
const inbound = (over: Partial<InboundEvent> = {}): InboundEvent => ({ kind: 'inbound', fromE164: '+6281234567890', text: 'halo', providerMessageId: 'm-1', ...over });

describe('inbound replies', () => {
  it('a STOP reply records the message and an opt-out for that number, under the provider that delivered it', () => {
    const evs = contactEvents('fonnte', inbound({ text: ' stop! ' }), t);
    expect(evs.map((e) => [e.kind, e.phone, e.provider, e.occurredAt, e.text, e.correlationId])).toEqual([
      ['MESSAGE_RECEIVED', '+6281234567890', 'fonnte', t, ' stop! ', 'm-1'],
      ['OPTED_OUT', '+6281234567890', 'fonnte', t, null, 'm-1'],
    ]);
    expect(evs[1]!.causationId).toBe(evs[0]!.eventId);
  });
  it('Indonesian keywords work; ordinary text and an empty body are only a message', () => {
    expect(keywordKind('Berhenti')).toBe('OPTED_OUT');
    expect(keywordKind('mulai')).toBe('OPTED_IN');
    expect(keywordKind('Stop notifikasi.')).toBe('OPTED_OUT');
    expect(keywordKind('tolong stop dulu ya')).toBeNull();
    expect(contactEvents('twilio', inbound({ text: 'MULAI' }), t).map((e) => e.kind)).toEqual(['MESSAGE_RECEIVED', 'OPTED_IN']);
    expect(contactEvents('twilio', inbound({ text: 'Kapan izin saya selesai?' }), t).map((e) => e.kind)).toEqual(['MESSAGE_RECEIVED']);
    expect(contactEvents('meta', inbound({ text: '' }), t).map((e) => [e.kind, e.text])).toEqual([['MESSAGE_RECEIVED', null]]);
  });
  it('the same message gives the same event ids whenever it is received; another provider or message gives others', () => {
    const ids = (p: 'meta' | 'bird', id: string, at: number) => contactEvents(p, inbound({ text: 'STOP', providerMessageId: id }), at).map((e) => e.eventId);
    expect(ids('meta', 'x', t)).toEqual(ids('meta', 'x', t + 86_400_000));
    expect(ids('bird', 'x', t)).not.toEqual(ids('meta', 'x', t));
    expect(ids('meta', 'y', t)).not.toEqual(ids('meta', 'x', t));
  });
  it('a signed Meta webhook (buttons included) through the Meta provider: its time, its sender, keywords', () => {
    const meta = configuredProviders({ META_APP_SECRET: 'unit-app-secret' }, { roles: ['receive'] })[0]!;
    const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: 'WABA', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: '1' }, messages: [
      { from: '6281234567890', id: 'wamid.B', timestamp: '1795312800', type: 'button', button: { text: 'MULAI', payload: 'MULAI' } },
      { from: '6281234567890', id: 'wamid.C', timestamp: '1795312801', type: 'text', text: { body: 'Kapan izin saya selesai?' } },
    ] } }] }] });
    const signature = `sha256=${createHmac('sha256', 'unit-app-secret').update(body).digest('hex')}`;
    const r = meta.handleWebhook({ url: 'https://x.test/webhooks/meta', method: 'POST', headers: { 'x-hub-signature-256': signature }, rawBody: Buffer.from(body), query: {} }, new Date(t));
    if (!r.ok) throw new Error(r.reason);
    const { contacts, statuses } = trackerEvents({ provider: 'meta', receivedAt: t }, r.events);
    expect(statuses).toEqual([]);
    expect(contacts.map((e) => [e.kind, e.phone, e.provider, e.occurredAt])).toEqual([
      ['MESSAGE_RECEIVED', '+6281234567890', 'meta', 1795312800000], ['OPTED_IN', '+6281234567890', 'meta', 1795312800000], ['MESSAGE_RECEIVED', '+6281234567890', 'meta', 1795312801000],
    ]);
  });
  it('property: every keyword in any case and padding is recognised, and no text is both', () => {
    fc.assert(fc.property(fc.constantFrom(...OPT_OUT_KEYWORDS, ...OPT_IN_KEYWORDS), fc.boolean(), fc.constantFrom('', ' ', '!', '.'), (k, lower, pad) => {
      const kind = keywordKind(`${pad}${lower ? k.toLowerCase() : k}${pad}`);
      expect(kind).toBe((OPT_OUT_KEYWORDS as readonly string[]).includes(k) ? 'OPTED_OUT' : 'OPTED_IN');
    }));
  });
});
