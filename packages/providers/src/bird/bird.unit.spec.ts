import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { BOTH, MESSAGE, NOW, noSecretFiles, response, webhookRequest } from '../testkit.spec';
import { birdConfigFromEnv, type BirdConfig } from './config';
import { createBirdProvider } from './index';

// Oracle: the `standardwebhooks` package (the scheme Bird's own SDK verifies with) signs every test webhook.
const SECRET = `whsec_${Buffer.from('bird-signing-secret-0123456789ab').toString('base64')}`;
const ENV = {
  BIRD_API_KEY: 'bk_eu1_abcdefghijklmnop',
  BIRD_WHATSAPP_FROM: '+6281100000000',
  BIRD_WEBHOOK_SECRET: SECRET,
  BIRD_TEMPLATES: JSON.stringify({ PERMIT_EXPIRY_REMINDER: 'permit_expiry_reminder', BY_ID: { id: 'wat_01abc', language: 'id' } }),
};
const cfg = birdConfigFromEnv(ENV, noSecretFiles, BOTH) as BirdConfig;
const bird = createBirdProvider(cfg);
const HOOK = 'https://tracker.example.id/webhooks/bird';

function signedEvent(event: unknown, at: Date = NOW, secret = SECRET, msgId = 'msg_2Kf7') {
  const body = JSON.stringify(event);
  return webhookRequest({ url: HOOK, body, headers: { 'webhook-id': msgId, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign(msgId, at, body) } });
}
const event = (type: string, data: Record<string, unknown> = {}) => ({
  type, timestamp: '2026-11-24T02:59:58.000Z',
  data: { whatsapp_id: 'wam_01krdgeqcxet5s7t44vh8rt9mg', workspace_id: 'ws_1', direction: 'outbound', from: '+6281100000000', to: '+6281234567890', tags: null, metadata: { notification_id: MESSAGE.notificationId }, ...data },
});

describe('bird: config', () => {
  it('takes the region from the key, else BIRD_REGION; refuses a secret that is not whsec_<base64>', () => {
    expect(cfg.baseUrl).toBe('https://eu1.platform.bird.com');
    expect(birdConfigFromEnv({}, noSecretFiles, BOTH)).toBeUndefined();
    expect(() => birdConfigFromEnv({ ...ENV, BIRD_API_KEY: 'plainkey' }, noSecretFiles, BOTH)).toThrow(/set BIRD_REGION/);
    expect(birdConfigFromEnv({ ...ENV, BIRD_API_KEY: 'plainkey', BIRD_REGION: 'us1' }, noSecretFiles, BOTH)!.baseUrl).toBe('https://us1.platform.bird.com');
    expect(() => birdConfigFromEnv({ ...ENV, BIRD_WEBHOOK_SECRET: 'whsec_' }, noSecretFiles, BOTH)).toThrow(/Standard Webhooks secret/);
    expect(() => birdConfigFromEnv({ BIRD_API_KEY: 'bk_eu1_x_y' }, noSecretFiles, BOTH)).toThrow(/missing BIRD_WHATSAPP_FROM, BIRD_WEBHOOK_SECRET/);
  });
});

describe('bird: send request', () => {
  it('builds the exact template request (POST /v1/whatsapp/messages, Bearer key)', () => {
    const req = bird.buildSend(MESSAGE);
    expect(req).toMatchObject({ method: 'POST', url: 'https://eu1.platform.bird.com/v1/whatsapp/messages' });
    expect(req.headers).toEqual({ authorization: 'Bearer bk_eu1_abcdefghijklmnop', 'content-type': 'application/json' });
    expect(req.body).toBe('{"to":"+6281234567890","from":"+6281100000000","template":{"slug":"permit_expiry_reminder","language":"id",'
      + '"components":[{"type":"body","parameters":[{"type":"text","text":"Budi"},{"type":"text","text":"503/1"},{"type":"text","text":"1 Maret 2027"}]}]},'
      + `"metadata":{"notification_id":"${MESSAGE.notificationId}"}}`);
    expect(JSON.stringify(req)).not.toContain('abcdefghijklmnop');
  });
  it('by template id, and the rendered text without a mapping', () => {
    expect(JSON.parse(bird.buildSend({ ...MESSAGE, templateCode: 'BY_ID' }).body).template).toMatchObject({ id: 'wat_01abc', language: 'id' });
    expect(bird.buildSend({ ...MESSAGE, templateCode: 'NONE' }).body).toBe(`{"to":"+6281234567890","from":"+6281100000000","text":{"body":"${MESSAGE.text}"},"metadata":{"notification_id":"${MESSAGE.notificationId}"}}`);
  });
});

describe('bird: responses', () => {
  it('reads the message id', () => {
    expect(bird.parseSendResponse(MESSAGE, response(202, { id: 'wam_01krdgeqcxet5s7t44vh8rt9mg', status: 'accepted' }))).toEqual({ kind: 'accepted', providerMessageId: 'wam_01krdgeqcxet5s7t44vh8rt9mg' });
  });
  it.each([
    ['rate_limit_error', 429, 'retry'], ['service_unavailable_error', 503, 'retry'], ['internal_error', 500, 'retry'],
    ['auth_error', 401, 'fallback'], ['permission_error', 403, 'fallback'], ['billing_error', 402, 'fallback'], ['misdirected_error', 421, 'fallback'],
    ['validation_error', 422, 'permanent'], ['bad_request_error', 400, 'permanent'],
  ])('error.type %s -> %s', (type, status, disposition) => {
    const out = bird.parseSendResponse(MESSAGE, response(status, { error: { type, code: 'E10422', name: 'WhatsAppInvalidRecipient', message: 'nope', request_id: 'r1' } }));
    expect(out).toEqual({ kind: 'failed', disposition, errorCode: 'bird:WhatsAppInvalidRecipient', reason: 'nope' });
  });
  it('Retry-After on 429, and the HTTP status when the body is not Bird\'s', () => {
    expect(bird.parseSendResponse(MESSAGE, response(429, { error: { type: 'rate_limit_error', message: 'slow down' } }, { 'retry-after': '2' }))).toMatchObject({ retryAfterMs: 2000 });
    expect(bird.parseSendResponse(MESSAGE, response(502, 'bad gateway'))).toEqual({ kind: 'failed', disposition: 'retry', errorCode: 'http:502', reason: 'HTTP 502' });
  });
});

describe('bird: webhooks (Standard Webhooks)', () => {
  it('accepts what standardwebhooks signs, and the package\'s own verify agrees', () => {
    const req = signedEvent(event('whatsapp.delivered'));
    expect(bird.handleWebhook(req, NOW)).toEqual({ ok: true, ignored: 0, events: [{
      kind: 'status', providerMessageId: 'wam_01krdgeqcxet5s7t44vh8rt9mg', status: 'delivered', at: new Date('2026-11-24T02:59:58.000Z'), notificationId: MESSAGE.notificationId,
    }] });
    const live = signedEvent(event('whatsapp.read'), new Date());
    expect(() => new Webhook(SECRET).verify(live.rawBody, live.headers as Record<string, string>)).not.toThrow();
    expect(bird.handleWebhook(live, new Date()).ok).toBe(true);
  });

  it('rejects forged, tampered, missing and malformed signatures', () => {
    const other = `whsec_${Buffer.from('another-secret-entirely-000000').toString('base64')}`;
    expect(bird.handleWebhook(signedEvent(event('whatsapp.read'), NOW, other), NOW)).toEqual({ ok: false, reason: 'signature' });
    const good = signedEvent(event('whatsapp.read'));
    expect(bird.handleWebhook({ ...good, rawBody: Buffer.from(good.rawBody.toString().replace('read', 'sent')) }, NOW)).toEqual({ ok: false, reason: 'signature' });
    expect(bird.handleWebhook({ ...good, headers: { ...good.headers, 'webhook-id': 'msg_other' } }, NOW)).toEqual({ ok: false, reason: 'signature' });
    expect(bird.handleWebhook({ ...good, headers: {} }, NOW)).toEqual({ ok: false, reason: 'missing' });
    expect(bird.handleWebhook({ ...good, headers: { ...good.headers, 'webhook-timestamp': 'yesterday' } }, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(bird.handleWebhook({ ...good, headers: { ...good.headers, 'webhook-signature': 'v2,abc' } }, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('accepts any one valid signature among several (key rotation)', () => {
    const good = signedEvent(event('whatsapp.sent'));
    expect(bird.handleWebhook({ ...good, headers: { ...good.headers, 'webhook-signature': `v1,AAAA ${good.headers['webhook-signature']}` } }, NOW).ok).toBe(true);
  });

  it('replays: the same delivery verifies within 5 minutes, is stale after; a future timestamp is stale too', () => {
    const req = signedEvent(event('whatsapp.sent'));
    expect(bird.handleWebhook(req, new Date(NOW.getTime() + 299_000)).ok).toBe(true);
    expect(bird.handleWebhook(req, new Date(NOW.getTime() + 301_000))).toEqual({ ok: false, reason: 'stale' });
    expect(bird.handleWebhook(req, new Date(NOW.getTime() - 301_000))).toEqual({ ok: false, reason: 'stale' });
    // standardwebhooks itself refuses it too (its clock is the real one, far from NOW)
    expect(() => new Webhook(SECRET).verify(req.rawBody, req.headers as Record<string, string>)).toThrow(/too old|too new/);
  });

  it('out-of-order events parse independently', () => {
    expect(bird.handleWebhook(signedEvent(event('whatsapp.read')), NOW)).toMatchObject({ ok: true, events: [{ status: 'read' }] });
    expect(bird.handleWebhook(signedEvent(event('whatsapp.sent')), NOW)).toMatchObject({ ok: true, events: [{ status: 'sent' }] });
  });

  it.each([
    ['service_window_expired', 'fallback'], ['undeliverable', 'fallback'], ['rate_limited', 'retry'], ['internal_error', 'retry'],
    ['recipient_suppressed', 'permanent'], ['insufficient_balance', 'fallback'], ['price_not_found', 'fallback'], ['media_rejected', 'permanent'],
  ])('whatsapp.failed with %s -> %s', (code, disposition) => {
    const e = event('whatsapp.failed', { error: { code, description: 'why', meta_error_code: '131047', occurred_at: '2026-11-24T02:59:58Z' } });
    expect(bird.handleWebhook(signedEvent(e), NOW)).toMatchObject({ ok: true, events: [{ status: 'failed', errorCode: `bird:${code}`, disposition, reason: 'why (Meta 131047)' }] });
  });

  it('whatsapp.rejected is a failure; whatsapp.accepted is ignored; whatsapp.received is an inbound reply', () => {
    expect(bird.handleWebhook(signedEvent(event('whatsapp.rejected', { error: { code: 'recipient_suppressed', description: 'suppressed' } })), NOW)).toMatchObject({ ok: true, events: [{ status: 'failed' }] });
    expect(bird.handleWebhook(signedEvent(event('whatsapp.accepted')), NOW)).toEqual({ ok: true, events: [], ignored: 1 });
    const received = { type: 'whatsapp.received', timestamp: '2026-11-24T02:59:00.000Z', data: { whatsapp_id: 'wam_in1', workspace_id: 'ws_1', direction: 'inbound', from: '+6281234567890', to: '+6281100000000', tags: null, metadata: null, text: { body: 'STOP' } } };
    expect(bird.handleWebhook(signedEvent(received), NOW)).toEqual({ ok: true, ignored: 0, events: [{ kind: 'inbound', fromE164: '+6281234567890', text: 'STOP', providerMessageId: 'wam_in1', at: new Date('2026-11-24T02:59:00.000Z') }] });
  });

  it('a correctly signed body that is not a JSON object is unparseable (400); unsigned it stays 401', () => {
    for (const body of ['not json', '[1,2]', '"text"']) {
      const at = NOW;
      const req = webhookRequest({ url: HOOK, body, headers: { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(SECRET).sign('msg_1', at, body) } });
      expect(bird.handleWebhook(req, NOW)).toEqual({ ok: false, reason: 'unparseable' });
      expect(bird.handleWebhook({ ...req, headers: { ...req.headers, 'webhook-signature': new Webhook(SECRET).sign('msg_1', at, 'other') } }, NOW)).toEqual({ ok: false, reason: 'signature' });
    }
    expect(bird.webhook).toEqual({ urlSecretSegment: false, rejectionStatus: { missing: 401, signature: 401, stale: 401, malformed: 401, unparseable: 400 } });
  });

  it('a body that is not UTF-8 is malformed (the scheme signs text)', () => {
    const good = signedEvent(event('whatsapp.read'));
    const bad = Buffer.concat([good.rawBody, Buffer.from([0xff])]);
    expect(bird.handleWebhook({ ...good, rawBody: bad }, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('property: any single-byte change of a signed body fails verification', () => {
    const good = signedEvent(event('whatsapp.delivered'));
    fc.assert(fc.property(fc.nat(good.rawBody.length - 1), fc.integer({ min: 1, max: 255 }), (i, delta) => {
      const tampered = Buffer.from(good.rawBody);
      tampered[i] = (tampered[i]! + delta) % 256;
      return bird.handleWebhook({ ...good, rawBody: tampered }, NOW).ok === false;
    }), { numRuns: 300 });
  });
});

describe('bird: test connection and status lookup', () => {
  it('lists messages as the credential check; GET /v1/whatsapp/messages/{id} as the lookup', () => {
    const c = bird.testConnection();
    expect(c.request).toMatchObject({ method: 'GET', url: 'https://eu1.platform.bird.com/v1/whatsapp/messages', headers: { authorization: 'Bearer bk_eu1_abcdefghijklmnop' }, body: '' });
    expect(c.interpret(response(200, { data: [] }))).toEqual({ ok: true, detail: 'API key accepted' });
    expect(c.interpret(response(421, { error: { type: 'misdirected_error', name: 'WrongRegion', message: 'use us1' } }))).toEqual({ ok: false, reason: 'bird:WrongRegion: use us1' });
    const l = bird.statusLookup!;
    expect(l.build('wam_1')).toMatchObject({ method: 'GET', url: 'https://eu1.platform.bird.com/v1/whatsapp/messages/wam_1' });
    expect(l.parse(response(200, { id: 'wam_1', status: 'delivered' }))).toEqual({ kind: 'found', status: 'delivered' });
    expect(l.parse(response(200, { id: 'wam_1', status: 'failed', error: { code: 'undeliverable' } }))).toEqual({ kind: 'found', status: 'failed', errorCode: 'bird:undeliverable' });
    expect(l.parse(response(404, { error: { type: 'not_found_error' } }))).toEqual({ kind: 'not_found' });
  });
});
