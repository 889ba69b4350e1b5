import CircuitBreaker from 'opossum';
import { AppError, errorMessage } from '@sicantik/core';
import type { ConnectionResult, HttpRequest, HttpResponse, LookupResult, OutboundMessage, Provider, ProviderName } from '@sicantik/providers';
import type { SendResult } from '../../domain/decide';
import type { Sender } from '../batchExecutor';
import { ExecError, type HttpExecutor } from '../http/executor';

////////// The configured providers at the edge: request building and reading by
// @sicantik/providers, the HTTP call by the executor, one circuit breaker per provider.
// A breaker (opossum) counts outages: no answer in time, a connection that failed, a
// 5xx. When they pass CIRCUIT_ERROR_PERCENT of the calls in CIRCUIT_WINDOW_MS (at least
// CIRCUIT_VOLUME calls) it opens: calls fail at once without a request (the dispatcher
// falls back to the next provider), and after CIRCUIT_RESET_MS one trial call may go
// (half-open) and closes it again if it succeeds. Provider answers that are not outages
// (a rate limit, a refusal) do not count.

export interface BreakerOptions { errorPercent: number; volume: number; windowMs: number; resetMs: number }

/** A 5xx answer: an outage for the breaker, still an answer for the adapter. */
class OutageAnswer extends Error {
  constructor(readonly response: HttpResponse) { super(`HTTP ${response.status}`); }
}

export interface CircuitView { state: 'closed' | 'open' | 'half-open'; openedAt: number | null; retryAt: number | null; stats: { fires: number; failures: number; successes: number; rejects: number; timeouts: number } }

export class ProviderGateway implements Sender {
  private readonly breakers = new Map<ProviderName, CircuitBreaker<[HttpRequest], HttpResponse>>();
  private readonly openedAt = new Map<ProviderName, number>();
  readonly providers: ReadonlyMap<ProviderName, Provider>;

  constructor(private readonly o: { providers: readonly Provider[]; executor: HttpExecutor; timeoutMs: number; breaker: BreakerOptions; now?: () => number; onStateChange?: (p: ProviderName, state: CircuitView['state']) => void }) {
    this.providers = new Map(o.providers.map((p) => [p.name, p]));
    for (const p of o.providers) {
      const b = new CircuitBreaker<[HttpRequest], HttpResponse>(async (req: HttpRequest) => {
        const res = await o.executor.execute(req, o.timeoutMs);
        if (res.status >= 500) throw new OutageAnswer(res);
        return res;
      }, {
        name: p.name, timeout: false, errorThresholdPercentage: o.breaker.errorPercent, volumeThreshold: o.breaker.volume,
        rollingCountTimeout: o.breaker.windowMs, rollingCountBuckets: 10, resetTimeout: o.breaker.resetMs,
      });
      b.on('open', () => { this.openedAt.set(p.name, this.now()); o.onStateChange?.(p.name, 'open'); });
      b.on('halfOpen', () => o.onStateChange?.(p.name, 'half-open'));
      b.on('close', () => { this.openedAt.delete(p.name); o.onStateChange?.(p.name, 'closed'); });
      this.breakers.set(p.name, b);
    }
  }

  private now(): number { return this.o.now ? this.o.now() : Date.now(); }

  async send(name: ProviderName, msg: OutboundMessage): Promise<SendResult> {
    const provider = this.providers.get(name);
    const breaker = this.breakers.get(name);
    if (!provider || !breaker) return { kind: 'failed', disposition: 'fallback', errorCode: 'PROVIDER_NOT_CONFIGURED', reason: `${name} is not configured`, latencyMs: 0 };
    let req: HttpRequest;
    try {
      req = provider.buildSend(msg);
    } catch (e) {
      // A recipient the provider cannot address, or its configuration: nothing was sent.
      const retriable = e instanceof AppError && e.code === 'PROVIDER_CONFIG';
      return { kind: 'failed', disposition: retriable ? 'fallback' : 'permanent', errorCode: e instanceof AppError ? e.code : 'INVALID_REQUEST', reason: errorMessage(e), latencyMs: 0 };
    }
    const started = performance.now();
    let res: HttpResponse;
    try {
      res = await breaker.fire(req);
    } catch (e) {
      const latencyMs = performance.now() - started;
      if (e instanceof OutageAnswer) res = e.response;
      else if ((e as { code?: string }).code === 'EOPENBREAKER') {
        return { kind: 'failed', disposition: 'fallback', errorCode: 'CIRCUIT_OPEN', reason: `${name} circuit open: not called`, latencyMs, circuitOpen: true };
      } else if (e instanceof ExecError) {
        return e.inDoubt
          ? { kind: 'in_doubt', errorCode: e.code, reason: `${name}: ${e.message}`, latencyMs }
          : { kind: 'failed', disposition: 'retry', errorCode: e.code, reason: `${name}: ${e.message}`, latencyMs };
      } else {
        return { kind: 'in_doubt', errorCode: 'PROVIDER_ERROR', reason: `${name}: ${errorMessage(e)}`, latencyMs };
      }
    }
    const latencyMs = performance.now() - started;
    const out = provider.parseSendResponse(msg, res);
    if (out.kind === 'accepted') return { kind: 'accepted', providerMessageId: out.providerMessageId, latencyMs };
    return { kind: 'failed', disposition: out.disposition, errorCode: out.errorCode, reason: out.reason, retryAfterMs: out.retryAfterMs, latencyMs };
  }

  openCircuits(now: number): ReadonlyMap<ProviderName, number> {
    const out = new Map<ProviderName, number>();
    for (const [name, b] of this.breakers) if (b.opened) out.set(name, (this.openedAt.get(name) ?? now) + this.o.breaker.resetMs);
    return out;
  }

  canLookup(name: ProviderName): boolean { return !!this.providers.get(name)?.statusLookup; }

  async lookup(name: ProviderName, providerMessageId: string): Promise<LookupResult | { kind: 'unsupported' }> {
    const lookup = this.providers.get(name)?.statusLookup;
    if (!lookup) return { kind: 'unsupported' };
    try {
      return lookup.parse(await this.o.executor.execute(lookup.build(providerMessageId), this.o.timeoutMs));
    } catch (e) {
      return { kind: 'error', disposition: 'retry', reason: errorMessage(e) };
    }
  }

  /** The provider's "test connection" call (sends nothing). */
  async testConnection(name: ProviderName): Promise<ConnectionResult & { checks: string; latencyMs: number }> {
    const provider = this.providers.get(name);
    if (!provider) return { ok: false, reason: `${name} is not configured`, checks: '', latencyMs: 0 };
    const started = performance.now();
    try {
      const check = provider.testConnection();
      const r = check.interpret(await this.o.executor.execute(check.request, this.o.timeoutMs));
      return { ...r, checks: check.checks, latencyMs: Math.round(performance.now() - started) };
    } catch (e) {
      return { ok: false, reason: errorMessage(e), checks: '', latencyMs: Math.round(performance.now() - started) };
    }
  }

  circuit(name: ProviderName): CircuitView | undefined {
    const b = this.breakers.get(name);
    if (!b) return undefined;
    const s = b.stats;
    const openedAt = this.openedAt.get(name) ?? null;
    return {
      state: b.opened ? 'open' : b.halfOpen ? 'half-open' : 'closed', openedAt, retryAt: b.opened && openedAt !== null ? openedAt + this.o.breaker.resetMs : null,
      stats: { fires: s.fires, failures: s.failures, successes: s.successes, rejects: s.rejects, timeouts: s.timeouts },
    };
  }

  close(): void { for (const b of this.breakers.values()) b.shutdown(); }
}
