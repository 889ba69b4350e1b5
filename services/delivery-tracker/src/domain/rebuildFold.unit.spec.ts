import type { DeliveryStatusReported, DispatchStatus, NotificationDispatchRecorded, NotificationRequested } from '@sicantik/schemas';
import { ERASED, EXPIRED, decisionFact, dispatchFact, merge, providerStatus, publicView, requestedFact, statusFact, toDoc, EMPTY, type Core, type MessageRefOf } from './model';
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

/** The adapter's ref (an HMAC with the index key) stood in for by a readable one; an erased id has none. */
const refOf: MessageRefOf = (provider, id) => (id === '[erased]' ? undefined : `ref:${provider}:${id}`);
const mref = (id: string) => refOf('meta', id)!;

describe('rebuild from the topics', () => {
  it('joins statuses to their notification by providerMessageRef, also when the id reads as erased; a record without a ref by the ref of its plaintext id; an erased id without a ref joins nothing', () => {
    const fold = new RebuildFold(refOf);
    for (const n of ['r', 'p', 'x']) fold.requested(requested(n));
    // erased subject: the id reads as erased, the ref (written by the dispatcher) stays
    expect(fold.dispatched({ ...dispatched('r', 'ACCEPTED', 2), providerMessageId: '[erased]', providerMessageRef: mref('wamid.r') })).toEqual({ _id: mref('wamid.r'), notificationId: 'r' });
    // written before the ref existed: joined by the ref of its plaintext id
    expect(fold.dispatched(dispatched('p', 'ACCEPTED', 2))).toEqual({ _id: mref('wamid.p'), notificationId: 'p' });
    // neither a ref nor a readable id: no join
    expect(fold.dispatched({ ...dispatched('x', 'ACCEPTED', 2), providerMessageId: '[erased]' })).toBeUndefined();
    for (const w of ['wamid.r', 'wamid.p', 'wamid.x']) fold.status(delivery(w, 'DELIVERED', 9));
    const out = fold.output('rebuild.1');
    const byId = new Map(out.notifications.map((d) => [d._id, publicView(d)]));
    expect([byId.get('r')?.status, byId.get('p')?.status, byId.get('x')?.status]).toEqual(['delivered', 'delivered', 'accepted']);
    expect(out.pending.map((p) => p._id)).toEqual([mref('wamid.x')]);
  });

  it('ACCEPTED records give accepted (not sending), NO_REPORT gives no_report, a late report moves it on; a status for an unknown message waits; the counters are the documents\'', () => {
    const fold = new RebuildFold(refOf);
    for (const n of ['a', 'b', 'c']) fold.requested(requested(n));
    for (const n of ['a', 'b', 'c']) fold.dispatched(dispatched(n, 'SENDING', 1));
    const mapped = ['a', 'b', 'c'].map((n) => fold.dispatched(dispatched(n, 'ACCEPTED', 2)));
    expect(mapped).toEqual([{ _id: mref('wamid.a'), notificationId: 'a' }, { _id: mref('wamid.b'), notificationId: 'b' }, { _id: mref('wamid.c'), notificationId: 'c' }]);
    expect(fold.dispatched(dispatched('a', 'ACCEPTED', 2))).toBeUndefined(); // a message id is handed out once
    fold.status(delivery('wamid.b', 'NO_REPORT', 600));
    fold.status(delivery('wamid.c', 'NO_REPORT', 600));
    fold.status(delivery('wamid.c', 'DELIVERED', 900));
    fold.status(delivery('wamid.c', 'DELIVERED', 900)); // twice
    fold.status(delivery('wamid.x', 'SENT', 5));
    const out = fold.output('rebuild.1');
    const byId = new Map(out.notifications.map((d) => [d._id, publicView(d)]));
    expect(byId.get('a')).toMatchObject({ status: 'accepted', statusRank: 8, sendingAt: new Date(t0 + 1000), acceptedAt: new Date(t0 + 2000), providerMessageId: 'wamid.a' });
    expect(byId.get('b')).toMatchObject({ status: 'no_report', statusRank: 9, acceptedAt: new Date(t0 + 2000), noReportAt: new Date(t0 + 600_000) });
    expect(byId.get('c')).toMatchObject({ status: 'delivered', noReportAt: new Date(t0 + 600_000), deliveredAt: new Date(t0 + 900_000) });
    // each document is the live projection's join of the same events
    const live = (facts: Core[]) => toDoc('b', facts.reduce(merge, EMPTY), 'rebuild.1', {});
    expect(out.notifications.find((d) => d._id === 'b')).toEqual(live([requestedFact(requested('b')), dispatchFact(dispatched('b', 'SENDING', 1)), dispatchFact(dispatched('b', 'ACCEPTED', 2)), statusFact(providerStatus(delivery('wamid.b', 'NO_REPORT', 600)))]));
    expect(out.messages).toEqual([{ _id: mref('wamid.x') }]);
    expect(out.pending).toEqual([{ _id: mref('wamid.x'), statuses: [{ eventId: 's-wamid.x-SENT', state: 'sent', at: t0 + 5000, errorCode: null, errorTitle: null }] }]);
    expect(out.notificationStats).toEqual([
      { _id: 'all', appliedBatches: {}, total: 3, byStatus: { accepted: 1, no_report: 1, delivered: 1 }, sent: 1, delivered: 1 },
      { _id: '2026-11-22', appliedBatches: {}, total: 3, byStatus: { accepted: 1, no_report: 1, delivered: 1 }, sent: 1, delivered: 1 },
    ]);
  });

  it('one event id received twice at different times (a redelivery without a provider time) keeps the earliest, as the live join does, in either order', () => {
    for (const times of [[700, 900], [900, 700]]) {
      const fold = new RebuildFold(refOf);
      fold.requested(requested('d'));
      fold.dispatched(dispatched('d', 'ACCEPTED', 2));
      for (const s of times) fold.status(delivery('wamid.d', 'DELIVERED', s));
      for (const s of times) fold.status(delivery('wamid.y', 'SENT', s)); // a message not known yet: waits with its earliest time
      const out = fold.output('rebuild.1');
      const live = toDoc('d', [requestedFact(requested('d')), dispatchFact(dispatched('d', 'ACCEPTED', 2)), ...times.map((s) => statusFact(providerStatus(delivery('wamid.d', 'DELIVERED', s))))].reduce(merge, EMPTY), 'rebuild.1', {});
      expect([times, out.notifications.find((d) => d._id === 'd')]).toEqual([times, live]);
      expect([times, publicView(out.notifications.find((d) => d._id === 'd')!)]).toMatchObject([times, { deliveredAt: new Date(t0 + 700_000) }]);
      expect([times, out.pending]).toEqual([times, [{ _id: mref('wamid.y'), statuses: [{ eventId: 's-wamid.y-SENT', state: 'sent', at: t0 + 700_000, errorCode: null, errorTitle: null }] }]]);
    }
  });

  it('erasures (wherever they stand on privacy.requests) and the retention cut-off are applied as the live projection applies them; COALESCED decisions make their notification coalesced; the counters stay', () => {
    const withSubject = (n: string, subjectId: string) => ({ ...requested(n), recipient: { ...requested(n).recipient, subjectId } });
    const erasure = (subjectId: string) => ({ eventId: `e-${subjectId}`, occurredAt: t0, correlationId: 'c', causationId: null, requestId: `r-${subjectId}`, kind: 'ERASURE' as const, subjectId, receivedAt: t0, deadline: t0 + 3 * 86_400_000, status: 'DONE' as const, detail: null });
    const fold = new RebuildFold(refOf);
    fold.privacy(erasure('s-1')); // before the subject's events
    fold.privacy({ ...erasure('s-9'), kind: 'ACCESS' }); // an access request changes nothing
    fold.privacy({ ...erasure('s-9'), status: 'RECEIVED', reason: 'RETENTION' }); // nor does a key expiry not yet DONE
    fold.privacy({ ...erasure('s-9'), status: 'KEPT', reason: 'RETENTION' }); // or one that ended KEPT
    fold.requested(withSubject('e1', 's-1'));
    fold.dispatched({ ...dispatched('e1', 'ACCEPTED', 2), subjectId: 's-1' });
    fold.requested(withSubject('e2', 's-2'));
    fold.dispatched({ ...dispatched('e2', 'ACCEPTED', 2), subjectId: 's-2' });
    fold.privacy(erasure('s-2')); // after them
    fold.requested(withSubject('k1', 's-9'));
    fold.requested({ ...withSubject('old', 's-9'), occurredAt: t0 - 500 * 86_400_000 });
    fold.requested(withSubject('co', 's-9'));
    const coalesced = { eventId: 'p-co', occurredAt: t0 + 1000, correlationId: 'c', causationId: null, decision: 'COALESCED' as const, scenario: 'status_update', pendaftaran_id: 'REG-co', notificationId: 'co', recipientKind: 'APPLICANT', recipientId: 'REG-co', reason: 'carried', reasonCode: null, notBefore: null, carriedBy: 'k1' };
    expect(fold.decision(coalesced)).toMatchObject({ _id: 'p-co', decision: 'COALESCED', carriedBy: 'k1' });
    const out = fold.output('rebuild.1', t0 - 400 * 86_400_000);
    const byId = new Map(out.notifications.map((d) => [d._id, publicView(d)]));
    for (const n of ['e1', 'e2']) {
      expect(byId.get(n)).toMatchObject({ status: 'accepted', anonymised: ['erasure'] });
      expect(byId.get(n)).not.toHaveProperty('subjectId');
      expect(byId.get(n)).not.toHaveProperty('providerMessageId');
    }
    expect(byId.get('k1')).toMatchObject({ status: 'queued', subjectId: 's-9' });
    expect(byId.get('k1')).not.toHaveProperty('anonymised');
    expect(byId.get('old')).toMatchObject({ status: 'queued', anonymised: ['retention'] });
    expect(byId.get('old')).not.toHaveProperty('subjectId');
    expect(byId.get('co')).toMatchObject({ status: 'coalesced', carriedBy: 'k1', coalescedAt: new Date(t0 + 1000) });
    expect(out.erasedSubjects).toEqual([{ _id: 's-1' }, { _id: 's-2' }]);
    // each is the live join with the rules' facts merged in
    expect(out.notifications.find((d) => d._id === 'e1')).toEqual(toDoc('e1', [requestedFact(withSubject('e1', 's-1')), dispatchFact({ ...dispatched('e1', 'ACCEPTED', 2), subjectId: 's-1' }), ERASED].reduce(merge, EMPTY), 'rebuild.1', {}));
    expect(out.notifications.find((d) => d._id === 'co')).toEqual(toDoc('co', [decisionFact(coalesced)!, requestedFact(withSubject('co', 's-9'))].reduce(merge, EMPTY), 'rebuild.1', {}));
    expect(out.notifications.find((d) => d._id === 'old')).toEqual(toDoc('old', [EXPIRED, requestedFact({ ...withSubject('old', 's-9'), occurredAt: t0 - 500 * 86_400_000 })].reduce(merge, EMPTY), 'rebuild.1', {}));
    expect(out.notificationStats.find((d) => d._id === 'all')).toEqual({ _id: 'all', appliedBatches: {}, total: 5, byStatus: { accepted: 2, queued: 2, coalesced: 1 } });
  });
});
