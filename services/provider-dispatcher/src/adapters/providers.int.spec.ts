////////// The dispatcher against the provider simulator over real HTTP, with a real broker
// and registry: routing by opt-in state, fallback on an outage (the breaker opens), on a
// timeout (in doubt, never re-sent) and on Meta's "try another provider". Quotas, retries
// and rate limits: providers.limits.int.spec.ts. The world: providersWorld.spec.ts.
import { waitFor } from '../../../../test/support';
import { acceptedPer, finalsOf, phone, useSimulator, world } from './providersWorld.spec';

const sim = useSimulator();

describe('provider-dispatcher against the provider simulator', () => {
  beforeEach(async () => { await sim().admin('DELETE', '/faults'); await sim().admin('DELETE', '/rate-limits'); });

  it('routes by opt-in: opted in → the Meta template; not opted in → the gateway with the opt-in link; opted out → nothing, a recorded skip', async () => {
    const [pIn, pNot, pOut] = [phone(101, 1), phone(101, 2), phone(101, 3)];
    const w = await world({ chain: ['meta', 'fonnte'], optedIn: [pIn], optedOut: [pOut] });
    try {
      const ns = [w.rendered(1, pIn), w.rendered(2, pNot), w.rendered(3, pOut)];
      await w.send(ns);
      const finals = await finalsOf(w, ns.map((n) => n.notificationId));
      expect(finals.map((e) => [e.status, e.provider, e.routeReason])).toEqual([['ACCEPTED', 'meta', 'OPTED_IN'], ['ACCEPTED', 'fonnte', 'NOT_OPTED_IN'], ['SKIPPED', 'none', 'OPTED_OUT']]);
      const why = 'recipient opted out of WhatsApp notifications; nothing sent';
      expect(finals[2]).toMatchObject({ attempt: 0, errorCode: null, disposition: null, providerMessageId: null, reason: why, routeDetail: why });
      const reqs = await w.requests([pIn, pNot, pOut]);
      expect(reqs.map((r) => [r.provider, r.recipient]).sort()).toEqual([['fonnte', pNot], ['meta', pIn]]);
      const meta = reqs.find((r) => r.provider === 'meta')!;
      expect(meta.body).toMatchObject({ to: pIn, type: 'template', template: { name: 'sicantik_permit_ready', language: { code: 'id', policy: 'deterministic' } } });
      const fonnte = reqs.find((r) => r.provider === 'fonnte')!;
      expect(fonnte.body).toMatchObject({ target: pNot.slice(1), message: 'Yth. Bapak/Ibu Budi,\n\nPerizinan Anda telah selesai diproses.\n\nAktifkan WhatsApp resmi: https://wa.me/6281100000000?text=MULAI' });
      expect(finals[1]).toMatchObject({ optInLink: true, providerMessageId: fonnte.messageId });
      expect(w.dead).toHaveLength(0);
    } finally { await w.stop(); }
  });

  it('falls back on an outage: Meta answers 5xx, the breaker opens, the rest (and the retries) go through the gateway; every number gets exactly one accepted message', async () => {
    const phones = Array.from({ length: 24 }, (_, i) => phone(102, i));
    await sim().admin('POST', '/faults', { provider: 'meta', kind: 'server_error', httpStatus: 503 });
    const w = await world({ chain: ['meta', 'fonnte'], optedIn: phones, breaker: { volume: 4, errorPercent: 50 }, retry: { delayMs: 1500, maxAttempts: 3 } });
    try {
      const ns = phones.map((p, i) => w.rendered(i, p));
      // A first wave meets the outage (retryable 5xx) and opens the circuit; the second finds it open.
      await w.send(ns.slice(0, 6));
      await waitFor(async () => w.gateways[0]!.circuit('meta')!.state === 'open', { what: 'meta circuit open' });
      await w.send(ns.slice(6));
      const finals = await finalsOf(w, ns.map((n) => n.notificationId));
      expect(finals.map((e) => `${e.status}@${e.provider}`)).toEqual(phones.map(() => 'ACCEPTED@fonnte'));
      const reqs = await w.requests(phones);
      expect([...acceptedPer(reqs).values()]).toEqual(phones.map(() => 1));
      // Meta was called only for the first wave (once each), never while its circuit was open.
      const metaCalls = reqs.filter((r) => r.provider === 'meta');
      expect(metaCalls.map((r) => r.responseStatus)).toEqual(Array(6).fill(503));
      expect(new Set(metaCalls.map((r) => r.recipient))).toEqual(new Set(phones.slice(0, 6)));
      // The first wave's retries passed the open circuit over; the second wave was routed around it at once.
      expect(finals.slice(0, 6).every((e) => e.attempt === 2 && e.routeReason === 'CIRCUIT_OPEN')).toBe(true);
      expect(finals.slice(6).every((e) => e.attempt === 1 && e.routeReason === 'CIRCUIT_OPEN' && e.routeDetail === 'fonnte because meta circuit open')).toBe(true);
    } finally { await w.stop(); }
  });

  it('an outage that times out: the sends that may have gone out are IN_DOUBT and never sent again; the breaker opens and the rest goes through the gateway', async () => {
    const phones = Array.from({ length: 12 }, (_, i) => phone(103, i));
    await sim().admin('POST', '/faults', { provider: 'meta', kind: 'timeout' });
    const w = await world({ chain: ['meta', 'fonnte'], optedIn: phones, timeoutMs: 400, breaker: { volume: 3, errorPercent: 50 } });
    try {
      const ns = phones.map((p, i) => w.rendered(i, p));
      await w.send(ns.slice(0, 4));
      await finalsOf(w, ns.slice(0, 4).map((n) => n.notificationId));
      expect(w.gateways[0]!.circuit('meta')!.state).toBe('open');
      await w.send(ns.slice(4));
      const finals = await finalsOf(w, ns.map((n) => n.notificationId));
      expect(finals.slice(0, 4).map((e) => [e.status, e.provider, e.errorCode, e.disposition])).toEqual(Array(4).fill(['IN_DOUBT', 'meta', 'TIMEOUT', 'in_doubt']));
      expect(finals.slice(4).map((e) => `${e.status}@${e.provider}`)).toEqual(Array(8).fill('ACCEPTED@fonnte'));
      const reqs = await w.requests(phones);
      // An in-doubt number reached Meta once and nobody else; every other number got exactly one accepted message.
      for (const p of phones.slice(0, 4)) expect(reqs.filter((r) => r.recipient === p).map((r) => r.provider)).toEqual(['meta']);
      expect([...acceptedPer(reqs)].sort()).toEqual(phones.slice(4).map((p) => [p, 1]).sort());
      await sim().admin('DELETE', '/held');
    } finally { await w.stop(); }
  });

  it('Meta 131047 ("try another provider") falls back to the gateway at once, recorded as a second attempt with its provider; no second copy', async () => {
    const [x, y] = [phone(104, 1), phone(104, 2)];
    await sim().admin('POST', '/faults', { provider: 'meta', to: x, kind: 'permanent', code: 131047 });
    const w = await world({ chain: ['meta', 'fonnte'], optedIn: [x, y] });
    try {
      const ns = [w.rendered(1, x), w.rendered(2, y)];
      await w.send(ns);
      const finals = await finalsOf(w, ns.map((n) => n.notificationId));
      expect(finals.map((e) => [e.status, e.provider, e.attempt])).toEqual([['ACCEPTED', 'fonnte', 2], ['ACCEPTED', 'meta', 1]]);
      expect(finals[0]).toMatchObject({ routeReason: 'FALLBACK', fallbackFrom: 'meta', excludedProviders: ['meta'] });
      expect(finals[0]!.routeDetail).toMatch(/^fallback from meta because meta:131047: /);
      const attempts = w.dispatched.filter((e) => e.notificationId === ns[0]!.notificationId).map((e) => `${e.status}${e.attempt}@${e.provider}`);
      expect([...new Set(attempts)]).toEqual(['SENDING1@meta', 'RETRY_SCHEDULED1@meta', 'SENDING2@fonnte', 'ACCEPTED2@fonnte']);
      const reqs = await w.requests([x, y]);
      expect(reqs.filter((r) => r.recipient === x).map((r) => [r.provider, !!r.messageId])).toEqual([['meta', false], ['fonnte', true]]);
      expect([...acceptedPer(reqs).values()]).toEqual([1, 1]);
    } finally { await w.stop(); }
  });
});
