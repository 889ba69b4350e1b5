import { isProviderName, type LookupResult, type ProviderName } from '@sicantik/providers';
import type { LookupAnswer } from '../domain/reconcile';

////////// The reconciler's status lookups through the provider gateway, and a small pool

/** Runs fn over items, at most n at once; results in the items' order. */
export async function pool<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i]!); }
  }));
  return out;
}

/** The gateway's status lookups as the reconciler asks them (a provider name it does not know has none). */
export function gatewayLookups(g: { canLookup(p: ProviderName): boolean; lookup(p: ProviderName, id: string): Promise<LookupResult | { kind: 'unsupported' }> }) {
  return {
    canLookup: (p: string) => isProviderName(p) && g.canLookup(p),
    lookup: async (p: string, id: string): Promise<LookupAnswer> => {
      if (!isProviderName(p)) return { kind: 'unsupported' };
      const r = await g.lookup(p, id);
      return r.kind === 'error' ? { kind: 'error', reason: r.reason } : r;
    },
  };
}
