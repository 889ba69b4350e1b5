import type { DeliveryStatusReported, DispatchStatus, NotificationDispatchRecorded, NotificationRequested } from '@sicantik/schemas';
import { dispatchFact, merge, providerStatus, publicView, requestedFact, statusFact, toDoc, EMPTY, type Core } from './model';
import { RebuildFold } from './rebuildFold';

////////// The rebuild's fold: events already on the topics give the new states

const t0 = Date.parse('2026-11-22T02:00:00Z');
const requested = (n: string): NotificationRequested => ({
  eventId: `q-${n}`, occurredAt: t0, correlationId: 'c', causationId: null, notificationId: n, scenario: 'permit_ready', templateCode: 'permit_ready',
  pendaftaran_id: `REG-${n}`, recipient: { kind: 'APPLICANT', id: `REG-${n}`, name: 'Budi', phone: '+6281234567890' }, variables: {}, items: [], locale: 'id',
});
/** A dispatch record as the dispatcher has written it since before the state accepted existed. */
const dispatched = (n: string, status: DispatchStatus, s: number): NotificationDispatchRecorded => ({
  eventId: `d-${n}-${status}`, occurredAt: t0 + s * 1000, correlationId: 'c', causationId: null, notificationId: n, pendaftaran_id: `REG-${n}`,
  scenario: 'permit_ready', templateCode: 'permit_ready', recipientKind: 'APPLICANT', provider: 'meta', status, providerMessageId: status === 'ACCEPTED' ? `wamid.${n}` : null, attempt: 1, errorCode: null, reason: null,
});
const delivery = (wamid: string, status: DeliveryStatusReported['status'], s: number): DeliveryStatusReported => ({
  eventId: `s-${wamid}-${status}`, occurredAt: t0 + s * 1000, correlationId: wamid, causationId: null, provider: 'meta', providerMessageId: wamid,
  status, providerTimestamp: null, receivedAt: t0 + s * 1000, errorCode: null, errorTitle: null,
});

describe('rebuild from the topics', () => {
  it('ACCEPTED records give accepted (not sending), NO_REPORT gives no_report, a late report moves it on; a status for an unknown message waits; the counters are the documents\'', () => {
    const fold = new RebuildFold();
    for (const n of ['a', 'b', 'c']) fold.requested(requested(n));
    for (const n of ['a', 'b', 'c']) fold.dispatched(dispatched(n, 'SENDING', 1));
    const mapped = ['a', 'b', 'c'].map((n) => fold.dispatched(dispatched(n, 'ACCEPTED', 2)));
    expect(mapped).toEqual([{ _id: 'wamid.a', notificationId: 'a' }, { _id: 'wamid.b', notificationId: 'b' }, { _id: 'wamid.c', notificationId: 'c' }]);
    expect(fold.dispatched(dispatched('a', 'ACCEPTED', 2))).toBeUndefined(); // a message id is handed out once
    fold.status(delivery('wamid.b', 'NO_REPORT', 600));
    fold.status(delivery('wamid.c', 'NO_REPORT', 600));
    fold.status(delivery('wamid.c', 'DELIVERED', 900));
    fold.status(delivery('wamid.c', 'DELIVERED', 900)); // twice
    fold.status(delivery('wamid.x', 'SENT', 5));
    const out = fold.output('rebuild.1');
    const byId = new Map(out.notifications.map((d) => [d._id, publicView(d)]));
    expect(byId.get('a')).toMatchObject({ status: 'accepted', statusRank: 3, sendingAt: new Date(t0 + 1000), acceptedAt: new Date(t0 + 2000), providerMessageId: 'wamid.a' });
    expect(byId.get('b')).toMatchObject({ status: 'no_report', statusRank: 4, acceptedAt: new Date(t0 + 2000), noReportAt: new Date(t0 + 600_000) });
    expect(byId.get('c')).toMatchObject({ status: 'delivered', noReportAt: new Date(t0 + 600_000), deliveredAt: new Date(t0 + 900_000) });
    // each document is the live projection's join of the same events
    const live = (facts: Core[]) => toDoc('b', facts.reduce(merge, EMPTY), 'rebuild.1', {});
    expect(out.notifications.find((d) => d._id === 'b')).toEqual(live([requestedFact(requested('b')), dispatchFact(dispatched('b', 'SENDING', 1)), dispatchFact(dispatched('b', 'ACCEPTED', 2)), statusFact(providerStatus(delivery('wamid.b', 'NO_REPORT', 600)))]));
    expect(out.messages).toEqual([{ _id: 'wamid.x' }]);
    expect(out.pending).toEqual([{ _id: 'wamid.x', statuses: [{ eventId: 's-wamid.x-SENT', state: 'sent', at: t0 + 5000, errorCode: null, errorTitle: null }] }]);
    expect(out.notificationStats).toEqual([
      { _id: 'all', appliedBatches: {}, total: 3, byStatus: { accepted: 1, no_report: 1, delivered: 1 }, sent: 1, delivered: 1 },
      { _id: '2026-11-22', appliedBatches: {}, total: 3, byStatus: { accepted: 1, no_report: 1, delivered: 1 }, sent: 1, delivered: 1 },
    ]);
  });

  it('one event id received twice at different times (a redelivery without a provider time) keeps the earliest, as the live join does, in either order', () => {
    for (const times of [[700, 900], [900, 700]]) {
      const fold = new RebuildFold();
      fold.requested(requested('d'));
      fold.dispatched(dispatched('d', 'ACCEPTED', 2));
      for (const s of times) fold.status(delivery('wamid.d', 'DELIVERED', s));
      for (const s of times) fold.status(delivery('wamid.y', 'SENT', s)); // a message not known yet: waits with its earliest time
      const out = fold.output('rebuild.1');
      const live = toDoc('d', [requestedFact(requested('d')), dispatchFact(dispatched('d', 'ACCEPTED', 2)), ...times.map((s) => statusFact(providerStatus(delivery('wamid.d', 'DELIVERED', s))))].reduce(merge, EMPTY), 'rebuild.1', {});
      expect([times, out.notifications.find((d) => d._id === 'd')]).toEqual([times, live]);
      expect([times, publicView(out.notifications.find((d) => d._id === 'd')!)]).toMatchObject([times, { deliveredAt: new Date(t0 + 700_000) }]);
      expect([times, out.pending]).toEqual([times, [{ _id: 'wamid.y', statuses: [{ eventId: 's-wamid.y-SENT', state: 'sent', at: t0 + 700_000, errorCode: null, errorTitle: null }] }]]);
    }
  });
});
