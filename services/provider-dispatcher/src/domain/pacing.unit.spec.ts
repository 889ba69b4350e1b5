import fc from 'fast-check';
import { jakartaDayNumber, jakartaDayStart } from '@sicantik/core';
import { Pacer, SlidingWindow, parseQuotas, parseRate, parseRates, partitionQuota, shareWindow } from './pacing';
import { planRetry, tierDelayMs, unitHash, type RetryPolicy } from './retry';

describe('limits from configuration', () => {
  it('reads rates in any unit, quotas, and "off" over the defaults', () => {
    expect(parseRate('80/s')).toEqual({ limit: 80, periodMs: 1000 });
    expect(parseRate('60/min')).toEqual({ limit: 60, periodMs: 60_000 });
    expect(parseRate('1/6s')).toEqual({ limit: 1, periodMs: 6000 });
    expect(parseRate('off')).toBe('off');
    expect(() => parseRate('fast')).toThrow(/not a rate/);
    expect([...parseRates('fonnte=10/s,meta=off', { meta: '80/s', watzap: '60/min' })]).toEqual([['watzap', { limit: 60, periodMs: 60_000 }], ['fonnte', { limit: 10, periodMs: 1000 }]]);
    expect(() => parseRates('whatsapp=1/s')).toThrow(/unknown provider "whatsapp"/);
    expect([...parseQuotas('fonnte=5,watzap=off', { fonnte: 1000, watzap: 1000 })]).toEqual([['fonnte', 5]]);
    expect(() => parseQuotas('fonnte=lots')).toThrow(/whole number/);
  });
});

describe('sliding window', () => {
  it('allows `allowance` sends in any window and says when the next may go', () => {
    const w = new SlidingWindow(2, 1000);
    expect(w.readyAt(0)).toBe(0); w.take(); w.stamp(0);
    expect(w.readyAt(100)).toBe(0); w.take(); w.stamp(100);
    expect(w.readyAt(500)).toBe(1000);
    expect(w.readyAt(1000)).toBe(0); w.take(); w.stamp(1000);
    expect(w.readyAt(1050)).toBe(1100);
  });
  it('counts a token from when it is taken, as of when its request goes out; a released one not at all', () => {
    const w = new SlidingWindow(2, 1000);
    w.take(); w.take();
    expect(w.readyAt(0)).toBe(1000); // both out about now
    w.stamp(300); w.release();
    expect(w.used(300)).toBe(1);
    w.take(); w.stamp(400);
    expect(w.readyAt(500)).toBe(1300); // from the send's stamp (300), not from when it was planned (0)
  });

  it('property: a budget share never exceeds its limit: instances with shares summing to at most 1 never send more than L in any window of T together', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 4 }),
      fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 400 }),
      (limit, partitions, instances, gaps) => {
        // Partitions split over the instances as the co-partitioned assignor does (p mod k).
        const owned = Array.from({ length: instances }, (_, i) => Array.from({ length: partitions }, (_, p) => p).filter((p) => p % instances === i).length);
        const pacers = owned.map((k) => { const p = new Pacer({ rates: new Map([['fonnte', { limit, periodMs: 1000 }]]), pairRates: new Map(), quotas: new Map(), partitions }); p.setOwned(k); return p; });
        const sends: number[] = [];
        let t = 0;
        for (const [i, g] of gaps.entries()) {
          t += g;
          const pacer = pacers[i % pacers.length]!;
          const grant = pacer.acquire({ provider: 'fonnte', recipient: `r${i}`, partition: 0, usedToday: 0, now: t });
          if (grant.ok) { grant.ticket.stamp(t); sends.push(t); }
          // each instance alone stays within its share
        }
        const shares = owned.map((k) => shareWindow({ limit, periodMs: 1000 }, k / partitions));
        const whole = shares.filter((s) => s.periodMs === 1000).reduce((n, s) => n + s.allowance, 0);
        expect(whole).toBeLessThanOrEqual(limit);
        // Shares of at least one send per window: any window of T holds at most L sends in total.
        if (shares.every((s) => s.periodMs === 1000)) {
          for (let i = 0; i < sends.length; i++) {
            const inWindow = sends.filter((x) => x > sends[i]! - 1000 && x <= sends[i]!).length;
            expect(inWindow).toBeLessThanOrEqual(limit);
          }
        }
      },
    ), { numRuns: 500 });
  });

  it('property: the partitions\' parts of a daily quota add up to it exactly', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1, max: 64 }), (q, n) => {
      const parts = Array.from({ length: n }, (_, p) => partitionQuota(q, p, n));
      expect(parts.reduce((a, b) => a + b, 0)).toBe(q);
      expect(Math.max(...parts) - Math.min(...parts)).toBeLessThanOrEqual(1);
    }));
  });
});

describe('Pacer', () => {
  it('spends the owned share of a rate, recomputed on reassignment', () => {
    const p = new Pacer({ rates: parseRates('fonnte=60/min'), pairRates: new Map(), quotas: new Map(), partitions: 6 });
    p.setOwned(2); // 20 per minute
    let granted = 0;
    const take = (r: string) => { const g = p.acquire({ provider: 'fonnte', recipient: r, partition: 0, usedToday: 0, now: 1000 }); if (g.ok) { g.ticket.stamp(1000); granted++; } };
    for (let i = 0; i < 100; i++) take(`r${i}`);
    expect(granted).toBe(20);
    expect(p.acquire({ provider: 'fonnte', recipient: 'x', partition: 0, usedToday: 0, now: 1000 })).toEqual({ ok: false, kind: 'rate', readyAt: 61_000 });
    p.setOwned(6);
    for (let i = 0; i < 100; i++) take(`s${i}`);
    expect(granted).toBe(60);
  });
  it('a pair rate per recipient; a spent daily part waits for the next Jakarta day', () => {
    const p = new Pacer({ rates: new Map(), pairRates: parseRates('meta=1/6s'), quotas: parseQuotas('fonnte=4'), partitions: 2 });
    p.setOwned(2);
    const a = p.acquire({ provider: 'meta', recipient: 'a', partition: 0, usedToday: 0, now: 0 });
    if (a.ok) a.ticket.stamp(0);
    expect(a.ok).toBe(true);
    expect(p.acquire({ provider: 'meta', recipient: 'b', partition: 0, usedToday: 0, now: 0 }).ok).toBe(true);
    expect(p.acquire({ provider: 'meta', recipient: 'a', partition: 0, usedToday: 0, now: 10 })).toEqual({ ok: false, kind: 'pair', readyAt: 6000 });
    const t = Date.parse('2026-11-22T23:00:00+07:00');
    expect(p.acquire({ provider: 'fonnte', recipient: 'a', partition: 1, usedToday: 1, now: t }).ok).toBe(true);
    expect(p.acquire({ provider: 'fonnte', recipient: 'a', partition: 1, usedToday: 2, now: t })).toEqual({ ok: false, kind: 'quota', windowEnd: Date.parse('2026-11-23T00:00:00+07:00') });
    expect(jakartaDayStart(jakartaDayNumber(t))).toBe(Date.parse('2026-11-22T00:00:00+07:00'));
  });
});

describe('retry schedule', () => {
  const policy: RetryPolicy = { maxAttempts: 3, delayMs: 300_000, backoff: 2, jitter: 0.2, tiers: 3 };
  it('seed defaults: 300 s, then 600 s (with up to 20 % jitter), on tiers 1 and 2; then exhausted', () => {
    expect(planRetry({ policy, providerAttempt: 1, now: 0, random: 0 })).toEqual({ kind: 'retry', tier: 1, notBefore: 300_000, delayMs: 300_000 });
    expect(planRetry({ policy, providerAttempt: 2, now: 0, random: 0.5 })).toEqual({ kind: 'retry', tier: 2, notBefore: 660_000, delayMs: 660_000 });
    expect(planRetry({ policy, providerAttempt: 3, now: 0, random: 0 })).toMatchObject({ kind: 'exhausted', why: 'retries exhausted after 3 attempts' });
    expect(tierDelayMs(policy, 3)).toBe(1_200_000);
  });
  it('a provider asking for longer than the schedule (Meta 131049: 24 h) is left for the next provider; a shorter Retry-After is honoured', () => {
    expect(planRetry({ policy, providerAttempt: 1, retryAfterMs: 86_400_000, now: 0, random: 0 })).toMatchObject({ kind: 'exhausted' });
    expect(planRetry({ policy, providerAttempt: 1, retryAfterMs: 400_000, now: 0, random: 0 })).toMatchObject({ kind: 'retry', tier: 1, notBefore: 400_000 });
  });
  it('property: along one tier, delays stay within [base, base x (1 + jitter)), so not-before grows along a partition up to the jitter; jitter is deterministic per key', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.string(), (k, key) => {
      const p = planRetry({ policy: { ...policy, maxAttempts: 10 }, providerAttempt: k, now: 0, random: unitHash(key) });
      if (p.kind !== 'retry') throw new Error('expected a retry');
      const base = tierDelayMs(policy, Math.min(k, 3));
      expect(p.delayMs).toBeGreaterThanOrEqual(base);
      expect(p.delayMs).toBeLessThan(base * 1.2 + 1);
      expect(unitHash(key)).toBe(unitHash(key));
    }));
  });
});
