import { jakartaDayNumber, jakartaDayStart } from '@sicantik/core';
import { PROVIDER_NAMES, isProviderName, type ProviderName } from '@sicantik/providers';

////////// Pacing (pure: every method takes the time): rate limits and daily quotas per provider account
// Several dispatcher instances share one account's budgets without talking to each
// other: each spends the share that matches the partitions of notification.rendered it
// owns (owned/total), recomputed on every reassignment.
//  - Rate limit L per period T: a sliding window over this instance's own sends that
//    allows floor(L x share) sends in any window of T. The floors of the shares add up
//    to at most L, so the instances together never exceed L in any window of T. A share
//    below one send per window is spread out instead (one send per T / (L x share)),
//    which holds the limit on average.
//  - Daily quota Q (a day is a calendar day in Asia/Jakarta): each partition p of
//    notification.rendered may spend its own part of Q (Q/N, the remainder going to
//    the lowest partitions, so the parts add up to Q exactly). Its use is counted from
//    the partition's ledger, which is restored from dispatch.ledger (Kafka), so neither
//    a restart nor a reassignment resets it, and whoever owns a partition spends what
//    is left of that partition's part. An instance owning k of N partitions thus spends
//    at most about k/N of Q.
//  - Pair rate (Meta: about one message per 6 s to the same user): a sliding window per
//    recipient, per instance (a recipient's messages mostly come from one partition, the
//    permit's; a provider's pair-rate error is retried like any rate limit).

export interface Rate { limit: number; periodMs: number }
export type Rates = ReadonlyMap<ProviderName, Rate>;

const UNITS: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** "80/s", "60/min", "1/6s", "1000/24h", or "off". */
export function parseRate(v: string): Rate | 'off' {
  const s = v.trim().toLowerCase();
  if (s === 'off' || s === 'none' || s === 'unlimited') return 'off';
  const m = /^(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)?\s*(ms|s|sec|m|min|h|d)$/.exec(s);
  if (!m) throw new Error(`"${v}" is not a rate (e.g. 80/s, 60/min, 1/6s, off)`);
  const limit = Number(m[1]);
  const periodMs = Number(m[2] ?? 1) * UNITS[m[3]!]!;
  if (!(limit > 0) || !(periodMs > 0)) throw new Error(`"${v}" must be a positive rate`);
  return { limit, periodMs };
}

/** "meta=80/s,fonnte=60/min" over defaults; "name=off" removes a default. */
export function parseRates(value: string | undefined, defaults: Readonly<Partial<Record<ProviderName, string>>> = {}): Map<ProviderName, Rate> {
  const out = new Map<ProviderName, Rate>();
  const apply = (name: string, rate: string) => {
    if (!isProviderName(name)) throw new Error(`unknown provider "${name}" (one of ${PROVIDER_NAMES.join(', ')})`);
    const r = parseRate(rate);
    if (r === 'off') out.delete(name); else out.set(name, r);
  };
  for (const [k, v] of Object.entries(defaults)) if (v) apply(k, v);
  for (const [k, v] of pairs(value)) apply(k, v);
  return out;
}

/** "fonnte=1000,watzap=500" over defaults; "name=off" removes a default. */
export function parseQuotas(value: string | undefined, defaults: Readonly<Partial<Record<ProviderName, number>>> = {}): Map<ProviderName, number> {
  const out = new Map<ProviderName, number>();
  for (const [k, v] of Object.entries(defaults)) if (v !== undefined) out.set(k as ProviderName, v);
  for (const [k, v] of pairs(value)) {
    if (!isProviderName(k)) throw new Error(`unknown provider "${k}" (one of ${PROVIDER_NAMES.join(', ')})`);
    if (/^(off|none|unlimited)$/i.test(v)) { out.delete(k); continue; }
    if (!/^\d+$/.test(v)) throw new Error(`"${k}=${v}": a daily quota is a whole number of messages, or off`);
    out.set(k, Number(v));
  }
  return out;
}

function pairs(value: string | undefined): [string, string][] {
  if (!value?.trim()) return [];
  return value.split(',').map((x) => x.trim()).filter(Boolean).map((x) => {
    const i = x.indexOf('=');
    if (i <= 0) throw new Error(`"${x}" must be name=value`);
    return [x.slice(0, i).trim().toLowerCase(), x.slice(i + 1).trim()];
  });
}

////////// Sliding window over own sends

/**
 * Recent sends of one instance. A send is counted from the moment its token is taken
 * (in flight) and stamped with the time its answer came back: the provider received it
 * no later than that, so a window that holds at most `allowance` stamps or sends in
 * flight also holds at most `allowance` arrivals at the provider, whatever the network
 * and the batch planning delayed.
 */
export class SlidingWindow {
  private times: number[] = [];
  private head = 0;
  private pending = 0;
  constructor(public allowance: number, public periodMs: number) {}

  /** Sends in (now - period, now], plus those taken and not yet stamped. */
  used(now: number): number { this.expire(now); return this.times.length - this.head + this.pending; }

  /** 0 when a send may go now, else the time it may. */
  readyAt(now: number): number {
    this.expire(now);
    const stamped = this.times.length - this.head;
    const n = stamped + this.pending;
    if (n < this.allowance) return 0;
    // The (n - allowance + 1)-th oldest must leave the window; sends not yet stamped go out about now.
    const k = n - this.allowance;
    return k < stamped ? this.times[this.head + k]! + this.periodMs : now + this.periodMs;
  }

  /** Takes a token: counted at once, stamped when the answer comes back (or released if the request never goes out). */
  take(): void { this.pending++; }
  stamp(at: number): void {
    if (this.pending > 0) this.pending--;
    // Stamps arrive in call order; keep the ring sorted even if a clock steps back.
    this.times.push(Math.max(at, this.times.length > this.head ? this.times[this.times.length - 1]! : at));
  }
  release(): void { if (this.pending > 0) this.pending--; }

  private expire(now: number): void {
    while (this.head < this.times.length && this.times[this.head]! <= now - this.periodMs) this.head++;
    if (this.head > 1024 && this.head * 2 > this.times.length) { this.times = this.times.slice(this.head); this.head = 0; }
  }
}

/** The tokens of one send: stamp them when its answer comes back, release them if it never goes out. */
export interface Ticket { stamp(at: number): void; release(): void }

/** The window an instance with `share` (0..1) of a rate uses: floor(L x share) per T, or one per T / (L x share). */
export function shareWindow(rate: Rate, share: number): { allowance: number; periodMs: number } {
  const a = rate.limit * share;
  if (a >= 1) return { allowance: Math.floor(a + 1e-9), periodMs: rate.periodMs };
  if (a <= 0) return { allowance: 0, periodMs: rate.periodMs };
  return { allowance: 1, periodMs: Math.ceil(rate.periodMs / a) };
}

/** Partition p's part of a daily quota over n partitions: the parts add up to the quota. */
export function partitionQuota(quota: number, p: number, n: number): number {
  return Math.floor(quota / n) + (p < quota % n ? 1 : 0);
}


////////// The instance's pacer

type Grant = { ok: true; ticket: Ticket } | { ok: false; kind: 'rate' | 'pair'; readyAt: number } | { ok: false; kind: 'quota'; windowEnd: number };

interface PacerOptions {
  rates: Rates;
  /** Per recipient, per instance (not shared). */
  pairRates: Rates;
  quotas: ReadonlyMap<ProviderName, number>;
  /** Partitions of notification.rendered (the quota is split over them). */
  partitions: number;
}

export class Pacer {
  private share = 0;
  private readonly windows = new Map<ProviderName, SlidingWindow>();
  private readonly pairs = new Map<string, SlidingWindow>();
  private lastPairSweep = 0;

  constructor(readonly o: PacerOptions) {}

  /** The partitions this instance owns now: its share of every rate is owned/total. */
  setOwned(owned: number): void {
    this.share = this.o.partitions > 0 ? Math.min(1, Math.max(0, owned / this.o.partitions)) : 0;
    for (const [p, rate] of this.o.rates) {
      const w = shareWindow(rate, this.share);
      const cur = this.windows.get(p);
      if (cur) { cur.allowance = w.allowance; cur.periodMs = w.periodMs; } else this.windows.set(p, new SlidingWindow(w.allowance, w.periodMs));
    }
  }

  get ownedShare(): number { return this.share; }

  /**
   * Whether one message for `provider` to `recipient` on partition `partition` may go
   * at `now`; `usedToday` is the partition's count for the provider today (from its
   * ledger, plus what this batch has already granted). Takes the tokens when it may.
   */
  acquire(o: { provider: ProviderName; recipient: string; partition: number; usedToday: number; now: number }): Grant {
    const quota = this.o.quotas.get(o.provider);
    if (quota !== undefined && o.usedToday >= partitionQuota(quota, o.partition, this.o.partitions)) {
      return { ok: false, kind: 'quota', windowEnd: jakartaDayStart(jakartaDayNumber(o.now) + 1) };
    }
    const w = this.windows.get(o.provider);
    if (w) {
      if (w.allowance <= 0) return { ok: false, kind: 'rate', readyAt: o.now + w.periodMs };
      const at = w.readyAt(o.now);
      if (at > o.now) return { ok: false, kind: 'rate', readyAt: at };
    }
    const pair = this.pairWindow(o.provider, o.recipient, o.now);
    if (pair) {
      const at = pair.readyAt(o.now);
      if (at > o.now) return { ok: false, kind: 'pair', readyAt: at };
      pair.take();
    }
    w?.take();
    let open = true;
    return {
      ok: true,
      ticket: {
        stamp: (at) => { if (!open) return; open = false; w?.stamp(at); pair?.stamp(at); },
        release: () => { if (!open) return; open = false; w?.release(); pair?.release(); },
      },
    };
  }

  /** Whether the provider's share of its daily quota on this partition is gone (routing passes it over). */
  quotaExhausted(provider: ProviderName, partition: number, usedToday: number): boolean {
    const quota = this.o.quotas.get(provider);
    return quota !== undefined && usedToday >= partitionQuota(quota, partition, this.o.partitions);
  }

  /** What an operator sees: per provider, the rate share, its use, and the quota parts. */
  budgets(o: { now: number; owned: readonly number[]; usedToday: (provider: ProviderName, partition: number) => number }): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const names = new Set<ProviderName>([...this.o.rates.keys(), ...this.o.quotas.keys(), ...this.o.pairRates.keys()]);
    for (const p of names) {
      const rate = this.o.rates.get(p);
      const w = this.windows.get(p);
      const quota = this.o.quotas.get(p);
      const pair = this.o.pairRates.get(p);
      out[p] = {
        ...(rate && w ? { rate: { limit: rate.limit, periodMs: rate.periodMs, share: this.share, allowance: w.allowance, windowMs: w.periodMs, usedInWindow: w.used(o.now) } } : {}),
        ...(quota !== undefined ? {
          dailyQuota: {
            quota, partitionsOwned: o.owned.length, partitions: this.o.partitions,
            allowanceOwned: o.owned.reduce((n, q) => n + partitionQuota(quota, q, this.o.partitions), 0),
            usedTodayOwned: o.owned.reduce((n, q) => n + o.usedToday(p, q), 0),
          },
        } : {}),
        ...(pair ? { perRecipient: { limit: pair.limit, periodMs: pair.periodMs } } : {}),
      };
    }
    return out;
  }

  private pairWindow(provider: ProviderName, recipient: string, now: number): SlidingWindow | undefined {
    const rate = this.o.pairRates.get(provider);
    if (!rate) return undefined;
    if (now - this.lastPairSweep > 60_000) this.sweepPairs(now);
    const key = `${provider}|${recipient}`;
    let w = this.pairs.get(key);
    if (!w) { w = new SlidingWindow(Math.max(1, Math.floor(rate.limit)), rate.periodMs); this.pairs.set(key, w); }
    return w;
  }

  /** Forgets recipients with no send in their window (memory stays bounded by recent recipients). */
  private sweepPairs(now: number): void {
    this.lastPairSweep = now;
    for (const [k, w] of this.pairs) if (w.used(now) === 0) this.pairs.delete(k);
  }
}
