import type { LookupResult, OutboundMessage, ProviderName } from '@sicantik/providers';
import { decide, type Command, type DispatchResult, type DispatchState, type Input, type LookupAnswer, type SendResult, type Step } from '../domain/decide';
import type { DispatchMessage } from '../domain/records';

////////// The executor around the core: feeds it, writes what it says, runs its commands
// It decides nothing: the order is the core's (domain/decide.ts). Its one rule is the
// guarantee's: a step's writes are produced, in order, each acknowledged (durable)
// before the next, and only then is the core told `written`; the core hands out a
// provider call only in answer to that. A write that fails drops the batch
// (`abandoned`) and throws: the consumer delivers it again.

/** The providers at the edge (HTTP, circuit breakers). */
export interface Sender {
  send(provider: ProviderName, msg: OutboundMessage): Promise<SendResult>;
  /** Providers whose circuit is open now, with the time a trial call may go. */
  openCircuits(now: number): ReadonlyMap<ProviderName, number>;
  /** The provider's status lookup, where it has one. */
  lookup?(provider: ProviderName, providerMessageId: string): Promise<LookupResult | { kind: 'unsupported' }>;
  canLookup?(provider: ProviderName): boolean;
}

export interface ExecutorIO {
  sender: Sender;
  /** Produces the messages in one request; resolves once they are durable. */
  produce(messages: DispatchMessage[]): Promise<void>;
  now(): number;
  /** Provider calls and lookups in flight at once (default 16). */
  concurrency?: number;
}

interface BatchResult {
  results: DispatchResult[];
  /** records[from..] wait until `until` (a pacing token, a retry's time, an open circuit). */
  defer?: { from: number; until: number } | undefined;
  /** Provider calls made. */
  calls: number;
}

/** Runs one batch (a `rendered`, `retries` or `held` input) to its end. */
export async function runBatch(state: DispatchState, io: ExecutorIO, input: Extract<Input, { kind: 'rendered' | 'retries' | 'held' }>): Promise<BatchResult> {
  const { partition } = input;
  let step: Step = decide(state, input);
  let defer: BatchResult['defer'];
  try {
    for (;;) {
      if (step.writes.length) {
        for (const w of step.writes) await io.produce(w);
        step = decide(state, { kind: 'written', partition });
        continue;
      }
      const work: Extract<Command, { kind: 'call' | 'lookup' }>[] = [];
      for (const c of step.commands) {
        if (c.kind === 'defer') defer = { from: c.from, until: c.until };
        else if (c.kind === 'done') return { results: c.results, defer, calls: c.calls };
        else work.push(c);
      }
      if (!work.length) throw new Error(`the dispatcher core left partition ${partition}'s batch without a step`);
      let next: Step | undefined;
      await mapLimit(work, io.concurrency ?? 16, async (c) => {
        const s = c.kind === 'call'
          ? decide(state, { kind: 'answer', partition, ref: c.ref, result: await safeSend(io.sender, c.provider, c.message), ...seen(io) })
          : decide(state, { kind: 'looked', partition, ref: c.ref, result: await safeLookup(io.sender, c.provider, c.providerMessageId), ...seen(io) });
        if (s.writes.length || s.commands.length) next = s;
      });
      step = next!;
    }
  } catch (e) {
    decide(state, { kind: 'abandoned', partition });
    throw e;
  }
}

const seen = (io: ExecutorIO) => { const at = io.now(); return { at, openCircuits: io.sender.openCircuits(at) }; };

/** A sender that throws instead of answering: the call may have gone out. */
async function safeSend(sender: Sender, provider: ProviderName, msg: OutboundMessage): Promise<SendResult> {
  try {
    return await sender.send(provider, msg);
  } catch (e) {
    return { kind: 'in_doubt', errorCode: 'PROVIDER_ERROR', reason: `provider adapter failed: ${(e as Error).message}`, latencyMs: 0 };
  }
}

/** A lookup that throws is an answer to try again later, like a provider's retriable error. */
async function safeLookup(sender: Sender, provider: ProviderName, id: string): Promise<LookupAnswer> {
  if (!sender.lookup) return { kind: 'unsupported' };
  try {
    return await sender.lookup(provider, id);
  } catch (e) {
    return { kind: 'error', disposition: 'retry', reason: `status lookup failed: ${(e as Error).message}` };
  }
}

/**
 * Runs fn over items with at most `limit` in flight; results in input order. After a
 * failure nothing more is started, and it rejects only once every call in flight has
 * settled: no answer reaches the core after its batch was abandoned (a claimed call never
 * started stays claimed: in doubt, never sent).
 */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const i = next++;
      try { out[i] = await fn(items[i]!); } catch (error) { failure ??= { error }; }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return out;
}
