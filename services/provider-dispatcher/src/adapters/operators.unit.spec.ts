import type { NotificationDispatchRecorded } from '@sicantik/schemas';
import { inDoubtReport, type OperatorDeps } from './operators';

// The in-doubt list is read from the whole changelog, whose partitions arrive in any
// order; claims of one batch share their time. Two reads must list the same order.
const record = (id: string, at: number): NotificationDispatchRecorded => ({
  eventId: `e-${id}`, occurredAt: at, correlationId: 'c', causationId: null, notificationId: id, pendaftaran_id: `REG-${id}`, scenario: 'permit_ready',
  templateCode: 'permit_ready', templateVersion: 1, recipientKind: 'APPLICANT', phoneMasked: '+62812****7890', provider: 'meta', attempt: 1, status: 'IN_DOUBT',
  providerMessageId: null, errorCode: null, reason: 'interrupted', routeReason: null, routeDetail: null,
} as unknown as NotificationDispatchRecorded);

const report = (order: string[]) => inDoubtReport({ inDoubt: async () => new Map(order.map((id) => [id, record(id, id === 'a' ? 2 : 1)])) } as unknown as OperatorDeps);

describe('inDoubtReport', () => {
  it('lists by time, then by notification id, whatever order the changelog gave', async () => {
    const ids = async (order: string[]) => (await report(order)).items.map((i) => i.notificationId);
    expect(await ids(['c', 'a', 'b', 'd'])).toEqual(['b', 'c', 'd', 'a']);
    expect(await ids(['d', 'b', 'a', 'c'])).toEqual(['b', 'c', 'd', 'a']);
  });
});
