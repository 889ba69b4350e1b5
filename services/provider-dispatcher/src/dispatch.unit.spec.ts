import fc from 'fast-check';
import { TransientError } from '@sicantik/core';
import type { NotificationDispatchRecorded, NotificationRendered } from '@sicantik/schemas';
import { INTERRUPTED, PartitionLedger, decide, dispatchEventId, entryOf } from './domain/ledger';
import { classifyMetaError } from './domain/metaErrors';
import type { Provider, SendResult } from './domain/provider';
import { dispatchBatch, mapLimit, type DispatchDeps, type DispatchMessage } from './dispatch';

class ScriptedProvider implements Provider {
  readonly name = 'meta';
  calls: string[] = [];
  constructor(private readonly script: SendResult[] = []) {}
  async send(n: NotificationRendered): Promise<SendResult> {
    this.calls.push(n.notificationId);
    return this.script.shift() ?? { ok: true, providerMessageId: `wamid.${this.calls.length}` };
  }
}

const rendered = (id = 'n-1', over: Partial<NotificationRendered> = {}): NotificationRendered => ({
  eventId: `r-${id}`, occurredAt: 0, correlationId: 'c', causationId: 'q', notificationId: id, scenario: 'permit_ready', templateCode: 'permit_ready',
  templateVersion: 1, pendaftaran_id: 'REG-1', recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi', phone: '+6281234567890' },
  outcome: 'RENDERED', text: 'x', parameters: [], metaTemplateName: 'sicantik_permit_ready', metaLanguage: 'id', failureReason: null, ...over,
});

/** A partition's durable log in memory: what was produced, in order. */
class Log {
  produces: DispatchMessage[][] = [];
  get messages() { return this.produces.flat(); }
  get dispatch() { return this.messages.filter((m) => m.topic === 'notification.dispatch').map((m) => m.value); }
  get ledger() { return this.messages.filter((m) => m.topic === 'dispatch.ledger').map((m) => m.value); }
  /** A ledger restored from the changelog, as a restarted process would. */
  restore(): PartitionLedger { const l = new PartitionLedger(); for (const r of this.ledger) l.restore(r); l.synced(BigInt(this.ledger.length)); return l; }
}

function deps(provider: Provider, log: Log, over: Partial<DispatchDeps> = {}): DispatchDeps {
  return { provider, produce: async (m) => { log.produces.push(m); }, now: () => new Date(0), wait: async () => undefined, maxAttempts: 3, retryDelayMs: 300_000, ...over };
}
const statuses = (rs: NotificationDispatchRecorded[]) => rs.map((e) => [e.notificationId, e.status, e.attempt]);

describe('decide (pure)', () => {
  const n = rendered();
  const entry = (status: NotificationDispatchRecorded['status'], attempt = 1, extra: Partial<NotificationDispatchRecorded> = {}) =>
    entryOf({ eventId: 'e', occurredAt: 5, correlationId: 'c', causationId: null, notificationId: 'n-1', pendaftaran_id: 'REG-1', scenario: 's', templateCode: 't', recipientKind: 'APPLICANT', provider: 'meta', status, providerMessageId: null, attempt, errorCode: null, reason: null, ...extra });
  it('a new notification is sent (attempt 1); a render failure is skipped', () => {
    expect(decide(n, undefined, undefined, 0)).toEqual({ kind: 'send', attempt: 1 });
    expect(decide(rendered('n-1', { outcome: 'FAILED' }), undefined, undefined, 0)).toEqual({ kind: 'skip' });
  });
  it.each(['ACCEPTED', 'FAILED', 'IN_DOUBT'] as const)('%s is emitted again with its event id, never re-sent', (s) => {
    const d = decide(n, entry(s, 2, { providerMessageId: s === 'ACCEPTED' ? 'wamid.1' : null }), undefined, 99);
    expect(d).toMatchObject({ kind: 'reemit', record: { status: s, attempt: 2, eventId: dispatchEventId('n-1', s, 2), occurredAt: 5 } });
  });
  it('a claim without an outcome becomes IN_DOUBT, recorded, never re-sent', () => {
    expect(decide(n, entry('SENDING', 2), undefined, 7)).toMatchObject({ kind: 'record', record: { status: 'IN_DOUBT', attempt: 2, reason: INTERRUPTED } });
  });
  it('a scheduled retry is the only state that sends again, with the next attempt', () => {
    expect(decide(n, entry('RETRY_SCHEDULED', 2), undefined, 0)).toEqual({ kind: 'send', attempt: 3 });
  });
  it('an outcome known but not yet recorded is recorded, not reported in doubt', () => {
    const known = { ...decide(n, entry('ACCEPTED'), undefined, 0), kind: undefined } as unknown as { record: NotificationDispatchRecorded };
    expect(decide(n, entry('SENDING', 1), known.record, 0)).toEqual({ kind: 'record', record: known.record });
    // a stale one (older attempt than the ledger's) is ignored
    expect(decide(n, entry('ACCEPTED', 2), known.record, 0)).toMatchObject({ kind: 'reemit', record: { attempt: 2 } });
  });
});

describe('dispatchBatch', () => {
  it('sends once and records SENDING then ACCEPTED with the provider message id; ledger records on the input partition', async () => {
    const log = new Log(); const p = new ScriptedProvider(); const ledger = new PartitionLedger();
    expect((await dispatchBatch(4, [rendered()], ledger, deps(p, log)))[0]).toMatchObject({ status: 'ACCEPTED', sent: true });
    expect(log.dispatch.map((e) => [e.status, e.attempt, e.providerMessageId])).toEqual([['SENDING', 1, null], ['ACCEPTED', 1, 'wamid.1']]);
    expect(log.messages.filter((m) => m.topic === 'dispatch.ledger').map((m) => [m.key, m.topic === 'dispatch.ledger' && m.partition])).toEqual([['n-1', 4], ['n-1', 4]]);
    expect(log.messages.filter((m) => m.topic === 'notification.dispatch').every((m) => m.key === 'REG-1')).toBe(true);
    expect(ledger.entries.get('n-1')).toMatchObject({ status: 'ACCEPTED', attempts: 1, providerMessageId: 'wamid.1' });
    expect(ledger.unrecorded.size).toBe(0);
  });

  it('a batch costs two produces: every claim before any call, then every outcome', async () => {
    const log = new Log(); const ledger = new PartitionLedger();
    const seenAtCall: number[] = [];
    const p: Provider = { name: 'meta', send: async () => { seenAtCall.push(log.produces.length); return { ok: true, providerMessageId: 'w' }; } };
    await dispatchBatch(0, ['a', 'b', 'c'].map((id) => rendered(id)), ledger, deps(p, log));
    expect(log.produces.map((batch) => batch.map((m) => `${m.topic}:${m.value.status}`))).toEqual([
      ['notification.dispatch:SENDING', 'dispatch.ledger:SENDING', 'notification.dispatch:SENDING', 'dispatch.ledger:SENDING', 'notification.dispatch:SENDING', 'dispatch.ledger:SENDING'],
      ['notification.dispatch:ACCEPTED', 'dispatch.ledger:ACCEPTED', 'notification.dispatch:ACCEPTED', 'dispatch.ledger:ACCEPTED', 'notification.dispatch:ACCEPTED', 'dispatch.ledger:ACCEPTED'],
    ]);
    expect(seenAtCall).toEqual([1, 1, 1]);
  });

  it('calls the provider concurrently, at most `concurrency` at once', async () => {
    let inFlight = 0; let max = 0;
    const p: Provider = { name: 'meta', send: async () => { inFlight++; max = Math.max(max, inFlight); await new Promise((r) => setTimeout(r, 2)); inFlight--; return { ok: true, providerMessageId: 'w' }; } };
    await dispatchBatch(0, Array.from({ length: 40 }, (_, i) => rendered(`n-${i}`)), new PartitionLedger(), deps(p, new Log(), { concurrency: 16 }));
    expect(max).toBe(16);
  });

  it('a redelivered notification is not sent again; its outcome is re-emitted with the same event id and not written to the ledger again', async () => {
    const log = new Log(); const p = new ScriptedProvider(); const ledger = new PartitionLedger();
    await dispatchBatch(0, [rendered()], ledger, deps(p, log));
    const [again] = await dispatchBatch(0, [rendered()], ledger, deps(p, log));
    expect(again).toMatchObject({ status: 'ACCEPTED', sent: false });
    expect(p.calls).toHaveLength(1);
    expect(log.dispatch[2]).toEqual(log.dispatch[1]);
    expect(log.ledger).toHaveLength(2);
  });

  it('the same id twice in one batch is sent once', async () => {
    const log = new Log(); const p = new ScriptedProvider();
    const out = await dispatchBatch(0, [rendered('a'), rendered('a')], new PartitionLedger(), deps(p, log));
    expect(out.map((r) => r.status)).toEqual(['ACCEPTED', 'SKIPPED_REPEATED_IN_BATCH']);
    expect(p.calls).toEqual(['a']);
  });

  it('a claim left in flight by a crashed process is reported IN_DOUBT (recorded once) and never re-sent', async () => {
    const log = new Log(); let produces = 0;
    const dies = deps(new ScriptedProvider(), log, { produce: async (m) => { if (++produces === 2) throw new Error('killed'); log.produces.push(m); } });
    await expect(dispatchBatch(0, [rendered()], new PartitionLedger(), dies)).rejects.toThrow('killed');
    // The process died with the claim durable and the outcome not: the restarted one restores the ledger.
    const p = new ScriptedProvider(); const ledger = log.restore();
    expect((await dispatchBatch(0, [rendered()], ledger, deps(p, log)))[0]).toMatchObject({ status: 'IN_DOUBT', sent: false });
    expect((await dispatchBatch(0, [rendered()], ledger, deps(p, log)))[0]).toMatchObject({ status: 'IN_DOUBT', sent: false });
    expect(p.calls).toHaveLength(0);
    expect(statuses(log.ledger)).toEqual([['n-1', 'SENDING', 1], ['n-1', 'IN_DOUBT', 1]]);
    expect(log.dispatch.at(-1)).toEqual(log.dispatch.at(-2));
  });

  it('retries a retriable error 300 s apart, then fails with the reason after 3 attempts', async () => {
    const log = new Log(); const waits: number[] = [];
    const err: SendResult = { ok: false, retriable: true, errorCode: 'meta:130429', reason: 'throughput' };
    const p = new ScriptedProvider([err, err, err]);
    expect((await dispatchBatch(0, [rendered()], new PartitionLedger(), deps(p, log, { wait: async (ms) => { waits.push(ms); } })))[0]!.status).toBe('FAILED');
    expect(p.calls).toHaveLength(3);
    expect(waits).toEqual([300_000, 300_000]);
    expect(statuses(log.dispatch).map(([, s, a]) => `${s}${a}`)).toEqual(['SENDING1', 'RETRY_SCHEDULED1', 'SENDING2', 'RETRY_SCHEDULED2', 'SENDING3', 'FAILED3']);
    expect(log.dispatch.at(-1)).toMatchObject({ status: 'FAILED', attempt: 3, errorCode: 'meta:130429', reason: 'retries exhausted after 3 attempts: throughput' });
  });

  it('a permanent error fails at once', async () => {
    const p = new ScriptedProvider([{ ok: false, retriable: false, errorCode: 'meta:131026', reason: 'undeliverable' }]);
    expect((await dispatchBatch(0, [rendered()], new PartitionLedger(), deps(p, new Log())))[0]!.status).toBe('FAILED');
    expect(p.calls).toHaveLength(1);
  });

  it('a timeout (maybe accepted) is in doubt and not retried', async () => {
    const ledger = new PartitionLedger(); const log = new Log();
    const p = new ScriptedProvider([{ ok: false, retriable: true, inDoubt: true, errorCode: 'ECONNABORTED', reason: 'timeout' }]);
    expect((await dispatchBatch(0, [rendered()], ledger, deps(p, log)))[0]!.status).toBe('IN_DOUBT');
    expect((await dispatchBatch(0, [rendered()], ledger, deps(p, log)))[0]!.status).toBe('IN_DOUBT');
    expect(p.calls).toHaveLength(1);
    expect(log.dispatch.at(-1)).toMatchObject({ status: 'IN_DOUBT', errorCode: 'ECONNABORTED', reason: 'timeout' });
  });

  it('a provider adapter that throws leaves the notification in doubt', async () => {
    const p: Provider = { name: 'meta', send: async () => { throw new Error('boom'); } };
    expect((await dispatchBatch(0, [rendered()], new PartitionLedger(), deps(p, new Log())))[0]).toMatchObject({ status: 'IN_DOUBT', sent: true });
  });

  it('when the outcome produce fails, the retried batch records the known outcome: no IN_DOUBT, no second call', async () => {
    const log = new Log(); const p = new ScriptedProvider(); const ledger = new PartitionLedger();
    let n = 0;
    const flaky = deps(p, log, { produce: async (m) => { if (++n === 2) throw new TransientError('broker away'); log.produces.push(m); } });
    await expect(dispatchBatch(0, [rendered()], ledger, flaky)).rejects.toThrow('broker away');
    expect((await dispatchBatch(0, [rendered()], ledger, flaky))[0]).toMatchObject({ status: 'ACCEPTED', sent: false });
    expect(p.calls).toHaveLength(1);
    expect(statuses(log.ledger)).toEqual([['n-1', 'SENDING', 1], ['n-1', 'ACCEPTED', 1]]);
  });

  it('the ledger restored from the changelog (every record, or only the last per key as after compaction) equals the one in memory', async () => {
    const log = new Log(); const ledger = new PartitionLedger();
    const answers: SendResult[] = [{ ok: false, retriable: true, errorCode: 'meta:1', reason: 't' }, { ok: false, retriable: false, errorCode: 'meta:100', reason: 'bad' }, { ok: false, retriable: true, inDoubt: true, errorCode: 'ETIMEDOUT', reason: 'x' }];
    await dispatchBatch(0, ['a', 'b', 'c', 'd'].map((id) => rendered(id)), ledger, deps(new ScriptedProvider(answers), log));
    const compacted = new PartitionLedger();
    const last = new Map(log.ledger.map((r) => [r.notificationId, r]));
    for (const r of last.values()) compacted.restore(r);
    expect(new Map(log.restore().entries)).toEqual(new Map(ledger.entries));
    expect(new Map(compacted.entries)).toEqual(new Map(ledger.entries));
    expect(ledger.ownWrites).toBe(log.ledger.length);
  });

  it('mapLimit keeps the input order', async () => {
    expect(await mapLimit([5, 1, 3], 2, async (x) => { await new Promise((r) => setTimeout(r, x)); return x * 2; })).toEqual([10, 2, 6]);
  });
});

////////// Property: deliveries, redeliveries and crashes at any step
// A "crash" kills the process at a produce, a provider call (before the request
// leaves, or after it reached the provider and before the answer is seen) or a
// retry wait: nothing more of that process runs, its memory is lost, the restarted
// process restores the ledger from the durable log and gets the batch again (it was
// not committed). A transient produce failure retries the batch in the same process.

class Crash extends Error {}
type Fault = 'none' | 'crash-before' | 'crash-after' | 'transient';

describe('property: crashes and redeliveries', () => {
  const answer = fc.oneof(
    fc.constant<SendResult>({ ok: true, providerMessageId: 'wamid.x' }),
    fc.constant<SendResult>({ ok: false, retriable: true, errorCode: 'meta:1', reason: 'temp' }),
    fc.constant<SendResult>({ ok: false, retriable: false, errorCode: 'meta:100', reason: 'bad' }),
    fc.constant<SendResult>({ ok: false, retriable: true, inDoubt: true, errorCode: 'ETIMEDOUT', reason: 'timeout' }),
  );
  const fault = fc.oneof({ weight: 6, arbitrary: fc.constant<Fault>('none') }, { weight: 1, arbitrary: fc.constantFrom<Fault>('crash-before', 'crash-after', 'transient') });

  it('the provider is called at most once per notification id unless the previous call is known to have failed retriably; every id ends with exactly one final outcome', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 8 }),
      fc.array(answer, { maxLength: 40 }),
      fc.array(fault, { maxLength: 60 }),
      async (batches, answers0, faults0) => {
        const answers = [...answers0]; const faults = [...faults0]; // fast-check reports the generated values: leave them intact
        const log = new Log();
        /** Per id, every call the provider received, and what the dispatcher learnt of it. */
        const calls = new Map<string, { answer: SendResult | null }[]>();
        let dead = false;
        const nextFault = (): Fault => (faults.shift() ?? 'none');
        const step = async (what: 'produce' | 'wait') => {
          if (dead) throw new Crash();
          const f = nextFault();
          if (f === 'crash-before' || (f === 'crash-after' && what === 'wait')) { dead = true; throw new Crash(); }
          return f;
        };
        const provider: Provider = { name: 'meta', send: async (n) => {
          if (dead) throw new Crash();
          const f = nextFault();
          if (f === 'crash-before') { dead = true; throw new Crash(); }
          const call = { answer: null as SendResult | null };
          (calls.get(n.notificationId) ?? calls.set(n.notificationId, []).get(n.notificationId)!).push(call);
          if (f === 'crash-after') { dead = true; throw new Crash(); }
          call.answer = answers.shift() ?? { ok: true, providerMessageId: 'wamid.y' };
          return call.answer;
        } };
        const d: DispatchDeps = {
          provider, now: () => new Date(0), maxAttempts: 3, retryDelayMs: 1,
          wait: async () => { await step('wait'); },
          produce: async (m) => {
            const f = await step('produce');
            if (f === 'transient') throw new TransientError('broker away');
            log.produces.push(m);
            if (f === 'crash-after') { dead = true; throw new Crash(); }
          },
        };
        let ledger = new PartitionLedger();
        const deliver = async (ids: string[]) => {
          for (let tries = 0; ; tries++) {
            expect(tries).toBeLessThan(200);
            try { await dispatchBatch(0, ids.map((id) => rendered(id)), ledger, d); return; } catch (e) {
              if (e instanceof Crash || dead) { dead = false; ledger = log.restore(); continue; } // restarted process, same batch
              if (e instanceof TransientError) continue; // same process retries the batch
              throw e;
            }
          }
        };
        for (const ids of batches) await deliver(ids);
        faults.length = 0;
        // Every id delivered once more without faults (a replay): still no new call is due.
        const before = [...calls.values()].reduce((n, c) => n + c.length, 0);
        const everyId = [...new Set(batches.flat())];
        await deliver(everyId);

        for (const [, cs] of calls) {
          for (let i = 1; i < cs.length; i++) {
            const prev = cs[i - 1]!.answer;
            expect(prev && !prev.ok && prev.retriable && !prev.inDoubt).toBe(true);
          }
          expect(cs.length).toBeLessThanOrEqual(3);
        }
        expect([...calls.values()].reduce((n, c) => n + c.length, 0)).toBe(before);
        for (const id of everyId) {
          const finals = new Set(log.dispatch.filter((e) => e.notificationId === id && ['ACCEPTED', 'FAILED', 'IN_DOUBT'].includes(e.status)).map((e) => e.eventId));
          expect(finals.size).toBe(1);
          const last = log.restore().entries.get(id)!;
          expect(['ACCEPTED', 'FAILED', 'IN_DOUBT']).toContain(last.status);
          if (last.status === 'ACCEPTED') expect(calls.get(id)!.at(-1)!.answer).toMatchObject({ ok: true });
        }
      },
    ), { numRuns: 300 });
  });
});

describe('Meta error classification', () => {
  it.each([
    [400, 130429, true], [400, 131056, true], [500, 131000, true], [400, 4, true],
    [401, 190, false], [400, 100, false], [400, 131026, false], [400, 132001, false], [400, 131047, false],
    [503, undefined, true], [429, undefined, true], [undefined, undefined, true], [404, undefined, false],
  ])('HTTP %s code %s -> retriable %s', (http, code, retriable) => {
    expect(classifyMetaError(http, code)).toBe(retriable);
  });
});
