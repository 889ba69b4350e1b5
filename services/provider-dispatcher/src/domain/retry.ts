////////// Retry schedule (pure): which delay tier a retry waits on, and until when
// Seed 000: 3 attempts, 300 s apart. A retryable failure of attempt k on a provider
// waits on tier min(k, tiers) (topic dispatch.retry.<tier>) for
//   RETRY_DELAY_MS x RETRY_BACKOFF^(tier-1) x (1 + RETRY_JITTER x u), u in [0, 1),
// so the delay only depends on the tier: along one partition of one tier the
// not-before times grow (up to the jitter), and a consumer waiting for the head of the
// partition never holds back a record that was due earlier by more than the jitter.
// A provider asking for longer (Retry-After, Meta 131049's 24 h) than the longest
// tier's delay is treated as unavailable for this message: the next provider.

export interface RetryPolicy {
  /** Attempts per provider (seed: 3). */
  maxAttempts: number;
  /** First delay (seed: 300 s). */
  delayMs: number;
  /** Growth per tier (exponential backoff). */
  backoff: number;
  /** Extra random part of a delay, as a fraction of it (0.2 = up to 20 % later). */
  jitter: number;
  /** Number of tier topics. */
  tiers: number;
}

type RetryPlan =
  | { kind: 'retry'; tier: number; notBefore: number; delayMs: number }
  | { kind: 'exhausted'; why: string };

/** What follows a retryable failure of attempt `providerAttempt` on one provider. */
export function planRetry(o: { policy: RetryPolicy; providerAttempt: number; retryAfterMs?: number | undefined; now: number; random: number }): RetryPlan {
  const { policy } = o;
  if (o.providerAttempt >= policy.maxAttempts) return { kind: 'exhausted', why: `retries exhausted after ${o.providerAttempt} attempts` };
  const tier = Math.min(Math.max(1, o.providerAttempt), policy.tiers);
  const base = tierDelayMs(policy, tier);
  const longest = tierDelayMs(policy, policy.tiers) * (1 + policy.jitter);
  if (o.retryAfterMs !== undefined && o.retryAfterMs > longest) {
    return { kind: 'exhausted', why: `the provider asks to wait ${Math.round(o.retryAfterMs / 1000)} s, longer than the retry schedule` };
  }
  const delayMs = Math.max(Math.round(base * (1 + policy.jitter * Math.min(Math.max(o.random, 0), 0.999999))), o.retryAfterMs ?? 0);
  return { kind: 'retry', tier, notBefore: o.now + delayMs, delayMs };
}

export const tierDelayMs = (policy: RetryPolicy, tier: number): number => policy.delayMs * policy.backoff ** (tier - 1);

/**
 * A number in [0, 1) from a key (FNV-1a): the jitter of a notification's attempt is
 * the same every time it is computed, so a redelivered batch schedules the same time.
 */
export function unitHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 2 ** 32;
}
