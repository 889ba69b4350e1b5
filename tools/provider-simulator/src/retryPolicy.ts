import type { ProviderName } from './config';

////////// Webhook retry policies (pure): when a provider sends a refused webhook again
// A provider that gets no answer, or an answer it counts as a failure, sends the same
// webhook again on its own schedule, then gives up. Per provider the simulator follows
//   - `real`: that provider's documented policy (below; README.md "Webhook retries" cites
//     the documentation each one follows);
//   - `none`: one attempt;
//   - `fixed:N`: N attempts, 500 ms × n after the n-th (the simulator's original schedule,
//     still the default: SIM_WEBHOOK_ATTEMPTS=5 is fixed:5), on 5xx or no answer.
// Delays are in the provider's time; `real` delays are multiplied by the time scale
// (SIM_WEBHOOK_TIME_SCALE) when they are waited, so a test can run Meta's 7 days in a
// minute. The schedule itself (which attempt, how long, when it gives up) does not
// depend on the scale.

export type RetryPolicy = { kind: 'real' } | { kind: 'none' } | { kind: 'fixed'; attempts: number };

/** What an attempt got: the receiver's HTTP status, or null when it could not be reached (refused, reset, timed out). */
type Outcome = number | null;

export interface RetrySchedule {
  /** Whether the provider sends the webhook again after this outcome (a success is never retried). */
  retries(outcome: Outcome): boolean;
  /** The wait after the `failed`-th failed attempt (1, 2, …) before the next one, in ms of the provider's time; null: it gives up. */
  delayMs(failed: number): number | null;
  /** Whether the delays are the provider's real time (scaled by SIM_WEBHOOK_TIME_SCALE) or the simulator's own (fixed). */
  scaled: boolean;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Exponential backoff: `first`, then × `factor` per retry up to `cap`, for as long as the
 * retries stay within `window` of the first attempt (the sum of the delays). `immediate`:
 * the first retry is at once, the backoff starts with the second.
 */
function backoff(o: { first: number; factor: number; cap: number; window: number; immediate?: boolean }): (failed: number) => number | null {
  const nth = (n: number) => (o.immediate ? (n === 1 ? 0 : Math.min(o.first * o.factor ** (n - 2), o.cap)) : Math.min(o.first * o.factor ** (n - 1), o.cap));
  return (failed) => {
    if (!Number.isInteger(failed) || failed < 1) return null;
    let total = 0;
    for (let n = 1; n <= failed; n++) {
      total += nth(n);
      if (total > o.window) return null;
    }
    return nth(failed);
  };
}

const not2xx = (o: Outcome) => o === null || o < 200 || o > 299;

/** Each provider's documented webhook retry behaviour, as modelled (README.md "Webhook retries" for the sources). */
const REAL: Readonly<Record<ProviderName, RetrySchedule>> = {
  // Any answer but 200, or none: again at once, then with decreasing frequency until it succeeds, for up to 7 days.
  // Meta does not publish the intervals: 15 s doubling, at most 6 h apart, is our model.
  meta: { retries: (o) => o !== 200, delayMs: backoff({ immediate: true, first: 15 * SECOND, factor: 2, cap: 6 * HOUR, window: 7 * DAY }), scaled: true },
  // Connection overrides' defaults: rc=1 (one retry), rp=ct (only when the connection fails), all within tt=15 s.
  // A refused connection is retried once at once; an HTTP error (5xx included) is not retried.
  twilio: { retries: (o) => o === null, delayMs: (failed) => (failed === 1 ? 0 : null), scaled: true },
  // Non-2xx or none: again "multiple times, at increasing intervals, for a period of 8 hours"; 1 min doubling, at most 1 h apart, is our model.
  bird: { retries: not2xx, delayMs: backoff({ first: MINUTE, factor: 2, cap: HOUR, window: 8 * HOUR }), scaled: true },
  // 429 or 5xx (and no answer): after 5 s, the delay doubling up to 15 min and then every 15 min; discarded after 24 h.
  vonage: { retries: (o) => o === null || o === 429 || o >= 500, delayMs: backoff({ first: 5 * SECOND, factor: 2, cap: 15 * MINUTE, window: DAY }), scaled: true },
  // Unofficial gateways: no webhook retry is documented, so none is made.
  fonnte: { retries: () => false, delayMs: () => null, scaled: true },
  watzap: { retries: () => false, delayMs: () => null, scaled: true },
};

const NONE: RetrySchedule = { retries: () => false, delayMs: () => null, scaled: false };

/** The schedule a provider follows under a policy. */
export function retrySchedule(provider: ProviderName, policy: RetryPolicy): RetrySchedule {
  if (policy.kind === 'real') return REAL[provider];
  if (policy.kind === 'none') return NONE;
  const { attempts } = policy;
  return { retries: (o) => o === null || o >= 500, delayMs: (failed) => (Number.isInteger(failed) && failed >= 1 && failed < attempts ? 500 * failed : null), scaled: false };
}

/** `real`, `none` or `fixed:N` (N ≥ 1 attempts); a bare number N is fixed:N. */
export function parseRetryPolicy(v: string, name: string): RetryPolicy {
  const s = v.trim().toLowerCase();
  if (s === 'real' || s === 'none') return { kind: s };
  const m = /^(?:fixed:)?(\d+)$/.exec(s);
  if (m && Number(m[1]) >= 1) return { kind: 'fixed', attempts: Number(m[1]) };
  throw new Error(`${name} must be real, none or fixed:N (N ≥ 1 attempts), got "${v}"`);
}

/** The policy in the words parseRetryPolicy reads. */
export const formatRetryPolicy = (p: RetryPolicy): string => (p.kind === 'fixed' ? `fixed:${p.attempts}` : p.kind);
