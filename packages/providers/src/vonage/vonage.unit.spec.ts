import { createHash } from 'node:crypto';
import { verifySignature } from '@vonage/jwt';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import { BOTH, MESSAGE, NOW, noSecretFiles, response, webhookRequest } from '../testkit.spec';
import { vonageConfigFromEnv, type VonageConfig } from './config';
import { createVonageProvider } from './index';

// @vonage/jwt loads uuid@13, which is ESM-only; Jest's module runtime cannot require ESM on Node 20.
// verifySignature never uses it (only tokenGenerate does), so the module is replaced for this file.
jest.mock('uuid', () => ({ v4: () => '00000000-0000-4000-8000-000000000000' }));

// Oracles: webhook JWTs are signed with jsonwebtoken (HS256 + payload_hash, as Vonage signs them) and
// checked with @vonage/jwt's verifySignature, which checks the signature only (not payload_hash).
const SIGNATURE_SECRET = 'vonage-signature-secret-0123456789';
const ENV = {
  VONAGE_API_KEY: 'abcd1234',
  VONAGE_API_SECRET: 'ABCDEFGH01234abc',
  VONAGE_WHATSAPP_FROM: '+6281100000000',
  VONAGE_SIGNATURE_SECRET: SIGNATURE_SECRET,
  VONAGE_BASE_URL: 'http://sim.local:4010/vonage',
  VONAGE_REST_BASE_URL: 'http://sim.local:4010/vonage-rest',
  VONAGE_TEMPLATES: JSON.stringify({ PERMIT_EXPIRY_REMINDER: { name: 'ns_abc:permit_expiry_reminder' } }),
};
const cfg = vonageConfigFromEnv(ENV, noSecretFiles, BOTH) as VonageConfig;
const vonage = createVonageProvider(cfg);
const HOOK = 'https://tracker.example.id/webhooks/vonage';
const nowSec = Math.floor(NOW.getTime() / 1000);
const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

function signedWebhook(payload: unknown, claims: Record<string, unknown> = {}, secret = SIGNATURE_SECRET) {
  const body = JSON.stringify(payload);
  const token = jwt.sign({ iat: nowSec, jti: 'b1a7c0de-0000-4000-8000-000000000001', iss: 'Vonage', payload_hash: sha(body), api_key: 'abcd1234', application_id: 'app-1', ...claims }, secret, { algorithm: 'HS256' });
  return webhookRequest({ url: HOOK, body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
}
const status = (s: string, extra: Record<string, unknown> = {}) => ({
  message_uuid: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab', to: '6281234567890', from: '6281100000000', timestamp: '2026-11-24T02:59:58.000Z',
  status: s, channel: 'whatsapp', client_ref: MESSAGE.notificationId, ...extra,
});

describe('vonage: config', () => {
  it('needs key, secret, sender and signature secret together', () => {
    expect(vonageConfigFromEnv({}, noSecretFiles, BOTH)).toBeUndefined();
    expect(() => vonageConfigFromEnv({ VONAGE_API_KEY: 'k' }, noSecretFiles, BOTH)).toThrow(/missing VONAGE_API_SECRET, VONAGE_WHATSAPP_FROM, VONAGE_SIGNATURE_SECRET/);
    expect(cfg.from).toBe('6281100000000');
  });
});

describe('vonage: send request', () => {
  it('builds the exact template request (digits without +, deterministic policy, client_ref)', () => {
    const req = vonage.buildSend(MESSAGE);
    expect(req).toMatchObject({ method: 'POST', url: 'http://sim.local:4010/vonage/v1/messages' });
    expect(req.headers).toEqual({ authorization: `Basic ${Buffer.from('abcd1234:ABCDEFGH01234abc').toString('base64')}`, 'content-type': 'application/json', accept: 'application/json' });
    expect(req.body).toBe('{"message_type":"template","channel":"whatsapp","to":"6281234567890","from":"6281100000000",'
      + '"template":{"name":"ns_abc:permit_expiry_reminder","parameters":["Budi","503/1","1 Maret 2027"]},'
      + `"whatsapp":{"policy":"deterministic","locale":"id"},"client_ref":"${MESSAGE.notificationId}"}`);
    expect(JSON.stringify(req)).not.toContain('ABCDEFGH01234abc');
  });
  it('sends text without a mapping', () => {
    expect(vonage.buildSend({ ...MESSAGE, templateCode: 'NONE' }).body).toBe(`{"message_type":"text","channel":"whatsapp","to":"6281234567890","from":"6281100000000","text":"${MESSAGE.text}","client_ref":"${MESSAGE.notificationId}"}`);
  });
});

describe('vonage: responses', () => {
  it('reads message_uuid of a 202', () => {
    expect(vonage.parseSendResponse(MESSAGE, response(202, { message_uuid: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab' }))).toEqual({ kind: 'accepted', providerMessageId: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab' });
  });
  it.each([
    [1000, 429, 'retry'], [1010, 422, 'permanent'], [1020, 422, 'permanent'], [1022, 422, 'fallback'], [1030, 500, 'retry'],
    [1100, 500, 'retry'], [1040, 422, 'permanent'], [1050, 403, 'permanent'], [1060, 403, 'fallback'], [1070, 402, 'fallback'],
  ])('problem #%d -> %s', (code, st, disposition) => {
    const problem = { type: `https://developer.nexmo.com/api-errors/messages#${code}`, title: 'Title', detail: 'Detail', instance: 'bf0ca0bf927b3b52e3cb03217e1a1ddf' };
    expect(vonage.parseSendResponse(MESSAGE, response(st, problem))).toEqual({ kind: 'failed', disposition, errorCode: `vonage:${code}`, reason: 'Detail' });
  });
  it('HTTP 401 without a problem body; 429 honours Retry-After', () => {
    expect(vonage.parseSendResponse(MESSAGE, response(401, { type: 'https://developer.nexmo.com/api-errors#unauthorized', title: 'Unauthorized' }))).toMatchObject({ disposition: 'fallback', errorCode: 'http:401' });
    expect(vonage.parseSendResponse(MESSAGE, response(429, { type: 'https://developer.nexmo.com/api-errors/messages#1000', title: 'Throttled' }, { 'retry-after': '1' }))).toMatchObject({ disposition: 'retry', retryAfterMs: 1000 });
  });
});

describe('vonage: webhooks (HS256 JWT with payload_hash)', () => {
  it('accepts a valid JWT whose payload_hash matches the raw body; @vonage/jwt agrees on the signature', () => {
    const req = signedWebhook(status('delivered'));
    expect(verifySignature(req.headers.authorization!.slice(7), SIGNATURE_SECRET)).toBe(true);
    expect(vonage.handleWebhook(req, NOW)).toEqual({ ok: true, ignored: 0, events: [{
      kind: 'status', providerMessageId: 'aaaaaaaa-bbbb-cccc-dddd-0123456789ab', status: 'delivered', at: new Date('2026-11-24T02:59:58.000Z'), notificationId: MESSAGE.notificationId,
    }] });
  });

  it('rejects a JWT signed with another secret (forged)', () => {
    const req = signedWebhook(status('read'), {}, 'not-the-signature-secret');
    expect(verifySignature(req.headers.authorization!.slice(7), SIGNATURE_SECRET)).toBe(false);
    expect(vonage.handleWebhook(req, NOW)).toEqual({ ok: false, reason: 'signature' });
  });

  it('rejects a tampered body although the JWT itself is genuine (why payload_hash must be checked)', () => {
    const req = signedWebhook(status('read'));
    const tampered = { ...req, rawBody: Buffer.from(req.rawBody.toString().replace('read', 'sent')) };
    expect(verifySignature(req.headers.authorization!.slice(7), SIGNATURE_SECRET)).toBe(true);
    expect(vonage.handleWebhook(tampered, NOW)).toEqual({ ok: false, reason: 'signature' });
  });

  it('missing, malformed and unusable tokens', () => {
    const req = signedWebhook(status('read'));
    expect(vonage.handleWebhook({ ...req, headers: {} }, NOW)).toEqual({ ok: false, reason: 'missing' });
    expect(vonage.handleWebhook({ ...req, headers: { authorization: 'Basic abc' } }, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(vonage.handleWebhook({ ...req, headers: { authorization: 'Bearer not.a.jwt' } }, NOW)).toEqual({ ok: false, reason: 'malformed' });
    const unsigned = jwt.sign({ iat: nowSec, payload_hash: sha(req.rawBody) }, '', { algorithm: 'none' } as jwt.SignOptions);
    expect(vonage.handleWebhook({ ...req, headers: { authorization: `Bearer ${unsigned}` } }, NOW).ok).toBe(false);
    expect(vonage.handleWebhook(signedWebhook(status('read'), { payload_hash: undefined }), NOW)).toEqual({ ok: false, reason: 'signature' });
    const noIat = jwt.sign({ payload_hash: sha(req.rawBody) }, SIGNATURE_SECRET, { algorithm: 'HS256', noTimestamp: true });
    expect(vonage.handleWebhook({ ...req, headers: { authorization: `Bearer ${noIat}` } }, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('replays: fresh iat within 5 minutes passes, older is stale, an expired exp is stale', () => {
    const req = signedWebhook(status('sent'));
    expect(vonage.handleWebhook(req, new Date(NOW.getTime() + 290_000)).ok).toBe(true);
    expect(vonage.handleWebhook(req, new Date(NOW.getTime() + 600_000))).toEqual({ ok: false, reason: 'stale' });
    expect(vonage.handleWebhook(signedWebhook(status('sent'), { exp: nowSec - 3600 }), NOW)).toEqual({ ok: false, reason: 'stale' });
  });

  it('out-of-order statuses parse; submitted means sent; rejected/undeliverable are failures with the problem code', () => {
    expect(vonage.handleWebhook(signedWebhook(status('read')), NOW)).toMatchObject({ ok: true, events: [{ status: 'read' }] });
    expect(vonage.handleWebhook(signedWebhook(status('submitted')), NOW)).toMatchObject({ ok: true, events: [{ status: 'sent' }] });
    const rejected = status('rejected', { error: { type: 'https://developer.nexmo.com/api-errors/messages#1022', title: '1022', detail: 'Invalid template', instance: 'x' } });
    expect(vonage.handleWebhook(signedWebhook(rejected), NOW)).toMatchObject({ ok: true, events: [{ status: 'failed', errorCode: 'vonage:1022', disposition: 'fallback', reason: 'Invalid template' }] });
    expect(vonage.handleWebhook(signedWebhook(status('undeliverable')), NOW)).toMatchObject({ ok: true, events: [{ status: 'failed' }] });
  });

  it('reads inbound replies', () => {
    const inbound = { channel: 'whatsapp', message_uuid: 'in-1', to: '6281100000000', from: '6281234567890', timestamp: '2026-11-24T02:58:00Z', message_type: 'text', text: 'MULAI', profile: { name: 'Budi' } };
    expect(vonage.handleWebhook(signedWebhook(inbound), NOW)).toEqual({ ok: true, ignored: 0, events: [{ kind: 'inbound', fromE164: '+6281234567890', text: 'MULAI', providerMessageId: 'in-1', at: new Date('2026-11-24T02:58:00Z') }] });
    const reply = { ...inbound, message_uuid: 'in-2', text: 'ya', context: { message_uuid: 'out-7', message_from: '6281100000000' } };
    expect(vonage.handleWebhook(signedWebhook(reply), NOW)).toEqual({ ok: true, ignored: 0, events: [{ kind: 'inbound', fromE164: '+6281234567890', text: 'ya', providerMessageId: 'in-2', at: new Date('2026-11-24T02:58:00Z'), contextId: 'out-7' }] });
  });

  it('property: any single-byte change of a signed body fails verification', () => {
    const req = signedWebhook(status('delivered'));
    fc.assert(fc.property(fc.nat(req.rawBody.length - 1), fc.integer({ min: 1, max: 255 }), (i, delta) => {
      const tampered = Buffer.from(req.rawBody);
      tampered[i] = (tampered[i]! + delta) % 256;
      return vonage.handleWebhook({ ...req, rawBody: tampered }, NOW).ok === false;
    }), { numRuns: 200 });
  });
});

describe('vonage: unparseable bodies and the answers', () => {
  it('a correctly signed body that is not a JSON object is unparseable (400); unsigned: missing (503, Vonage retries)', () => {
    for (const body of ['not json', '[1]']) {
      const token = jwt.sign({ iat: nowSec, payload_hash: sha(body), api_key: 'abcd1234' }, SIGNATURE_SECRET, { algorithm: 'HS256' });
      const req = webhookRequest({ url: HOOK, body, headers: { authorization: `Bearer ${token}` } });
      expect(vonage.handleWebhook(req, NOW)).toEqual({ ok: false, reason: 'unparseable' });
      expect(vonage.handleWebhook({ ...req, headers: {} }, NOW)).toEqual({ ok: false, reason: 'missing' });
      const forged = jwt.sign({ iat: nowSec, payload_hash: sha(body) }, 'not-the-signature-secret', { algorithm: 'HS256' });
      expect(vonage.handleWebhook({ ...req, headers: { authorization: `Bearer ${forged}` } }, NOW)).toEqual({ ok: false, reason: 'signature' });
    }
    expect(vonage.webhook).toEqual({ urlSecretSegment: false, rejectionStatus: { missing: 503, signature: 401, stale: 401, malformed: 401, unparseable: 400 } });
  });
});

describe('vonage: test connection', () => {
  it('GET account/get-balance with Basic auth; no status lookup', () => {
    const c = vonage.testConnection();
    expect(c.request).toMatchObject({ method: 'GET', url: 'http://sim.local:4010/vonage-rest/account/get-balance', body: '' });
    expect(c.interpret(response(200, { value: 10.28, autoReload: false }))).toEqual({ ok: true, detail: 'balance 10.28 EUR' });
    expect(c.interpret(response(401, ''))).toEqual({ ok: false, reason: 'http:401: HTTP 401' });
    expect(vonage.statusLookup).toBeUndefined();
  });
});
