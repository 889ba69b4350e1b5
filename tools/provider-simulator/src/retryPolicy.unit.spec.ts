import { configFromEnv, resolveConfig } from './config';
import { formatRetryPolicy, parseRetryPolicy, retrySchedule, type RetrySchedule } from './retryPolicy';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const DAY = 24 * H;

/** Every wait a schedule makes before it gives up (after failed attempt 1, 2, …). */
const waits = (s: RetrySchedule): number[] => {
  const out: number[] = [];
  for (let n = 1; n < 10_000; n++) {
    const d = s.delayMs(n);
    if (d === null) return out;
    out.push(d);
  }
  throw new Error('never gives up');
};
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('webhook retry schedules (attempt → delay)', () => {
  it('meta real: again at once, then 15 s doubling up to 6 h apart, for up to 7 days; anything but 200 is retried', () => {
    const s = retrySchedule('meta', { kind: 'real' });
    const w = waits(s);
    expect(w.slice(0, 12)).toEqual([0, 15 * S, 30 * S, MIN, 2 * MIN, 4 * MIN, 8 * MIN, 16 * MIN, 32 * MIN, 64 * MIN, 128 * MIN, 256 * MIN]);
    expect(w.slice(12).every((d) => d === 6 * H)).toBe(true);
    // decreasing frequency: never shorter than the one before
    expect(w.every((d, i) => i === 0 || d >= w[i - 1]!)).toBe(true);
    expect(sum(w)).toBeLessThanOrEqual(7 * DAY);
    expect(sum(w) + 6 * H).toBeGreaterThan(7 * DAY); // one more would pass the 7 days
    expect(w.length).toBe(38);
    expect([s.retries(null), s.retries(500), s.retries(401), s.retries(204), s.retries(200)]).toEqual([true, true, true, true, false]);
    expect(s.scaled).toBe(true);
  });

  it('twilio real: one retry, at once, only when the connection fails (rc=1, rp=ct); an HTTP error is final', () => {
    const s = retrySchedule('twilio', { kind: 'real' });
    expect(waits(s)).toEqual([0]);
    expect([s.retries(null), s.retries(503), s.retries(500), s.retries(429), s.retries(200)]).toEqual([true, false, false, false, false]);
  });

  it('bird real: 1 min doubling up to 1 h apart, within 8 hours; any non-2xx is retried', () => {
    const s = retrySchedule('bird', { kind: 'real' });
    const w = waits(s);
    expect(w).toEqual([MIN, 2 * MIN, 4 * MIN, 8 * MIN, 16 * MIN, 32 * MIN, H, H, H, H, H, H]);
    expect(sum(w)).toBeLessThanOrEqual(8 * H);
    expect([s.retries(null), s.retries(500), s.retries(404), s.retries(302), s.retries(201)]).toEqual([true, true, true, true, false]);
  });

  it('vonage real: 5 s doubling to 15 min, then every 15 min, discarded after 24 h; 429, 5xx and no answer are retried', () => {
    const s = retrySchedule('vonage', { kind: 'real' });
    const w = waits(s);
    expect(w.slice(0, 9)).toEqual([5 * S, 10 * S, 20 * S, 40 * S, 80 * S, 160 * S, 320 * S, 640 * S, 15 * MIN]);
    expect(w.slice(8).every((d) => d === 15 * MIN)).toBe(true);
    expect(sum(w)).toBeLessThanOrEqual(DAY);
    expect(sum(w) + 15 * MIN).toBeGreaterThan(DAY);
    expect([s.retries(null), s.retries(429), s.retries(502), s.retries(401), s.retries(200)]).toEqual([true, true, true, false, false]);
  });

  it.each(['fonnte', 'watzap'] as const)('%s real: no retry at all (none documented)', (p) => {
    const s = retrySchedule(p, { kind: 'real' });
    expect(waits(s)).toEqual([]);
    expect(s.retries(null)).toBe(false);
  });

  it('none: one attempt for every provider; fixed:N: the original 500 ms × n, N attempts in all, on 5xx or no answer', () => {
    for (const p of ['meta', 'twilio', 'bird', 'vonage', 'fonnte', 'watzap'] as const) {
      expect(waits(retrySchedule(p, { kind: 'none' }))).toEqual([]);
      const f = retrySchedule(p, { kind: 'fixed', attempts: 5 });
      expect(waits(f)).toEqual([500, 1000, 1500, 2000]);
      expect([f.retries(null), f.retries(500), f.retries(429), f.retries(401), f.retries(200), f.scaled]).toEqual([true, true, false, false, false, false]);
    }
    expect(waits(retrySchedule('meta', { kind: 'fixed', attempts: 1 }))).toEqual([]);
    expect(retrySchedule('meta', { kind: 'real' }).delayMs(0)).toBeNull();
  });
});

describe('choosing the policy', () => {
  it('reads real, none and fixed:N (a bare N too), and refuses anything else naming the variable', () => {
    expect(parseRetryPolicy('real', 'X')).toEqual({ kind: 'real' });
    expect(parseRetryPolicy(' None ', 'X')).toEqual({ kind: 'none' });
    expect(parseRetryPolicy('fixed:3', 'X')).toEqual({ kind: 'fixed', attempts: 3 });
    expect(parseRetryPolicy('7', 'X')).toEqual({ kind: 'fixed', attempts: 7 });
    expect(() => parseRetryPolicy('fixed:0', 'SIM_WEBHOOK_RETRY_META')).toThrow(/SIM_WEBHOOK_RETRY_META must be real, none or fixed:N/);
    expect(() => parseRetryPolicy('forever', 'X')).toThrow(/X must be/);
    expect(formatRetryPolicy({ kind: 'fixed', attempts: 3 })).toBe('fixed:3');
  });

  it('defaults to fixed:SIM_WEBHOOK_ATTEMPTS for every provider (the original behaviour); SIM_WEBHOOK_RETRY for all, SIM_WEBHOOK_RETRY_<PROVIDER> over it', () => {
    expect(Object.values(resolveConfig(configFromEnv({})).webhookRetry).map(formatRetryPolicy)).toEqual(Array(6).fill('fixed:5'));
    expect(resolveConfig(configFromEnv({ SIM_WEBHOOK_ATTEMPTS: '12' })).webhookRetry.meta).toEqual({ kind: 'fixed', attempts: 12 });
    const r = resolveConfig(configFromEnv({ SIM_WEBHOOK_RETRY: 'real', SIM_WEBHOOK_RETRY_FONNTE: 'fixed:2', SIM_WEBHOOK_RETRY_META: 'none', SIM_WEBHOOK_TIME_SCALE: '0.001' }));
    expect(Object.fromEntries(Object.entries(r.webhookRetry).map(([k, v]) => [k, formatRetryPolicy(v)]))).toEqual({ meta: 'none', twilio: 'real', bird: 'real', vonage: 'real', fonnte: 'fixed:2', watzap: 'real' });
    expect(r.webhookTimeScale).toBe(0.001);
    expect(resolveConfig(configFromEnv({})).webhookTimeScale).toBe(1);
    expect(() => configFromEnv({ SIM_WEBHOOK_TIME_SCALE: '0' })).toThrow(/SIM_WEBHOOK_TIME_SCALE must be above 0/);
    expect(() => configFromEnv({ SIM_WEBHOOK_TIME_SCALE: 'fast' })).toThrow(/SIM_WEBHOOK_TIME_SCALE/);
    expect(() => configFromEnv({ SIM_WEBHOOK_RETRY_TWILIO: 'twice' })).toThrow(/SIM_WEBHOOK_RETRY_TWILIO/);
  });
});
