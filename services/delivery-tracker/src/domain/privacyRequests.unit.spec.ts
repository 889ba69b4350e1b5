import { PRIVACY_DEADLINE_MS, answeredRequest, applyPrivacyRequest, openRequests, receivedRequest, requestCounts, retentionRequestId, type PrivacyRequests } from './privacyRequests';

////////// Access and erasure requests: recorded with their deadline (3 x 24 h), listed while open.

const t0 = Date.parse('2026-12-07T03:00:00Z');
const H = 3_600_000;

describe('privacy requests', () => {
  it('a received request is due 3 x 24 hours after it arrived', () => {
    const r = receivedRequest({ requestId: 'r1', kind: 'ERASURE', receivedAt: t0, subjectId: null, detail: null });
    expect([r.status, r.receivedAt, r.deadline, r.deadline - r.receivedAt, r.correlationId, r.causationId]).toEqual(['RECEIVED', t0, Date.parse('2026-12-10T03:00:00Z'), PRIVACY_DEADLINE_MS, 'privacy:r1', null]);
  });

  it('its answer keeps the receive time and deadline, names the subject and is caused by it; ids are deterministic', () => {
    const r = receivedRequest({ requestId: 'r1', kind: 'ERASURE', receivedAt: t0, subjectId: null, detail: null });
    const a = answeredRequest(r, { at: t0 + 5, status: 'DONE', subjectId: 's-1', detail: 'erased' });
    expect({ ...a, eventId: undefined }).toEqual({ ...r, eventId: undefined, occurredAt: t0 + 5, causationId: r.eventId, subjectId: 's-1', status: 'DONE', detail: 'erased' });
    expect([a.eventId === r.eventId, receivedRequest({ requestId: 'r1', kind: 'ERASURE', receivedAt: t0, subjectId: null, detail: null }).eventId === r.eventId]).toEqual([false, true]);
  });

  it('lists the open ones, nearest deadline first, with the hours left and whether late; answered ones only in the counts', () => {
    const s: PrivacyRequests = new Map();
    const a = receivedRequest({ requestId: 'a', kind: 'ACCESS', receivedAt: t0, subjectId: null, detail: 'later' });
    const b = receivedRequest({ requestId: 'b', kind: 'ERASURE', receivedAt: t0 - 80 * H, subjectId: null, detail: null });
    const c = receivedRequest({ requestId: 'c', kind: 'ERASURE', receivedAt: t0 - H, subjectId: null, detail: null });
    for (const r of [a, b, c, answeredRequest(c, { at: t0, status: 'NO_SUBJECT', subjectId: null, detail: null })]) applyPrivacyRequest(s, r);
    expect(openRequests(s, t0 + 30 * 60_000)).toEqual([
      { requestId: 'b', kind: 'ERASURE', subjectId: null, receivedAt: '2026-12-03T19:00:00.000Z', deadline: '2026-12-06T19:00:00.000Z', hoursLeft: -9, overdue: true, detail: null },
      { requestId: 'a', kind: 'ACCESS', subjectId: null, receivedAt: '2026-12-07T03:00:00.000Z', deadline: '2026-12-10T03:00:00.000Z', hoursLeft: 71, overdue: false, detail: 'later' },
    ]);
    expect(requestCounts(s)).toEqual({ 'ACCESS.RECEIVED': 1, 'ERASURE.RECEIVED': 1, 'ERASURE.NO_SUBJECT': 1 });
  });

  it('an answered request stays answered when its RECEIVED record is read again', () => {
    const s: PrivacyRequests = new Map();
    const r = receivedRequest({ requestId: 'r', kind: 'ERASURE', receivedAt: t0, subjectId: null, detail: null });
    for (const x of [r, answeredRequest(r, { at: t0 + 1, status: 'DONE', subjectId: 's', detail: null }), r]) applyPrivacyRequest(s, x);
    expect([openRequests(s, t0), s.get('r')!.status]).toEqual([[], 'DONE']);
  });
  it('a key expiry is an ERASURE with reason RETENTION, one request id per subject, counted apart', () => {
    const s: PrivacyRequests = new Map();
    const r = receivedRequest({ requestId: retentionRequestId('subj-1'), kind: 'ERASURE', reason: 'RETENTION', receivedAt: 1000, subjectId: 'subj-1', detail: 'why' });
    expect(retentionRequestId('subj-1')).toBe(retentionRequestId('subj-1'));
    expect(retentionRequestId('subj-1')).not.toBe(retentionRequestId('subj-2'));
    expect([r.reason, r.subjectId, r.status, r.deadline]).toEqual(['RETENTION', 'subj-1', 'RECEIVED', 1000 + PRIVACY_DEADLINE_MS]);
    const done = answeredRequest(r, { at: 2000, status: 'DONE', subjectId: 'subj-1', detail: 'why' });
    expect(done.reason).toBe('RETENTION');
    applyPrivacyRequest(s, done);
    applyPrivacyRequest(s, receivedRequest({ requestId: 'req-1', kind: 'ERASURE', receivedAt: 1000, subjectId: null, detail: null }));
    expect(requestCounts(s)).toEqual({ 'ERASURE.RETENTION.DONE': 1, 'ERASURE.RECEIVED': 1 });
  });
});
