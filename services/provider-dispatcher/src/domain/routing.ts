import type { ProviderName } from '@sicantik/providers';

////////// Routing (pure): which provider sends a notification, and why
// Seed 004: Meta (and every provider marked as requiring opt-in) only for contacts
// who opted in; everyone else through the first gateway of the chain that does not
// require it, with the opt-in link; opted-out numbers get nothing. The chain is the
// configured fallback order (the default provider first). When the chain has no
// provider without the opt-in requirement, there is nowhere else to send a contact
// who has not opted in, so the chain serves everyone as before multi-provider
// ("NO_OPT_IN_GATEWAY"; the seed's migration path: multi-provider is opt-in).
// Time and state come in as arguments: the contact's opt-in state, the providers
// already ruled out for this notification, and those unavailable right now (open
// circuit, daily quota gone).

type RouteReason =
  | 'OPTED_IN' | 'NOT_OPTED_IN' | 'NO_OPT_IN_GATEWAY' | 'DEFAULT_PROVIDER'
  | 'FALLBACK' | 'CIRCUIT_OPEN' | 'QUOTA_EXHAUSTED' | 'RETRY' | 'FORCED'
  | 'OPTED_OUT' | 'NO_PROVIDER' | 'IN_DOUBT_RESOLVED';

export type Unavailability = 'CIRCUIT_OPEN' | 'QUOTA_EXHAUSTED';

export interface RoutingPolicy {
  /** Configured providers in fallback order, the default provider first. */
  chain: readonly ProviderName[];
  /** Providers that may only message contacts who opted in (WhatsApp Business Platform providers). */
  optInRequired: ReadonlySet<ProviderName>;
}

export interface ContactState { optedIn: boolean; optedOut: boolean }

interface RouteInput {
  policy: RoutingPolicy;
  contact: ContactState;
  /** Ruled out for this notification (a fallback answer, retries exhausted), in order. */
  excluded: readonly ProviderName[];
  /** Not usable at this moment, with why. */
  unavailable: ReadonlyMap<ProviderName, Unavailability>;
  /** The provider of a scheduled retry: kept when it can still serve. */
  preferred?: ProviderName | undefined;
  /** The previous attempt's provider and why it failed (a fallback). */
  fallback?: { from: ProviderName; because: string } | undefined;
  /** An operator's test send through this provider. */
  forced?: ProviderName | undefined;
}


export type Route =
  | { kind: 'send'; provider: ProviderName; reason: RouteReason; detail: string; appendOptInLink: boolean; passedOver: { provider: ProviderName; why: Unavailability }[] }
  /** Opted out: nothing is sent. */
  | { kind: 'skip'; reason: 'OPTED_OUT'; detail: string }
  /** No provider may serve this contact any more. */
  | { kind: 'none'; reason: 'NO_PROVIDER'; detail: string }
  /** Providers could serve, but none right now: wait for the earliest of them. */
  | { kind: 'wait'; reason: Unavailability; detail: string; passedOver: { provider: ProviderName; why: Unavailability }[] };

/** Whether a contact who has not opted in can be routed around the opt-in providers at all. */
export const hasOptInGateway = (policy: RoutingPolicy): boolean => policy.chain.some((p) => !policy.optInRequired.has(p));

export function route(i: RouteInput): Route {
  const { policy, contact } = i;
  if (contact.optedOut) return { kind: 'skip', reason: 'OPTED_OUT', detail: 'recipient opted out of WhatsApp notifications; nothing sent' };
  if (i.forced) {
    const rule = policy.optInRequired.has(i.forced) && !contact.optedIn && hasOptInGateway(policy) ? ` (automatic routing would not use ${i.forced}: the contact has not opted in)` : '';
    return { kind: 'send', provider: i.forced, reason: 'FORCED', detail: `forced to ${i.forced} by the operator${rule}`, appendOptInLink: false, passedOver: [] };
  }
  const legacy = !hasOptInGateway(policy);
  const eligible = (p: ProviderName) => contact.optedIn || legacy || !policy.optInRequired.has(p);
  const excluded = new Set(i.excluded);
  let candidates = policy.chain.filter((p) => !excluded.has(p) && eligible(p));
  if (i.preferred && candidates.includes(i.preferred)) candidates = [i.preferred, ...candidates.filter((p) => p !== i.preferred)];
  if (candidates.length === 0) {
    const why = excluded.size ? `every eligible provider was ruled out (${[...excluded].join(', ')})` : 'no configured provider may serve this contact';
    return { kind: 'none', reason: 'NO_PROVIDER', detail: `${why}${contact.optedIn || legacy ? '' : '; the contact has not opted in, so opt-in providers are not used'}` };
  }
  const passedOver: { provider: ProviderName; why: Unavailability }[] = [];
  for (const p of candidates) {
    const why = i.unavailable.get(p);
    if (why) { passedOver.push({ provider: p, why }); continue; }
    const optIn = policy.optInRequired.has(p);
    const appendOptInLink = !optIn && !contact.optedIn;
    const skipped = passedOver.map((x) => `${x.provider} ${x.why === 'CIRCUIT_OPEN' ? 'circuit open' : 'daily quota exhausted'}`).join(', ');
    if (p === i.preferred && passedOver.length === 0) return { kind: 'send', provider: p, reason: 'RETRY', detail: `retry through ${p}`, appendOptInLink, passedOver };
    if (passedOver.length) return { kind: 'send', provider: p, reason: passedOver[0]!.why, detail: `${p} because ${skipped}`, appendOptInLink, passedOver };
    if (i.fallback) return { kind: 'send', provider: p, reason: 'FALLBACK', detail: `fallback from ${i.fallback.from} because ${i.fallback.because}`, appendOptInLink, passedOver };
    if (optIn) {
      return contact.optedIn
        ? { kind: 'send', provider: p, reason: 'OPTED_IN', detail: `${p}: the contact opted in`, appendOptInLink, passedOver }
        : { kind: 'send', provider: p, reason: 'NO_OPT_IN_GATEWAY', detail: `${p}: no gateway without opt-in is configured, so the chain serves everyone`, appendOptInLink, passedOver };
    }
    return contact.optedIn
      ? { kind: 'send', provider: p, reason: 'DEFAULT_PROVIDER', detail: `${p}: first in the chain`, appendOptInLink, passedOver }
      : { kind: 'send', provider: p, reason: 'NOT_OPTED_IN', detail: `${p}: the contact has not opted in, so a gateway with the opt-in link`, appendOptInLink, passedOver };
  }
  const circuits = passedOver.filter((x) => x.why === 'CIRCUIT_OPEN').length;
  return {
    kind: 'wait', reason: circuits ? 'CIRCUIT_OPEN' : 'QUOTA_EXHAUSTED', passedOver,
    detail: `no provider can take it now: ${passedOver.map((x) => `${x.provider} ${x.why === 'CIRCUIT_OPEN' ? 'circuit open' : 'daily quota exhausted'}`).join(', ')}`,
  };
}

/**
 * The chain from configuration: PROVIDER_CHAIN order, the default provider moved to
 * the front, only providers that are configured. Returns what was dropped, for a
 * start-up warning.
 */
export function effectiveChain(o: { chain: readonly ProviderName[]; defaultProvider?: ProviderName | undefined; configured: ReadonlySet<ProviderName> }): { chain: ProviderName[]; notConfigured: ProviderName[] } {
  const ordered = o.defaultProvider ? [o.defaultProvider, ...o.chain.filter((p) => p !== o.defaultProvider)] : [...o.chain];
  const unique = [...new Set(ordered)];
  return { chain: unique.filter((p) => o.configured.has(p)), notConfigured: unique.filter((p) => !o.configured.has(p)) };
}
