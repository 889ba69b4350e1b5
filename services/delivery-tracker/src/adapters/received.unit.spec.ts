import { messageRef } from '@sicantik/privacy';
import type { ContactEvent } from '@sicantik/schemas';
import { trackerEvents } from '../domain/webhookEvents';
import { contactRecord, statusRecord } from './received';

const KEY = Buffer.alloc(32, 7);
// A Meta-style id: base64 of bytes that hold the recipient's digits (tools/provider-simulator meta.ts).
const digits = '6281277889900';
const WAMID = `wamid.${Buffer.concat([Buffer.from([0x1c, 0x18, digits.length]), Buffer.from(digits), Buffer.from([0x15, 0x02, 0x00, 0x11, 0x18, 0x09]), Buffer.from('3EB0A1B2C'), Buffer.from([0x00])]).toString('base64')}`;
const at = Date.parse('2026-11-22T03:00:00Z');

describe('what the webhook receiver writes', () => {
  it('a delivery status names its message only by the ref of its id: key, correlationId, providerMessageRef and providerMessageId', () => {
    const { statuses } = trackerEvents({ provider: 'meta', receivedAt: at }, [{ kind: 'status', providerMessageId: WAMID, status: 'failed', at: new Date(at - 1000), errorCode: 'meta:131026', reason: 'Message undeliverable' }]);
    const ref = messageRef(KEY, 'meta', WAMID);
    const r = statusRecord(KEY, statuses[0]!);
    expect(r).toEqual({ key: ref, value: { ...statuses[0]!, correlationId: ref, providerMessageId: ref, providerMessageRef: ref } });
    // The event id is unchanged (derived from the id: a redelivery is the same event), and is no copy of it.
    expect(r.value.eventId).toBe(statuses[0]!.eventId);
    const written = JSON.stringify(r);
    expect([written.includes(WAMID), written.includes(digits)]).toEqual([false, false]);
  });

  it('the ref is per provider: the same id from two providers gives two refs', () => {
    const { statuses } = trackerEvents({ provider: 'twilio', receivedAt: at }, [{ kind: 'status', providerMessageId: 'SM1', status: 'delivered' }]);
    expect(statusRecord(KEY, statuses[0]!).key).not.toBe(statusRecord(KEY, { ...statuses[0]!, provider: 'vonage' }).key);
  });

  it('an inbound message is keyed by its subject and correlated by the ref of its id (the id itself is encrypted by the codec)', () => {
    const { contacts } = trackerEvents({ provider: 'meta', receivedAt: at }, [{ kind: 'inbound', fromE164: `+${digits}`, text: 'MULAI', providerMessageId: WAMID }]);
    const e: ContactEvent = contacts[0]!;
    expect(e.correlationId).toBe(WAMID); // the pure event, before the receiver writes it
    expect(contactRecord(KEY, e, 'subj-1')).toEqual({ key: 'subj-1', value: { ...e, subjectId: 'subj-1', correlationId: messageRef(KEY, 'meta', WAMID) } });
  });
});
