import { verifySignature } from '@vonage/jwt';
import jwt from 'jsonwebtoken';
import { createHash, createHmac, generateKeyPairSync, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import twilio from 'twilio';
import { SECRETS, startHarness, type Harness, type Received } from './testHarness';

// @vonage/jwt's entry point also loads `uuid`, which is ESM-only and which Jest (without
// require(esm)) cannot load; verifySignature does not use it, token generation does.
jest.mock('uuid', () => ({ v4: () => jest.requireActual<typeof import('node:crypto')>('node:crypto').randomUUID() }));

// Per provider: a send as the provider's API takes it (auth, body format), the provider's
// success answer and ids, an injected error in the provider's own shape and codes, and the
// status and inbound webhooks checked by each provider's official verifier (twilio's
// validateRequest, jsonwebtoken + @vonage/jwt, standardwebhooks) or node:crypto for Meta.

const TO = '+6281234567890';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h.close(); });
beforeEach(async () => { await h.admin('POST', '/reset'); h.received.length = 0; });

const post = (path: string, init: { headers?: Record<string, string>; json?: unknown; form?: Record<string, string>; body?: string }) =>
  fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { ...(init.json !== undefined ? { 'Content-Type': 'application/json' } : {}), ...(init.form ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}), ...init.headers },
    body: init.json !== undefined ? JSON.stringify(init.json) : init.form ? new URLSearchParams(init.form).toString() : init.body,
  });
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const json = (r: Received) => JSON.parse(r.raw) as Record<string, any>;

////////// Meta

describe('Meta Cloud API', () => {
  const send = (to = TO, token = SECRETS.metaAccessToken) => post('/meta/v23.0/100000000000001/messages', {
    headers: { Authorization: `Bearer ${token}` },
    json: { messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'template', template: { name: 'permit_ready', language: { code: 'id', policy: 'deterministic' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Budi' }] }] } },
  });
  const metaSignatureOk = (r: Received) => {
    const expected = Buffer.from(`sha256=${createHmac('sha256', SECRETS.metaAppSecret).update(r.raw).digest('hex')}`);
    const got = Buffer.from(r.headers['x-hub-signature-256'] ?? '');
    return got.length === expected.length && timingSafeEqual(got, expected);
  };

  it('accepts a template send: contacts + messages[0].id (a wamid), then signed sent and delivered webhooks', async () => {
    const r = await send();
    expect(r.status).toBe(200);
    const b = await r.json() as { contacts: { input: string; wa_id: string }[]; messages: { id: string; message_status: string }[] };
    expect(b.contacts).toEqual([{ input: TO, wa_id: '6281234567890' }]);
    expect(b.messages[0]!.id).toMatch(/^wamid\.[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(b.messages[0]!.id.slice(6), 'base64').toString('latin1')).toContain('6281234567890');
    expect(b.messages[0]!.message_status).toBe('accepted');

    const hooks = await h.hooks('meta', 2);
    for (const w of hooks) expect(metaSignatureOk(w)).toBe(true);
    const statuses = hooks.map((w) => json(w).entry[0].changes[0].value.statuses[0]);
    expect(statuses.map((s) => s.status)).toEqual(['sent', 'delivered']);
    expect(statuses[0]).toMatchObject({ id: b.messages[0]!.id, recipient_id: '6281234567890', timestamp: expect.stringMatching(/^\d{10}$/) });
    expect(json(hooks[0]!)).toMatchObject({ object: 'whatsapp_business_account', entry: [{ changes: [{ field: 'messages', value: { messaging_product: 'whatsapp' } }] }] });
  });

  it('answers a wrong token with Graph error 190 (401) and records the request without the token', async () => {
    const r = await send(TO, 'wrong');
    expect(r.status).toBe(401);
    expect((await r.json() as { error: object }).error).toMatchObject({ code: 190, type: 'OAuthException', fbtrace_id: expect.any(String) });
    const [rec] = (await h.admin<{ headers: Record<string, string>; auth: boolean }[]>('GET', '/requests?provider=meta')).body;
    expect(rec).toMatchObject({ auth: false, headers: { authorization: 'Bearer [redacted]' } });
  });

  it('injects a permanent error with Meta\'s code for one number only', async () => {
    await h.admin('POST', '/faults', { provider: 'meta', to: '081234567890', kind: 'permanent', code: 131047 });
    const r = await send();
    expect(r.status).toBe(400);
    expect((await r.json() as { error: object }).error).toMatchObject({ code: 131047, type: 'OAuthException', message: '(#131047) Re-engagement message', error_data: { messaging_product: 'whatsapp', details: expect.any(String) } });
    expect((await send('+6289999999999')).status).toBe(200);
  });

  it('reports a later failure with statuses[].errors (accept, then failed 131026)', async () => {
    await h.admin('POST', '/faults', { provider: 'meta', kind: 'fail_later' });
    expect((await send()).status).toBe(200);
    const hooks = await h.hooks('meta', 2);
    const failed = json(hooks[1]!).entry[0].changes[0].value.statuses[0];
    expect(failed).toMatchObject({ status: 'failed', errors: [{ code: 131026, title: 'Message undeliverable' }] });
    expect(metaSignatureOk(hooks[1]!)).toBe(true);
  });

  it('plays an inbound reply signed over the raw bytes, non-ASCII escaped as Meta does', async () => {
    const r = await h.admin<{ id: string; webhookStatus: number }>('POST', '/inbound', { from: TO, text: 'YA 👍 BERHENTI' });
    expect(r.body.webhookStatus).toBe(200);
    const [w] = await h.hooks('meta', 1);
    expect(w!.raw).toContain('\\ud83d\\udc4d');
    expect(metaSignatureOk(w!)).toBe(true);
    expect(json(w!).entry[0].changes[0].value.messages[0]).toMatchObject({ from: '6281234567890', id: r.body.id, type: 'text', text: { body: 'YA 👍 BERHENTI' } });
    // re-serialising the parsed body does not give the signed bytes
    expect(JSON.stringify(JSON.parse(w!.raw))).not.toBe(w!.raw);
  });
});

////////// Twilio

describe('Twilio Messages API', () => {
  const path = `/twilio/2010-04-01/Accounts/${SECRETS.twilioAccountSid}/Messages.json`;
  const send = (form: Record<string, string> = {}, auth = basic(SECRETS.twilioAccountSid, SECRETS.twilioAuthToken)) => post(path, {
    headers: { Authorization: auth },
    form: { To: `whatsapp:${TO}`, From: 'whatsapp:+14155238886', ContentSid: 'HX0123456789abcdef0123456789abcdef', ContentVariables: JSON.stringify({ 1: 'Budi', 2: 'INV-1' }), ...form },
  });
  const params = (r: Received) => Object.fromEntries(new URLSearchParams(r.raw));
  const valid = (r: Received) => twilio.validateRequest(SECRETS.twilioAuthToken, r.headers['x-twilio-signature'] ?? '', r.url, params(r));

  it('accepts a form-encoded template send: 201 Message resource with an SM sid, then callbacks validated by twilio.validateRequest', async () => {
    const r = await send();
    expect(r.status).toBe(201);
    const m = await r.json() as Record<string, unknown>;
    expect(m.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(m).toMatchObject({ status: 'queued', to: `whatsapp:${TO}`, from: 'whatsapp:+14155238886', account_sid: SECRETS.twilioAccountSid, api_version: '2010-04-01', error_code: null });
    expect(m.date_created).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);

    const hooks = await h.hooks('twilio', 2);
    for (const w of hooks) {
      expect(w.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(valid(w)).toBe(true);
    }
    expect(hooks.map((w) => params(w).MessageStatus)).toEqual(['sent', 'delivered']);
    expect(params(hooks[0]!)).toMatchObject({ MessageSid: m.sid, AccountSid: SECRETS.twilioAccountSid, To: `whatsapp:${TO}`, From: 'whatsapp:+14155238886', ApiVersion: '2010-04-01' });
    expect(params(hooks[0]!).ErrorCode).toBeUndefined();
    // the oracle is not a rubber stamp: a tampered parameter fails it
    expect(twilio.validateRequest(SECRETS.twilioAuthToken, hooks[0]!.headers['x-twilio-signature']!, hooks[0]!.url, { ...params(hooks[0]!), MessageStatus: 'read' })).toBe(false);

    // the message can be looked up, with its status so far
    const look = await fetch(`${h.url}/twilio/2010-04-01/Accounts/${SECRETS.twilioAccountSid}/Messages/${m.sid as string}.json`, { headers: { Authorization: basic(SECRETS.twilioAccountSid, SECRETS.twilioAuthToken) } });
    expect(await look.json()).toMatchObject({ sid: m.sid, status: 'delivered' });
  });

  it('sends callbacks to the message\'s StatusCallback, signed for that URL, with ErrorCode on a later failure', async () => {
    await h.admin('POST', '/faults', { provider: 'twilio', kind: 'fail_later', code: 63016 });
    const cb = `${h.hookBase}/twilio-status?tenant=a`;
    expect((await send({ StatusCallback: cb })).status).toBe(201);
    const hooks = await h.waitFor(() => { const r = h.received.filter((x) => x.path === '/webhooks/twilio-status'); return r.length >= 2 ? r : undefined; }, 'callbacks');
    expect(hooks[0]!.url).toBe(cb);
    expect(hooks.every(valid)).toBe(true);
    expect(params(hooks[1]!)).toMatchObject({ MessageStatus: 'failed', ErrorCode: '63016' });
  });

  it('answers bad credentials with 20003 (401) and an injected rate limit with 20429 (429)', async () => {
    const r = await send({}, basic(SECRETS.twilioAccountSid, 'wrong'));
    expect(r.status).toBe(401);
    expect(await r.json()).toEqual({ code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });

    await h.admin('POST', '/faults', { provider: 'twilio', kind: 'rate_limit', count: 1 });
    const limited = await send();
    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual({ code: 20429, message: 'Too Many Requests', more_info: 'https://www.twilio.com/docs/errors/20429', status: 429 });
    expect((await send()).status).toBe(201); // count: 1 → only the next request
  });

  it('rejects what Twilio rejects: a To without whatsapp:+, bad ContentVariables', async () => {
    expect(await (await send({ To: TO })).json()).toMatchObject({ code: 21910 });
    expect(await (await send({ ContentVariables: '{not json' })).json()).toMatchObject({ code: 21656, status: 400 });
  });

  it('plays an inbound reply as a signed form POST', async () => {
    await h.admin('POST', '/inbound', { provider: 'twilio', from: TO, text: 'BERHENTI' });
    const [w] = await h.hooks('twilio', 1);
    expect(valid(w!)).toBe(true);
    expect(params(w!)).toMatchObject({ Body: 'BERHENTI', From: `whatsapp:${TO}`, WaId: '6281234567890', SmsStatus: 'received', MessageSid: expect.stringMatching(/^SM[0-9a-f]{32}$/) });
  });
});

////////// Bird

describe('Bird platform API', () => {
  const send = (body: object = {}, key = SECRETS.birdApiKey) => post('/bird/v1/whatsapp/messages', {
    headers: { Authorization: `Bearer ${key}` },
    json: { to: TO, from: '+6281100000001', template: { slug: 'permit_ready', language: 'id', components: [{ type: 'body', parameters: [{ type: 'text', text: 'Budi' }] }] }, ...body },
  });
  const verify = (r: Received) => new Webhook(SECRETS.birdWebhookSecret).verify(r.raw, r.headers) as Record<string, any>;

  it('accepts a send with 202 and a uuid id, then whatsapp.sent / whatsapp.delivered verified by standardwebhooks', async () => {
    const r = await send();
    expect(r.status).toBe(202);
    const m = await r.json() as { id: string; status: string };
    expect(m.id).toMatch(UUID);
    expect(m.status).toBe('accepted');
    const hooks = await h.hooks('bird', 2);
    const events = hooks.map(verify);
    expect(events.map((e) => e.type)).toEqual(['whatsapp.sent', 'whatsapp.delivered']);
    expect(events[0]).toMatchObject({ timestamp: expect.any(String), data: { whatsapp_id: m.id, direction: 'outbound', to: TO } });
    expect(() => new Webhook(SECRETS.birdWebhookSecret).verify(hooks[0]!.raw.replace('sent', 'read'), hooks[0]!.headers)).toThrow();
  });

  it('answers with Bird error bodies: 401, 422 WhatsAppSenderRequired, injected 422 and 429', async () => {
    expect((await send({}, 'bk_wrong')).status).toBe(401);
    const noFrom = await send({ from: undefined });
    expect(noFrom.status).toBe(422);
    expect((await noFrom.json() as { error: object }).error).toMatchObject({ type: 'validation_error', code: 'WhatsAppSenderRequired', request_id: expect.any(String) });

    await h.admin('POST', '/faults', [{ provider: 'bird', kind: 'permanent', count: 1 }, { provider: 'bird', kind: 'rate_limit', count: 1 }]);
    const perm = await send();
    expect(perm.status).toBe(422);
    expect((await perm.json() as { error: object }).error).toMatchObject({ code: 'WhatsAppInvalidRecipient' });
    const limited = await send();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect((await limited.json() as { error: object }).error).toMatchObject({ type: 'rate_limit_error' });
  });

  it('reports a later failure as whatsapp.failed with Bird\'s code and the Meta code behind it', async () => {
    await h.admin('POST', '/faults', { provider: 'bird', kind: 'fail_later', code: 'service_window_expired' });
    await send();
    const hooks = await h.hooks('bird', 2);
    expect(verify(hooks[1]!)).toMatchObject({ type: 'whatsapp.failed', data: { error: { code: 'service_window_expired', meta_error_code: 131047 } } });
  });

  it('plays an inbound reply as whatsapp.received, signed', async () => {
    await h.admin('POST', '/inbound', { provider: 'bird', from: TO, text: 'YA' });
    const [w] = await h.hooks('bird', 1);
    expect(verify(w!)).toMatchObject({ type: 'whatsapp.received', data: { direction: 'inbound', from: TO, text: { body: 'YA' } } });
  });
});

////////// Vonage

describe('Vonage Messages API', () => {
  const body = { message_type: 'template', channel: 'whatsapp', to: '6281234567890', from: '6281100000002', template: { name: 'permit_ready', parameters: ['Budi'] }, whatsapp: { policy: 'deterministic', locale: 'id' }, client_ref: 'n-1' };
  const send = (auth: string, b: object = body) => post('/vonage/v1/messages', { headers: { Authorization: auth }, json: b });
  const verify = (r: Received) => {
    const token = /^Bearer (.+)$/.exec(r.headers.authorization ?? '')?.[1] ?? '';
    expect(verifySignature(token, SECRETS.vonageSignatureSecret)).toBe(true); // @vonage/jwt
    const claims = jwt.verify(token, SECRETS.vonageSignatureSecret, { algorithms: ['HS256'] }) as jwt.JwtPayload;
    expect(claims.payload_hash).toBe(createHash('sha256').update(r.raw).digest('hex'));
    expect(claims.api_key).toBe(SECRETS.vonageApiKey);
    expect(Math.abs(Date.now() / 1000 - claims.iat!)).toBeLessThan(60);
    expect(claims.jti).toEqual(expect.any(String));
    return JSON.parse(r.raw) as Record<string, unknown>;
  };

  it('accepts Basic auth with 202 {message_uuid}, then submitted and delivered webhooks signed (JWT + payload_hash)', async () => {
    const r = await send(basic(SECRETS.vonageApiKey, SECRETS.vonageApiSecret));
    expect(r.status).toBe(202);
    const { message_uuid } = await r.json() as { message_uuid: string };
    expect(message_uuid).toMatch(UUID);
    const hooks = await h.hooks('vonage', 2);
    const events = hooks.map(verify);
    expect(events.map((e) => e.status)).toEqual(['submitted', 'delivered']);
    expect(events[1]).toMatchObject({ message_uuid, to: '6281234567890', channel: 'whatsapp', client_ref: 'n-1', timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) });
    // a tampered body no longer matches payload_hash
    const claims = jwt.decode(/^Bearer (.+)$/.exec(hooks[0]!.headers.authorization!)![1]!) as jwt.JwtPayload;
    expect(claims.payload_hash).not.toBe(createHash('sha256').update(hooks[0]!.raw.replace('submitted', 'delivered')).digest('hex'));
  });

  it('accepts a Bearer RS256 JWT of the application, refuses one signed with another key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const hv = await startHarness({ providers: { vonage: { applicationId: SECRETS.vonageApplicationId, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() } } });
    try {
      const token = (key: typeof privateKey) => jwt.sign({ application_id: SECRETS.vonageApplicationId, jti: 'j1' }, key, { algorithm: 'RS256', expiresIn: 60 });
      const ok = await fetch(`${hv.url}/vonage/v1/messages`, { method: 'POST', headers: { Authorization: `Bearer ${token(privateKey)}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      expect(ok.status).toBe(202);
      const forged = await fetch(`${hv.url}/vonage/v1/messages`, { method: 'POST', headers: { Authorization: `Bearer ${token(other.privateKey)}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      expect(forged.status).toBe(401);
      expect(forged.headers.get('content-type')).toContain('application/problem+json');
    } finally {
      await hv.close();
    }
  });

  it('answers with RFC 7807 problems: invalid params (to with +), injected 5xx', async () => {
    const auth = basic(SECRETS.vonageApiKey, SECRETS.vonageApiSecret);
    const plus = await send(auth, { ...body, to: TO });
    expect(plus.status).toBe(422);
    expect(plus.headers.get('content-type')).toContain('application/problem+json');
    expect(await plus.json()).toMatchObject({ type: 'https://developer.vonage.com/api-errors/messages#1020', title: 'Invalid params', instance: expect.stringMatching(UUID), invalid_parameters: [{ name: 'to' }] });

    await h.admin('POST', '/faults', { provider: 'vonage', kind: 'server_error' });
    const down = await send(auth);
    expect(down.status).toBe(500);
    expect(await down.json()).toMatchObject({ type: 'https://developer.vonage.com/api-errors/messages#1030', title: 'Internal error' });
  });

  it('reports a later failure as undeliverable with an error object; plays a signed inbound reply', async () => {
    await h.admin('POST', '/faults', { provider: 'vonage', kind: 'fail_later', code: 1050 });
    await send(basic(SECRETS.vonageApiKey, SECRETS.vonageApiSecret));
    const hooks = await h.hooks('vonage', 2);
    expect(verify(hooks[1]!)).toMatchObject({ status: 'undeliverable', error: { type: 'https://developer.vonage.com/api-errors/messages#1050', title: 1050 } });

    await h.admin('POST', '/inbound', { provider: 'vonage', from: TO, text: 'BERHENTI' });
    const all = await h.hooks('vonage', 3);
    expect(verify(all[2]!)).toMatchObject({ channel: 'whatsapp', message_type: 'text', text: 'BERHENTI', from: '6281234567890' });
  });
});

////////// Fonnte

describe('Fonnte', () => {
  const token = (r: Received) => new URL(r.url).searchParams.get('token');

  it('accepts form-encoded and multipart sends: status true, parallel id/target arrays, process pending', async () => {
    const r = await post('/fonnte/send', { headers: { Authorization: SECRETS.fonnteToken }, form: { target: '081234567890|Budi,6289876543210', message: 'Halo {name}', countryCode: '62' } });
    expect(r.status).toBe(200);
    const b = await r.json() as { status: boolean; id: string[]; target: string[]; process: string };
    expect(b).toMatchObject({ status: true, process: 'pending', target: ['6281234567890', '6289876543210'] });
    expect(b.id).toHaveLength(2);
    expect(b.id.every((id) => /^\d+$/.test(id))).toBe(true);

    const fd = new FormData();
    fd.set('target', '081234567890');
    fd.set('message', 'Halo');
    const m = await fetch(`${h.url}/fonnte/send`, { method: 'POST', headers: { Authorization: SECRETS.fonnteToken }, body: fd });
    expect(await m.json()).toMatchObject({ status: true, target: ['6281234567890'] });

    const recs = (await h.admin<{ recipients?: string[]; recipient: string; messageIds?: string[] }[]>('GET', '/requests?provider=fonnte')).body;
    expect(recs[0]).toMatchObject({ recipient: TO, recipients: [TO, '+6289876543210'], messageIds: b.id });
  });

  it('answers errors with HTTP 200 {status:false, reason}: wrong token, injected permanent error, and a 502 page on 5xx', async () => {
    const bad = await post('/fonnte/send', { headers: { Authorization: 'wrong' }, form: { target: '081234567890', message: 'x' } });
    expect(bad.status).toBe(200);
    expect(await bad.json()).toEqual({ reason: 'token invalid', status: false });
    await h.admin('POST', '/faults', [{ provider: 'fonnte', kind: 'permanent', code: 'insufficient quota', count: 1 }, { provider: 'fonnte', kind: 'server_error', count: 1 }]);
    const perm = await post('/fonnte/send', { headers: { Authorization: SECRETS.fonnteToken }, form: { target: '081234567890', message: 'x' } });
    expect(perm.status).toBe(200);
    expect(await perm.json()).toEqual({ reason: 'insufficient quota', status: false });
    const down = await post('/fonnte/send', { headers: { Authorization: SECRETS.fonnteToken }, form: { target: '081234567890', message: 'x' } });
    expect(down.status).toBe(502);
    expect(down.headers.get('content-type')).toContain('text/html');
  });

  it('sends unsigned status and inbound webhooks to a URL carrying the secret token', async () => {
    const r = await post('/fonnte/send', { headers: { Authorization: SECRETS.fonnteToken }, form: { target: '081234567890', message: 'x' } });
    const { id } = await r.json() as { id: string[] };
    const hooks = await h.hooks('fonnte', 2);
    expect(hooks.every((w) => token(w) === SECRETS.fonnteWebhookToken)).toBe(true);
    expect(hooks.map(json)).toEqual([
      { device: '6281100000003', id: id[0], stateid: expect.any(String), status: 'sent', state: 'sent' },
      { device: '6281100000003', id: id[0], stateid: expect.any(String), status: 'sent', state: 'delivered' },
    ]);
    await h.admin('POST', '/inbound', { provider: 'fonnte', from: TO, text: 'BERHENTI', name: 'Budi' });
    const all = await h.hooks('fonnte', 3);
    expect(json(all[2]!)).toMatchObject({ device: '6281100000003', sender: '6281234567890', message: 'BERHENTI', name: 'Budi' });
    // the recorded webhook URL hides the token
    const recorded = (await h.admin<{ url: string }[]>('GET', '/webhooks?provider=fonnte')).body;
    expect(recorded.every((w) => w.url.endsWith('token=***'))).toBe(true);
  });
});

////////// Watzap

describe('Watzap.id', () => {
  const send = (body: object = {}) => post('/watzap/v1/send_message', { json: { api_key: SECRETS.watzapApiKey, number_key: SECRETS.watzapNumberKey, phone_no: '6281234567890', message: 'Halo Budi', wait_until_send: '1', ...body } });

  it('accepts a send with {status:"200"} and records the body with its keys redacted', async () => {
    const r = await send();
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: '200', message: 'Successfully' });
    const [rec] = (await h.admin<{ body: Record<string, string>; recipient: string }[]>('GET', '/requests?provider=watzap')).body;
    expect(rec).toMatchObject({ recipient: TO, body: { api_key: '[redacted]', number_key: '[redacted]', phone_no: '6281234567890' } });
  });

  it('answers errors with Watzap\'s codes in HTTP 200: 1002 Invalid API Key, injected 1005', async () => {
    expect(await (await send({ api_key: 'nope' })).json()).toEqual({ status: '1002', message: 'Invalid API Key' });
    await h.admin('POST', '/faults', { provider: 'watzap', kind: 'permanent', code: 1005 });
    const r = await send();
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: '1005', message: 'Fatal Error / Instance Not Started' });
  });

  it('sends unsigned ack and incoming_chat webhooks to a URL carrying the secret token', async () => {
    await send();
    const hooks = await h.hooks('watzap', 2);
    expect(hooks.every((w) => new URL(w.url).searchParams.get('token') === SECRETS.watzapWebhookToken)).toBe(true);
    expect(hooks.map((w) => json(w).data.message_ack)).toEqual(['SENT', 'DELIVERED']);
    await h.admin('POST', '/inbound', { provider: 'watzap', from: TO, text: 'YA' });
    const all = await h.hooks('watzap', 3);
    expect(json(all[2]!)).toMatchObject({ type: 'incoming_chat', data: { chat_id: '6281234567890@c.us', message_body: 'YA', is_from_me: false } });
  });
});

////////// No secrets in what the simulator records

it('never records a configured secret in requests, webhooks or messages', async () => {
  await h.admin('POST', '/reset');
  await post('/meta/v23.0/1/messages', { headers: { Authorization: `Bearer ${SECRETS.metaAccessToken}` }, json: { messaging_product: 'whatsapp', to: TO, type: 'text', text: { body: 'x' } } });
  await post(`/twilio/2010-04-01/Accounts/${SECRETS.twilioAccountSid}/Messages.json`, { headers: { Authorization: basic(SECRETS.twilioAccountSid, SECRETS.twilioAuthToken) }, form: { To: `whatsapp:${TO}`, From: 'whatsapp:+1415', Body: 'x' } });
  await post('/bird/v1/whatsapp/messages', { headers: { Authorization: `Bearer ${SECRETS.birdApiKey}` }, json: { to: TO, from: '+6281100000001', text: { body: 'x' } } });
  await post('/vonage/v1/messages', { headers: { Authorization: basic(SECRETS.vonageApiKey, SECRETS.vonageApiSecret) }, json: { message_type: 'text', channel: 'whatsapp', to: '6281234567890', from: '62811', text: 'x' } });
  await post('/fonnte/send', { headers: { Authorization: SECRETS.fonnteToken }, form: { target: '081234567890', message: 'x' } });
  await post('/watzap/v1/send_message', { json: { api_key: SECRETS.watzapApiKey, number_key: SECRETS.watzapNumberKey, phone_no: '6281234567890', message: 'x' } });
  await h.waitFor(() => h.sim.webhooks.length >= 12 || undefined, 'webhooks');
  const dump = JSON.stringify([
    (await h.admin('GET', '/requests')).body, (await h.admin('GET', '/webhooks')).body, (await h.admin('GET', '/messages')).body, (await h.admin('GET', '/config')).body,
  ]);
  const basicCreds = [basic(SECRETS.twilioAccountSid, SECRETS.twilioAuthToken), basic(SECRETS.vonageApiKey, SECRETS.vonageApiSecret)].map((b) => b.slice(6));
  for (const s of [SECRETS.metaAccessToken, SECRETS.metaAppSecret, SECRETS.twilioAuthToken, SECRETS.birdApiKey, SECRETS.birdWebhookSecret, SECRETS.vonageApiSecret,
    SECRETS.vonageSignatureSecret, SECRETS.fonnteToken, SECRETS.fonnteWebhookToken, SECRETS.watzapApiKey, SECRETS.watzapNumberKey, SECRETS.watzapWebhookToken, ...basicCreds]) {
    expect(dump).not.toContain(s);
  }
});

////////// The providers' account checks (what a "test connection" calls) and status lookups

describe('account checks and lookups', () => {
  const call = async (method: string, path: string, init: { headers?: Record<string, string>; json?: unknown } = {}) => {
    const r = await fetch(`${h.url}${path}`, { method, headers: { ...(init.json ? { 'Content-Type': 'application/json' } : {}), ...init.headers }, body: init.json ? JSON.stringify(init.json) : undefined });
    return { status: r.status, body: await r.json() as Record<string, unknown> };
  };

  it('answers each provider\'s check with right credentials and refuses wrong ones in the provider\'s way', async () => {
    const meta = await call('GET', '/meta/v23.0/100000000000001?fields=display_phone_number,verified_name,quality_rating', { headers: { Authorization: `Bearer ${SECRETS.metaAccessToken}` } });
    expect(meta).toEqual({ status: 200, body: expect.objectContaining({ id: '100000000000001', quality_rating: 'GREEN', display_phone_number: expect.any(String) }) });
    expect((await call('GET', '/meta/v23.0/999', { headers: { Authorization: `Bearer ${SECRETS.metaAccessToken}` } })).body).toMatchObject({ error: { code: 100 } });
    expect((await call('GET', '/meta/v23.0/100000000000001', { headers: { Authorization: 'Bearer nope' } })).status).toBe(401);

    const acct = `/twilio/2010-04-01/Accounts/${SECRETS.twilioAccountSid}.json`;
    expect(await call('GET', acct, { headers: { Authorization: basic(SECRETS.twilioAccountSid, SECRETS.twilioAuthToken) } })).toMatchObject({ status: 200, body: { sid: SECRETS.twilioAccountSid, status: 'active' } });
    expect((await call('GET', acct, { headers: { Authorization: basic(SECRETS.twilioAccountSid, 'nope') } })).body).toMatchObject({ code: 20003 });

    expect(await call('GET', '/bird/v1/whatsapp/messages?limit=5', { headers: { Authorization: `Bearer ${SECRETS.birdApiKey}` } })).toMatchObject({ status: 200, body: { data: [], next_cursor: null } });
    expect((await call('GET', '/bird/v1/whatsapp/messages', { headers: { Authorization: 'Bearer nope' } })).status).toBe(401);

    expect(await call('GET', `/vonage-rest/account/get-balance?api_key=${SECRETS.vonageApiKey}&api_secret=${SECRETS.vonageApiSecret}`)).toMatchObject({ status: 200, body: { value: expect.any(Number) } });
    expect((await call('GET', '/vonage-rest/account/get-balance', { headers: { Authorization: basic(SECRETS.vonageApiKey, 'nope') } })).status).toBe(401);

    expect(await call('POST', '/fonnte/device', { headers: { Authorization: SECRETS.fonnteToken } })).toMatchObject({ status: 200, body: { status: true, device_status: 'connect' } });
    expect((await call('POST', '/fonnte/device', { headers: { Authorization: 'nope' } })).body).toEqual({ reason: 'token invalid', status: false });

    // As Watzap documents it: status true and the key's licences, our number key among them.
    expect((await call('POST', '/watzap/v1/checking_key', { json: { api_key: SECRETS.watzapApiKey } })).body).toMatchObject({
      status: true, message: 'Successfully', data: { licenses_key: [{ key: SECRETS.watzapNumberKey, wa_number: '6281100000004', is_connected: true }] },
    });
    expect((await call('POST', '/watzap/v1/checking_key', { json: { api_key: 'nope' } })).body).toEqual({ status: '1002', message: 'Invalid API Key' });
    expect((await call('POST', '/watzap/v1/validate_number', { json: { api_key: SECRETS.watzapApiKey, number_key: SECRETS.watzapNumberKey, phone_no: '6281234567890' } })).body).toEqual({ status: '200', ack: 'successfully' });

    const kinds = (await h.admin<{ kind: string }[]>('GET', '/requests')).body.map((r) => r.kind);
    expect(new Set(kinds)).toEqual(new Set(['account']));
    expect((await h.admin<unknown[]>('GET', '/requests?kind=send')).body).toEqual([]);
  });

  it('looks up a Bird message by id with its current status', async () => {
    const r = await post('/bird/v1/whatsapp/messages', { headers: { Authorization: `Bearer ${SECRETS.birdApiKey}` }, json: { to: TO, from: '+6281100000001', text: { body: 'x' } } });
    const { id } = await r.json() as { id: string };
    await h.hooks('bird', 2);
    expect(await call('GET', `/bird/v1/whatsapp/messages/${id}`, { headers: { Authorization: `Bearer ${SECRETS.birdApiKey}` } })).toMatchObject({ status: 200, body: { id, status: 'delivered', to: TO } });
    expect((await call('GET', '/bird/v1/whatsapp/messages/00000000-0000-4000-8000-000000000000', { headers: { Authorization: `Bearer ${SECRETS.birdApiKey}` } })).status).toBe(404);
  });
});
