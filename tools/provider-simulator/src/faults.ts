import { isProvider, type ProviderName, type RateLimitSpec, type WebhookPlan } from './config';
import { isObj, toE164 } from './util';

////////// Fault injection (per provider, per recipient, by percentage, for the next N
// requests) and provider-side rate limits (N accepted requests per sliding window).

const FAULT_KINDS = ['rate_limit', 'permanent', 'server_error', 'slow', 'timeout', 'fail_later'] as const;
type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultInput {
  kind: FaultKind;
  /** Only this provider's requests (default: every provider). */
  provider?: ProviderName;
  /** Only requests to these numbers (any format; compared as E.164). */
  to?: string | string[];
  /** Applies to this share of matching requests, 0..100 (default 100). */
  percent?: number;
  /** Applies this many times, then is removed (default: until deleted). */
  count?: number;
  /** The provider's error code (rate_limit, permanent, server_error) or failure code (fail_later). */
  code?: number | string;
  httpStatus?: number;
  message?: string;
  /** Wait before answering (slow: then answer normally; other kinds: then fail). */
  delayMs?: number;
  /** rate_limit: account-wide (Meta 130429) or per recipient (Meta 131056). */
  scope?: 'account' | 'recipient';
  /** Webhook plan for messages this rule lets through (slow, fail_later). */
  webhook?: Partial<WebhookPlan>;
}

export interface FaultRule extends FaultInput {
  id: string;
  hits: number;
}

/** Checks an admin request body; returns the fault or what is wrong with it. */
export function parseFault(v: unknown): FaultInput | string {
  if (!isObj(v)) return 'a fault is an object';
  if (!(FAULT_KINDS as readonly unknown[]).includes(v.kind)) return `kind must be one of ${FAULT_KINDS.join(', ')}`;
  if (v.provider !== undefined && !isProvider(v.provider)) return 'provider must be meta, twilio, bird, vonage, fonnte or watzap';
  if (v.to !== undefined && typeof v.to !== 'string' && !(Array.isArray(v.to) && v.to.every((t) => typeof t === 'string'))) return 'to must be a number or a list of numbers';
  if (v.percent !== undefined && (typeof v.percent !== 'number' || v.percent < 0 || v.percent > 100)) return 'percent must be 0..100';
  if (v.count !== undefined && (!Number.isInteger(v.count) || (v.count as number) < 1)) return 'count must be a positive integer';
  if (v.delayMs !== undefined && (typeof v.delayMs !== 'number' || v.delayMs < 0)) return 'delayMs must be a non-negative number';
  if (v.kind === 'slow' && v.delayMs === undefined) return 'slow needs delayMs';
  if (v.httpStatus !== undefined && (!Number.isInteger(v.httpStatus) || (v.httpStatus as number) < 100 || (v.httpStatus as number) > 599)) return 'httpStatus must be an HTTP status';
  if (v.code !== undefined && typeof v.code !== 'number' && typeof v.code !== 'string') return 'code must be a number or a string';
  if (v.scope !== undefined && v.scope !== 'account' && v.scope !== 'recipient') return 'scope must be account or recipient';
  if (v.webhook !== undefined && !isObj(v.webhook)) return 'webhook must be an object';
  return v as unknown as FaultInput;
}

export class Faults {
  private rules: FaultRule[] = [];
  private seq = 0;
  constructor(private readonly random: () => number) {}

  add(f: FaultInput): FaultRule {
    const rule: FaultRule = { ...f, to: f.to === undefined ? undefined : (Array.isArray(f.to) ? f.to : [f.to]).map((t) => toE164(t)), id: `f${++this.seq}`, hits: 0 };
    this.rules.push(rule);
    return rule;
  }
  list(): FaultRule[] { return this.rules.map((r) => ({ ...r })); }
  remove(id: string): boolean {
    const n = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length < n;
  }
  clear(): void { this.rules = []; }

  /** The first rule that applies to this request (its count is consumed), if any. */
  match(provider: ProviderName, recipients: string[]): FaultRule | undefined {
    for (const r of this.rules) {
      if (r.provider && r.provider !== provider) continue;
      if (r.to && !recipients.some((t) => (r.to as string[]).includes(t))) continue;
      if (r.percent !== undefined && this.random() * 100 >= r.percent) continue;
      r.hits++;
      if (r.count !== undefined && --r.count <= 0) this.remove(r.id);
      return { ...r };
    }
    return undefined;
  }
}

/** Sliding-window limits: at most `limit` accepted requests in any `windowMs`, per account or per recipient. */
export class RateLimiter {
  private specs = new Map<string, RateLimitSpec>();
  private logs = new Map<string, number[]>();

  set(spec: RateLimitSpec): void {
    const scope = spec.scope ?? 'account';
    this.specs.set(`${spec.provider}:${scope}`, { ...spec, scope });
    for (const k of [...this.logs.keys()]) if (k.startsWith(`${spec.provider}:${scope}:`)) this.logs.delete(k);
  }
  remove(provider: ProviderName, scope?: 'account' | 'recipient'): void {
    for (const s of ['account', 'recipient'] as const) {
      if (scope && scope !== s) continue;
      this.specs.delete(`${provider}:${s}`);
      for (const k of [...this.logs.keys()]) if (k.startsWith(`${provider}:${s}:`)) this.logs.delete(k);
    }
  }
  clear(): void { this.specs.clear(); this.logs.clear(); }
  list(): RateLimitSpec[] { return [...this.specs.values()]; }

  /** Counts the request and returns undefined, or returns the limit it would exceed (then it is not counted). */
  take(provider: ProviderName, recipient: string, now: number): RateLimitSpec | undefined {
    const applicable: [RateLimitSpec, number[], string][] = [];
    for (const scope of ['recipient', 'account'] as const) {
      const spec = this.specs.get(`${provider}:${scope}`);
      if (!spec) continue;
      const key = `${provider}:${scope}:${scope === 'recipient' ? recipient : ''}`;
      const log = this.logs.get(key) ?? [];
      let drop = 0;
      while (drop < log.length && log[drop]! <= now - spec.windowMs) drop++;
      if (drop) log.splice(0, drop);
      if (log.length >= spec.limit) return spec;
      applicable.push([spec, log, key]);
    }
    for (const [, log, key] of applicable) {
      log.push(now);
      this.logs.set(key, log);
    }
    return undefined;
  }
}
