import fc from 'fast-check';
import { PROVIDER_NAMES, type ProviderName } from '@sicantik/providers';
import { REPLY_SCENARIOS, effectiveChain, route, type RoutingPolicy, type Unavailability } from './routing';

const policy = (chain: ProviderName[], optIn: ProviderName[] = ['meta']): RoutingPolicy => ({ chain, optInRequired: new Set(optIn) });
const none = new Map<ProviderName, Unavailability>();
const IN = { optedIn: true, optedOut: false };
const NOT = { optedIn: false, optedOut: false };
const OUT = { optedIn: false, optedOut: true };

describe('route (seed 004)', () => {
  it('opted in → Meta; not opted in → the first gateway with the opt-in link; opted out → nothing', () => {
    const p = policy(['meta', 'watzap', 'fonnte']);
    expect(route({ policy: p, contact: IN, excluded: [], unavailable: none })).toMatchObject({ kind: 'send', provider: 'meta', reason: 'OPTED_IN', appendOptInLink: false });
    expect(route({ policy: p, contact: NOT, excluded: [], unavailable: none })).toMatchObject({ kind: 'send', provider: 'watzap', reason: 'NOT_OPTED_IN', appendOptInLink: true });
    expect(route({ policy: p, contact: OUT, excluded: [], unavailable: none })).toMatchObject({ kind: 'skip', reason: 'OPTED_OUT' });
  });
  it('a gateway first in the chain serves everyone; opted-in contacts get no link', () => {
    const p = policy(['fonnte', 'meta']);
    expect(route({ policy: p, contact: IN, excluded: [], unavailable: none })).toMatchObject({ provider: 'fonnte', reason: 'DEFAULT_PROVIDER', appendOptInLink: false });
  });
  it('without any gateway in the chain, a contact who has not opted in is held (the default); only UNCONSENTED_OPT_IN_PROVIDERS=send serves everyone (as before multi-provider)', () => {
    expect(route({ policy: policy(['meta']), contact: NOT, excluded: [], unavailable: none })).toEqual({
      kind: 'hold', provider: 'meta', reason: 'AWAITING_OPT_IN', detail: 'only opt-in providers are configured (meta) and the contact has not opted in: held until it opts in',
    });
    expect(route({ policy: { ...policy(['meta']), unconsented: 'send' }, contact: NOT, excluded: [], unavailable: none })).toMatchObject({ kind: 'send', provider: 'meta', reason: 'NO_OPT_IN_GATEWAY', appendOptInLink: false });
    expect(route({ policy: policy(['meta']), contact: IN, excluded: [], unavailable: none })).toMatchObject({ kind: 'send', provider: 'meta', reason: 'OPTED_IN' });
    expect(route({ policy: policy(['meta']), contact: { optedIn: false, optedOut: true }, excluded: [], unavailable: none })).toMatchObject({ kind: 'skip', reason: 'OPTED_OUT' });
  });

  it('an answer to the contact\'s own message (the opt-out confirmation, the help answer) reaches an opted-out contact without the opt-in link and is never held', () => {
    // Watzap + Meta: the opted-out contact gets the opt-out confirmation through the gateway, without the link.
    expect(route({ policy: policy(['meta', 'watzap']), contact: OUT, reply: true, excluded: [], unavailable: none })).toMatchObject({ kind: 'send', provider: 'watzap', appendOptInLink: false });
    // Meta alone: neither skipped nor held.
    expect(route({ policy: policy(['meta']), contact: OUT, reply: true, excluded: [], unavailable: none })).toMatchObject({ kind: 'send', provider: 'meta', reason: 'NO_OPT_IN_GATEWAY' });
    expect(route({ policy: policy(['meta']), contact: NOT, reply: true, excluded: [], unavailable: none })).toMatchObject({ kind: 'send', provider: 'meta' });
    // Anything else to an opted-out contact is still skipped.
    expect(route({ policy: policy(['meta', 'watzap']), contact: OUT, reply: false, excluded: [], unavailable: none })).toMatchObject({ kind: 'skip', reason: 'OPTED_OUT' });
    expect([...REPLY_SCENARIOS].sort()).toEqual(['consent_help', 'consent_opted_in', 'consent_opted_out']);
  });

  it('the 24-hour customer-service window: free-form text only when the last inbound message is less than 24 h old', () => {
    const t = 1_800_000_000_000;
    const at = (lastInboundAt: number | null) => route({ policy: policy(['meta']), contact: { ...IN, lastInboundAt }, excluded: [], unavailable: none, now: t });
    expect(at(t - 24 * 3_600_000 + 1)).toMatchObject({ provider: 'meta', freeForm: true });
    expect(at(t - 24 * 3_600_000)).toMatchObject({ provider: 'meta', freeForm: false });
    expect(at(null)).toMatchObject({ provider: 'meta', freeForm: false });
    // Without a time (an operator's test send): text allowed as before.
    expect(route({ policy: policy(['meta']), contact: IN, excluded: [], unavailable: none })).toMatchObject({ freeForm: true });
  });
  it('falls back along the chain, says from whom and why; an open circuit or a spent quota is passed over and named', () => {
    const p = policy(['meta', 'twilio', 'fonnte'], ['meta', 'twilio']);
    expect(route({ policy: p, contact: IN, excluded: ['meta'], unavailable: none, fallback: { from: 'meta', because: 'meta:131047: re-engagement' } }))
      .toMatchObject({ provider: 'twilio', reason: 'FALLBACK', detail: 'fallback from meta because meta:131047: re-engagement' });
    expect(route({ policy: p, contact: IN, excluded: [], unavailable: new Map([['meta', 'CIRCUIT_OPEN'], ['twilio', 'QUOTA_EXHAUSTED']]) }))
      .toMatchObject({ provider: 'fonnte', reason: 'CIRCUIT_OPEN', detail: 'fonnte because meta circuit open, twilio daily quota exhausted', appendOptInLink: false });
    // Not opted in: the opt-in providers are never a fallback.
    expect(route({ policy: p, contact: NOT, excluded: ['fonnte'], unavailable: none })).toMatchObject({ kind: 'none', reason: 'NO_PROVIDER' });
    expect(route({ policy: p, contact: NOT, excluded: [], unavailable: new Map([['fonnte', 'CIRCUIT_OPEN']]) })).toMatchObject({ kind: 'wait', reason: 'CIRCUIT_OPEN' });
  });
  it('a retry keeps its provider while it can serve; a forced test send names what automatic routing would do', () => {
    const p = policy(['meta', 'fonnte']);
    expect(route({ policy: p, contact: NOT, excluded: [], unavailable: none, preferred: 'fonnte' })).toMatchObject({ provider: 'fonnte', reason: 'RETRY' });
    expect(route({ policy: p, contact: NOT, excluded: [], unavailable: none, forced: 'meta' })).toMatchObject({ provider: 'meta', reason: 'FORCED', detail: 'forced to meta by the operator (automatic routing would not use meta: the contact has not opted in)' });
  });
  it('effectiveChain: the default provider first, unconfigured ones left out and named', () => {
    expect(effectiveChain({ chain: ['meta', 'watzap', 'fonnte'], defaultProvider: 'fonnte', configured: new Set(['meta', 'fonnte']) })).toEqual({ chain: ['fonnte', 'meta'], notConfigured: ['watzap'] });
  });

  it('property: never a send to an opted-out number; never an excluded or unavailable provider; an opt-in provider for a contact who has not opted in only when no gateway is configured', () => {
    const name = fc.constantFrom(...PROVIDER_NAMES);
    fc.assert(fc.property(
      fc.uniqueArray(name, { minLength: 1, maxLength: 6 }), fc.uniqueArray(name), fc.uniqueArray(name), fc.array(fc.tuple(name, fc.constantFrom<Unavailability>('CIRCUIT_OPEN', 'QUOTA_EXHAUSTED'))),
      fc.boolean(), fc.boolean(), fc.option(name, { nil: undefined }),
      (chain, optIn, excluded, unavail, optedIn, optedOut, preferred) => {
        const p = policy(chain, optIn);
        const contact = { optedIn: optedIn && !optedOut, optedOut };
        const r = route({ policy: p, contact, excluded, unavailable: new Map(unavail), preferred });
        if (optedOut) { expect(r.kind).toBe('skip'); return; }
        if (r.kind !== 'send') return;
        expect(chain).toContain(r.provider);
        expect(excluded).not.toContain(r.provider);
        expect(new Map(unavail).has(r.provider)).toBe(false);
        const gateway = chain.some((x) => !optIn.includes(x));
        if (!contact.optedIn && gateway) expect(optIn).not.toContain(r.provider);
        expect(r.appendOptInLink).toBe(!contact.optedIn && !optIn.includes(r.provider));
      },
    ), { numRuns: 2000 });
  });
});
