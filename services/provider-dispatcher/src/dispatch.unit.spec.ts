import fc from 'fast-check';
import { TransientError } from '@sicantik/core';
import type { ProviderName, OutboundMessage } from '@sicantik/providers';
import type { DispatchRetryScheduled, NotificationDispatchRecorded, NotificationRendered } from '@sicantik/schemas';
import { INTERRUPTED, PartitionLedger, decide, dispatchEventId, entryOf, type Job } from './domain/ledger';
import { Pacer, parseRates } from './domain/pacing';
import type { RetryPolicy } from './domain/retry';
import type { ContactState } from './domain/routing';
import { dispatchBatch, mapLimit, type DispatchDeps, type DispatchMessage, type SendResult, type Sender } from './dispatch';

////////// dispatchBatch against fakes: a scripted sender, a produce log, a clock

type Answer = SendResult | ((p: ProviderName, m: OutboundMessage) => SendResult);
const ok = (id = 'wamid.x'): SendResult => ({ kind: 'accepted', providerMessageId: id, latencyMs: 3 });
const fail = (disposition: 'retry' | 'fallback' | 'permanent', errorCode = 'meta:1', extra: Partial<SendResult> = {}): SendResult => ({ kind: 'failed', disposition, errorCode, reason: `${disposition} ${errorCode}`, latencyMs: 3, ...extra } as SendResult);
const doubt: SendResult = { kind: 'in_doubt', errorCode: 'TIMEOUT', reason: 'no answer', latencyMs: 10_000 };

class ScriptedSender implements Sender {
  calls: { provider: ProviderName; id: string; text: string }[] = [];
  open = new Map<ProviderName, number>();
  constructor(private readonly script: Answer[] = [], private readonly byProvider: Partial<Record<ProviderName, Answer[]>> = {}) {}
  async send(provider: ProviderName, m: OutboundMessage): Promise<SendResult> {
    this.calls.push({ provider, id: m.notificationId, text: m.text });
    const a = this.byProvider[provider]?.shift() ?? this.script.shift() ?? ok(`${provider}.${this.calls.length}`);
    return typeof a === 'function' ? a(provider, m) : a;
  }
  openCircuits() { return this.open; }
  idsCalled() { return this.calls.map((c) => `${c.provider}:${c.id}`); }
}

const rendered = (id = 'n-1', over: Partial<NotificationRendered> = {}): NotificationRendered => ({
  eventId: `r-${id}`, occurredAt: 0, correlationId: 'c', causationId: 'q', notificationId: id, scenario: 'permit_ready', templateCode: 'permit_ready',
  templateVersion: 1, pendaftaran_id: 'REG-1', recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi', phone: '+6281234567890' },
  outcome: 'RENDERED', text: 'Izin Anda telah terbit.', parameters: [{ name: 'nama_pemohon', value: 'Budi' }], language: 'id', failureReason: null, ...over,
});
const jobs = (...ids: string[]): Job[] => ids.map((id) => ({ n: rendered(id) }));

/** A partition's durable log in memory: what was produced, in order. */
class Log {
  produces: DispatchMessage[][] = [];
  get messages() { return this.produces.flat(); }
  get dispatch() { return this.messages.filter((m) => m.topic === 'notification.dispatch').map((m) => m.value as NotificationDispatchRecorded); }
  get ledger() { return this.messages.filter((m) => m.topic === 'dispatch.ledger').map((m) => m.value as NotificationDispatchRecorded); }
  get retries() { return this.messages.filter((m) => m.topic.startsWith('dispatch.retry.')) as Extract<DispatchMessage, { value: DispatchRetryScheduled }>[]; }
  get deadLetters() { return this.messages.filter((m) => m.topic === 'dispatch.dead-letter'); }
  /** A ledger restored from the changelog, as a restarted process would. */
  restore(): PartitionLedger { const l = new PartitionLedger(); for (const r of this.ledger) l.restore(r); l.synced(BigInt(this.ledger.length)); return l; }
}

const RETRY: RetryPolicy = { maxAttempts: 3, delayMs: 300_000, backoff: 2, jitter: 0, tiers: 3 };
const unlimited = () => new Pacer({ rates: new Map(), pairRates: new Map(), quotas: new Map(), partitions: 1 });

interface World { clock: { t: number }; contacts: Map<string, ContactState> }
function deps(sender: Sender, log: Log, over: Partial<DispatchDeps> = {}, world: World = { clock: { t: 1_000_000 }, contacts: new Map() }): DispatchDeps {
  const pacer = over.pacer ?? unlimited();
  pacer.setOwned(pacer.o.partitions);
  return {
    sender, produce: async (m) => { log.produces.push(m); }, now: () => world.clock.t,
    routing: { chain: ['meta', 'fonnte'], optInRequired: new Set(['meta']) },
    contact: (phone) => world.contacts.get(phone) ?? { optedIn: true, optedOut: false },
    pacer, retry: RETRY, quotaExhausted: 'fallback', inDoubtPolicy: 'hold', lookupDelayMs: 1000,
    optInLink: { url: 'https://wa.me/6281100000000?text=MULAI', text: 'Aktifkan: {link}' }, ...over,
  };
}
const statuses = (rs: NotificationDispatchRecorded[]) => rs.map((e) => `${e.status}${e.attempt}${e.provider === 'none' ? '' : `@${e.provider}`}`);

describe('decide (pure)', () => {
  const n = rendered();
  const entry = (status: NotificationDispatchRecorded['status'], attempt = 1, extra: Partial<NotificationDispatchRecorded> = {}) =>
    entryOf({ eventId: 'e', occurredAt: 5, correlationId: 'c', causationId: null, notificationId: 'n-1', pendaftaran_id: 'REG-1', scenario: 's', templateCode: 't', recipientKind: 'APPLICANT', provider: 'meta', status, providerMessageId: null, attempt, errorCode: null, reason: null, ...extra });
  const retry = (attempt: number, notBefore = 0, over: Partial<DispatchRetryScheduled> = {}): Job['retry'] => ({ kind: 'SEND', attempt, provider: 'meta', providerAttempt: attempt, excludedProviders: [], notBefore, providerMessageId: null, tier: 1, ...over });

  it('a new notification is an attempt 1 routed afresh; a render failure is skipped', () => {
    expect(decide({ n }, undefined, undefined, 0)).toEqual({ kind: 'attempt', next: { attempt: 1, excluded: [], preferred: undefined, previous: undefined, fallback: undefined } });
    expect(decide({ n: rendered('n-1', { outcome: 'FAILED' }) }, undefined, undefined, 0)).toMatchObject({ kind: 'skip' });
  });
  it.each(['ACCEPTED', 'FAILED', 'IN_DOUBT', 'SKIPPED'] as const)('%s is emitted again with its event id (restored), skipped (written here), never re-sent', (s) => {
    const e = entry(s, 2, { providerMessageId: s === 'ACCEPTED' ? 'wamid.1' : null })!;
    expect(decide({ n }, e, undefined, 99)).toMatchObject({ kind: 'reemit', record: { status: s, attempt: 2, eventId: dispatchEventId('n-1', s, 2), occurredAt: 5 } });
    expect(decide({ n }, { ...e, local: true }, undefined, 99)).toMatchObject({ kind: 'skip' });
    expect(decide({ n, retry: retry(3) }, e, undefined, 99)).toMatchObject({ kind: 'skip' });
  });
  it('a claim without an outcome becomes IN_DOUBT, recorded, never re-sent', () => {
    expect(decide({ n }, entry('SENDING', 2), undefined, 7)).toMatchObject({ kind: 'record', record: { status: 'IN_DOUBT', attempt: 2, reason: INTERRUPTED } });
  });
  it('a retry record for the next attempt proves the claimed attempt failed retriably (it is written only after such an answer)', () => {
    expect(decide({ n, retry: retry(3, 10) }, entry('SENDING', 2), undefined, 20)).toMatchObject({ kind: 'attempt', next: { attempt: 3, preferred: 'meta', previous: { provider: 'meta', providerAttempt: 2 } } });
    // Its own attempt claimed and never answered (killed mid-call): in doubt, whichever delivery finds it.
    expect(decide({ n, retry: retry(2, 10) }, entry('SENDING', 2), undefined, 20)).toMatchObject({ kind: 'record', record: { status: 'IN_DOUBT', attempt: 2 } });
  });
  it('a scheduled retry is owned by its retry record: the rendered record only re-emits; the record waits for its time, then makes the next attempt', () => {
    const e = entry('RETRY_SCHEDULED', 1, { notBefore: 500, nextProvider: 'meta', providerAttempt: 1, disposition: 'retry' })!;
    expect(decide({ n }, e, undefined, 0)).toMatchObject({ kind: 'reemit' });
    expect(decide({ n, retry: retry(2, 500) }, e, undefined, 499)).toEqual({ kind: 'notDue', until: 500 });
    expect(decide({ n, retry: retry(2, 500) }, e, undefined, 500)).toMatchObject({ kind: 'attempt', next: { attempt: 2, preferred: 'meta' } });
    expect(decide({ n, retry: retry(1, 500) }, e, undefined, 500)).toMatchObject({ kind: 'skip' }); // stale
  });
  it('a fallback (RETRY_SCHEDULED without a time) is due at once on any delivery, with the failed provider excluded', () => {
    const e = entry('RETRY_SCHEDULED', 1, { excludedProviders: ['meta'], disposition: 'fallback', errorCode: 'meta:131047', reason: 're-engagement' })!;
    expect(decide({ n }, e, undefined, 0)).toEqual({ kind: 'attempt', next: { attempt: 2, excluded: ['meta'], preferred: undefined, previous: { provider: 'meta', providerAttempt: 1 }, fallback: { from: 'meta', because: 'meta:131047: re-engagement' } } });
  });
  it('an entry from before retry topics (RETRY_SCHEDULED without a time) is retried on its provider, as before', () => {
    expect(decide({ n }, entry('RETRY_SCHEDULED', 2), undefined, 0)).toMatchObject({ kind: 'attempt', next: { attempt: 3, preferred: 'meta', previous: { provider: 'meta', providerAttempt: 2 }, fallback: undefined } });
  });
  it('an outcome known but not yet recorded is recorded, not reported in doubt; a stale one is ignored', () => {
    const known = { ...(decide({ n }, entry('ACCEPTED'), undefined, 0) as { record: NotificationDispatchRecorded }) };
    expect(decide({ n }, entry('SENDING', 1), known.record, 0)).toEqual({ kind: 'record', record: known.record });
    expect(decide({ n }, entry('ACCEPTED', 2), known.record, 0)).toMatchObject({ kind: 'reemit', record: { attempt: 2 } });
  });
});

describe('dispatchBatch', () => {
  it('sends once and records SENDING then ACCEPTED with the provider, its message id and why; ledger records on the input partition', async () => {
    const log = new Log(); const s = new ScriptedSender(); const ledger = new PartitionLedger();
    const r = await dispatchBatch(4, jobs('n-1'), ledger, deps(s, log));
    expect(r.results[0]).toMatchObject({ status: 'ACCEPTED', sent: true, provider: 'meta' });
    expect(log.dispatch.map((e) => [e.status, e.attempt, e.provider, e.providerAttempt, e.providerMessageId, e.routeReason])).toEqual([['SENDING', 1, 'meta', 1, null, 'OPTED_IN'], ['ACCEPTED', 1, 'meta', 1, 'meta.1', 'OPTED_IN']]);
    expect(log.dispatch[1]!.latencyMs).toBe(3);
    expect(log.messages.filter((m) => m.topic === 'dispatch.ledger').map((m) => [m.key, 'partition' in m && m.partition])).toEqual([['n-1', 4], ['n-1', 4]]);
    expect(log.messages.filter((m) => m.topic === 'notification.dispatch').every((m) => m.key === 'REG-1')).toBe(true);
    expect(ledger.entries.get('n-1')).toMatchObject({ status: 'ACCEPTED', attempts: 1, providerMessageId: 'meta.1' });
    expect(ledger.unrecorded.size).toBe(0);
  });

  it('a batch costs two produces: every claim before any call, then every outcome', async () => {
    const log = new Log(); const seenAtCall: number[] = [];
    const s = new ScriptedSender([() => { seenAtCall.push(log.produces.length); return ok(); }, () => { seenAtCall.push(log.produces.length); return ok(); }, () => { seenAtCall.push(log.produces.length); return ok(); }]);
    await dispatchBatch(0, jobs('a', 'b', 'c'), new PartitionLedger(), deps(s, log));
    expect(log.produces.map((b) => b.map((m) => `${m.topic}:${(m.value as NotificationDispatchRecorded).status}`))).toEqual([
      ['notification.dispatch:SENDING', 'dispatch.ledger:SENDING', 'notification.dispatch:SENDING', 'dispatch.ledger:SENDING', 'notification.dispatch:SENDING', 'dispatch.ledger:SENDING'],
      ['notification.dispatch:ACCEPTED', 'dispatch.ledger:ACCEPTED', 'notification.dispatch:ACCEPTED', 'dispatch.ledger:ACCEPTED', 'notification.dispatch:ACCEPTED', 'dispatch.ledger:ACCEPTED'],
    ]);
    expect(seenAtCall).toEqual([1, 1, 1]);
  });

  it('calls providers concurrently, at most `concurrency` at once', async () => {
    let inFlight = 0; let max = 0;
    const s: Sender = { openCircuits: () => new Map(), send: async () => { inFlight++; max = Math.max(max, inFlight); await new Promise((r) => setTimeout(r, 2)); inFlight--; return ok(); } };
    await dispatchBatch(0, Array.from({ length: 40 }, (_, i) => ({ n: rendered(`n-${i}`) })), new PartitionLedger(), deps(s, new Log(), { concurrency: 16 }));
    expect(max).toBe(16);
  });

  it('a redelivered notification is never sent again: restored from the changelog its outcome is re-emitted (same event id); in the process that wrote it, nothing', async () => {
    const log = new Log(); const s = new ScriptedSender(); const ledger = new PartitionLedger();
    await dispatchBatch(0, jobs('n-1'), ledger, deps(s, log));
    expect((await dispatchBatch(0, jobs('n-1'), ledger, deps(s, log))).results[0]).toMatchObject({ status: 'SKIPPED_STALE', sent: false });
    expect(log.dispatch).toHaveLength(2);
    const [again] = (await dispatchBatch(0, jobs('n-1'), log.restore(), deps(s, log))).results;
    expect(again).toMatchObject({ status: 'ACCEPTED', sent: false, reemitted: true }); // not counted in the outcome metric again
    expect(s.calls).toHaveLength(1);
    expect(log.dispatch[2]).toEqual(log.dispatch[1]);
    expect(log.ledger).toHaveLength(2);
  });

  it('the same id twice in one batch is sent once', async () => {
    const s = new ScriptedSender();
    const out = await dispatchBatch(0, jobs('a', 'a'), new PartitionLedger(), deps(s, new Log()));
    expect(out.results.map((r) => r.status)).toEqual(['ACCEPTED', 'SKIPPED_REPEATED_IN_BATCH']);
    expect(s.idsCalled()).toEqual(['meta:a']);
  });

  it('a claim left in flight by a crashed process is reported IN_DOUBT (recorded once) and never re-sent', async () => {
    const log = new Log(); let produces = 0;
    const dies = deps(new ScriptedSender(), log, { produce: async (m) => { if (++produces === 2) throw new Error('killed'); log.produces.push(m); } });
    await expect(dispatchBatch(0, jobs('n-1'), new PartitionLedger(), dies)).rejects.toThrow('killed');
    const s = new ScriptedSender(); const ledger = log.restore();
    expect((await dispatchBatch(0, jobs('n-1'), ledger, deps(s, log))).results[0]).toMatchObject({ status: 'IN_DOUBT', sent: false });
    expect((await dispatchBatch(0, jobs('n-1'), log.restore(), deps(s, log))).results[0]).toMatchObject({ status: 'IN_DOUBT', sent: false });
    expect(s.calls).toHaveLength(0);
    expect(statuses(log.ledger)).toEqual(['SENDING1@meta', 'IN_DOUBT1@meta']);
    expect(log.dispatch.at(-1)).toEqual(log.dispatch.at(-2));
  });

  it('a timeout (maybe accepted) is in doubt: not retried, not passed to another provider', async () => {
    const log = new Log(); const s = new ScriptedSender([doubt]);
    const r = await dispatchBatch(0, jobs('n-1'), new PartitionLedger(), deps(s, log));
    expect(r.results[0]!.status).toBe('IN_DOUBT');
    expect(s.calls).toHaveLength(1);
    expect(log.dispatch.at(-1)).toMatchObject({ status: 'IN_DOUBT', errorCode: 'TIMEOUT', disposition: 'in_doubt', latencyMs: 10_000 });
    expect(log.retries).toHaveLength(0);
  });

  it('a sender that throws leaves the notification in doubt', async () => {
    const s: Sender = { openCircuits: () => new Map(), send: async () => { throw new Error('boom'); } };
    expect((await dispatchBatch(0, jobs('n-1'), new PartitionLedger(), deps(s, new Log()))).results[0]).toMatchObject({ status: 'IN_DOUBT', sent: true });
  });

  it('a permanent error fails at once, with a dead letter naming the reason', async () => {
    const log = new Log(); const s = new ScriptedSender([fail('permanent', 'meta:100')]);
    expect((await dispatchBatch(0, jobs('n-1'), new PartitionLedger(), deps(s, log))).results[0]!.status).toBe('FAILED');
    expect(s.calls).toHaveLength(1);
    expect(log.deadLetters.map((m) => m.value)).toEqual([expect.objectContaining({ notificationId: 'n-1', attempts: 1, providers: ['meta'], lastProvider: 'meta', errorCode: 'meta:100', reason: 'permanent meta:100' })]);
  });

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

  it('when the outcome produce fails, the retried batch records the known outcome: no IN_DOUBT, no second call; a known fallback continues with the next provider', async () => {
    const log = new Log(); const s = new ScriptedSender([], { meta: [fail('fallback', 'meta:131026')] }); const ledger = new PartitionLedger();
    let n = 0;
    const flaky = deps(s, log, { produce: async (m) => { if (++n === 2) throw new TransientError('broker away'); log.produces.push(m); } });
    await expect(dispatchBatch(0, jobs('n-1'), ledger, flaky)).rejects.toThrow('broker away');
    expect((await dispatchBatch(0, jobs('n-1'), ledger, flaky)).results[0]).toMatchObject({ status: 'ACCEPTED', provider: 'fonnte' });
    expect(s.idsCalled()).toEqual(['meta:n-1', 'fonnte:n-1']);
    expect(statuses(log.ledger)).toEqual(['SENDING1@meta', 'RETRY_SCHEDULED1@meta', 'SENDING2@fonnte', 'ACCEPTED2@fonnte']);
  });

  it('IN_DOUBT_POLICY=lookup resolves an in-doubt send with a known id through the status lookup; never by sending', async () => {
    const world: World = { clock: { t: 0 }, contacts: new Map() };
    const s = new ScriptedSender([{ kind: 'in_doubt', errorCode: 'ECONNRESET', reason: 'cut off', latencyMs: 1, providerMessageId: 'SMabc' }]);
    const looked: string[] = [];
    const sender: Sender = { ...s, send: s.send.bind(s), openCircuits: () => new Map(), canLookup: () => true, lookup: async (_p, id) => { looked.push(id); return { kind: 'found', status: 'delivered' }; } };
    const log = new Log(); const ledger = new PartitionLedger();
    const d = deps(sender, log, { inDoubtPolicy: 'lookup', lookupDelayMs: 5000 }, world);
    await dispatchBatch(0, jobs('n-1'), ledger, d);
    const rec = log.retries[0]!.value;
    expect([rec.kind, rec.attempt, rec.providerMessageId, rec.notBefore]).toEqual(['LOOKUP', 1, 'SMabc', 5000]);
    world.clock.t = 5000;
    expect((await dispatchBatch(0, [{ n: rec.notification, retry: rec }], ledger, d)).results[0]).toMatchObject({ status: 'ACCEPTED' });
    expect(looked).toEqual(['SMabc']);
    expect(s.calls).toHaveLength(1);
    expect(statuses(log.ledger)).toEqual(['SENDING1@meta', 'IN_DOUBT1@meta', 'ACCEPTED1@meta']);
  });

  it('the ledger restored from the changelog (every record, or only the last per key as after compaction) equals the one in memory, quota counts included', async () => {
    const log = new Log(); const ledger = new PartitionLedger();
    await dispatchBatch(0, jobs('a', 'b', 'c', 'd', 'e'), ledger, deps(new ScriptedSender([fail('retry'), fail('permanent'), doubt, fail('fallback', 'meta:131047')]), log));
    const compacted = new PartitionLedger();
    for (const r of new Map(log.ledger.map((r) => [r.notificationId, r])).values()) compacted.restore(r);
    const plain = (l: PartitionLedger) => new Map([...l.entries].map(([k, v]) => [k, { ...v, local: undefined }]));
    expect(plain(log.restore())).toEqual(plain(ledger));
    expect(plain(compacted)).toEqual(plain(ledger));
    for (const p of ['meta', 'fonnte']) expect([p, compacted.usedToday(p, 1_000_000)]).toEqual([p, ledger.usedToday(p, 1_000_000)]);
    expect([ledger.usedToday('meta', 1_000_000), ledger.usedToday('fonnte', 1_000_000)]).toEqual([2, 1]); // c (in doubt) and e; d (fallback)
    expect(ledger.ownWrites).toBe(log.ledger.length);
  });

  it('mapLimit keeps the input order', async () => {
    expect(await mapLimit([5, 1, 3], 2, async (x) => { await new Promise((r) => setTimeout(r, x)); return x * 2; })).toEqual([10, 2, 6]);
  });
});

////////// Property: deliveries, redeliveries, retries, fallbacks and crashes at any step
// A "crash" kills the process at a produce or a provider call (before the request
// leaves, or after it reached the provider and before the answer is seen): nothing
// more of that process runs, its memory is lost, the restarted process restores the
// ledger from the durable log and gets the batch again (it was not committed). A
// transient produce failure retries the batch in the same process. Retry records are
// delivered in order per tier, as a retry topic would, once their time has come (the
// clock jumps). The providers answer anything.

class Crash extends Error {}
type Fault = 'none' | 'crash-before' | 'crash-after' | 'transient';

describe('property: one accepted send per notification id, whatever the failures', () => {
  const answer = fc.oneof(
    fc.constant<SendResult>(ok()),
    fc.constant<SendResult>(fail('retry')),
    fc.constant<SendResult>(fail('fallback', 'meta:131047')),
    fc.constant<SendResult>(fail('permanent', 'x:100')),
    fc.constant<SendResult>(doubt),
  );
  const fault = fc.oneof({ weight: 8, arbitrary: fc.constant<Fault>('none') }, { weight: 1, arbitrary: fc.constantFrom<Fault>('crash-before', 'crash-after', 'transient') });

  it('a provider is called for an id only while every earlier call for it is known to have failed, and never after the contact opted out; attempt numbers only increase; every id ends final exactly once', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 6 }),
      fc.array(answer, { maxLength: 60 }),
      fc.array(fault, { maxLength: 80 }),
      // The contact (every id's) opts out before the n-th delivery of a batch, or never.
      fc.option(fc.nat(12), { nil: undefined }),
      async (batches, answers0, faults0, optOutAt) => {
        const answers = [...answers0]; const faults = [...faults0];
        const log = new Log();
        const world: World = { clock: { t: 1_000_000 }, contacts: new Map() };
        let deliveries = 0;
        /** Provider calls made before the opt-out (undefined: no opt-out yet). */
        let callsAtOptOut: number | undefined;
        const callCount = () => [...calls.values()].reduce((n, c) => n + c.length, 0);
        /** Per id, every call that reached a provider, and what the dispatcher learnt of it. */
        const calls = new Map<string, { provider: string; answer: SendResult | null }[]>();
        let dead = false;
        const nextFault = (): Fault => faults.shift() ?? 'none';
        const sender: Sender = {
          openCircuits: () => new Map(),
          send: async (provider, m) => {
            if (dead) throw new Crash();
            const f = nextFault();
            if (f === 'crash-before') { dead = true; throw new Crash(); }
            const call = { provider, answer: null as SendResult | null };
            (calls.get(m.notificationId) ?? calls.set(m.notificationId, []).get(m.notificationId)!).push(call);
            if (f === 'crash-after') { dead = true; throw new Crash(); }
            call.answer = answers.shift() ?? ok();
            return call.answer;
          },
        };
        const d = deps(sender, log, {
          retry: { ...RETRY, delayMs: 1000, jitter: 0.5 },
          produce: async (m) => {
            if (dead) throw new Crash();
            const f = nextFault();
            if (f === 'crash-before') { dead = true; throw new Crash(); }
            if (f === 'transient') throw new TransientError('broker away');
            log.produces.push(m);
            if (f === 'crash-after') { dead = true; throw new Crash(); }
          },
        }, world);
        let ledger = new PartitionLedger();
        const deliver = async (js: Job[]): Promise<number | undefined> => {
          if (deliveries++ === optOutAt) {
            world.contacts.set('+6281234567890', { optedIn: false, optedOut: true });
            callsAtOptOut = callCount();
          }
          for (let tries = 0; ; tries++) {
            expect(tries).toBeLessThan(300);
            try {
              const r = await dispatchBatch(0, js, ledger, d);
              return r.defer?.from;
            } catch (e) {
              if (e instanceof Crash || dead) { dead = false; ledger = log.restore(); continue; } // restarted process, same batch
              if (e instanceof TransientError) continue; // same process retries the batch
              throw e;
            }
          }
        };
        for (const ids of batches) await deliver(jobs(...ids));
        // The retry topics, in order per tier, each record once its time has come (a deferral delivers it again).
        const consumed = new Map<string, number>();
        for (let round = 0; round < 100; round++) {
          const heads = (['dispatch.retry.1', 'dispatch.retry.2', 'dispatch.retry.3'] as const)
            .map((topic) => ({ topic, start: consumed.get(topic) ?? 0, recs: log.retries.filter((m) => m.topic === topic) }))
            .map((h) => ({ ...h, recs: h.recs.slice(h.start) }))
            .filter((h) => h.recs.length);
          if (!heads.length) break;
          world.clock.t = Math.max(world.clock.t, Math.min(...heads.map((h) => h.recs[0]!.value.notBefore)));
          for (const h of heads) {
            const from = await deliver(h.recs.map((m) => ({ n: m.value.notification, retry: m.value })));
            consumed.set(h.topic, h.start + (from ?? h.recs.length));
          }
        }
        faults.length = 0;
        // Every id delivered once more without faults (a replay): no call is due.
        const before = callCount();
        if (callsAtOptOut !== undefined) expect(before).toBe(callsAtOptOut); // opted out: nothing sent any more
        const everyId = [...new Set(batches.flat())];
        ledger = log.restore();
        await deliver(jobs(...everyId));
        expect([...calls.values()].reduce((n, c) => n + c.length, 0)).toBe(before);

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
});
