import { createHmac } from 'node:crypto';
import { SECRETS, startHarness, type Harness } from './testHarness';

// The admin API over real HTTP: fault injection (per provider, number, percentage, next N;
// rate limits, permanent errors, 5xx, slow answers, held connections, later failures),
// provider-side rate limits, the webhook plan (delay, duplicates, out of order, retries),
// manual status webhooks, and the original Meta-only endpoints, unchanged.

const TO = '+6281234567890';
let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h.close(); });
beforeEach(async () => { await h.admin('POST', '/reset'); h.received.length = 0; h.setReceiverStatus(200); });

const meta = (to = TO, signal?: AbortSignal) => fetch(`${h.url}/meta/v23.0/100000000000001/messages`, {
  method: 'POST', signal,
  headers: { Authorization: `Bearer ${SECRETS.metaAccessToken}`, 'Content-Type': 'application/json' },
  body: JSON.stringify({ messaging_product: 'whatsapp', to, type: 'template', template: { name: 'permit_ready', language: { code: 'id', policy: 'deterministic' } } }),
});
const fonnte = (target = '081234567890') => fetch(`${h.url}/fonnte/send`, {
  method: 'POST', headers: { Authorization: SECRETS.fonnteToken, 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ target, message: 'x' }).toString(),
});
interface Rec { provider: string; recipient?: string; atMs: number; respondedAtMs?: number; responseStatus: number; messageId?: string; fault?: { id: string; kind: string }; rateLimited?: boolean }
const requests = async (q = '') => (await h.admin<Rec[]>('GET', `/requests${q}`)).body;
const metaStatuses = (provider = 'meta') => h.received.filter((r) => r.path === `/webhooks/${provider}`).map((r) => JSON.parse(r.raw).entry[0].changes[0].value.statuses[0] as { id: string; status: string });

describe('faults', () => {
  it('applies to a share of requests (percent, seeded) and only to the named provider', async () => {
    const { body } = await h.admin<{ faults: { id: string }[] }>('POST', '/faults', { provider: 'meta', kind: 'server_error', percent: 30 });
    expect(body.faults[0]!.id).toEqual(expect.any(String));
    const codes: number[] = [];
    for (let i = 0; i < 100; i++) codes.push((await meta(`+62812000${String(i).padStart(5, '0')}`)).status);
    const failed = codes.filter((c) => c === 500).length;
    expect(failed).toBeGreaterThan(15);
    expect(failed).toBeLessThan(45);
    expect(codes.filter((c) => c !== 500).every((c) => c === 200)).toBe(true);
    expect((await fonnte()).status).toBe(200);
    expect((await h.admin<{ hits: number }[]>('GET', '/faults')).body[0]!.hits).toBe(failed);
  });

  it('applies to the next N requests only (count), then disappears', async () => {
    await h.admin('POST', '/faults', { kind: 'rate_limit', count: 2 });
    const statuses = [(await meta()).status, (await meta()).status, (await meta()).status];
    expect(statuses).toEqual([429, 429, 200]);
    expect((await h.admin<unknown[]>('GET', '/faults')).body).toEqual([]);
    const recs = await requests('?provider=meta');
    expect(recs.map((r) => r.fault?.kind ?? null)).toEqual(['rate_limit', 'rate_limit', null]);
  });

  it('rate_limit with scope recipient answers Meta\'s pair rate code 131056', async () => {
    await h.admin('POST', '/faults', { provider: 'meta', kind: 'rate_limit', scope: 'recipient', count: 1 });
    const r = await meta();
    expect(r.status).toBe(429);
    expect(await r.json()).toMatchObject({ error: { code: 131056, is_transient: true } });
  });

  it('slow: answers normally after delayMs', async () => {
    await h.admin('POST', '/faults', { provider: 'meta', kind: 'slow', delayMs: 300 });
    const t0 = Date.now();
    const r = await meta();
    expect(r.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    const [rec] = await requests();
    expect(rec!.respondedAtMs! - rec!.atMs).toBeGreaterThanOrEqual(290);
  });

  it('timeout: holds the connection without answering until the caller gives up (or the hold is released)', async () => {
    await h.admin('POST', '/faults', { provider: 'meta', kind: 'timeout' });
    const ac = new AbortController();
    const pending = meta(TO, ac.signal).then(() => 'answered', (e: Error) => e.name);
    await h.waitFor(() => h.sim.recorded.length === 1 || undefined, 'the request');
    expect((await h.admin<{ held: number }>('GET', '/held')).body.held).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    expect(await pending).toBe('AbortError');
    const [rec] = await requests();
    expect(rec).toMatchObject({ responseStatus: 0, fault: { kind: 'timeout' } });
    expect((await h.admin<{ held: number }>('GET', '/held')).body.held).toBe(0);

    // DELETE /_sim/held drops held connections: the caller sees the socket close
    const second = meta().then(() => 'answered', (e: Error) => (e.cause as { code?: string } | undefined)?.code ?? e.name);
    await h.waitFor(() => h.sim.recorded.length === 2 || undefined, 'the second request');
    expect((await h.admin<{ released: number }>('DELETE', '/held')).body.released).toBe(1);
    expect(await second).not.toBe('answered');
  });

  it('fail_later: accepts, then reports failed with the given code (the message record shows it too)', async () => {
    await h.admin('POST', '/faults', { provider: 'meta', kind: 'fail_later', code: 131049, to: TO });
    const r = await meta();
    expect(r.status).toBe(200);
    await h.hooks('meta', 2);
    expect(metaStatuses().map((s) => s.status)).toEqual(['sent', 'failed']);
    const failed = JSON.parse(h.received[1]!.raw).entry[0].changes[0].value.statuses[0];
    expect(failed.errors[0].code).toBe(131049);
    const m = (await h.admin<{ statuses: { status: string; code?: number }[] }>('GET', `/messages/${encodeURIComponent(((await r.json()) as { messages: { id: string }[] }).messages[0]!.id)}`)).body;
    expect(m.statuses.map((s) => s.status)).toEqual(['sent', 'failed']);
  });

  it('refuses a malformed fault', async () => {
    expect((await h.admin('POST', '/faults', { kind: 'explode' })).status).toBe(400);
    expect((await h.admin('POST', '/faults', { kind: 'slow' })).status).toBe(400);
    expect((await h.admin('POST', '/faults', { kind: 'permanent', provider: 'sms' })).status).toBe(400);
  });
});

describe('provider-side rate limit', () => {
  it('N requests per window, then the provider\'s rate-limit error; the window slides', async () => {
    await h.admin('PUT', '/rate-limits/meta', { limit: 3, windowMs: 400 });
    const first = await Promise.all([1, 2, 3, 4].map(() => meta()));
    expect(first.map((r) => r.status).sort()).toEqual([200, 200, 200, 429]);
    const limited = first.find((r) => r.status === 429)!;
    expect(await limited.json()).toMatchObject({ error: { code: 130429 } });
    await new Promise((r) => setTimeout(r, 450));
    expect((await meta()).status).toBe(200);
    // accepted requests never exceed 3 in any 400 ms, measured from the recorded timestamps
    const ok = (await requests()).filter((r) => r.responseStatus === 200).map((r) => r.atMs);
    for (const t of ok) expect(ok.filter((u) => u >= t && u < t + 400).length).toBeLessThanOrEqual(3);
  });

  it('per recipient (Meta pair rate 131056) and for a gateway (Fonnte: HTTP 200, status false)', async () => {
    await h.admin('PUT', '/rate-limits/meta', { limit: 1, windowMs: 60_000, scope: 'recipient' });
    expect((await meta(TO)).status).toBe(200);
    const again = await meta(TO);
    expect(again.status).toBe(429);
    expect(await again.json()).toMatchObject({ error: { code: 131056 } });
    expect((await meta('+6289876543210')).status).toBe(200);

    await h.admin('PUT', '/rate-limits/fonnte', { limit: 1, windowMs: 60_000 });
    expect(await (await fonnte()).json()).toMatchObject({ status: true });
    const refused = await fonnte();
    expect(refused.status).toBe(200);
    expect(await refused.json()).toMatchObject({ status: false, reason: expect.any(String) });
    expect((await h.admin<unknown[]>('GET', '/rate-limits')).body).toHaveLength(2);
    await h.admin('DELETE', '/rate-limits/fonnte');
    expect(await (await fonnte()).json()).toMatchObject({ status: true });
  });
});

describe('webhook plan', () => {
  it('delays, adds read, duplicates every webhook (same bytes, same signature)', async () => {
    await h.admin('PUT', '/webhook-plan', { provider: 'meta', statuses: ['sent', 'delivered', 'read'], delayMs: 150, duplicate: true });
    const t0 = Date.now();
    await meta();
    const hooks = await h.hooks('meta', 6);
    expect(hooks[0]!.atMs - t0).toBeGreaterThanOrEqual(140);
    expect(metaStatuses().map((s) => s.status)).toEqual(['sent', 'sent', 'delivered', 'delivered', 'read', 'read']);
    expect(hooks[1]!.raw).toBe(hooks[0]!.raw);
    expect(hooks[1]!.headers['x-hub-signature-256']).toBe(hooks[0]!.headers['x-hub-signature-256']);
    const recorded = (await h.admin<{ duplicate?: boolean }[]>('GET', '/webhooks?provider=meta')).body;
    expect(recorded.filter((w) => w.duplicate)).toHaveLength(3);
  });

  it('out of order: delivered before sent', async () => {
    await h.admin('PUT', '/webhook-plan', { outOfOrder: true });
    await meta();
    await h.hooks('meta', 2);
    expect(metaStatuses().map((s) => s.status)).toEqual(['delivered', 'sent']);
  });

  it('sends to an override URL; retries while the receiver answers 5xx', async () => {
    h.setReceiverStatus(503);
    await h.admin('PUT', '/webhook-plan', { provider: 'meta', statuses: ['sent'], url: `${h.hookBase}/elsewhere` });
    await meta();
    await h.waitFor(() => h.received.filter((r) => r.path === '/webhooks/elsewhere').length >= 3 || undefined, '3 attempts', 8000);
    const attempts = (await h.admin<{ attempt: number; status: number }[]>('GET', '/webhooks')).body;
    expect(attempts.map((a) => [a.attempt, a.status])).toEqual([[1, 503], [2, 503], [3, 503]]);
  });

  it('a manual status webhook, for a known message or an id the simulator never issued', async () => {
    await h.admin('PUT', '/webhook-plan', { enabled: false });
    const r = await meta();
    const id = ((await r.json()) as { messages: { id: string }[] }).messages[0]!.id;
    expect((await h.admin('POST', '/status', { messageId: id, status: 'read' })).status).toBe(200);
    expect((await h.admin('POST', '/status', { messageId: 'wamid.UNKNOWN', provider: 'meta', to: TO, status: 'delivered' })).status).toBe(200);
    expect((await h.admin('POST', '/status', { messageId: 'wamid.UNKNOWN2', status: 'delivered' })).status).toBe(400);
    await h.hooks('meta', 2);
    expect(metaStatuses()).toMatchObject([{ id, status: 'read' }, { id: 'wamid.UNKNOWN', status: 'delivered' }]);
  });
});

describe('the original Meta-only API, unchanged', () => {
  it('GET/DELETE /_sim/requests, POST /_sim/failures, POST /_sim/inbound, GET /_sim/webhooks, /healthz', async () => {
    expect(await (await fetch(`${h.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await h.admin<{ queued: number }>('POST', '/failures', [{ httpStatus: 429, code: 130429, message: 'Rate limit hit' }])).body).toEqual({ queued: 1 });
    const failed = await meta();
    expect(failed.status).toBe(429);
    expect(await failed.json()).toEqual({ error: { message: 'Rate limit hit', type: 'OAuthException', code: 130429, fbtrace_id: 'SIM' } });
    const ok = await meta();
    const id = ((await ok.json()) as { messages: { id: string }[] }).messages[0]!.id;
    const recs = (await h.admin<Record<string, unknown>[]>('GET', '/requests?provider=meta')).body;
    expect(recs).toHaveLength(2);
    expect(recs[1]).toMatchObject({
      provider: 'meta', method: 'POST', path: '/meta/v23.0/100000000000001/messages', responseStatus: 200, messageId: id,
      at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/), headers: expect.objectContaining({ authorization: 'Bearer [redacted]' }),
      body: { messaging_product: 'whatsapp', to: TO, type: 'template', template: { name: 'permit_ready', language: { code: 'id', policy: 'deterministic' } } },
    });
    expect(recs[1]!.atMs).toEqual(expect.any(Number));

    const inbound = await h.admin<{ id: string; webhookStatus: number }>('POST', '/inbound', { from: TO, text: 'BERHENTI' });
    expect(inbound.status).toBe(200);
    expect(inbound.body.webhookStatus).toBe(200);
    const hooks = await h.hooks('meta', 3);
    const last = hooks.find((w) => w.raw.includes('BERHENTI'))!;
    expect(last.headers['x-hub-signature-256']).toBe(`sha256=${createHmac('sha256', SECRETS.metaAppSecret).update(last.raw).digest('hex')}`);
    const webhooks = (await h.admin<{ url: string; status: number; body: string }[]>('GET', '/webhooks')).body;
    expect(webhooks.some((w) => w.body.includes('BERHENTI') && w.status === 200 && w.url.endsWith('/webhooks/meta'))).toBe(true);

    expect((await h.admin('POST', '/inbound', { from: 'x', text: '' })).status).toBe(400);
    expect((await h.admin('DELETE', '/requests')).status).toBe(204);
    expect(await requests()).toEqual([]);
  });
});
