import type { ProviderName } from '@sicantik/providers';

////////// Routing (pure): which provider sends a notification, and why
// Seed 004: Meta (and every provider marked as requiring opt-in) only for contacts
// who opted in; everyone else through the first gateway of the chain that does not
// require it, with the opt-in link; opted-out numbers get nothing. The chain is the
// configured fallback order (the default provider first). When the chain has no
// provider without the opt-in requirement, there is nowhere else to send a contact
// who has not opted in. Compliant by default (issue 16): such a notification is held
// (`hold`, recorded HELD, sent once the contact opts in: Meta's policy, seed 004's
// "partner harus opt-in dulu"); only UNCONSENTED_OPT_IN_PROVIDERS=send lets the chain
// serve everyone as before multi-provider ("NO_OPT_IN_GATEWAY").
// Meta's 24-hour customer-service window: a send says whether free-form text is allowed
// (`freeForm`: the contact's last inbound message is less than 24 h old); outside the
// window Meta must use its approved template (packages/providers meta: OutboundMessage.freeForm).
// Time and state come in as arguments: the contact's opt-in state, the providers
// already ruled out for this notification, and those unavailable right now (open
// circuit, daily quota gone).

type RouteReason =
  | 'OPTED_IN' | 'NOT_OPTED_IN' | 'NO_OPT_IN_GATEWAY' | 'DEFAULT_PROVIDER'
  | 'FALLBACK' | 'CIRCUIT_OPEN' | 'QUOTA_EXHAUSTED' | 'RETRY' | 'FORCED'
  | 'OPTED_OUT' | 'NO_PROVIDER' | 'IN_DOUBT_RESOLVED' | 'AWAITING_OPT_IN';

export type Unavailability = 'CIRCUIT_OPEN' | 'QUOTA_EXHAUSTED';

export interface RoutingPolicy {
  /** Configured providers in fallback order, the default provider first. */
  chain: readonly ProviderName[];
  /** Providers that may only message contacts who opted in (WhatsApp Business Platform providers). */
  optInRequired: ReadonlySet<ProviderName>;
  /** Contacts who have not opted in when only opt-in providers are configured: hold (default) or send anyway. */
  unconsented?: 'hold' | 'send';
}

/** The 24-hour customer-service window (Meta): free-form text only this long after the contact's last inbound message. */
const SERVICE_WINDOW_MS = 24 * 3_600_000;

export interface ContactState {
  optedIn: boolean;
  optedOut: boolean;
  /** The contact's last inbound message (its 24 h service window), when known. */
  lastInboundAt?: number | null;
}

/** Whether free-form text may be sent now (inside the 24 h window). */
const inServiceWindow = (c: ContactState, now: number): boolean => c.lastInboundAt != null && now - c.lastInboundAt < SERVICE_WINDOW_MS;

/**
 * Answers to the contact's own message (the consent classifier's confirmations and its
 * daily help answer): the contact wrote first, inside the customer-service window, so
 * such a message is sent even when the contact has opted out (the opt-out confirmation
 * itself) and is never held for an opt-in. Staff notices are not among them.
 */
export const REPLY_SCENARIOS: ReadonlySet<string> = new Set(['consent_opted_in', 'consent_opted_out', 'consent_help']);

interface RouteInput {
  policy: RoutingPolicy;
  contact: ContactState;
  /** The notification answers the contact's own message (REPLY_SCENARIOS). */
  reply?: boolean | undefined;
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
  /** The time (the service window); without it free-form text is allowed (an operator's test send). */
  now?: number | undefined;
}


export type Route =
  | { kind: 'send'; provider: ProviderName; reason: RouteReason; detail: string; appendOptInLink: boolean; passedOver: { provider: ProviderName; why: Unavailability }[]; freeForm?: boolean }
  /** Only opt-in providers, and the contact has not opted in: held until it does (`provider`: the one it would use). */
  | { kind: 'hold'; provider: ProviderName; reason: 'AWAITING_OPT_IN'; detail: string }
  /** Opted out: nothing is sent. */
  | { kind: 'skip'; reason: 'OPTED_OUT'; detail: string }
  /** No provider may serve this contact any more. */
  | { kind: 'none'; reason: 'NO_PROVIDER'; detail: string }
  /** Providers could serve, but none right now: wait for the earliest of them. */
  | { kind: 'wait'; reason: Unavailability; detail: string; passedOver: { provider: ProviderName; why: Unavailability }[] };

/** Whether a contact who has not opted in can be routed around the opt-in providers at all. */
export const hasOptInGateway = (policy: RoutingPolicy): boolean => policy.chain.some((p) => !policy.optInRequired.has(p));

export function route(i: RouteInput): Route {
  const r = routeOf(i);
  if (r.kind !== 'send') return r;
  return { ...r, freeForm: i.now === undefined || inServiceWindow(i.contact, i.now) };
}

function routeOf(i: RouteInput): Route {
  const { policy, contact } = i;
  if (contact.optedOut && !i.reply) return { kind: 'skip', reason: 'OPTED_OUT', detail: 'recipient opted out of WhatsApp notifications; nothing sent' };
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
  if (legacy && !contact.optedIn && !i.reply && (policy.unconsented ?? 'hold') === 'hold') {
    return { kind: 'hold', provider: candidates[0]!, reason: 'AWAITING_OPT_IN', detail: `only opt-in providers are configured (${policy.chain.join(', ')}) and the contact has not opted in: held until it opts in` };
  }
  const passedOver: { provider: ProviderName; why: Unavailability }[] = [];
  for (const p of candidates) {
    const why = i.unavailable.get(p);
    if (why) { passedOver.push({ provider: p, why }); continue; }
    const optIn = policy.optInRequired.has(p);
    const appendOptInLink = !optIn && !contact.optedIn && !contact.optedOut;
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
