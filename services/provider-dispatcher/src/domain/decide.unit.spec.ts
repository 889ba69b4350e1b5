import type { ProviderName } from '@sicantik/providers';
import type { DispatchRetryScheduled, NotificationDispatchRecorded } from '@sicantik/schemas';
import { ERASED_FIELD, decide, initialState, type Command, type DispatchState, type Input, type Policy, type Step } from './decide';
import { ContactBook } from './contacts';
import { contactsOf, doubt, fail, ok, PHONE, policy, rendered } from './fixtures.spec';
import type { SendRule } from './gate';
import { dispatchRecord, PartitionLedger } from './ledger';
import { Pacer, parseRates } from './pacing';

////////// The core, given a ledger and a state, when an input arrives: then these records and commands

const P = 3;
const T0 = 1_000_000;
const none = new Map<ProviderName, number>();

/** A ledger restored from these records, and a fresh state. */
function given(records: NotificationDispatchRecorded[] = [], over: Partial<Policy> = {}, pacer?: Pacer) {
  const ledger = new PartitionLedger();
  for (const r of records) ledger.restore(r);
  const p = pacer ?? new Pacer({ rates: new Map(), pairRates: new Map(), quotas: new Map(), partitions: 4 });
  const state: DispatchState = initialState(policy(over), p, contactsOf());
  decide(state, { kind: 'assigned', owned: [0, 1, 2, 3] });
  return { state, ledger };
}
const whenRendered = (g: ReturnType<typeof given>, ids = ['n-1'], at = T0): Step =>
  decide(g.state, { kind: 'rendered', partition: P, ledger: g.ledger, notifications: ids.map((id) => rendered(id)), at, openCircuits: none });
const whenRetryDue = (g: ReturnType<typeof given>, r: DispatchRetryScheduled, at: number): Step =>
  decide(g.state, { kind: 'retries', partition: P, ledger: g.ledger, records: [r], at, openCircuits: none });
const when = (g: ReturnType<typeof given>, input: Input): Step => decide(g.state, input);
const written = (g: ReturnType<typeof given>): Step => decide(g.state, { kind: 'written', partition: P });
const answer = (g: ReturnType<typeof given>, ref: number, result: Extract<Input, { kind: 'answer' }>['result'], at = T0 + 10): Step =>
  decide(g.state, { kind: 'answer', partition: P, ref, result, at, openCircuits: none });

/** A write as lines: topic, status (or kind), attempt, provider. */
const lines = (s: Step) => s.writes.map((w) => w.map((m) => {
  const v = m.value as Partial<NotificationDispatchRecorded & DispatchRetryScheduled>;
  return [m.topic, v.status ?? v.kind ?? 'DEAD_LETTER', v.attempt ?? (v as { attempts?: number }).attempts, v.provider ?? (v as { lastProvider?: string }).lastProvider].join(' ');
}));
const calls = (s: Step) => s.commands.filter((c): c is Extract<Command, { kind: 'call' }> => c.kind === 'call');
const done = (s: Step) => s.commands.find((c): c is Extract<Command, { kind: 'done' }> => c.kind === 'done');
const record = (status: NotificationDispatchRecorded['status'], attempt: number, extra: Partial<NotificationDispatchRecorded> = {}) =>
  dispatchRecord(rendered('n-1'), status, attempt, 'meta', T0 - 1000, extra);

describe('decide: a new notification', () => {
  it('given no ledger entry, when it is rendered, then the SENDING claim is written (event and ledger record on the input partition) and no call yet', () => {
    const g = given();
    const s = whenRendered(g);
    expect(lines(s)).toEqual([['notification.dispatch SENDING 1 meta', 'dispatch.ledger SENDING 1 meta']]);
    expect(s.writes[0]!.find((m) => m.topic === 'dispatch.ledger')).toMatchObject({ key: 'n-1', partition: P });
    expect(s.commands).toEqual([]);
    expect(g.ledger.entries.has('n-1')).toBe(false); // the ledger follows only a durable write
  });

  it('when the claim is written, then the ledger holds it and the call goes out; when accepted, then ACCEPTED is written; when that is written, then done', () => {
    const g = given();
    whenRendered(g);
    const afterClaim = written(g);
    expect(g.ledger.entries.get('n-1')).toMatchObject({ status: 'SENDING', attempts: 1 });
    expect(afterClaim.commands).toEqual([{ kind: 'call', partition: P, ref: 0, provider: 'meta', message: expect.objectContaining({ notificationId: 'n-1', toE164: PHONE, text: 'Izin Anda telah terbit.' }) }]);
    const outcome = answer(g, 0, ok('wamid.1'));
    expect(lines(outcome)).toEqual([['notification.dispatch ACCEPTED 1 meta', 'dispatch.ledger ACCEPTED 1 meta', 'contact.events MESSAGE_SENT  meta']]);
    expect(outcome.writes[0]![0]!.value).toMatchObject({ providerMessageId: 'wamid.1', occurredAt: T0 + 10, latencyMs: 3 });
    const end = written(g);
    expect(end.commands).toEqual([{ kind: 'done', partition: P, calls: 1, results: [{ notificationId: 'n-1', status: 'ACCEPTED', sent: true, provider: 'meta', routeReason: 'OPTED_IN' }] }]);
    expect(g.ledger.entries.get('n-1')).toMatchObject({ status: 'ACCEPTED', providerMessageId: 'wamid.1' });
    expect(g.state.batches.size).toBe(0);
  });

  it('when answers come back out of order, then the outcomes are written once the last is in, in the order of the claims', () => {
    const g = given();
    whenRendered(g, ['a', 'b']);
    written(g);
    expect(answer(g, 1, ok('w.b'))).toMatchObject({ writes: [], commands: [] });
    expect(lines(answer(g, 0, fail('permanent', 'meta:100')))).toEqual([[
      'notification.dispatch FAILED 1 meta', 'dispatch.ledger FAILED 1 meta', 'notification.dispatch ACCEPTED 1 meta', 'dispatch.ledger ACCEPTED 1 meta', 'dispatch.dead-letter DEAD_LETTER 1 meta', 'contact.events MESSAGE_SENT  meta',
    ]]);
  });
});

describe('decide: a provider answer', () => {
  const claimed = (over: Partial<Policy> = {}) => { const g = given([], over); whenRendered(g); written(g); return g; };

  it('when it says retry, then the retry record is written first, alone, on dispatch.retry.1 at its time, then RETRY_SCHEDULED; no call', () => {
    const g = claimed();
    const s = answer(g, 0, fail('retry', 'meta:130429'), T0);
    expect(lines(s)).toEqual([['dispatch.retry.1 SEND 2 meta'], ['notification.dispatch RETRY_SCHEDULED 1 meta', 'dispatch.ledger RETRY_SCHEDULED 1 meta']]);
    expect(s.writes[0]![0]!.value).toMatchObject({ notBefore: T0 + 300_000, providerAttempt: 2, tier: 1 });
    expect(calls(s)).toEqual([]);
  });

  it('when it says permanent, then FAILED and a dead letter naming the reason', () => {
    const g = claimed();
    const s = answer(g, 0, fail('permanent', 'meta:100'));
    expect(lines(s)).toEqual([['notification.dispatch FAILED 1 meta', 'dispatch.ledger FAILED 1 meta', 'dispatch.dead-letter DEAD_LETTER 1 meta']]);
    expect(s.writes[0]![2]!.value).toMatchObject({ errorCode: 'meta:100', reason: 'permanent meta:100', providers: ['meta'] });
  });

  it('when it says "another provider", then RETRY_SCHEDULED and, in the same write, the next provider\'s claim; its call once that is written', () => {
    const g = claimed();
    const s = answer(g, 0, fail('fallback', 'meta:131047'));
    expect(lines(s)).toEqual([['notification.dispatch RETRY_SCHEDULED 1 meta', 'dispatch.ledger RETRY_SCHEDULED 1 meta', 'notification.dispatch SENDING 2 fonnte', 'dispatch.ledger SENDING 2 fonnte']]);
    expect(calls(s)).toEqual([]);
    expect(calls(written(g)).map((c) => [c.provider, c.ref])).toEqual([['fonnte', 1]]);
  });

  it('when it is in doubt, then IN_DOUBT, never re-sent; with IN_DOUBT_POLICY=lookup and a message id, a LOOKUP record on dispatch.retry.1', () => {
    expect(lines(answer(claimed(), 0, doubt))).toEqual([['notification.dispatch IN_DOUBT 1 meta', 'dispatch.ledger IN_DOUBT 1 meta']]);
    const g = claimed({ inDoubtPolicy: 'lookup', lookupProviders: new Set(['meta']), lookupDelayMs: 5000 });
    const s = answer(g, 0, { kind: 'in_doubt', errorCode: 'TIMEOUT', reason: 'no answer', latencyMs: 10_000, providerMessageId: 'wamid.9' }, T0);
    expect(lines(s)).toEqual([['dispatch.retry.1 LOOKUP 1 meta'], ['notification.dispatch IN_DOUBT 1 meta', 'dispatch.ledger IN_DOUBT 1 meta']]);
    expect(s.writes[0]![0]!.value).toMatchObject({ providerMessageId: 'wamid.9', notBefore: T0 + 5000 });
  });
});

describe('decide: a ledger that already knows', () => {
  it.each(['ACCEPTED', 'FAILED', 'IN_DOUBT', 'SKIPPED'] as const)('given %s restored, when rendered again, then the fact is emitted again (same event id), nothing recorded, no call', (status) => {
    const g = given([record(status, 1)]);
    const s = whenRendered(g);
    expect(lines(s)).toEqual([[`notification.dispatch ${status} 1 meta`, ...(status === 'ACCEPTED' ? ['contact.events MESSAGE_SENT  meta'] : [])]]);
    expect(s.writes[0]![0]!.value).toEqual(record(status, 1));
    expect(done(written(g))!.results).toEqual([expect.objectContaining({ status, sent: false, reemitted: true })]);
  });

  it('given a claim without an outcome (the process died mid-call), when rendered again, then IN_DOUBT is recorded and nothing is sent', () => {
    const g = given([record('SENDING', 1)]);
    const s = whenRendered(g, ['n-1'], T0 + 5);
    expect(lines(s)).toEqual([['notification.dispatch IN_DOUBT 1 meta', 'dispatch.ledger IN_DOUBT 1 meta']]);
    expect(calls(written(g))).toEqual([]);
  });

  it('given IN_DOUBT and a LOOKUP record due, then a status lookup (no write, never a send); when it is found delivered, then ACCEPTED', () => {
    const g = given([record('IN_DOUBT', 1, { providerMessageId: 'wamid.9' })], { inDoubtPolicy: 'lookup', lookupProviders: new Set(['meta']) });
    const lookup: DispatchRetryScheduled = { eventId: 'l', occurredAt: T0, correlationId: 'c', causationId: 'r', notificationId: 'n-1', pendaftaran_id: 'REG-1', kind: 'LOOKUP', attempt: 1, provider: 'meta', providerAttempt: 0, excludedProviders: [], notBefore: T0, tier: 1, routeReason: 'IN_DOUBT_RESOLVED', routeDetail: null, providerMessageId: 'wamid.9', notification: rendered('n-1') };
    const s = whenRetryDue(g, lookup, T0);
    expect(s).toMatchObject({ writes: [], commands: [{ kind: 'lookup', partition: P, ref: 0, provider: 'meta', providerMessageId: 'wamid.9' }] });
    const found = when(g, { kind: 'looked', partition: P, ref: 0, result: { kind: 'found', status: 'delivered' }, at: T0 + 1, openCircuits: none });
    expect(lines(found)).toEqual([['notification.dispatch ACCEPTED 1 meta', 'dispatch.ledger ACCEPTED 1 meta', 'contact.events MESSAGE_SENT  meta']]);
  });

  it('given a scheduled retry, when its record comes before its time, then the batch is deferred until then; nothing written', () => {
    const g = given();
    whenRendered(g); written(g);
    const retry = answer(g, 0, fail('retry'), T0).writes[0]![0]!.value as DispatchRetryScheduled;
    written(g);
    const early = whenRetryDue(g, retry, T0 + 1);
    expect(early).toMatchObject({ writes: [], commands: [{ kind: 'defer', partition: P, from: 0, until: T0 + 300_000 }, { kind: 'done' }] });
    expect(lines(whenRetryDue(g, retry, T0 + 300_000))).toEqual([['notification.dispatch SENDING 2 meta', 'dispatch.ledger SENDING 2 meta']]);
  });

  it('when a write failed (abandoned) after the provider answered, then delivered again the known outcome is recorded, without a call', () => {
    const g = given();
    whenRendered(g); written(g);
    answer(g, 0, ok('wamid.1'));
    expect(when(g, { kind: 'abandoned', partition: P })).toMatchObject({ writes: [], commands: [] });
    const again = whenRendered(g);
    expect(lines(again)).toEqual([['notification.dispatch ACCEPTED 1 meta', 'dispatch.ledger ACCEPTED 1 meta', 'contact.events MESSAGE_SENT  meta']]);
    expect(calls(written(g))).toEqual([]);
  });
});

describe('decide: contacts, assignment, pacing, the send-time gate', () => {
  it('when the recipient\'s subject is erased (the number reads erased), then it is SUBJECT_ERASED: final, no call, no dead letter; delivered again, only re-emitted', () => {
    const g = given();
    const erased = { kind: 'rendered' as const, partition: P, ledger: g.ledger, notifications: [rendered('n-1', { recipient: { kind: 'APPLICANT', id: 'REG-1', name: ERASED_FIELD, phone: ERASED_FIELD, subjectId: 'subj-1' } })], at: T0, openCircuits: none };
    const first = when(g, erased);
    expect([lines(first), (first.writes[0]![0]!.value as NotificationDispatchRecorded).subjectId, calls(first)]).toEqual([[['notification.dispatch SUBJECT_ERASED 0 none', 'dispatch.ledger SUBJECT_ERASED 0 none']], 'subj-1', []]);
    expect(done(written(g))!.results[0]).toMatchObject({ status: 'SUBJECT_ERASED', routeReason: 'SUBJECT_ERASED', sent: false });
    const again = given([first.writes[0]![0]!.value as NotificationDispatchRecorded]);
    const replayed = when(again, { ...erased, ledger: again.ledger });
    expect([lines(replayed), calls(replayed)]).toEqual([[['notification.dispatch SUBJECT_ERASED 0 none']], []]);
  });

  it('when the contact opts out, then a rendered notification is SKIPPED (final, no dead letter, no call); not opted in: the gateway with the opt-in link; opted in: Meta', () => {
    const g = given();
    when(g, { kind: 'contact', change: { phone: PHONE, kind: 'OPTED_OUT', occurredAt: 1 } });
    expect(lines(whenRendered(g))).toEqual([['notification.dispatch SKIPPED 0 none', 'dispatch.ledger SKIPPED 0 none']]);
    expect(done(written(g))!.results[0]).toMatchObject({ status: 'SKIPPED', routeReason: 'OPTED_OUT', sent: false });

    const h = given();
    h.state.contacts = contactsOf(new Map(), { optedIn: false, optedOut: false }); // a number never seen
    whenRendered(h, ['a']);
    expect(calls(written(h)).map((c) => [c.provider, c.message.text])).toEqual([['fonnte', 'Izin Anda telah terbit.\n\nAktifkan: https://wa.me/6281100000000?text=MULAI']]);
    when(h, { kind: 'contact', change: { phone: PHONE, kind: 'OPTED_IN', occurredAt: 2 } });
    whenRendered(h, ['b']);
    expect(calls(written(h)).map((c) => [c.provider, c.message.text])).toEqual([['meta', 'Izin Anda telah terbit.']]);
  });

  it('given the production contact book, when contact changes come through decide, then each changes the next routing decision', () => {
    const g = given();
    g.state.contacts = new ContactBook(); // the book the consumer gives the core: a number never seen has not opted in
    const route = (id: string) => { const s = whenRendered(g, [id]); const c = calls(written(g)); return { lines: lines(s), calls: c.map((x) => [x.provider, x.message.text]) }; };
    expect(route('a').calls).toEqual([['fonnte', 'Izin Anda telah terbit.\n\nAktifkan: https://wa.me/6281100000000?text=MULAI']]);
    answer(g, 0, ok()); written(g);

    expect(when(g, { kind: 'contact', change: { phone: PHONE, kind: 'OPTED_IN', occurredAt: T0 } })).toEqual({ state: g.state, writes: [], commands: [] });
    expect(g.state.contacts.of(PHONE)).toEqual({ optedIn: true, optedOut: false, since: T0, lastInboundAt: null }); // only MESSAGE_RECEIVED is an inbound message
    expect(route('b').calls).toEqual([['meta', 'Izin Anda telah terbit.']]);
    answer(g, 0, ok()); written(g);

    when(g, { kind: 'contact', change: { phone: PHONE, kind: 'MESSAGE_RECEIVED', occurredAt: T0 + 1 } }); // not an opt-in change: nothing changes
    expect(route('c').calls).toEqual([['meta', 'Izin Anda telah terbit.']]);
    answer(g, 0, ok()); written(g);

    when(g, { kind: 'contact', change: { phone: PHONE, kind: 'OPTED_OUT', occurredAt: T0 + 2 } });
    const d = route('d');
    expect(d.lines).toEqual([['notification.dispatch SKIPPED 0 none', 'dispatch.ledger SKIPPED 0 none']]);
    expect(d.calls).toEqual([]);
  });

  it('when partitions are assigned, then the state owns them and pacing takes their share of every rate', () => {
    const pacer = new Pacer({ rates: parseRates('meta=10/s'), pairRates: new Map(), quotas: new Map(), partitions: 4 });
    const g = given([], {}, pacer);
    when(g, { kind: 'assigned', owned: [2, 0] });
    expect(g.state.owned).toEqual([0, 2]);
    expect(pacer.ownedShare).toBe(0.5);
  });

  it('given a rate of 1/s, when two notifications come, then one is claimed and the batch is deferred from the second until a token is free', () => {
    const pacer = new Pacer({ rates: parseRates('meta=1/s'), pairRates: new Map(), quotas: new Map(), partitions: 1 });
    const g = given([], {}, pacer);
    when(g, { kind: 'assigned', owned: [0] });
    expect(lines(whenRendered(g, ['a', 'b']))).toEqual([['notification.dispatch SENDING 1 meta', 'dispatch.ledger SENDING 1 meta']]);
    written(g);
    answer(g, 0, ok(), T0);
    expect(written(g).commands).toEqual([{ kind: 'defer', partition: P, from: 1, until: T0 + 1000 }, expect.objectContaining({ kind: 'done' })]);
  });

  it('given a send-time rule that says wait, then nothing is sent: DEFERRED with the rule\'s reason, the provider it would use, and a record on the last tier at its time; then it is sent', () => {
    const morning = T0 + 8 * 3_600_000;
    const quietHours: SendRule = (i) => (i.now < morning ? { kind: 'wait', until: morning, reason: 'QUIET_HOURS', detail: 'not at night: waiting until 06:00' } : undefined);
    const g = given([], { sendRules: [quietHours] });
    const s = whenRendered(g);
    expect(lines(s)).toEqual([['dispatch.retry.3 SEND 1 none'], ['notification.dispatch DEFERRED 0 meta', 'dispatch.ledger DEFERRED 0 meta']]);
    expect(s.writes[1]![0]!.value).toMatchObject({ notBefore: morning, routeReason: 'QUIET_HOURS', errorCode: null, reason: 'not at night: waiting until 06:00', nextProvider: 'meta' });
    written(g);
    const retry = s.writes[0]![0]!.value as DispatchRetryScheduled;
    expect(lines(whenRetryDue(g, retry, morning))).toEqual([['notification.dispatch SENDING 1 meta', 'dispatch.ledger SENDING 1 meta']]);
    expect(calls(written(g)).map((c) => c.provider)).toEqual(['meta']);
  });
});
