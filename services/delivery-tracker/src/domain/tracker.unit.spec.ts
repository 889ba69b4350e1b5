import fc from 'fast-check';
import type { StatusEvent } from '@sicantik/providers';
import { PROVIDER_NAMES } from '@sicantik/providers';
import { trackerEvents, type Reception } from './webhookEvents';
import { RANK, STATES, advance, anomaliesOf, fromDelivery, fromDispatch, type MessageState } from './notificationStatus';

const at = (iso: string) => new Date(iso);
const reception = (over: Partial<Reception> = {}): Reception => ({ provider: 'meta', receivedAt: Date.parse('2026-11-22T03:00:00Z'), ...over });
const status = (over: Partial<StatusEvent> = {}): StatusEvent => ({ kind: 'status', providerMessageId: 'wamid.1', status: 'delivered', ...over });

describe('provider statuses -> delivery.status', () => {
  it('maps every status with the provider, the provider time and the error', () => {
    const r = reception({ provider: 'vonage' });
    const { statuses, contacts } = trackerEvents(r, [
      status({ providerMessageId: 'm1', status: 'sent', at: at('2026-11-22T02:00:00Z') }),
      status({ providerMessageId: 'm1', status: 'delivered', at: at('2026-11-22T02:00:01Z') }),
      status({ providerMessageId: 'm1', status: 'read', at: at('2026-11-22T02:00:02Z') }),
      status({ providerMessageId: 'm1', status: 'failed', at: at('2026-11-22T02:00:03Z'), errorCode: 'vonage:1300', reason: 'Not part of the provider network', disposition: 'permanent' }),
    ]);
    expect(contacts).toEqual([]);
    expect(statuses.map((e) => [e.provider, e.providerMessageId, e.correlationId, e.status, e.providerTimestamp, e.occurredAt, e.receivedAt, e.errorCode, e.errorTitle])).toEqual([
      ['vonage', 'm1', 'm1', 'SENT', Date.parse('2026-11-22T02:00:00Z'), Date.parse('2026-11-22T02:00:00Z'), r.receivedAt, null, null],
      ['vonage', 'm1', 'm1', 'DELIVERED', Date.parse('2026-11-22T02:00:01Z'), Date.parse('2026-11-22T02:00:01Z'), r.receivedAt, null, null],
      ['vonage', 'm1', 'm1', 'READ', Date.parse('2026-11-22T02:00:02Z'), Date.parse('2026-11-22T02:00:02Z'), r.receivedAt, null, null],
      ['vonage', 'm1', 'm1', 'FAILED', Date.parse('2026-11-22T02:00:03Z'), Date.parse('2026-11-22T02:00:03Z'), r.receivedAt, 'vonage:1300', 'Not part of the provider network'],
    ]);
    expect(new Set(statuses.map((e) => e.eventId)).size).toBe(4);
  });

  it('without a provider time (Twilio): the time is when this request was received; a redelivery has the same id and its own later time', () => {
    const e = status({ providerMessageId: 'SM1' });
    const first = Date.parse('2026-11-22T02:59:00Z');
    const [ev] = trackerEvents(reception({ provider: 'twilio', receivedAt: first }), [e]).statuses;
    expect([ev!.providerTimestamp, ev!.receivedAt, ev!.occurredAt]).toEqual([null, first, first]);
    // Nothing is remembered between requests (any receiver instance may take the redelivery).
    const [again] = trackerEvents(reception({ provider: 'twilio' }), [e]).statuses;
    expect([again!.receivedAt, again!.occurredAt, again!.eventId]).toEqual([reception().receivedAt, reception().receivedAt, ev!.eventId]);
  });

  const statusArb = fc.record({
    provider: fc.constantFrom(...PROVIDER_NAMES), id: fc.string({ minLength: 1, maxLength: 20 }), status: fc.constantFrom<StatusEvent['status']>('sent', 'delivered', 'read', 'failed'),
    at: fc.option(fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }), { nil: undefined }),
  });
  const idOf = (x: { provider: (typeof PROVIDER_NAMES)[number]; id: string; status: StatusEvent['status']; at: number | undefined }, receivedAt: number) => {
    const e = status({ providerMessageId: x.id, status: x.status, ...(x.at !== undefined ? { at: new Date(x.at) } : {}) });
    return trackerEvents({ provider: x.provider, receivedAt }, [e]).statuses[0]!.eventId;
  };

  it('property: a redelivered or replayed report, received at any time, has the same event id', () => {
    fc.assert(fc.property(statusArb, fc.integer({ min: 0, max: 2e12 }), fc.integer({ min: 0, max: 2e12 }), (x, t1, t2) => {
      expect(idOf(x, t2)).toBe(idOf(x, t1));
    }));
  });

  it('property: reports that differ in provider, message id, status or provider time have different ids', () => {
    fc.assert(fc.property(statusArb, statusArb, (a, b) => {
      fc.pre(a.provider !== b.provider || a.id !== b.id || a.status !== b.status || a.at !== b.at);
      expect(idOf(a, 0)).not.toBe(idOf(b, 0));
    }));
  });
});

describe('statuses only move forward', () => {
  const state = fc.constantFrom<MessageState>(...STATES);
  it('the states and their order', () => {
    expect([...STATES].sort((a, b) => RANK[a] - RANK[b])).toEqual([
      'queued', 'deferred', 'held', 'sending', 'dropped', 'coalesced', 'subject_erased', 'accepted', 'no_report', 'sent', 'skipped', 'failed', 'delivered', 'read',
    ]);
    expect(STATES.map((s) => RANK[s])).toEqual(STATES.map((_, i) => i + 1)); // STATES is in rank order, ranks 1..n
  });
  it('issue 16\'s dispatch statuses: DEFERRED deferred, HELD held, DROPPED dropped, SUBJECT_ERASED subject_erased', () => {
    expect((['DEFERRED', 'HELD', 'DROPPED', 'SUBJECT_ERASED', 'DUPLICATE_SUPPRESSED'] as const).map(fromDispatch)).toEqual(['deferred', 'held', 'dropped', 'subject_erased', undefined]);
  });
  it('a provider\'s acceptance is accepted, never sending; the reconciler\'s NO_REPORT is no_report', () => {
    expect(fromDispatch('ACCEPTED')).toBe('accepted');
    expect((['SENDING', 'RETRY_SCHEDULED', 'IN_DOUBT'] as const).map(fromDispatch)).toEqual(['sending', 'sending', 'sending']);
    expect((['NO_REPORT', 'SENT', 'DELIVERED', 'READ', 'FAILED'] as const).map(fromDelivery)).toEqual(['no_report', 'sent', 'delivered', 'read', 'failed']);
  });
  it('property: the result is the highest-ranked state, whatever the order or repetition', () => {
    fc.assert(fc.property(fc.array(state, { minLength: 1, maxLength: 20 }), (seq) => {
      const final = seq.reduce<MessageState | undefined>((cur, s) => advance(cur, s), undefined)!;
      const max = seq.reduce((a, b) => (RANK[b] > RANK[a] ? b : a));
      expect(final).toBe(max);
      const shuffled = [...seq].reverse();
      expect(shuffled.reduce<MessageState | undefined>((cur, s) => advance(cur, s), undefined)).toBe(final);
    }));
  });
  it('property: never moves backwards', () => {
    fc.assert(fc.property(state, state, (a, b) => { expect(RANK[advance(a, b)]).toBeGreaterThanOrEqual(RANK[a]); }));
  });
});

describe('delivery evidence wins over a failure report', () => {
  // Invariant: the final status is the highest evidence seen, read > delivered > failed > skipped > sent > no_report > accepted >
  // subject_erased > coalesced > dropped > sending > held > deferred > queued (failed and skipped beat queued..sent; the "nothing
  // sent" finals beat every waiting state; the provider's evidence beats them; a delivery or read receipt beats all), in any arrival order.
  const ALL: MessageState[] = ['queued', 'deferred', 'held', 'sending', 'dropped', 'coalesced', 'subject_erased', 'accepted', 'no_report', 'sent', 'delivered', 'read', 'failed', 'skipped'];
  const expected = (seen: MessageState[]): MessageState =>
    (['read', 'delivered', 'failed', 'skipped', 'sent', 'no_report', 'accepted', 'subject_erased', 'coalesced', 'dropped', 'sending', 'held', 'deferred', 'queued'] as const).find((s) => seen.includes(s))!;
  const fold = (seq: MessageState[]) => seq.reduce<MessageState | undefined>((cur, s) => advance(cur, s), undefined)!;
  const permutations = <T>(xs: T[]): T[][] => (xs.length <= 1 ? [xs] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])));

  it.each<[MessageState[], MessageState]>([
    [['sent', 'delivered', 'failed'], 'delivered'],
    [['sent', 'delivered', 'failed', 'read'], 'read'],
    [['sent', 'failed', 'read'], 'read'],
    [['failed', 'delivered'], 'delivered'],
    [['sending', 'failed', 'sent'], 'failed'],
    [['queued', 'failed'], 'failed'],
    [['sending', 'skipped'], 'skipped'],
    [['skipped', 'sending', 'queued'], 'skipped'],
    [['skipped', 'failed'], 'failed'],
    [['skipped', 'delivered'], 'delivered'],
    [['sending', 'accepted'], 'accepted'],
    [['accepted', 'sending', 'queued'], 'accepted'],
    [['accepted', 'no_report'], 'no_report'],
    [['no_report', 'accepted', 'sending'], 'no_report'],
    [['accepted', 'no_report', 'sent'], 'sent'],
    [['no_report', 'delivered'], 'delivered'],
    [['no_report', 'read', 'accepted'], 'read'],
    [['accepted', 'no_report', 'failed'], 'failed'],
    [['accepted', 'failed'], 'failed'],
    // issue 16: a deferred or held one released goes on to sending; finals beat waiting ones; the provider's evidence beats them
    [['queued', 'deferred'], 'deferred'],
    [['held', 'deferred'], 'held'],
    [['deferred', 'held', 'sending'], 'sending'],
    [['sending', 'held', 'deferred'], 'sending'],
    [['held', 'dropped'], 'dropped'],
    [['dropped', 'held', 'deferred', 'sending'], 'dropped'],
    [['deferred', 'dropped', 'coalesced'], 'coalesced'],
    [['sending', 'subject_erased', 'held'], 'subject_erased'],
    [['coalesced', 'accepted'], 'accepted'],
    [['coalesced', 'sent'], 'sent'],
    [['subject_erased', 'failed'], 'failed'],
    [['dropped', 'delivered'], 'delivered'],
  ])('%j ends %s', (seq, want) => { expect(fold(seq)).toBe(want); });

  it('property: every permutation of any set of states (with repeats) ends at the highest evidence', () => {
    // Sets of up to 6 of the 9 states, one of them maybe repeated (at most 5040 orders each); the examples above cover larger sets.
    fc.assert(fc.property(fc.shuffledSubarray(ALL, { minLength: 1, maxLength: 6 }), fc.array(fc.constantFrom(...ALL), { maxLength: 1 }), (set, extra) => {
      const seen = [...set, ...extra.filter((s) => set.includes(s))];
      for (const p of permutations(seen)) expect(fold(p)).toBe(expected(set));
    }));
  });

  it('a failure together with delivery evidence is an anomaly, whatever the order; alone it is none', () => {
    expect(anomaliesOf(['sent', 'delivered', 'failed'])).toEqual(['failed_but_delivered']);
    expect(anomaliesOf(['failed', 'read'])).toEqual(['failed_but_delivered']);
    expect(anomaliesOf(['sent', 'failed'])).toEqual([]);
    expect(anomaliesOf(['sent', 'delivered', 'read'])).toEqual([]);
    fc.assert(fc.property(fc.shuffledSubarray(ALL, { minLength: 1, maxLength: 6 }), (set) => {
      const want = set.includes('failed') && (set.includes('delivered') || set.includes('read')) ? ['failed_but_delivered'] : [];
      for (const p of permutations(set)) expect(anomaliesOf(p)).toEqual(want);
    }));
  });
});
