import fc from 'fast-check';
import { TransientError } from '@sicantik/core';
import type { DispatchRetryScheduled } from '@sicantik/schemas';
import { decide, initialState, type Command, type DispatchState, type SendResult, type Step } from './decide';
import { contactsOf, doubt, fail, jobs, Log, ok, PHONE, policy, rendered, RETRY, unlimited } from './fixtures.spec';
import { PartitionLedger, type Job } from './ledger';
import type { DispatchMessage } from './records';

////////// Property, against the pure core and a test executor: deliveries, redeliveries,
// retries, fallbacks and crashes at any step
// The test executor speaks the core's protocol (writes, then `written`, then the calls;
// answers in an order the property chooses) serially, with no I/O. A "crash" kills
// the process at a write or a provider call (before the request leaves, or after it
// reached the provider and before the answer is seen): nothing more of that process
// runs, its memory (the core's state, the ledger) is lost, the restarted process
// restores the ledger from the durable log and gets the batch again (it was not
// committed). A transient write failure retries the batch in the same process. Retry
// records are delivered in order per tier, as a retry topic would, once their time
// has come (the clock jumps). The providers answer anything.

class Crash extends Error {}
type Fault = 'none' | 'crash-before' | 'crash-after' | 'transient';

interface TestWorld {
  clock: { t: number };
  /** One write: durable when it returns. */
  write(messages: DispatchMessage[]): void;
  call(c: Extract<Command, { kind: 'call' }>): SendResult;
  /** Which of n answers in flight arrives next. */
  pick(n: number): number;
}

/** The test executor: one batch through the core. Returns the index the batch is deferred from, if any. */
function drive(state: DispatchState, w: TestWorld, ledger: PartitionLedger, js: Job[], held = false): number | undefined {
  const partition = 0;
  const seen = { partition, ledger, at: w.clock.t, openCircuits: new Map() };
  let step: Step = decide(state, held ? { kind: 'held', ...seen } : js.every((j) => j.retry)
    ? { kind: 'retries', ...seen, records: js.map((j) => j.retry as DispatchRetryScheduled) }
    : { kind: 'rendered', ...seen, notifications: js.map((j) => j.n) });
  let from: number | undefined;
  try {
    for (;;) {
      // A step writes or commands, never both: a call never goes out beside the write of its claim.
      expect(step.writes.length > 0 && step.commands.length > 0).toBe(false);
      if (step.writes.length) {
        for (const m of step.writes) w.write(m);
        step = decide(state, { kind: 'written', partition });
        continue;
      }
      const calls: Extract<Command, { kind: 'call' }>[] = [];
      for (const c of step.commands) {
        if (c.kind === 'defer') from = c.from;
        else if (c.kind === 'done') return from;
        else if (c.kind === 'call') calls.push(c);
        else throw new Error('no status lookups in this world');
      }
      let next: Step | undefined;
      while (calls.length) {
        const c = calls.splice(w.pick(calls.length), 1)[0]!;
        const s = decide(state, { kind: 'answer', partition, ref: c.ref, result: w.call(c), at: w.clock.t, openCircuits: new Map() });
        if (s.writes.length || s.commands.length) next = s;
      }
      step = next!;
    }
  } catch (e) {
    decide(state, { kind: 'abandoned', partition });
    throw e;
  }
}

describe('property (pure core, test executor): one accepted send per notification id, whatever the failures', () => {
  const answer = fc.oneof(
    fc.constant<SendResult>(ok()),
    fc.constant<SendResult>(fail('retry')),
    fc.constant<SendResult>(fail('fallback', 'meta:131047')),
    fc.constant<SendResult>(fail('permanent', 'x:100')),
    fc.constant<SendResult>(doubt),
  );
  const fault = fc.oneof({ weight: 8, arbitrary: fc.constant<Fault>('none') }, { weight: 1, arbitrary: fc.constantFrom<Fault>('crash-before', 'crash-after', 'transient') });

  it('a provider is called for an id only after its claim is durable and while every earlier call for it is known to have failed, never after the contact opted out; attempt numbers only increase; every id ends final exactly once', () => {
    fc.assert(fc.property(
      fc.array(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 6 }),
      fc.array(answer, { maxLength: 60 }),
      fc.array(fault, { maxLength: 80 }),
      // The contact (every id's) opts out before the n-th delivery of a batch, or never.
      fc.option(fc.nat(12), { nil: undefined }),
      // The order in which a round's answers come back.
      fc.array(fc.nat(), { maxLength: 40 }),
      (batches, answers0, faults0, optOutAt, picks) => {
        const answers = [...answers0]; const faults = [...faults0];
        const log = new Log();
        const clock = { t: 1_000_000 };
        const contacts = contactsOf();
        const pol = policy({ retry: { ...RETRY, delayMs: 1000, jitter: 0.5 } });
        let state = initialState(pol, unlimited(), contacts);
        let deliveries = 0;
        /** Provider calls made before the opt-out (undefined: no opt-out yet). */
        let callsAtOptOut: number | undefined;
        /** Per id, every call that reached a provider, and what the dispatcher learnt of it. */
        const calls = new Map<string, { provider: string; answer: SendResult | null }[]>();
        const callCount = () => [...calls.values()].reduce((n, c) => n + c.length, 0);
        const nextFault = (): Fault => faults.shift() ?? 'none';
        const w: TestWorld = {
          clock,
          pick: (n) => (picks.shift() ?? 0) % n,
          write: (m) => {
            const f = nextFault();
            if (f === 'crash-before') throw new Crash();
            if (f === 'transient') throw new TransientError('broker away');
            log.produces.push(m);
            if (f === 'crash-after') throw new Crash();
          },
          call: (c) => {
            const id = c.message.notificationId;
            // The claim of this call is durable: the id's last ledger record is SENDING through this provider.
            expect(log.ledger.filter((r) => r.notificationId === id).at(-1)).toMatchObject({ status: 'SENDING', provider: c.provider });
            const f = nextFault();
            if (f === 'crash-before') throw new Crash();
            const call = { provider: c.provider, answer: null as SendResult | null };
            (calls.get(id) ?? calls.set(id, []).get(id)!).push(call);
            if (f === 'crash-after') throw new Crash();
            call.answer = answers.shift() ?? ok();
            return call.answer;
          },
        };
        let ledger = new PartitionLedger();
        const deliver = (js: Job[]): number | undefined => {
          if (deliveries++ === optOutAt) {
            decide(state, { kind: 'contact', change: { phone: PHONE, kind: 'OPTED_OUT', occurredAt: clock.t } });
            callsAtOptOut = callCount();
          }
          for (let tries = 0; ; tries++) {
            expect(tries).toBeLessThan(300);
            try {
              return drive(state, w, ledger, js);
            } catch (e) {
              // A restarted process, same batch: the core's state is new, the ledger restored from the log.
              if (e instanceof Crash) { state = initialState(pol, unlimited(), contacts); ledger = log.restore(); continue; }
              if (e instanceof TransientError) continue; // same process retries the batch
              throw e;
            }
          }
        };
        for (const ids of batches) deliver(jobs(...ids));
        // The retry topics, in order per tier, each record once its time has come (a deferral delivers it again).
        const consumed = new Map<string, number>();
        for (let round = 0; round < 100; round++) {
          const heads = (['dispatch.retry.1', 'dispatch.retry.2', 'dispatch.retry.3'] as const)
            .map((topic) => ({ topic, start: consumed.get(topic) ?? 0, recs: log.retries.filter((m) => m.topic === topic) }))
            .map((h) => ({ ...h, recs: h.recs.slice(h.start) }))
            .filter((h) => h.recs.length);
          if (!heads.length) break;
          clock.t = Math.max(clock.t, Math.min(...heads.map((h) => h.recs[0]!.value.notBefore)));
          for (const h of heads) {
            const from = deliver(h.recs.map((m) => ({ n: m.value.notification, retry: m.value })));
            consumed.set(h.topic, h.start + (from ?? h.recs.length));
          }
        }
        faults.length = 0;
        // Every id delivered once more without faults (a replay): no call is due.
        const before = callCount();
        if (callsAtOptOut !== undefined) expect(before).toBe(callsAtOptOut); // opted out: nothing sent any more
        const everyId = [...new Set(batches.flat())];
        ledger = log.restore();
        deliver(jobs(...everyId));
        expect(callCount()).toBe(before);

        for (const [, cs] of calls) {
          for (let i = 1; i < cs.length; i++) {
            const prev = cs[i - 1]!.answer;
            expect(prev && prev.kind === 'failed').toBe(true);
          }
        }
        const attemptsOf = new Map<string, number[]>();
        for (const r of log.ledger) if (r.status === 'SENDING') (attemptsOf.get(r.notificationId) ?? attemptsOf.set(r.notificationId, []).get(r.notificationId)!).push(r.attempt);
        for (const [, as] of attemptsOf) for (let i = 1; i < as.length; i++) expect(as[i]!).toBeGreaterThan(as[i - 1]!);
        const restored = log.restore();
        const FINAL = ['ACCEPTED', 'FAILED', 'IN_DOUBT', 'SKIPPED'];
        for (const id of everyId) {
          const last = restored.entries.get(id)!;
          expect(FINAL).toContain(last.status);
          const finals = new Set(log.dispatch.filter((e) => e.notificationId === id && FINAL.includes(e.status)).map((e) => e.eventId));
          expect(finals.size).toBe(1);
          if (last.status === 'SKIPPED') expect(callsAtOptOut).toBeDefined();
          if (last.status === 'ACCEPTED') expect(calls.get(id)!.at(-1)!.answer).toMatchObject({ kind: 'accepted' });
        }
      },
    ), { numRuns: 250 });
  });

  it('with notBefore, supersedeKeys, staleness, holds, opt-ins and releases in the inputs: one accepted send per id, every call after its durable claim, never before notBefore, never to a contact who has not opted in (Meta only), never after a drop', () => {
    const T = 1_000_000;
    const notification = fc.record({
      id: fc.constantFrom('a', 'b', 'c', 'd'),
      notBefore: fc.option(fc.integer({ min: T - 5000, max: T + 50_000 }), { nil: null }),
      supersedeKey: fc.option(fc.constantFrom('k1', 'k2'), { nil: null }),
      staleAfter: fc.option(fc.integer({ min: T, max: T + 80_000 }), { nil: null }),
    });
    fc.assert(fc.property(
      fc.array(fc.array(notification, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 }),
      fc.array(answer, { maxLength: 40 }),
      fc.array(fault, { maxLength: 80 }),
      // Meta alone (holds) or Meta and a gateway; the contact opts in before the n-th delivery, or never.
      fc.boolean(),
      fc.option(fc.nat(10), { nil: undefined }),
      fc.array(fc.nat(), { maxLength: 40 }),
      (batches, answers0, faults0, metaOnly, optInAt, picks) => {
        const answers = [...answers0]; const faults = [...faults0];
        const log = new Log();
        const clock = { t: T };
        const contacts = contactsOf(new Map(), { optedIn: false, optedOut: false });
        const pol = policy({ retry: { ...RETRY, delayMs: 1000, jitter: 0.5 }, ...(metaOnly ? { routing: { chain: ['meta'], optInRequired: new Set(['meta'] as const) } } : {}) });
        let state = initialState(pol, unlimited(), contacts);
        let deliveries = 0;
        const calls = new Map<string, { provider: string; answer: SendResult | null }[]>();
        const callCount = () => [...calls.values()].reduce((n, c) => n + c.length, 0);
        /** The notification each id was last rendered as (its notBefore). */
        const sentAs = new Map<string, number | null>();
        const w: TestWorld = {
          clock,
          pick: (n) => (picks.shift() ?? 0) % n,
          write: (m) => {
            const f = faults.shift() ?? 'none';
            if (f === 'crash-before') throw new Crash();
            if (f === 'transient') throw new TransientError('broker away');
            log.produces.push(m);
            if (f === 'crash-after') throw new Crash();
          },
          call: (c) => {
            const id = c.message.notificationId;
            const own = log.ledger.filter((r) => r.notificationId === id);
            expect(own.at(-1)).toMatchObject({ status: 'SENDING', provider: c.provider });
            expect(own.some((r) => r.status === 'DROPPED')).toBe(false);
            if (metaOnly) expect(contacts.of(PHONE).optedIn).toBe(true);
            expect(clock.t).toBeGreaterThanOrEqual(sentAs.get(id) ?? -Infinity);
            const f = faults.shift() ?? 'none';
            if (f === 'crash-before') throw new Crash();
            const call = { provider: c.provider, answer: null as SendResult | null };
            (calls.get(id) ?? calls.set(id, []).get(id)!).push(call);
            if (f === 'crash-after') throw new Crash();
            call.answer = answers.shift() ?? ok();
            return call.answer;
          },
        };
        let ledger = new PartitionLedger();
        let optedIn = false;
        const optIn = () => {
          optedIn = true;
          decide(state, { kind: 'contact', change: { phone: PHONE, kind: 'OPTED_IN', occurredAt: clock.t } });
          deliver([], true); // the release of the contact's held notifications
        };
        const deliver = (js: Job[], held = false): number | undefined => {
          if (deliveries++ === optInAt) optIn();
          for (let tries = 0; ; tries++) {
            expect(tries).toBeLessThan(300);
            try {
              return drive(state, w, ledger, js, held);
            } catch (e) {
              if (e instanceof Crash) { state = initialState(pol, unlimited(), contacts); ledger = log.restore(); continue; }
              if (e instanceof TransientError) continue;
              throw e;
            }
          }
        };
        const asJob = (x: { id: string; notBefore: number | null; supersedeKey: string | null; staleAfter: number | null }): Job => {
          // One notification per id: its first rendering's stamps (a redelivery is the same record).
          if (!sentAs.has(x.id)) sentAs.set(x.id, x.notBefore);
          const first = batches.flat().find((y) => y.id === x.id)!;
          return { n: rendered(x.id, { notBefore: first.notBefore, supersedeKey: first.supersedeKey, staleAfter: first.staleAfter }) };
        };
        for (const b of batches) { deliver(b.map(asJob)); clock.t += 1000; }
        const consumed = new Map<string, number>();
        const drain = () => { for (let round = 0; round < 100; round++) {
          const heads = (['dispatch.retry.1', 'dispatch.retry.2', 'dispatch.retry.3'] as const)
            .map((topic) => ({ topic, start: consumed.get(topic) ?? 0, recs: log.retries.filter((m) => m.topic === topic) }))
            .map((h) => ({ ...h, recs: h.recs.slice(h.start) }))
            .filter((h) => h.recs.length);
          if (!heads.length) break;
          clock.t = Math.max(clock.t, Math.min(...heads.map((h) => h.recs[0]!.value.notBefore)));
          for (const h of heads) {
            const from = deliver(h.recs.map((m) => ({ n: m.value.notification, retry: m.value })));
            consumed.set(h.topic, h.start + (from ?? h.recs.length));
          }
          deliver([], true); // a sweep
        } };
        drain();
        faults.length = 0;
        if (optInAt !== undefined && !optedIn) { optIn(); drain(); }
        const before = callCount();
        ledger = log.restore();
        state = initialState(pol, unlimited(), contacts);
        deliver([...new Set(batches.flat().map((x) => x.id))].map((id) => asJob({ id, notBefore: null, supersedeKey: null, staleAfter: null })));
        deliver([], true);
        expect(callCount()).toBe(before); // a replay and a sweep after everything: nothing more

        for (const [, cs] of calls) for (let i = 1; i < cs.length; i++) expect(cs[i - 1]!.answer).toMatchObject({ kind: 'failed' });
        const restored = log.restore();
        const FINAL = ['ACCEPTED', 'FAILED', 'IN_DOUBT', 'SKIPPED', 'DROPPED'];
        for (const id of new Set(batches.flat().map((x) => x.id))) {
          const last = restored.entries.get(id)!;
          // Held for good only when the contact never opted in (Meta alone); everything else ends final, once.
          if (last.status === 'HELD') { expect(metaOnly && optInAt === undefined).toBe(true); continue; }
          expect(FINAL).toContain(last.status);
          expect(new Set(log.dispatch.filter((e) => e.notificationId === id && FINAL.includes(e.status)).map((e) => e.eventId)).size).toBe(1);
          if (last.status === 'ACCEPTED') expect(calls.get(id)!.at(-1)!.answer).toMatchObject({ kind: 'accepted' });
        }
      },
    ), { numRuns: 250 });
  });
});
