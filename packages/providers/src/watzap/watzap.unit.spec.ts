import { BOTH, MESSAGE, NOW, noSecretFiles, response, webhookRequest } from '../testkit.spec';
import { watzapConfigFromEnv, type WatzapConfig } from './config';
import { createWatzapProvider } from './index';

// Watzap has no SDK, spec or signature; the oracle is a public copy of its API documentation.
const ENV = { WATZAP_API_KEY: 'HKLACYKAMEKPZDCK', WATZAP_NUMBER_KEY: 'O3j5viLxzHydtOEy', WATZAP_WEBHOOK_TOKEN: 'watzap-url-secret-000111', WATZAP_BASE_URL: 'http://sim.local:4010/watzap/v1' };
const cfg = watzapConfigFromEnv(ENV, noSecretFiles, BOTH) as WatzapConfig;
const watzap = createWatzapProvider(cfg);
const hook = (body: unknown, q = '?token=watzap-url-secret-000111') => webhookRequest({ url: `https://tracker.example.id/webhooks/watzap${q}`, body: JSON.stringify(body) });

describe('watzap: config', () => {
  it('needs the API key, number key and webhook URL secret', () => {
    expect(watzapConfigFromEnv({}, noSecretFiles, BOTH)).toBeUndefined();
    expect(() => watzapConfigFromEnv({ WATZAP_API_KEY: 'k' }, noSecretFiles, BOTH)).toThrow(/missing WATZAP_NUMBER_KEY, WATZAP_WEBHOOK_TOKEN/);
  });
});

describe('watzap: send', () => {
  it('posts the exact JSON body with the credentials in it (redacted when logged)', () => {
    const req = watzap.buildSend(MESSAGE);
    expect(req).toEqual({
      method: 'POST', url: 'http://sim.local:4010/watzap/v1/send_message', headers: { 'content-type': 'application/json' },
      body: `{"api_key":"HKLACYKAMEKPZDCK","number_key":"O3j5viLxzHydtOEy","phone_no":"6281234567890","message":"${MESSAGE.text}"}`,
    });
    const logged = JSON.stringify(req);
    expect(logged).not.toContain('HKLACYKAMEKPZDCK');
    expect(logged).not.toContain('O3j5viLxzHydtOEy');
  });

  it('has no message id: a deterministic one is synthesised from the notification id', () => {
    const ok = (status: unknown) => watzap.parseSendResponse(MESSAGE, response(200, { status, message: 'Successfully', ack: 'successfully' }));
    expect(ok('200')).toEqual({ kind: 'accepted', providerMessageId: `watzap:${MESSAGE.notificationId}`, synthetic: true });
    expect(ok(200)).toEqual(ok('200'));
  });

  it('uses data.message_id when an answer carries one (not documented; the simulator sends it)', () => {
    expect(watzap.parseSendResponse(MESSAGE, response(200, { status: '200', message: 'Successfully', data: { message_id: '3EB0AB12' } }))).toEqual({ kind: 'accepted', providerMessageId: '3EB0AB12' });
  });

  it.each([['1002', 'fallback'], ['1003', 'fallback'], ['1004', 'fallback'], ['1005', 'retry'], ['1006', 'retry']])('status %s -> %s', (code, disposition) => {
    expect(watzap.parseSendResponse(MESSAGE, response(200, { status: code, message: 'Invalid' }))).toEqual({ kind: 'failed', disposition, errorCode: `watzap:${code}`, reason: 'Invalid' });
  });
});

describe('watzap: webhook (incoming_chat; a secret in the URL)', () => {
  const chat = { type: 'incoming_chat', data: { chat_id: '6281234567890@c.us', message_id: '3EB0C41E9D2DF', name: 'Budi', timestamp: 1764000000, message_body: 'MULAI', message_ack: 'PENDING', has_media: false, is_from_me: false } };
  it('verifies the URL secret and reads replies', () => {
    expect(watzap.handleWebhook(hook(chat), NOW)).toEqual({ ok: true, ignored: 0, events: [{ kind: 'inbound', fromE164: '+6281234567890', text: 'MULAI', providerMessageId: '3EB0C41E9D2DF', at: new Date(1764000000 * 1000) }] });
    expect(watzap.handleWebhook(hook(chat, '?token=nope'), NOW)).toEqual({ ok: false, reason: 'signature' });
    expect(watzap.handleWebhook(hook(chat, ''), NOW)).toEqual({ ok: false, reason: 'missing' });
    // The secret matched, the body is not Watzap's JSON: unparseable (400); with a wrong secret: signature (401).
    expect(watzap.handleWebhook(webhookRequest({ url: 'https://tracker.example.id/webhooks/watzap?token=watzap-url-secret-000111', body: '{' }), NOW)).toEqual({ ok: false, reason: 'unparseable' });
    expect(watzap.handleWebhook(webhookRequest({ url: 'https://tracker.example.id/webhooks/watzap?token=nope', body: '{' }), NOW)).toEqual({ ok: false, reason: 'signature' });
    expect(watzap.webhook).toEqual({ urlSecretSegment: true, rejectionStatus: { missing: 401, signature: 401, stale: 401, malformed: 401, unparseable: 400 } });
  });
  it('reads message_ack statuses when they come (undocumented), in any order', () => {
    const ack = (a: string) => hook({ type: 'message_ack', data: { message_id: '3EB0AB12', chat_id: '6281234567890@c.us', message_ack: a, timestamp: 1764000000 } });
    expect(watzap.handleWebhook(ack('READ'), NOW)).toEqual({ ok: true, ignored: 0, events: [{ kind: 'status', providerMessageId: '3EB0AB12', status: 'read', at: new Date(1764000000 * 1000) }] });
    expect(watzap.handleWebhook(ack('SENT'), NOW)).toMatchObject({ ok: true, events: [{ status: 'sent' }] });
    expect(watzap.handleWebhook(ack('FAILED'), NOW)).toMatchObject({ ok: true, events: [{ status: 'failed', errorCode: 'watzap:failed' }] });
    expect(watzap.handleWebhook(ack('PENDING'), NOW)).toEqual({ ok: true, events: [], ignored: 1 });
  });

  it('ignores our own messages, groups and other types; a replay parses the same', () => {
    expect(watzap.handleWebhook(hook({ ...chat, data: { ...chat.data, is_from_me: true } }), NOW)).toEqual({ ok: true, events: [], ignored: 1 });
    expect(watzap.handleWebhook(hook({ ...chat, data: { ...chat.data, chat_id: '1203630@g.us' } }), NOW)).toEqual({ ok: true, events: [], ignored: 1 });
    expect(watzap.handleWebhook(hook({ type: 'device_status', data: {} }), NOW)).toEqual({ ok: true, events: [], ignored: 1 });
    const req = hook(chat);
    expect(watzap.handleWebhook(req, NOW)).toEqual(watzap.handleWebhook(req, new Date(NOW.getTime() + 1)));
  });
});

describe('watzap: test connection', () => {
  it('checking_key, then our number key among the licences and connected', () => {
    const c = watzap.testConnection();
    expect(c.request).toMatchObject({ method: 'POST', url: 'http://sim.local:4010/watzap/v1/checking_key', body: '{"api_key":"HKLACYKAMEKPZDCK"}' });
    const licences = (connected: boolean, key = 'O3j5viLxzHydtOEy') => response(200, { status: true, message: 'Successfully', data: { id: 'X', name: 'WatZap.id', licenses_key: [{ id: 'N1', key, active_until: '2027-04-27 00:00:00', wa_number: '6281100000000', is_connected: connected }] } });
    expect(c.interpret(licences(true))).toEqual({ ok: true, detail: 'number connected, licence until 2027-04-27 00:00:00' });
    expect(c.interpret(licences(false))).toEqual({ ok: false, reason: 'the number is not connected' });
    expect(c.interpret(licences(true, 'other'))).toEqual({ ok: false, reason: 'the number key is not one of this API key\'s numbers' });
    expect(JSON.stringify(c.interpret(licences(true, 'other')))).not.toContain('O3j5');
  });
});
