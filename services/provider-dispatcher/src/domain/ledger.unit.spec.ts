import type { DispatchRetryScheduled, NotificationDispatchRecorded } from '@sicantik/schemas';
import { rendered } from './fixtures.spec';
import { INTERRUPTED, decideDelivery, dispatchEventId, entryOf, type Job } from './ledger';

////////// What one delivery of a notification asks for, given its ledger entry

describe('decideDelivery (pure)', () => {
  const n = rendered();
  const entry = (status: NotificationDispatchRecorded['status'], attempt = 1, extra: Partial<NotificationDispatchRecorded> = {}) =>
    entryOf({ eventId: 'e', occurredAt: 5, correlationId: 'c', causationId: null, notificationId: 'n-1', pendaftaran_id: 'REG-1', scenario: 's', templateCode: 't', recipientKind: 'APPLICANT', provider: 'meta', status, providerMessageId: null, attempt, errorCode: null, reason: null, ...extra });
  const retry = (attempt: number, notBefore = 0, over: Partial<DispatchRetryScheduled> = {}): Job['retry'] => ({ kind: 'SEND', attempt, provider: 'meta', providerAttempt: attempt, excludedProviders: [], notBefore, providerMessageId: null, tier: 1, ...over });

  it('a new notification is an attempt 1 routed afresh; a render failure is skipped', () => {
    expect(decideDelivery({ n }, undefined, undefined, 0)).toEqual({ kind: 'attempt', next: { attempt: 1, excluded: [], preferred: undefined, previous: undefined, fallback: undefined } });
    expect(decideDelivery({ n: rendered('n-1', { outcome: 'FAILED' }) }, undefined, undefined, 0)).toMatchObject({ kind: 'skip' });
  });
  it.each(['ACCEPTED', 'FAILED', 'IN_DOUBT', 'SKIPPED'] as const)('%s is emitted again with its event id (restored), skipped (written here), never re-sent', (s) => {
    const e = entry(s, 2, { providerMessageId: s === 'ACCEPTED' ? 'wamid.1' : null })!;
    expect(decideDelivery({ n }, e, undefined, 99)).toMatchObject({ kind: 'reemit', record: { status: s, attempt: 2, eventId: dispatchEventId('n-1', s, 2), occurredAt: 5 } });
    expect(decideDelivery({ n }, { ...e, local: true }, undefined, 99)).toMatchObject({ kind: 'skip' });
    expect(decideDelivery({ n, retry: retry(3) }, e, undefined, 99)).toMatchObject({ kind: 'skip' });
  });
  it('a claim without an outcome becomes IN_DOUBT, recorded, never re-sent', () => {
    expect(decideDelivery({ n }, entry('SENDING', 2), undefined, 7)).toMatchObject({ kind: 'record', record: { status: 'IN_DOUBT', attempt: 2, reason: INTERRUPTED } });
  });
  it('a retry record for the next attempt proves the claimed attempt failed retriably (it is written only after such an answer)', () => {
    expect(decideDelivery({ n, retry: retry(3, 10) }, entry('SENDING', 2), undefined, 20)).toMatchObject({ kind: 'attempt', next: { attempt: 3, preferred: 'meta', previous: { provider: 'meta', providerAttempt: 2 } } });
    // Its own attempt claimed and never answered (killed mid-call): in doubt, whichever delivery finds it.
    expect(decideDelivery({ n, retry: retry(2, 10) }, entry('SENDING', 2), undefined, 20)).toMatchObject({ kind: 'record', record: { status: 'IN_DOUBT', attempt: 2 } });
  });
  it('a scheduled retry is owned by its retry record: the rendered record only re-emits; the record waits for its time, then makes the next attempt', () => {
    const e = entry('RETRY_SCHEDULED', 1, { notBefore: 500, nextProvider: 'meta', providerAttempt: 1, disposition: 'retry' })!;
    expect(decideDelivery({ n }, e, undefined, 0)).toMatchObject({ kind: 'reemit' });
    expect(decideDelivery({ n, retry: retry(2, 500) }, e, undefined, 499)).toEqual({ kind: 'notDue', until: 500 });
    expect(decideDelivery({ n, retry: retry(2, 500) }, e, undefined, 500)).toMatchObject({ kind: 'attempt', next: { attempt: 2, preferred: 'meta' } });
    expect(decideDelivery({ n, retry: retry(1, 500) }, e, undefined, 500)).toMatchObject({ kind: 'skip' }); // stale
  });
  it('a fallback (RETRY_SCHEDULED without a time) is due at once on any delivery, with the failed provider excluded', () => {
    const e = entry('RETRY_SCHEDULED', 1, { excludedProviders: ['meta'], disposition: 'fallback', errorCode: 'meta:131047', reason: 're-engagement' })!;
    expect(decideDelivery({ n }, e, undefined, 0)).toEqual({ kind: 'attempt', next: { attempt: 2, excluded: ['meta'], preferred: undefined, previous: { provider: 'meta', providerAttempt: 1 }, fallback: { from: 'meta', because: 'meta:131047: re-engagement' } } });
  });
  it('an entry from before retry topics (RETRY_SCHEDULED without a time) is retried on its provider, as before', () => {
    expect(decideDelivery({ n }, entry('RETRY_SCHEDULED', 2), undefined, 0)).toMatchObject({ kind: 'attempt', next: { attempt: 3, preferred: 'meta', previous: { provider: 'meta', providerAttempt: 2 }, fallback: undefined } });
  });
  it('an outcome known but not yet recorded is recorded, not reported in doubt; a stale one is ignored', () => {
    const known = { ...(decideDelivery({ n }, entry('ACCEPTED'), undefined, 0) as { record: NotificationDispatchRecorded }) };
    expect(decideDelivery({ n }, entry('SENDING', 1), known.record, 0)).toEqual({ kind: 'record', record: known.record });
    expect(decideDelivery({ n }, entry('ACCEPTED', 2), known.record, 0)).toMatchObject({ kind: 'reemit', record: { attempt: 2 } });
  });
});
