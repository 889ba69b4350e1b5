import { messageRef } from '@sicantik/privacy';
import type { NotificationDispatchRecorded } from '@sicantik/schemas';
import type { DispatchMessage } from '../domain/records';
import { messageRefFn, withMessageRefs } from './messageRefs';

const KEY = Buffer.alloc(32, 7);
const record = (over: Partial<NotificationDispatchRecorded>): NotificationDispatchRecorded => ({
  eventId: 'd-1', occurredAt: 1, correlationId: 'c', causationId: null, notificationId: 'n1', pendaftaran_id: 'REG-1', scenario: 'permit_ready', templateCode: 'permit_ready',
  recipientKind: 'APPLICANT', provider: 'meta', status: 'ACCEPTED', providerMessageId: 'wamid.1', attempt: 1, errorCode: null, reason: null, ...over,
});

describe('providerMessageRef on dispatch records', () => {
  it('is filled in on notification.dispatch and dispatch.ledger records with a provider message id, and only there', () => {
    const ref = messageRef(KEY, 'meta', 'wamid.1');
    const accepted = record({});
    const sending = record({ status: 'SENDING', providerMessageId: null });
    const out = withMessageRefs([
      { topic: 'notification.dispatch', key: 'REG-1', value: accepted },
      { topic: 'dispatch.ledger', key: 'n1', value: accepted, partition: 0 },
      { topic: 'notification.dispatch', key: 'REG-1', value: sending },
      { topic: 'notification.dispatch', key: 'REG-1', value: record({ providerMessageRef: 'kept' }) },
    ] as DispatchMessage[], messageRefFn(KEY));
    expect(out.map((m) => (m.value as NotificationDispatchRecorded).providerMessageRef)).toEqual([ref, ref, undefined, 'kept']);
    expect(out[2]!.value).toBe(sending);
    expect(accepted.providerMessageRef).toBeUndefined(); // the core's record is not changed
  });
});
