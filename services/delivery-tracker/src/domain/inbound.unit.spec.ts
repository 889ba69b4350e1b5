import { createHmac } from 'node:crypto';
import { configuredProviders, type InboundEvent } from '@sicantik/providers';
import { contactEventKey } from '@sicantik/schemas';
import { receivedEvent } from './inbound';
import { trackerEvents } from './webhookEvents';

const t = Date.parse('2026-11-22T02:00:00Z');
const inbound = (over: Partial<InboundEvent> = {}): InboundEvent => ({ kind: 'inbound', fromE164: '+6281234567890', text: 'halo', providerMessageId: 'm-1', ...over });

describe('inbound replies', () => {
  it('every reply is one MESSAGE_RECEIVED with its proof (time, number, provider, exact text, provider message id, the message it answered); no classification here', () => {
    expect(receivedEvent('meta', inbound({ text: ' stop! ', contextId: 'wamid.OUT1' }), t)).toEqual({
      eventId: expect.any(String), occurredAt: t, correlationId: 'm-1', causationId: null,
      provider: 'meta', phone: '+6281234567890', kind: 'MESSAGE_RECEIVED', text: ' stop! ',
      subjectId: null, providerMessageId: 'm-1', contextId: 'wamid.OUT1', notificationId: null, pendaftaran_id: null, reason: null, optInRequest: false,
    });
    expect(receivedEvent('twilio', inbound({ text: 'MULAI' }), t)).toMatchObject({ kind: 'MESSAGE_RECEIVED', text: 'MULAI', contextId: null });
    expect(receivedEvent('meta', inbound({ text: '' }), t)).toMatchObject({ kind: 'MESSAGE_RECEIVED', text: null });
  });
  it('the same message gives the same event id whenever it is received; another provider or message gives another', () => {
    const id = (p: 'meta' | 'bird', mid: string, at: number) => receivedEvent(p, inbound({ text: 'STOP', providerMessageId: mid }), at).eventId;
    expect(id('meta', 'x', t)).toBe(id('meta', 'x', t + 86_400_000));
    expect(id('bird', 'x', t)).not.toBe(id('meta', 'x', t));
    expect(id('meta', 'y', t)).not.toBe(id('meta', 'x', t));
  });
  it('keyed by the subject once there is one, else by the number', () => {
    const e = receivedEvent('meta', inbound(), t);
    expect(contactEventKey(e)).toBe('+6281234567890');
    expect(contactEventKey({ ...e, subjectId: 'subj-1' })).toBe('subj-1');
  });
  it('a signed Meta webhook (buttons included) through the Meta provider: its time, its sender, its context', () => {
    const meta = configuredProviders({ META_APP_SECRET: 'unit-app-secret' }, { roles: ['receive'] })[0]!;
    const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: 'WABA', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: '1' }, messages: [
      { from: '6281234567890', id: 'wamid.B', timestamp: '1795312800', type: 'button', context: { from: '6281100000000', id: 'wamid.ASK' }, button: { text: 'MULAI', payload: 'MULAI' } },
      { from: '6281234567890', id: 'wamid.C', timestamp: '1795312801', type: 'text', text: { body: 'Kapan izin saya selesai?' } },
    ] } }] }] });
    const signature = `sha256=${createHmac('sha256', 'unit-app-secret').update(body).digest('hex')}`;
    const r = meta.handleWebhook({ url: 'https://x.test/webhooks/meta', method: 'POST', headers: { 'x-hub-signature-256': signature }, rawBody: Buffer.from(body), query: {} }, new Date(t));
    if (!r.ok) throw new Error(r.reason);
    const { contacts, statuses } = trackerEvents({ provider: 'meta', receivedAt: t }, r.events);
    expect(statuses).toEqual([]);
    expect(contacts.map((e) => [e.kind, e.phone, e.provider, e.occurredAt, e.text, e.providerMessageId, e.contextId])).toEqual([
      ['MESSAGE_RECEIVED', '+6281234567890', 'meta', 1795312800000, 'MULAI', 'wamid.B', 'wamid.ASK'],
      ['MESSAGE_RECEIVED', '+6281234567890', 'meta', 1795312801000, 'Kapan izin saya selesai?', 'wamid.C', null],
    ]);
  });
});
