////////// The dispatcher against the provider simulator over real HTTP, with a real broker
// and registry: a spent daily quota, a retry that holds nothing back and then a dead
// letter, a rate limit held by two instances together. The world: providersWorld.spec.ts.
import { waitFor } from '../../../../test/support';
import { acceptedPer, finalsOf, phone, useSimulator, world } from './providersWorld.spec';

const sim = useSimulator();

describe('provider-dispatcher against the provider simulator: quotas, retries, rate limits', () => {
  beforeEach(async () => { await sim().admin('DELETE', '/faults'); await sim().admin('DELETE', '/rate-limits'); });

  it('a spent daily quota sends the overflow through the next provider (each partition spends its part); no second copy', async () => {
    const phones = Array.from({ length: 12 }, (_, i) => phone(105, i));
    const w = await world({ chain: ['fonnte', 'watzap'], quotas: 'fonnte=3' });
    try {
      const ns = phones.map((p, i) => w.rendered(i, p));
      await w.send(ns);
      const finals = await finalsOf(w, ns.map((n) => n.notificationId));
      const byProvider = (p: string) => finals.filter((e) => e.status === 'ACCEPTED' && e.provider === p);
      expect(byProvider('fonnte').length).toBeLessThanOrEqual(3);
      expect(byProvider('fonnte').length + byProvider('watzap').length).toBe(phones.length);
      expect(byProvider('watzap').every((e) => e.routeReason === 'QUOTA_EXHAUSTED' && e.routeDetail === 'watzap because fonnte daily quota exhausted')).toBe(true);
      const reqs = await w.requests(phones);
      expect(reqs.filter((r) => r.provider === 'fonnte').length).toBe(byProvider('fonnte').length);
      expect([...acceptedPer(reqs).values()]).toEqual(phones.map(() => 1));
      // The quota is counted from the ledger, so a restarted instance (a fresh restore) knows it is spent.
      const used = w.running[0]!;
      expect([0, 1, 2].reduce((n, p) => n + (used.ledger.loaded().get(p)?.usedToday('fonnte', Date.now()) ?? 0), 0)).toBe(byProvider('fonnte').length);
    } finally { await w.stop(); }
  });

  it('a retry does not hold back other notifications (same partition); after the last attempt: FAILED and a dead letter with the reason', async () => {
    const stuck = phone(106, 0);
    const others = Array.from({ length: 8 }, (_, i) => phone(106, i + 1));
    await sim().admin('POST', '/faults', { provider: 'meta', to: stuck, kind: 'server_error', httpStatus: 500 });
    const w = await world({ chain: ['meta'], optedIn: [stuck, ...others], retry: { delayMs: 3000, backoff: 1, maxAttempts: 2, jitter: 0 } });
    try {
      // One key: one partition, the failing one first.
      const ns = [stuck, ...others].map((p, i) => w.rendered(i, p, { pendaftaran_id: `${w.prefix}REG-same` }));
      await w.send(ns);
      const started = Date.now();
      await finalsOf(w, ns.slice(1).map((n) => n.notificationId));
      const othersDone = Date.now() - started;
      expect(othersDone).toBeLessThan(3000); // not behind the 3 s retry
      const [last] = await finalsOf(w, [ns[0]!.notificationId], 30_000);
      expect(last).toMatchObject({ status: 'FAILED', provider: 'meta', attempt: 2, errorCode: 'NO_PROVIDER' });
      const reqs = await w.requests([stuck, ...others]);
      const stuckCalls = reqs.filter((r) => r.recipient === stuck);
      expect(stuckCalls).toHaveLength(2);
      expect(stuckCalls[1]!.atMs - stuckCalls[0]!.atMs).toBeGreaterThanOrEqual(2900);
      // Every other number reached the provider before the retry.
      expect(Math.max(...reqs.filter((r) => r.recipient !== stuck).map((r) => r.atMs))).toBeLessThan(stuckCalls[1]!.atMs);
      const sched = w.dispatched.find((e) => e.notificationId === ns[0]!.notificationId && e.status === 'RETRY_SCHEDULED' && e.attempt === 1)!;
      expect(sched).toMatchObject({ errorCode: 'meta:131000', disposition: 'retry', nextProvider: 'meta' });
      await waitFor(async () => w.dead.length === 1, { what: 'the dead letter' });
      expect(w.dead[0]).toMatchObject({ notificationId: ns[0]!.notificationId, attempts: 2, providers: ['meta'], lastProvider: 'meta', errorCode: 'NO_PROVIDER' });
      expect(w.dead[0]!.reason).toMatch(/every eligible provider was ruled out \(meta\)/);
      expect(w.dead[0]!.notification.recipient.phone).toBe(stuck);
    } finally { await w.stop(); }
  });

  it('two instances together hold a rate limit (measured from the simulator\'s timestamps), each spending the share of the partitions it owns', async () => {
    const phones = Array.from({ length: 50 }, (_, i) => phone(107, i));
    const w = await world({ chain: ['fonnte'], rates: 'fonnte=10/s', instances: 2, partitions: 3 });
    try {
      expect(w.running.map((d) => d.partitions.owned().length).sort()).toEqual([1, 2]);
      const ns = phones.map((p, i) => w.rendered(i, p));
      await w.send(ns);
      await finalsOf(w, ns.map((n) => n.notificationId), 60_000);
      const reqs = (await w.requests(phones)).filter((r) => r.provider === 'fonnte');
      expect(reqs).toHaveLength(phones.length);
      const times = reqs.map((r) => r.atMs).sort((a, b) => a - b);
      let worst = 0;
      for (let i = 0; i < times.length; i++) worst = Math.max(worst, times.filter((t) => t > times[i]! - 1000 && t <= times[i]!).length);
      expect(worst).toBeLessThanOrEqual(10);
      // Both instances sent (each from the partitions it owns), together close to the limit: 6 + 3 per second (floors of 10 x 2/3 and 10 x 1/3).
      const acceptedBy = w.running.map((d) => [...d.ledger.loaded().values()].reduce((n, l) => n + [...l.entries.values()].filter((e) => e.status === 'ACCEPTED').length, 0));
      expect(acceptedBy.every((n) => n > 0)).toBe(true);
      expect(acceptedBy.reduce((a, b) => a + b, 0)).toBe(phones.length);
      const seconds = (times.at(-1)! - times[0]!) / 1000;
      expect(phones.length / seconds).toBeGreaterThan(6);
    } finally { await w.stop(); }
  });
});
