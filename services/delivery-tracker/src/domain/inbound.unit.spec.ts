import fc from 'fast-check';
import { OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, keywordKind, metaContactEvents } from './inbound';

const webhook = (messages: object[]) => ({ object: 'whatsapp_business_account', entry: [{ id: 'WABA', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: '1' }, messages } }] }] });
const at = new Date('2026-11-22T02:00:00Z');

describe('inbound replies', () => {
  it('a STOP reply records the message and an opt-out for that number', () => {
    const evs = metaContactEvents(webhook([{ from: '6281234567890', id: 'wamid.A', timestamp: '1795312800', type: 'text', text: { body: ' stop! ' } }]), at);
    expect(evs.map((e) => [e.kind, e.phone, e.provider, e.occurredAt, e.text])).toEqual([
      ['MESSAGE_RECEIVED', '+6281234567890', 'meta', 1795312800000, ' stop! '],
      ['OPTED_OUT', '+6281234567890', 'meta', 1795312800000, null],
    ]);
    expect(evs[1]!.causationId).toBe(evs[0]!.eventId);
  });
  it('Indonesian keywords and buttons work; ordinary text is only a message', () => {
    expect(keywordKind('Berhenti')).toBe('OPTED_OUT');
    expect(keywordKind('mulai')).toBe('OPTED_IN');
    expect(keywordKind('Stop notifikasi.')).toBe('OPTED_OUT');
    expect(keywordKind('tolong stop dulu ya')).toBeNull();
    const evs = metaContactEvents(webhook([{ from: '6281234567890', id: 'wamid.B', type: 'button', button: { text: 'MULAI', payload: 'MULAI' } }, { from: '6281234567890', id: 'wamid.C', type: 'text', text: { body: 'Kapan izin saya selesai?' } }]), at);
    expect(evs.map((e) => e.kind)).toEqual(['MESSAGE_RECEIVED', 'OPTED_IN', 'MESSAGE_RECEIVED']);
  });
  it('redelivered webhooks give the same event ids; malformed senders are ignored; other objects give nothing', () => {
    const body = webhook([{ from: '6281234567890', id: 'wamid.D', text: { body: 'STOP' } }, { from: 'x', id: 'wamid.E', text: { body: 'STOP' } }]);
    expect(metaContactEvents(body, at).map((e) => e.eventId)).toEqual(metaContactEvents(body, new Date()).map((e) => e.eventId));
    expect(metaContactEvents(body, at)).toHaveLength(2);
    expect(metaContactEvents({ object: 'page' }, at)).toEqual([]);
  });
  it('property: every keyword in any case and padding is recognised, and no text is both', () => {
    fc.assert(fc.property(fc.constantFrom(...OPT_OUT_KEYWORDS, ...OPT_IN_KEYWORDS), fc.boolean(), fc.constantFrom('', ' ', '!', '.'), (k, lower, pad) => {
      const kind = keywordKind(`${pad}${lower ? k.toLowerCase() : k}${pad}`);
      expect(kind).toBe((OPT_OUT_KEYWORDS as readonly string[]).includes(k) ? 'OPTED_OUT' : 'OPTED_IN');
    }));
  });
});
