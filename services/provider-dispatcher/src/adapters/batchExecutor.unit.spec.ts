import { TransientError } from '@sicantik/core';
import type { NotificationDispatchRecorded } from '@sicantik/schemas';
import { doubt, fail, jobs, Log, ok, rendered, statuses } from '../domain/fixtures.spec';
import { PartitionLedger } from '../domain/ledger';
import { Pacer, parseRates } from '../domain/pacing';
import { mapLimit, type Sender } from './batchExecutor';
import { deps, dispatchBatch, ScriptedSender, type World } from './executorFixtures.spec';

////////// The core run by its executor against fakes: claims, calls, outcomes, redeliveries, failed writes

describe('runBatch: the core and its executor', () => {
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
    expect(log.produces.map((b) => b.map((m) => `${m.topic}:${(m.value as NotificationDispatchRecorded).status ?? (m.value as { kind: string }).kind}`))).toEqual([
      ['notification.dispatch:SENDING', 'dispatch.ledger:SENDING', 'notification.dispatch:SENDING', 'dispatch.ledger:SENDING', 'notification.dispatch:SENDING', 'dispatch.ledger:SENDING'],
      [
        'notification.dispatch:ACCEPTED', 'dispatch.ledger:ACCEPTED', 'notification.dispatch:ACCEPTED', 'dispatch.ledger:ACCEPTED', 'notification.dispatch:ACCEPTED', 'dispatch.ledger:ACCEPTED',
        // MESSAGE_SENT per accepted send, in the same produce (no extra round trip)
        'contact.events:MESSAGE_SENT', 'contact.events:MESSAGE_SENT', 'contact.events:MESSAGE_SENT',
      ],
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

  it('a claim write that fails drops the batch: no call, its pacing token given back, the batch delivered again sends at once', async () => {
    const pacer = new Pacer({ rates: parseRates('meta=1/s'), pairRates: new Map(), quotas: new Map(), partitions: 1 });
    const log = new Log(); const s = new ScriptedSender(); const ledger = new PartitionLedger(); let n = 0;
    const d = deps(s, log, { pacer, produce: async (m) => { if (++n === 1) throw new TransientError('broker away'); log.produces.push(m); } });
    await expect(dispatchBatch(0, jobs('n-1'), ledger, d)).rejects.toThrow('broker away');
    expect(s.calls).toHaveLength(0);
    expect(d.state.batches.size).toBe(0);
    expect((await dispatchBatch(0, jobs('n-1'), ledger, d)).results[0]).toMatchObject({ status: 'ACCEPTED', sent: true });
    expect(statuses(log.ledger)).toEqual(['SENDING1@meta', 'ACCEPTED1@meta']);
  });

  it('mapLimit after a failure starts nothing more and rejects only when the calls in flight have settled', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    const run = mapLimit([1, 2, 3, 4, 5], 2, async (x) => {
      started.push(x);
      await new Promise((r) => setTimeout(r, x === 1 ? 1 : 30));
      settled.push(x);
      if (x === 1) throw new Error('boom');
      return x;
    });
    await expect(run).rejects.toThrow('boom');
    expect([started, settled.sort()]).toEqual([[1, 2], [1, 2]]);
  });

  it('mapLimit keeps the input order', async () => {
    expect(await mapLimit([5, 1, 3], 2, async (x) => { await new Promise((r) => setTimeout(r, x)); return x * 2; })).toEqual([10, 2, 6]);
  });
});
