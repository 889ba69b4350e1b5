import type { ProviderName } from '@sicantik/providers';
import type { ContactEvent, DispatchRetryScheduled, NotificationDispatchRecorded, NotificationRendered } from '@sicantik/schemas';
import { decide, initialState, type Command, type DispatchResult, type DispatchState, type Input, type Policy, type SendResult, type Step } from './decide';
import { contactsOf, Log, ok, PHONE, policy, rendered, statuses, unlimited } from './fixtures.spec';
import type { PartitionLedger } from './ledger';
import type { ContactState } from './routing';

////////// Issue 16's waits, given/when/then: DEFERRED (notBefore), HELD (no opt-in), DROPPED
// (superseded, stale, expired), the 24 h window and MESSAGE_SENT, through the pure core and
// a serial test executor over an in-memory log (a "restart" restores the ledger from it).

const H = 3_600_000;
const DAY = 24 * H;
/** 2026-12-07 22:00 WIB. */
const T22 = Date.UTC(2026, 11, 7, 15, 0);
const T07 = T22 + 9 * H;
const none = new Map<ProviderName, number>();
const META_ONLY = { chain: ['meta'] as ProviderName[], optInRequired: new Set<ProviderName>(['meta']) };
const NOT_OPTED_IN: ContactState = { optedIn: false, optedOut: false };
const OPTED_IN: ContactState = { optedIn: true, optedOut: false };

/** A process: the core's state over a ledger restored from the log. */
function processOf(log: Log, over: Partial<Policy> = {}, contact: ContactState = OPTED_IN) {
  const state: DispatchState = initialState(policy(over), unlimited(), contactsOf(new Map(), contact));
  decide(state, { kind: 'assigned', owned: [0] });
  return { state, ledger: log.restore(), log };
}
type Proc = ReturnType<typeof processOf>;

/** Runs one input to its end (every write durable, every call answered `answer`). */
function run(p: Proc, input: Extract<Input, { kind: 'rendered' | 'retries' | 'held' }>, answer: SendResult = ok('wamid.1')) {
  let step: Step = decide(p.state, input);
  const sent: Extract<Command, { kind: 'call' }>[] = [];
  for (;;) {
    if (step.writes.length) { for (const w of step.writes) p.log.produces.push(w); step = decide(p.state, { kind: 'written', partition: 0 }); continue; }
    const done = step.commands.find((c): c is Extract<Command, { kind: 'done' }> => c.kind === 'done');
    if (done) return { results: done.results, sent, defer: step.commands.find((c) => c.kind === 'defer') };
    let next: Step | undefined;
    for (const c of step.commands) {
      if (c.kind !== 'call') continue;
      sent.push(c);
      const s = decide(p.state, { kind: 'answer', partition: 0, ref: c.ref, result: answer, at: input.at, openCircuits: none });
      if (s.writes.length || s.commands.length) next = s;
    }
    step = next!;
  }
}
const rendering = (p: Proc, ns: NotificationRendered[], at: number) => run(p, { kind: 'rendered', partition: 0, ledger: p.ledger, notifications: ns, at, openCircuits: none });
const retrying = (p: Proc, rs: DispatchRetryScheduled[], at: number) => run(p, { kind: 'retries', partition: 0, ledger: p.ledger, records: rs, at, openCircuits: none });
const sweeping = (p: Proc, at: number, ids?: string[]) => run(p, { kind: 'held', partition: 0, ledger: p.ledger, ids, at, openCircuits: none });
const resultOf = (rs: DispatchResult[], id: string) => rs.find((r) => r.notificationId === id);
const contactEvents = (log: Log) => log.messages.filter((m) => m.topic === 'contact.events').map((m) => m.value as ContactEvent);

const quiet = (id = 'n-1', over: Partial<NotificationRendered> = {}) => rendered(id, { notBefore: T07, deferReason: 'QUIET_HOURS', ...over });

describe('DEFERRED: a notification before its notBefore', () => {
  it('given notBefore 07:00, when it arrives at 22:00, then DEFERRED (reason, time, the provider it would use) with a record on the last tier; nothing sent; at 07:00 it is sent once', () => {
    const p = processOf(new Log());
    const first = rendering(p, [quiet()], T22);
    expect(first.sent).toEqual([]);
    expect(statuses(p.log.dispatch)).toEqual(['DEFERRED0@meta']);
    expect(p.log.dispatch[0]).toMatchObject({ notBefore: T07, routeReason: 'QUIET_HOURS', nextProvider: 'meta', errorCode: null, occurredAt: T22 });
    expect(p.log.dispatch[0]!.waiting).toBeUndefined(); // the notification itself goes to the ledger only
    expect(p.log.ledger[0]!.waiting).toEqual(quiet());
    expect(p.log.retries.map((m) => [m.topic, m.value.attempt, m.value.notBefore, m.value.provider])).toEqual([['dispatch.retry.3', 1, T07, 'none']]);

    const early = retrying(p, [p.log.retries[0]!.value], T07 - 1);
    expect(early).toMatchObject({ sent: [], defer: { kind: 'defer', from: 0, until: T07 } });
    const due = retrying(p, [p.log.retries[0]!.value], T07);
    expect(due.sent.map((c) => c.provider)).toEqual(['meta']);
    expect(statuses(p.log.dispatch)).toEqual(['DEFERRED0@meta', 'SENDING1@meta', 'ACCEPTED1@meta']);
    expect(p.log.dispatch[1]).toMatchObject({ routeReason: 'OPTED_IN' }); // routed afresh, not as a retry
    // Delivered again: nothing more.
    expect(retrying(p, [p.log.retries[0]!.value], T07 + 1).sent).toEqual([]);
    expect(rendering(p, [quiet()], T07 + 2).sent).toEqual([]);
  });

  it('given a DEFERRED notification, when the process restarts before 07:00, then the redelivered record re-emits DEFERRED (same event id) and sends nothing; at 07:00 the new process sends it once', () => {
    const log = new Log();
    rendering(processOf(log), [quiet()], T22);
    const restarted = processOf(log);
    const again = rendering(restarted, [quiet()], T22 + H);
    expect(again.sent).toEqual([]);
    expect(log.dispatch.map((r) => r.eventId)).toEqual([log.dispatch[0]!.eventId, log.dispatch[0]!.eventId]);
    expect(retrying(restarted, [log.retries[0]!.value], T07).sent).toHaveLength(1);
    const third = processOf(log);
    expect(retrying(third, [log.retries[0]!.value], T07 + 5).sent).toEqual([]);
    expect(statuses(log.ledger)).toEqual(['DEFERRED0@meta', 'SENDING1@meta', 'ACCEPTED1@meta']);
  });

  it('given notBefore null (urgent) at 23:00, then it is sent at once', () => {
    const p = processOf(new Log());
    expect(rendering(p, [rendered('u', { notBefore: null })], T22 + H).sent).toHaveLength(1);
    expect(statuses(p.log.dispatch)).toEqual(['SENDING1@meta', 'ACCEPTED1@meta']);
  });
});

describe('DROPPED: superseded and stale', () => {
  const key = 'permit_expiry_warning|REG-1|APPLICANT';
  it('given a 60-day warning DEFERRED, when the 30-day one with the same supersedeKey arrives (after a restart), then the 60-day one is DROPPED (SUPERSEDED, supersededBy) and its retry record later does nothing', () => {
    const log = new Log();
    rendering(processOf(log), [quiet('w60', { supersedeKey: key })], T22);
    const p = processOf(log);
    expect(p.ledger.waitingByKey.get(key)).toBe('w60'); // the index is restored with the ledger
    const r = rendering(p, [quiet('w30', { supersedeKey: key })], T22 + 60_000);
    expect(r.sent).toEqual([]);
    expect(statuses(log.dispatch)).toEqual(['DEFERRED0@meta', 'DROPPED0@meta', 'DEFERRED0@meta']);
    expect(log.dispatch[1]).toMatchObject({ notificationId: 'w60', routeReason: 'SUPERSEDED', supersededBy: 'w30', supersedeKey: key });
    expect(resultOf(r.results, 'w60')).toMatchObject({ status: 'DROPPED' });
    expect(p.ledger.waitingByKey.get(key)).toBe('w30');
    const due = retrying(p, log.retries.map((m) => m.value), T07);
    expect(due.sent.map((c) => c.message.notificationId)).toEqual(['w30']);
  });

  it('given both in one batch, then the first is DEFERRED, then DROPPED as the second arrives; the second waits', () => {
    const p = processOf(new Log());
    rendering(p, [quiet('w60', { supersedeKey: key }), quiet('w30', { supersedeKey: key })], T22);
    expect(p.log.dispatch.map((r) => `${r.notificationId} ${r.status}`)).toEqual(['w60 DEFERRED', 'w60 DROPPED', 'w30 DEFERRED']);
    expect(p.ledger.entries.get('w60')!.status).toBe('DROPPED');
    expect(p.ledger.waitingByKey.get(key)).toBe('w30');
  });

  it('given a waiting one for another recipient with the same key (a key shared by mistake), then nothing is dropped', () => {
    const p = processOf(new Log());
    rendering(p, [quiet('w60', { supersedeKey: key })], T22);
    rendering(p, [quiet('w30', { supersedeKey: key, recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Ani', phone: '+6281299999999' } })], T22 + 1);
    expect(p.log.dispatch.map((r) => `${r.notificationId} ${r.status}`)).toEqual(['w60 DEFERRED', 'w30 DEFERRED']);
  });

  it('given one already sent, when a later one with the same key arrives, then the sent one is not dropped', () => {
    const p = processOf(new Log());
    rendering(p, [rendered('w60', { supersedeKey: key })], T22);
    rendering(p, [rendered('w30', { supersedeKey: key })], T22 + 1);
    expect(p.log.dispatch.map((r) => `${r.notificationId} ${r.status}`)).toEqual(['w60 SENDING', 'w60 ACCEPTED', 'w30 SENDING', 'w30 ACCEPTED']);
  });

  it('given a DEFERRED one whose staleAfter passes before its notBefore, when it comes due, then DROPPED (STALE); nothing sent', () => {
    const p = processOf(new Log());
    rendering(p, [quiet('s', { staleAfter: T07 - H })], T22);
    expect(retrying(p, [p.log.retries[0]!.value], T07).sent).toEqual([]);
    expect(statuses(p.log.dispatch)).toEqual(['DEFERRED0@meta', 'DROPPED0@meta']);
    expect(p.log.dispatch[1]).toMatchObject({ routeReason: 'STALE' });
  });
});

describe('HELD: only opt-in providers, and the contact has not opted in', () => {
  const held = (over: Partial<Policy> = {}) => processOf(new Log(), { routing: META_ONLY, ...over }, NOT_OPTED_IN);

  it('given Meta alone and a contact never asked, then HELD (reason, the provider it would use, the hold\'s end, the notification in the ledger); nothing sent', () => {
    const p = held();
    const r = rendering(p, [rendered('h')], T22);
    expect(r.sent).toEqual([]);
    expect(statuses(p.log.dispatch)).toEqual(['HELD0@meta']);
    expect(p.log.dispatch[0]).toMatchObject({ routeReason: 'AWAITING_OPT_IN', notBefore: T22 + 30 * DAY });
    expect(p.log.retries).toEqual([]);
    expect(p.ledger.heldOf({ phone: PHONE })).toEqual(['h']);
    expect(sweeping(p, T22 + DAY)).toMatchObject({ sent: [], results: [{ notificationId: 'h', status: 'WAITING' }] });
    expect(p.log.dispatch).toHaveLength(1); // still held: nothing written
  });

  it('given a HELD notification, when the contact opts in (after a restart), then the release sends it once; a second release sends nothing', () => {
    const log = new Log();
    rendering(processOf(log, { routing: META_ONLY }, NOT_OPTED_IN), [rendered('h', { recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi', phone: PHONE, subjectId: 'subj-1' } })], T22);
    const p = processOf(log, { routing: META_ONLY }, NOT_OPTED_IN);
    expect(p.ledger.heldOf({ subjectId: 'subj-1', phone: '+620000' })).toEqual(['h']); // found by subject id, rebuilt on restore
    decide(p.state, { kind: 'contact', change: { phone: PHONE, subjectId: 'subj-1', kind: 'OPTED_IN', occurredAt: T22 + H } });
    const r = sweeping(p, T22 + H, p.ledger.heldOf({ subjectId: 'subj-1', phone: PHONE }));
    expect(r.sent.map((c) => c.provider)).toEqual(['meta']);
    expect(statuses(log.dispatch)).toEqual(['HELD0@meta', 'SENDING1@meta', 'ACCEPTED1@meta']);
    expect(p.ledger.held.size).toBe(0);
    expect(sweeping(p, T22 + 2 * H, ['h']).sent).toEqual([]);
    expect(rendering(p, [rendered('h')], T22 + 3 * H).sent).toEqual([]);
    expect(contactEvents(log)).toEqual([expect.objectContaining({ kind: 'MESSAGE_SENT', notificationId: 'h', subjectId: 'subj-1', providerMessageId: 'wamid.1' })]);
  });

  it('given a HELD notification, when the contact opts out instead, then SKIPPED (as today)', () => {
    const p = held();
    rendering(p, [rendered('h')], T22);
    decide(p.state, { kind: 'contact', change: { phone: PHONE, kind: 'OPTED_OUT', occurredAt: T22 + H } });
    expect(sweeping(p, T22 + H).sent).toEqual([]);
    expect(statuses(p.log.dispatch)).toEqual(['HELD0@meta', 'SKIPPED0']);
  });

  it('given a held 60-day warning, when the 30-day one with the same supersedeKey arrives, then the 60-day one is DROPPED (supersededBy) and the 30-day one HELD', () => {
    const p = held();
    const key = 'permit_expiry_warning|REG-1|APPLICANT';
    rendering(p, [rendered('w60', { supersedeKey: key })], T22);
    rendering(p, [rendered('w30', { supersedeKey: key })], T22 + DAY);
    expect(p.log.dispatch.map((r) => `${r.notificationId} ${r.status} ${r.supersededBy ?? ''}`)).toEqual(['w60 HELD ', 'w60 DROPPED w30', 'w30 HELD ']);
    expect([...p.ledger.held]).toEqual(['w30']);
  });

  it('given a held one with staleAfter, when the sweep comes after it, then DROPPED (STALE)', () => {
    const p = held();
    rendering(p, [rendered('h', { staleAfter: T22 + 2 * DAY })], T22);
    expect(sweeping(p, T22 + 2 * DAY - 1).results).toEqual([expect.objectContaining({ status: 'WAITING' })]);
    sweeping(p, T22 + 2 * DAY);
    expect(statuses(p.log.dispatch)).toEqual(['HELD0@meta', 'DROPPED0@meta']);
    expect(p.log.dispatch[1]).toMatchObject({ routeReason: 'STALE' });
  });

  it('given HOLD_EXPIRES_AFTER_MS, when the sweep comes after it, then DROPPED (EXPIRED)', () => {
    const p = held({ holdExpiresAfterMs: 7 * DAY });
    rendering(p, [rendered('h')], T22);
    expect(sweeping(p, T22 + 7 * DAY - 1).sent).toEqual([]);
    expect(p.log.dispatch).toHaveLength(1);
    sweeping(p, T22 + 7 * DAY);
    expect(statuses(p.log.dispatch)).toEqual(['HELD0@meta', 'DROPPED0@meta']);
    expect(p.log.dispatch[1]).toMatchObject({ routeReason: 'EXPIRED' });
  });

  it('given UNCONSENTED_OPT_IN_PROVIDERS=send, then it is sent through Meta at once (NO_OPT_IN_GATEWAY)', () => {
    const p = held({ routing: { ...META_ONLY, unconsented: 'send' } });
    expect(rendering(p, [rendered('h')], T22).sent.map((c) => c.provider)).toEqual(['meta']);
    expect(p.log.dispatch[0]).toMatchObject({ status: 'SENDING', routeReason: 'NO_OPT_IN_GATEWAY' });
  });

  it('given a gateway beside Meta, then a contact who has not opted in goes through the gateway with the opt-in link; MESSAGE_SENT says so', () => {
    const p = processOf(new Log(), {}, NOT_OPTED_IN);
    const r = rendering(p, [rendered('g')], T22);
    expect(r.sent.map((c) => [c.provider, c.message.text])).toEqual([['fonnte', 'Izin Anda telah terbit.\n\nAktifkan: https://wa.me/6281100000000?text=MULAI']]);
    const sentEvents = p.log.produces.find((w) => w.some((m) => m.topic === 'contact.events'))!;
    expect(sentEvents.map((m) => m.topic)).toEqual(['notification.dispatch', 'dispatch.ledger', 'contact.events']); // one produce with the outcome
    expect(contactEvents(p.log)).toEqual([{
      eventId: expect.any(String), occurredAt: T22, correlationId: 'c', causationId: p.log.dispatch[1]!.eventId, provider: 'fonnte', phone: PHONE, kind: 'MESSAGE_SENT', text: null,
      subjectId: null, providerMessageId: 'wamid.1', contextId: null, notificationId: 'g', pendaftaran_id: 'REG-1', reason: null, optInRequest: true,
    }]);
    expect(sentEvents.find((m) => m.topic === 'contact.events')!.key).toBe(PHONE);
  });
});

describe('the 24-hour customer-service window', () => {
  const at = (lastInboundAt: number | null) => {
    const p = processOf(new Log(), {}, { ...OPTED_IN, lastInboundAt });
    return rendering(p, [rendered('w')], T22).sent.map((c) => [c.provider, c.message.freeForm]);
  };
  it('inside (last inbound message < 24 h ago): free-form text allowed; outside or never: Meta must use its template', () => {
    expect(at(T22 - 23 * H)).toEqual([['meta', true]]);
    expect(at(T22 - 25 * H)).toEqual([['meta', false]]);
    expect(at(null)).toEqual([['meta', false]]);
  });
});

export type { NotificationDispatchRecorded };
