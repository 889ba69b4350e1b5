import type { ProviderName } from '@sicantik/providers';
import type { NotificationDispatchRecorded } from '@sicantik/schemas';
import { fail, jobs, Log, rendered, RETRY, statuses } from '../domain/fixtures.spec';
import { dispatchEventId, PartitionLedger } from '../domain/ledger';
import { Pacer, parseRates } from '../domain/pacing';
import type { SendResult } from '../domain/decide';
import { deps, dispatchBatch, ScriptedSender, type World } from './executorFixtures.spec';

////////// The core run by its executor against fakes: retries, fallbacks, circuits, opt-in routing, pacing and quotas

describe('runBatch: retries, fallbacks, routing and pacing', () => {
  it('a retryable error is scheduled on dispatch.retry.1 (written before the ledger record), not waited for; the record, early, defers its partition; on time it makes attempt 2', async () => {
    const world = { clock: { t: 1_000_000 }, contacts: new Map() };
    const log = new Log(); const s = new ScriptedSender([fail('retry', 'meta:130429')]); const ledger = new PartitionLedger();
    const d = deps(s, log, {}, world);
    const first = await dispatchBatch(2, jobs('n-1'), ledger, d);
    expect(first.results[0]).toMatchObject({ status: 'RETRY_SCHEDULED' });
    expect(first.defer).toBeUndefined();
    const sched = log.dispatch.at(-1)!;
    expect(sched).toMatchObject({ status: 'RETRY_SCHEDULED', attempt: 1, nextProvider: 'meta', notBefore: 1_300_000, disposition: 'retry', errorCode: 'meta:130429' });
    // The retry record is produced alone, before the produce holding the ledger record.
    const iRetry = log.produces.findIndex((p) => p.some((m) => m.topic === 'dispatch.retry.1'));
    const iLedger = log.produces.findIndex((p) => p.some((m) => m.topic === 'dispatch.ledger' && (m.value as NotificationDispatchRecorded).status === 'RETRY_SCHEDULED'));
    expect(iRetry).toBeLessThan(iLedger);
    const rec = log.retries[0]!;
    expect([rec.topic, rec.partition, rec.value.attempt, rec.value.provider, rec.value.providerAttempt, rec.value.notBefore, rec.value.notification.notificationId]).toEqual(['dispatch.retry.1', 2, 2, 'meta', 2, 1_300_000, 'n-1']);

    const early = await dispatchBatch(2, [{ n: rec.value.notification, retry: rec.value }], ledger, d);
    expect(early.defer).toEqual({ from: 0, until: 1_300_000 });
    expect(s.calls).toHaveLength(1);
    world.clock.t = 1_300_000;
    const due = await dispatchBatch(2, [{ n: rec.value.notification, retry: rec.value }], ledger, d);
    expect(due.results[0]).toMatchObject({ status: 'ACCEPTED' });
    expect(statuses(log.ledger)).toEqual(['SENDING1@meta', 'RETRY_SCHEDULED1@meta', 'SENDING2@meta', 'ACCEPTED2@meta']);
    expect(log.dispatch.find((e) => e.status === 'SENDING' && e.attempt === 2)).toMatchObject({ providerAttempt: 2, routeReason: 'RETRY' });
    // Delivered again (e.g. after a rebalance), the retry record is stale: nothing.
    expect((await dispatchBatch(2, [{ n: rec.value.notification, retry: rec.value }], ledger, d)).results[0]!.status).toBe('SKIPPED_STALE');
    expect(s.calls).toHaveLength(2);
  });

  it('a deferred retry tier delivers a stale record of an id again together with its newer retry record: the newer one is not lost', async () => {
    // Found by the crash property (seed 859218918): the newer record was skipped as a repeat.
    // In production both sit on one tier when a fallback restarts the provider attempts
    // (retry.1 holds meta's 2nd attempt and fonnte's 1st) and the tier was deferred at an
    // earlier record; here the two records are handed over in one batch directly.
    const world = { clock: { t: 1_000_000 }, contacts: new Map() };
    const log = new Log(); const s = new ScriptedSender([fail('retry', 'meta:1'), fail('retry', 'meta:1')]); const ledger = new PartitionLedger();
    const d = deps(s, log, { retry: { ...RETRY, delayMs: 1000, backoff: 1, jitter: 0 } }, world);
    await dispatchBatch(0, jobs('n-1'), ledger, d);
    const second = log.retries[0]!.value;
    world.clock.t = second.notBefore;
    await dispatchBatch(0, [{ n: second.notification, retry: second }], ledger, d);
    const third = log.retries[1]!.value;
    expect(third.attempt).toBe(3);
    world.clock.t = third.notBefore;
    // One batch of the tier: the stale record (attempt 2, done) and then the due one (attempt 3).
    const r = await dispatchBatch(0, [{ n: second.notification, retry: second }, { n: third.notification, retry: third }], ledger, d);
    expect(r.results.map((x) => x.status)).toEqual(['SKIPPED_STALE', 'ACCEPTED']);
    expect(s.calls).toHaveLength(3);
    // Both again: nothing more.
    const again = await dispatchBatch(0, [{ n: second.notification, retry: second }, { n: third.notification, retry: third }], ledger, d);
    expect(again.results.map((x) => x.status)).toEqual(['SKIPPED_STALE', 'SKIPPED_STALE']);
    expect(s.calls).toHaveLength(3);
  });

  it('after the last retry on a provider: the next provider of the chain at once; when none is left: FAILED and a dead letter', async () => {
    const world = { clock: { t: 0 }, contacts: new Map() };
    const log = new Log(); const ledger = new PartitionLedger();
    const s = new ScriptedSender([], { meta: [fail('retry'), fail('retry'), fail('retry')], fonnte: [fail('retry', 'fonnte:x'), fail('retry', 'fonnte:x'), fail('retry', 'fonnte:x')] });
    const d = deps(s, log, { retry: { ...RETRY, delayMs: 10, backoff: 1 } }, world);
    await dispatchBatch(0, jobs('n-1'), ledger, d);
    for (let i = 0; i < 10 && log.retries.length > i; i++) {
      const rec = log.retries[i]!.value;
      world.clock.t = rec.notBefore;
      await dispatchBatch(0, [{ n: rec.notification, retry: rec }], ledger, d);
    }
    expect(s.idsCalled()).toEqual(['meta:n-1', 'meta:n-1', 'meta:n-1', 'fonnte:n-1', 'fonnte:n-1', 'fonnte:n-1']);
    expect(statuses(log.ledger.filter((r) => r.status !== 'SENDING'))).toEqual(['RETRY_SCHEDULED1@meta', 'RETRY_SCHEDULED2@meta', 'RETRY_SCHEDULED3@meta', 'RETRY_SCHEDULED4@fonnte', 'RETRY_SCHEDULED5@fonnte', 'RETRY_SCHEDULED6@fonnte', 'FAILED6@fonnte']);
    expect(log.dispatch.find((e) => e.status === 'SENDING' && e.attempt === 4)).toMatchObject({ provider: 'fonnte', providerAttempt: 1, routeReason: 'FALLBACK', fallbackFrom: 'meta', routeDetail: expect.stringMatching(/^fallback from meta because meta:1: retries exhausted after 3 attempts/) });
    expect(log.retries.map((r) => r.topic)).toEqual(['dispatch.retry.1', 'dispatch.retry.2', 'dispatch.retry.1', 'dispatch.retry.2']);
    expect(log.ledger.at(-1)).toMatchObject({ status: 'FAILED', errorCode: 'NO_PROVIDER', excludedProviders: ['meta', 'fonnte'] });
    expect(log.deadLetters.map((m) => m.value)).toEqual([expect.objectContaining({ attempts: 6, providers: ['meta', 'fonnte'], errorCode: 'NO_PROVIDER' })]);
  });

  it('"try another provider" (Meta 131047) falls back within the batch, recorded as a separate attempt with its provider; never a second copy', async () => {
    const log = new Log(); const ledger = new PartitionLedger();
    const s = new ScriptedSender([], { meta: [fail('fallback', 'meta:131047')] });
    const r = await dispatchBatch(0, jobs('a', 'b'), ledger, deps(s, log));
    expect(r.results.map((x) => [x.status, x.provider])).toEqual([['ACCEPTED', 'fonnte'], ['ACCEPTED', 'meta']]);
    expect(s.idsCalled()).toEqual(['meta:a', 'meta:b', 'fonnte:a']);
    expect(statuses(log.ledger.filter((e) => e.notificationId === 'a'))).toEqual(['SENDING1@meta', 'RETRY_SCHEDULED1@meta', 'SENDING2@fonnte', 'ACCEPTED2@fonnte']);
    expect(log.dispatch.find((e) => e.notificationId === 'a' && e.status === 'SENDING' && e.attempt === 2)).toMatchObject({ routeReason: 'FALLBACK', fallbackFrom: 'meta', excludedProviders: ['meta'], routeDetail: 'fallback from meta because meta:131047: fallback meta:131047' });
    expect(log.produces).toHaveLength(3); // claims, outcomes + fallback claims, outcomes
  });

  it('an open circuit passes the provider over (reason CIRCUIT_OPEN); a call the breaker refused falls back at once without excluding the provider for good', async () => {
    const log = new Log(); const s = new ScriptedSender([], { meta: [fail('fallback', 'CIRCUIT_OPEN', { circuitOpen: true } as Partial<SendResult>)] });
    await dispatchBatch(0, jobs('a'), new PartitionLedger(), deps(s, log));
    expect(log.dispatch.find((e) => e.status === 'SENDING' && e.attempt === 2)).toMatchObject({ provider: 'fonnte', excludedProviders: [], routeReason: 'CIRCUIT_OPEN', routeDetail: 'fonnte because meta circuit open' });
    s.open.set('meta', 5_000_000);
    const log2 = new Log();
    await dispatchBatch(0, jobs('b'), new PartitionLedger(), deps(s, log2));
    expect(log2.dispatch[0]).toMatchObject({ status: 'SENDING', provider: 'fonnte', routeReason: 'CIRCUIT_OPEN', routeDetail: 'fonnte because meta circuit open' });
  });

  it('every provider of the contact with an open circuit: the notification waits (partition deferred until a trial may go), nothing recorded', async () => {
    const log = new Log(); const s = new ScriptedSender(); s.open.set('meta', 1_020_000); s.open.set('fonnte', 1_030_000);
    const r = await dispatchBatch(0, jobs('a', 'b'), new PartitionLedger(), deps(s, log));
    expect(r.defer).toEqual({ from: 0, until: 1_020_000 });
    expect(log.dispatch).toHaveLength(0);
  });

  it('routes by opt-in: opted in → Meta; not opted in → the gateway with the opt-in link; opted out → nothing, a recorded skip (no dead letter)', async () => {
    const world: World = { clock: { t: 0 }, contacts: new Map() };
    const phones = { in: '+6281111111111', not: '+6282222222222', out: '+6283333333333' };
    world.contacts.set(phones.in, { optedIn: true, optedOut: false });
    world.contacts.set(phones.not, { optedIn: false, optedOut: false });
    world.contacts.set(phones.out, { optedIn: false, optedOut: true });
    const log = new Log(); const s = new ScriptedSender();
    const js = Object.entries(phones).map(([k, phone]) => ({ n: rendered(k, { recipient: { kind: 'APPLICANT', id: k, name: null, phone } }) }));
    const r = await dispatchBatch(0, js, new PartitionLedger(), deps(s, log, {}, world));
    expect(r.results.map((x) => [x.notificationId, x.status, x.provider, x.routeReason, x.sent])).toEqual([['in', 'ACCEPTED', 'meta', 'OPTED_IN', true], ['not', 'ACCEPTED', 'fonnte', 'NOT_OPTED_IN', true], ['out', 'SKIPPED', 'none', 'OPTED_OUT', false]]);
    expect(s.calls.map((c) => [c.provider, c.text])).toEqual([['meta', 'Izin Anda telah terbit.'], ['fonnte', 'Izin Anda telah terbit.\n\nAktifkan: https://wa.me/6281100000000?text=MULAI']]);
    expect(log.dispatch.find((e) => e.notificationId === 'not' && e.status === 'ACCEPTED')).toMatchObject({ optInLink: true });
    const skip = 'recipient opted out of WhatsApp notifications; nothing sent';
    expect(log.dispatch.filter((e) => e.notificationId === 'out')).toEqual([expect.objectContaining({
      status: 'SKIPPED', provider: 'none', attempt: 0, providerMessageId: null, errorCode: null, disposition: null, reason: skip, routeReason: 'OPTED_OUT', routeDetail: skip,
      eventId: dispatchEventId('out', 'SKIPPED', 0),
    })]);
    expect(log.ledger.filter((e) => e.notificationId === 'out').map((e) => e.status)).toEqual(['SKIPPED']);
    expect(log.deadLetters).toHaveLength(0);
  });

  it('an opt-out between a failed attempt and its retry: the retry record sends nothing and records SKIPPED (final, no dead letter); a replay, a repeated retry record and a later opt-in send nothing either', async () => {
    const phone = '+6281234567890';
    const world: World = { clock: { t: 1_000_000 }, contacts: new Map([[phone, { optedIn: true, optedOut: false }]]) };
    const log = new Log(); const s = new ScriptedSender([fail('retry', 'meta:130429')]); const ledger = new PartitionLedger();
    const d = deps(s, log, {}, world);
    await dispatchBatch(0, jobs('n-1'), ledger, d);
    expect(statuses(log.dispatch)).toEqual(['SENDING1@meta', 'RETRY_SCHEDULED1@meta']);
    const [rec] = log.retries;
    world.contacts.set(phone, { optedIn: false, optedOut: true }); // BERHENTI, before the retry is due
    world.clock.t = rec!.value.notBefore;
    const retryJob = { n: rec!.value.notification, retry: rec!.value };
    const r = await dispatchBatch(0, [retryJob], ledger, d);
    expect(r.results[0]).toMatchObject({ status: 'SKIPPED', sent: false, provider: 'none', routeReason: 'OPTED_OUT' });
    expect(s.calls).toHaveLength(1);
    expect(log.dispatch.at(-1)).toMatchObject({ status: 'SKIPPED', provider: 'none', attempt: 1, errorCode: null, routeReason: 'OPTED_OUT', excludedProviders: [] });
    expect(log.deadLetters).toHaveLength(0);
    expect(log.retries).toHaveLength(1);

    world.contacts.set(phone, { optedIn: true, optedOut: false }); // MULAI afterwards: the skipped notification stays skipped
    const emitted = log.dispatch.length;
    for (const l of [ledger, log.restore()]) {
      expect((await dispatchBatch(0, [retryJob], l, d)).results[0]!.status).toBe('SKIPPED_STALE');
      expect((await dispatchBatch(0, jobs('n-1'), l, d)).results[0]).toMatchObject({ status: l === ledger ? 'SKIPPED_STALE' : 'SKIPPED', sent: false });
    }
    expect(s.calls).toHaveLength(1);
    // The restored ledger re-emits the same fact (same event id), nothing new.
    expect(log.dispatch.slice(emitted).map((e) => [e.status, e.eventId])).toEqual([['SKIPPED', dispatchEventId('n-1', 'SKIPPED', 1)]]);
    expect(log.restore().entries.get('n-1')).toMatchObject({ status: 'SKIPPED', provider: 'none' });
  });

  it('at a rate limit the rest waits: the batch defers from the first record without a token until one is free, nothing failed or dropped', async () => {
    const world: World = { clock: { t: 1000 }, contacts: new Map() };
    const pacer = new Pacer({ rates: parseRates('meta=2/s'), pairRates: new Map(), quotas: new Map(), partitions: 1 });
    const log = new Log(); const s = new ScriptedSender(); const ledger = new PartitionLedger();
    const d = deps(s, log, { pacer }, world);
    const r = await dispatchBatch(0, jobs('a', 'b', 'c', 'd'), ledger, d);
    expect(r.results.map((x) => x.status)).toEqual(['ACCEPTED', 'ACCEPTED', 'WAITING', 'WAITING']);
    expect(r.defer).toEqual({ from: 2, until: 2000 });
    world.clock.t = 2000; // the loop delivers records[2..] again
    const again = await dispatchBatch(0, jobs('c', 'd'), ledger, d);
    expect(again.results.map((x) => x.status)).toEqual(['ACCEPTED', 'ACCEPTED']);
    expect(s.calls).toHaveLength(4);
  });

  it('a daily quota gone: with QUOTA_EXHAUSTED=fallback the next provider takes the overflow; with wait, it waits for the next Jakarta day on the last retry tier', async () => {
    const world: World = { clock: { t: Date.parse('2026-11-22T10:00:00+07:00') }, contacts: new Map([['+6281234567890', { optedIn: false, optedOut: false }]]) };
    const mk = () => new Pacer({ rates: new Map(), pairRates: new Map(), quotas: new Map([['fonnte', 2]]), partitions: 1 });
    const chain = { chain: ['fonnte', 'watzap'] as ProviderName[], optInRequired: new Set<ProviderName>(['meta']) };
    const log = new Log(); const s = new ScriptedSender();
    const r = await dispatchBatch(0, jobs('a', 'b', 'c'), new PartitionLedger(), deps(s, log, { pacer: mk(), routing: chain }, world));
    expect(r.results.map((x) => [x.provider, x.routeReason])).toEqual([['fonnte', 'NOT_OPTED_IN'], ['fonnte', 'NOT_OPTED_IN'], ['watzap', 'QUOTA_EXHAUSTED']]);

    const log2 = new Log(); const s2 = new ScriptedSender(); const ledger2 = new PartitionLedger();
    const d2 = deps(s2, log2, { pacer: mk(), routing: { ...chain, chain: ['fonnte'] }, quotaExhausted: 'wait' }, world);
    const w = await dispatchBatch(0, jobs('a', 'b', 'c'), ledger2, d2);
    expect(w.results.map((x) => x.status)).toEqual(['ACCEPTED', 'ACCEPTED', 'RETRY_SCHEDULED']);
    const nextDay = Date.parse('2026-11-23T00:00:00+07:00');
    expect(log2.ledger.find((e) => e.notificationId === 'c')).toMatchObject({ notificationId: 'c', status: 'RETRY_SCHEDULED', attempt: 0, notBefore: nextDay, routeReason: 'QUOTA_EXHAUSTED', nextProvider: 'fonnte' });
    expect(log2.retries.map((m) => [m.topic, m.value.attempt, m.value.notBefore])).toEqual([['dispatch.retry.3', 1, nextDay]]);
    world.clock.t = nextDay;
    const rec = log2.retries[0]!.value;
    expect((await dispatchBatch(0, [{ n: rec.notification, retry: rec }], ledger2, d2)).results[0]).toMatchObject({ status: 'ACCEPTED', provider: 'fonnte' });
    expect(s2.calls).toHaveLength(3);
  });

});
