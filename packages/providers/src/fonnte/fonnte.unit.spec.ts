import { BOTH, MESSAGE, NOW, noSecretFiles, response, webhookRequest } from '../testkit.spec';
import { fonnteConfigFromEnv, type FonnteConfig } from './config';
import { createFonnteProvider } from './index';

// Fonnte signs nothing and has no SDK or spec: the oracle is its documentation (docs.fonnte.com).
const ENV = { FONNTE_TOKEN: 'fonnte-device-token', FONNTE_WEBHOOK_TOKEN: 'url-secret-0123456789abcdef', FONNTE_BASE_URL: 'http://sim.local:4010/fonnte' };
const cfg = fonnteConfigFromEnv(ENV, noSecretFiles, BOTH) as FonnteConfig;
const fonnte = createFonnteProvider(cfg);
const hook = (body: unknown, suffix = '?token=url-secret-0123456789abcdef') => webhookRequest({ url: `https://tracker.example.id/webhooks/fonnte${suffix}`, body: JSON.stringify(body) });

describe('fonnte: config', () => {
  it('needs the device token and a long webhook URL secret', () => {
    expect(fonnteConfigFromEnv({}, noSecretFiles, BOTH)).toBeUndefined();
    expect(() => fonnteConfigFromEnv({ FONNTE_TOKEN: 't' }, noSecretFiles, BOTH)).toThrow(/missing FONNTE_WEBHOOK_TOKEN/);
    expect(() => fonnteConfigFromEnv({ ...ENV, FONNTE_WEBHOOK_TOKEN: 'short' }, noSecretFiles, BOTH)).toThrow(/at least 16/);
  });
});

describe('fonnte: send request', () => {
  it('posts the exact form: target digits, the rendered text, countryCode 0 (no rewriting)', () => {
    const req = fonnte.buildSend(MESSAGE);
    expect(req).toEqual({
      method: 'POST', url: 'http://sim.local:4010/fonnte/send',
      headers: { authorization: 'fonnte-device-token', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'target=6281234567890&message=Yth.+Budi%2C+izin+503%2F1+Anda+berakhir+pada+1+Maret+2027.&countryCode=0',
    });
    expect(JSON.stringify(req)).not.toContain('fonnte-device-token');
  });
});

describe('fonnte: responses (HTTP 200 either way: the status flag decides)', () => {
  it('reads id[0]', () => {
    expect(fonnte.parseSendResponse(MESSAGE, response(200, { detail: 'success! message in queue', id: ['80367170'], process: 'pending', requestid: 2937, status: true, target: ['6281234567890'] })))
      .toEqual({ kind: 'accepted', providerMessageId: '80367170' });
  });
  it.each([
    ['token invalid', 'fallback', 'fonnte:token_invalid'], ['device not found', 'fallback', 'fonnte:device_not_found'],
    ['insufficient quota', 'fallback', 'fonnte:insufficient_quota'], ['invalid target', 'permanent', 'fonnte:invalid_target'],
    ['something odd happened', 'retry', 'fonnte:something_odd_happened'],
  ])('status false, reason "%s" -> %s', (reason, disposition, errorCode) => {
    expect(fonnte.parseSendResponse(MESSAGE, response(200, { reason, status: false }))).toEqual({ kind: 'failed', disposition, errorCode, reason });
  });
  it('an outage is retried', () => {
    expect(fonnte.parseSendResponse(MESSAGE, response(503, 'down'))).toEqual({ kind: 'failed', disposition: 'retry', errorCode: 'http:503', reason: 'HTTP 503' });
  });
});

describe('fonnte: webhooks (a secret in the URL)', () => {
  const sent = { device: '6281100000000', id: '80367170', stateid: 'ABGGFlA5', status: 'sent', state: 'sent' };
  it('accepts the secret as ?token= or as the last path segment; refuses a wrong or absent one', () => {
    expect(fonnte.handleWebhook(hook(sent), NOW)).toEqual({ ok: true, ignored: 0, events: [{ kind: 'status', providerMessageId: '80367170', status: 'sent' }] });
    expect(fonnte.handleWebhook(hook(sent, '/url-secret-0123456789abcdef'), NOW).ok).toBe(true);
    expect(fonnte.handleWebhook(hook(sent, '?token=url-secret-0123456789abcdeX'), NOW)).toEqual({ ok: false, reason: 'signature' });
    expect(fonnte.handleWebhook(hook(sent, ''), NOW)).toEqual({ ok: false, reason: 'missing' });
  });
  it('nothing binds the body: a tampered body under the right URL is accepted (documented limit of the scheme)', () => {
    expect(fonnte.handleWebhook(hook({ ...sent, state: 'read' }), NOW)).toMatchObject({ ok: true, events: [{ status: 'read' }] });
  });
  it('replays parse to the same events; out-of-order states parse', () => {
    const req = hook({ ...sent, state: 'read' });
    expect(fonnte.handleWebhook(req, NOW)).toEqual(fonnte.handleWebhook(req, new Date(NOW.getTime() + 86_400_000)));
    expect(fonnte.handleWebhook(hook({ ...sent, state: 'delivered' }), NOW)).toMatchObject({ ok: true, events: [{ status: 'delivered' }] });
  });
  it.each([
    [{ status: 'invalid', state: '' }, { status: 'failed', errorCode: 'fonnte:invalid', disposition: 'permanent' }],
    [{ status: 'expired', state: '' }, { status: 'failed', errorCode: 'fonnte:expired', disposition: 'fallback' }],
    [{ status: 'url unreachable', state: '' }, { status: 'failed', errorCode: 'fonnte:url_unreachable', disposition: 'permanent' }],
  ])('processing status %o -> %o', (p, e) => {
    expect(fonnte.handleWebhook(hook({ ...sent, ...p }), NOW)).toMatchObject({ ok: true, events: [e] });
  });
  it('pending / waiting / processing and the device webhook are ignored; replies become inbound events', () => {
    expect(fonnte.handleWebhook(hook({ ...sent, status: 'pending', state: '' }), NOW)).toEqual({ ok: true, events: [], ignored: 1 });
    expect(fonnte.handleWebhook(hook({ device: '6281100000000', status: 'disconnect', timestamp: 1764000000, reason: 'logout' }), NOW)).toEqual({ ok: true, events: [], ignored: 1 });
    const reply = { device: '6281100000000', sender: '6281234567890', message: 'BERHENTI', name: 'Budi', timestamp: 1764000000, inboxid: 9911 };
    expect(fonnte.handleWebhook(hook(reply), NOW)).toEqual({ ok: true, ignored: 0, events: [{ kind: 'inbound', fromE164: '+6281234567890', text: 'BERHENTI', providerMessageId: '9911', at: new Date(1764000000 * 1000) }] });
    const noId = fonnte.handleWebhook(hook({ ...reply, inboxid: undefined, sender: '081234567890' }), NOW);
    expect(noId).toMatchObject({ ok: true, events: [{ fromE164: '+6281234567890', providerMessageId: expect.stringMatching(/^fonnte-in-[0-9a-f]{32}$/) }] });
  });
});

describe('fonnte: unparseable bodies and the answers', () => {
  it('the URL secret matched but the body is not a JSON object: unparseable (400); a wrong secret: 401', () => {
    const raw = (body: string, q: string) => webhookRequest({ url: `https://tracker.example.id/webhooks/fonnte${q}`, body });
    for (const body of ['device=6281100000003&id=1', '[]']) {
      expect(fonnte.handleWebhook(raw(body, '?token=url-secret-0123456789abcdef'), NOW)).toEqual({ ok: false, reason: 'unparseable' });
      expect(fonnte.handleWebhook(raw(body, '/url-secret-0123456789abcdef'), NOW)).toEqual({ ok: false, reason: 'unparseable' });
      expect(fonnte.handleWebhook(raw(body, '?token=nope'), NOW)).toEqual({ ok: false, reason: 'signature' });
    }
    expect(fonnte.webhook).toEqual({ urlSecretSegment: true, rejectionStatus: { missing: 401, signature: 401, stale: 401, malformed: 401, unparseable: 400 } });
  });
});

describe('fonnte: test connection', () => {
  it('POST /device (sends nothing) and requires a connected device', () => {
    const c = fonnte.testConnection();
    expect(c.request).toMatchObject({ method: 'POST', url: 'http://sim.local:4010/fonnte/device', headers: { authorization: 'fonnte-device-token' } });
    expect(c.interpret(response(200, { device: '6281100000000', device_status: 'connect', quota: '78', status: true }))).toEqual({ ok: true, detail: 'device connected, quota 78' });
    expect(c.interpret(response(200, { device: '6281100000000', device_status: 'disconnect', status: true }))).toEqual({ ok: false, reason: 'device disconnect' });
    expect(c.interpret(response(200, { reason: 'token invalid', status: false }))).toEqual({ ok: false, reason: 'token invalid' });
  });
});
