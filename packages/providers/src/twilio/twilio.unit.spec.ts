import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { getExpectedBodyHash, getExpectedTwilioSignature, validateRequest, validateRequestWithBody } from 'twilio/lib/webhooks/webhooks';
import { BOTH, MESSAGE, NOW, formToObject, noSecretFiles, response, webhookRequest } from '../testkit.spec';
import spec from './spec/twilio_api_v2010.fragments.json';
import { twilioConfigFromEnv, type TwilioConfig } from './config';
import { createTwilioProvider } from './index';

// Oracles: twilio-oai's CreateMessageRequest form schema; the `twilio` package's own signature functions.
const ajv = new Ajv2020({ strict: false, allErrors: true, coerceTypes: 'array' });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
// twilio-oai's custom format: E.164 or a channel address such as whatsapp:+15552229999 (its own description).
ajv.addFormat('phone-number', /^([a-z]+:)?\+[1-9]\d{1,14}$/);
ajv.addSchema({ $id: 'twilio', ...spec });
const createMessage = ajv.getSchema('twilio#/$defs/CreateMessageRequest')!;
const validForm = (body: string) => (createMessage(formToObject(body)) ? 'valid' : ajv.errorsText(createMessage.errors));

const ACCOUNT = 'AC' + 'a'.repeat(32);
const TOKEN = 'twilio-auth-token-0123';
const CONTENT = 'HX' + 'b'.repeat(32);
const ENV = {
  TWILIO_ACCOUNT_SID: ACCOUNT,
  TWILIO_AUTH_TOKEN: TOKEN,
  TWILIO_WHATSAPP_FROM: '+14155238886',
  TWILIO_STATUS_CALLBACK_URL: 'https://tracker.example.id/webhooks/twilio',
  TWILIO_BASE_URL: 'http://sim.local:4010/twilio',
  TWILIO_TEMPLATES: JSON.stringify({ PERMIT_EXPIRY_REMINDER: CONTENT }),
};
const cfg = twilioConfigFromEnv(ENV, noSecretFiles, BOTH) as TwilioConfig;
const twilio = createTwilioProvider(cfg);
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('twilio: config', () => {
  it('needs a sender or a messaging service, checks SIDs and API-key pairs', () => {
    expect(twilioConfigFromEnv({}, noSecretFiles, BOTH)).toBeUndefined();
    expect(() => twilioConfigFromEnv({ TWILIO_ACCOUNT_SID: ACCOUNT, TWILIO_AUTH_TOKEN: TOKEN }, noSecretFiles, BOTH)).toThrow(/TWILIO_WHATSAPP_FROM or TWILIO_MESSAGING_SERVICE_SID/);
    expect(() => twilioConfigFromEnv({ ...ENV, TWILIO_ACCOUNT_SID: 'AC123' }, noSecretFiles, BOTH)).toThrow(/AC \+ 32 hex/);
    expect(() => twilioConfigFromEnv({ ...ENV, TWILIO_API_KEY_SID: 'SK' + 'c'.repeat(32) }, noSecretFiles, BOTH)).toThrow(/both TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET/);
    expect(() => twilioConfigFromEnv({ ...ENV, TWILIO_TEMPLATES: '{"X":"not-a-content-sid"}' }, noSecretFiles, BOTH)).toThrow(/template code "X"/);
  });
});

describe('twilio: send request', () => {
  it('builds the exact form request: ContentSid + ContentVariables with sequential integer keys', () => {
    const req = twilio.buildSend(MESSAGE);
    expect(req.method).toBe('POST');
    expect(req.url).toBe(`http://sim.local:4010/twilio/2010-04-01/Accounts/${ACCOUNT}/Messages.json`);
    expect(req.headers).toEqual({ authorization: basic(ACCOUNT, TOKEN), 'content-type': 'application/x-www-form-urlencoded' });
    expect(req.body).toBe('To=whatsapp%3A%2B6281234567890&From=whatsapp%3A%2B14155238886'
      + `&ContentSid=${CONTENT}`
      + '&ContentVariables=%7B%221%22%3A%22Budi%22%2C%222%22%3A%22503%2F1%22%2C%223%22%3A%221+Maret+2027%22%7D'
      + '&StatusCallback=https%3A%2F%2Ftracker.example.id%2Fwebhooks%2Ftwilio');
    expect(formToObject(req.body).ContentVariables).toBe('{"1":"Budi","2":"503/1","3":"1 Maret 2027"}');
    expect(validForm(req.body)).toBe('valid');
  });

  it('sends the rendered text as Body without a mapping, and authenticates with an API key when given', () => {
    const withKey = createTwilioProvider({ ...cfg, apiKey: { sid: 'SK' + 'c'.repeat(32), secret: 'key-secret-xyz' }, from: undefined, messagingServiceSid: 'MG' + 'd'.repeat(32) } as TwilioConfig);
    const req = withKey.buildSend({ ...MESSAGE, templateCode: 'UNMAPPED' });
    expect(req.headers.authorization).toBe(basic('SK' + 'c'.repeat(32), 'key-secret-xyz'));
    expect(formToObject(req.body)).toEqual({
      To: 'whatsapp:+6281234567890', MessagingServiceSid: 'MG' + 'd'.repeat(32), Body: MESSAGE.text, StatusCallback: 'https://tracker.example.id/webhooks/twilio',
    });
    expect(validForm(req.body)).toBe('valid');
    expect(JSON.stringify(req)).not.toContain('key-secret-xyz');
  });

  it('the oracle refuses a form without To, a malformed ContentSid or a non-string Body', () => {
    expect(createMessage({ Body: 'x' })).toBe(false);
    expect(createMessage({ To: 'whatsapp:+6281234567890', ContentSid: 'HX123' })).toBe(false);
    expect(createMessage({ To: 'whatsapp:+6281234567890', Body: { text: 1 } })).toBe(false);
  });
});

describe('twilio: responses', () => {
  it('reads the sid of a 201', () => {
    expect(twilio.parseSendResponse(MESSAGE, response(201, { sid: 'SM' + 'e'.repeat(32), status: 'queued' }))).toEqual({ kind: 'accepted', providerMessageId: 'SM' + 'e'.repeat(32) });
  });
  it.each([
    [20003, 401, 'fallback'], [20429, 429, 'retry'], [30001, 400, 'retry'], [63018, 400, 'retry'], [21211, 400, 'permanent'],
    [63016, 400, 'fallback'], [63027, 400, 'fallback'], [63028, 400, 'fallback'], [63003, 400, 'fallback'], [63024, 400, 'fallback'],
    [63032, 400, 'permanent'], [99999, 400, 'permanent'], [99998, 503, 'retry'],
  ])('code %d (HTTP %d) -> %s', (code, status, disposition) => {
    expect(twilio.parseSendResponse(MESSAGE, response(status, { code, message: 'msg', more_info: `https://www.twilio.com/docs/errors/${code}`, status })))
      .toEqual({ kind: 'failed', disposition, errorCode: `twilio:${code}`, reason: 'msg' });
  });
  it('honours Retry-After on a retryable refusal', () => {
    expect(twilio.parseSendResponse(MESSAGE, response(429, { code: 20429, message: 'Too Many Requests' }, { 'retry-after': '3' }))).toMatchObject({ disposition: 'retry', retryAfterMs: 3000 });
  });
});

const HOOK = 'https://tracker.example.id/webhooks/twilio';
const callback = (params: Record<string, string>) => new URLSearchParams(params).toString();
const statusParams = (status: string, extra: Record<string, string> = {}) => ({
  MessageSid: 'SM' + 'e'.repeat(32), MessageStatus: status, SmsStatus: status, AccountSid: ACCOUNT, From: 'whatsapp:+14155238886',
  To: 'whatsapp:+6281234567890', ApiVersion: '2010-04-01', ChannelPrefix: 'whatsapp', ...extra,
});
/** Signed by the twilio package itself (the oracle), as Twilio signs a status callback. */
const signedCallback = (params: Record<string, string>, url = HOOK, token = TOKEN) =>
  webhookRequest({ url, body: callback(params), headers: { 'X-Twilio-Signature': getExpectedTwilioSignature(token, url, params), 'content-type': 'application/x-www-form-urlencoded' } });

describe('twilio: webhooks', () => {
  it('accepts what the twilio package signs and validates, and maps the status', () => {
    const req = signedCallback(statusParams('delivered'));
    expect(validateRequest(TOKEN, req.headers['x-twilio-signature']!, HOOK, statusParams('delivered'))).toBe(true);
    expect(twilio.handleWebhook(req, NOW)).toEqual({ ok: true, ignored: 0, events: [{ kind: 'status', providerMessageId: 'SM' + 'e'.repeat(32), status: 'delivered' }] });
  });

  it('rejects forged, tampered and unsigned callbacks (the twilio package agrees)', () => {
    const forged = signedCallback(statusParams('read'), HOOK, 'someone-elses-token');
    expect(twilio.handleWebhook(forged, NOW)).toEqual({ ok: false, reason: 'signature' });
    expect(validateRequest(TOKEN, forged.headers['x-twilio-signature']!, HOOK, statusParams('read'))).toBe(false);
    const good = signedCallback(statusParams('read'));
    const tampered = { ...good, rawBody: Buffer.from(callback(statusParams('read', { MessageSid: 'SM' + 'f'.repeat(32) }))) };
    expect(twilio.handleWebhook(tampered, NOW)).toEqual({ ok: false, reason: 'signature' });
    expect(validateRequest(TOKEN, good.headers['x-twilio-signature']!, HOOK, formToObject(tampered.rawBody.toString()))).toBe(false);
    expect(twilio.handleWebhook({ ...good, headers: {} }, NOW)).toEqual({ ok: false, reason: 'missing' });
  });

  it('a correctly signed body that is not form-encoded is unparseable (400); the same bodies unsigned stay 401', () => {
    // Signed as the twilio package signs whatever a form reader makes of the body.
    const signedRaw = (body: string | Buffer, url = HOOK) => webhookRequest({ url, body, headers: { 'x-twilio-signature': getExpectedTwilioSignature(TOKEN, url, formToObject(Buffer.from(body).toString('utf8'))) } });
    for (const body of [JSON.stringify(statusParams('sent')), 'MessageSid=SM%ZZ&MessageStatus=sent', 'MessageSid=%C3%28&MessageStatus=sent', Buffer.from([0x4d, 0x3d, 0xff, 0xfe])]) {
      expect(twilio.handleWebhook(signedRaw(body), NOW)).toEqual({ ok: false, reason: 'unparseable' });
      expect(twilio.handleWebhook({ ...signedRaw(body), headers: { 'x-twilio-signature': 'bm90IGEgc2lnbmF0dXJl' } }, NOW)).toEqual({ ok: false, reason: Buffer.isBuffer(body) ? 'malformed' : 'signature' });
      expect(twilio.handleWebhook({ ...signedRaw(body), headers: {} }, NOW)).toEqual({ ok: false, reason: 'missing' });
    }
    // A JSON callback (bodySHA256 in the URL, no params signed) whose body is not a JSON object.
    const body = 'not json';
    const url = `${HOOK}?bodySHA256=${getExpectedBodyHash(body)}`;
    expect(twilio.handleWebhook(webhookRequest({ url, body, headers: { 'x-twilio-signature': getExpectedTwilioSignature(TOKEN, url, {}) } }), NOW)).toEqual({ ok: false, reason: 'unparseable' });
    // What every form encoder writes is read: an empty body, escapes, "+" for spaces.
    expect(twilio.handleWebhook(signedRaw(''), NOW)).toEqual({ ok: true, events: [], ignored: 1 });
    expect(twilio.handleWebhook(signedRaw(callback(statusParams('sent', { ErrorMessage: 'a b/c:d ü {x}' }))), NOW)).toMatchObject({ ok: true, events: [{ status: 'sent' }] });
  });

  it('answers an accepted callback with empty TwiML; rejections: 400 for unparseable, 401 otherwise', () => {
    expect(twilio.webhook).toEqual({
      urlSecretSegment: false,
      rejectionStatus: { missing: 401, signature: 401, stale: 401, malformed: 401, unparseable: 400 },
      successReply: { status: 200, contentType: 'text/xml', body: '<?xml version="1.0" encoding="UTF-8"?><Response></Response>' },
    });
  });

  it('signs over the URL: another URL fails, the explicit default port is tried as twilio-node does', () => {
    const params = statusParams('sent');
    const req = signedCallback(params);
    expect(twilio.handleWebhook({ ...req, url: 'https://tracker.example.id/webhooks/other' }, NOW)).toEqual({ ok: false, reason: 'signature' });
    const withPort = { ...req, url: 'https://tracker.example.id:443/webhooks/twilio' };
    expect(validateRequest(TOKEN, req.headers['x-twilio-signature']!, withPort.url, params)).toBe(true);
    expect(twilio.handleWebhook(withPort, NOW).ok).toBe(true);
  });

  it('repeated keys count once each, sorted (as getExpectedTwilioSignature does)', () => {
    const body = 'MessageSid=SM' + 'e'.repeat(32) + '&MessageStatus=sent&Tag=b&Tag=a&Tag=b';
    const params = { MessageSid: 'SM' + 'e'.repeat(32), MessageStatus: 'sent', Tag: ['b', 'a', 'b'] };
    const req = webhookRequest({ url: HOOK, body, headers: { 'x-twilio-signature': getExpectedTwilioSignature(TOKEN, HOOK, params) } });
    expect(twilio.handleWebhook(req, NOW).ok).toBe(true);
  });

  it('the bodySHA256 variant: URL-only signature plus the body hash (validateRequestWithBody agrees)', () => {
    const body = JSON.stringify({ MessageSid: 'SM' + 'e'.repeat(32), MessageStatus: 'read' });
    const url = `${HOOK}?bodySHA256=${getExpectedBodyHash(body)}`;
    const sig = getExpectedTwilioSignature(TOKEN, url, {});
    expect(validateRequestWithBody(TOKEN, sig, url, body)).toBe(true);
    expect(twilio.handleWebhook(webhookRequest({ url, body, headers: { 'x-twilio-signature': sig } }), NOW))
      .toEqual({ ok: true, ignored: 0, events: [{ kind: 'status', providerMessageId: 'SM' + 'e'.repeat(32), status: 'read' }] });
    const tampered = body.replace('read', 'sent');
    expect(validateRequestWithBody(TOKEN, sig, url, tampered)).toBe(false);
    expect(twilio.handleWebhook(webhookRequest({ url, body: tampered, headers: { 'x-twilio-signature': sig } }), NOW)).toEqual({ ok: false, reason: 'signature' });
  });

  it('replays verify again with the same events (no timestamp to check); out-of-order statuses parse', () => {
    const req = signedCallback(statusParams('read'));
    expect(twilio.handleWebhook(req, NOW)).toEqual(twilio.handleWebhook(req, new Date(NOW.getTime() + 3_600_000)));
    expect(twilio.handleWebhook(signedCallback(statusParams('sent')), NOW)).toMatchObject({ ok: true, events: [{ status: 'sent' }] });
  });

  it.each([
    ['sent', 'sent'], ['delivered', 'delivered'], ['read', 'read'], ['failed', 'failed'], ['undelivered', 'failed'],
  ])('MessageStatus %s -> %s', (raw, status) => {
    expect(twilio.handleWebhook(signedCallback(statusParams(raw)), NOW)).toMatchObject({ ok: true, events: [{ status }] });
  });

  it('queued / accepted are counted as ignored; ErrorCode becomes a classified errorCode', () => {
    expect(twilio.handleWebhook(signedCallback(statusParams('queued')), NOW)).toEqual({ ok: true, events: [], ignored: 1 });
    expect(twilio.handleWebhook(signedCallback(statusParams('undelivered', { ErrorCode: '63016' })), NOW))
      .toMatchObject({ ok: true, events: [{ status: 'failed', errorCode: 'twilio:63016', disposition: 'fallback' }] });
  });

  it('reads inbound replies (From, Body)', () => {
    const params = { MessageSid: 'SM' + '1'.repeat(32), SmsStatus: 'received', From: 'whatsapp:+6281234567890', To: 'whatsapp:+14155238886', Body: 'BERHENTI', NumMedia: '0', AccountSid: ACCOUNT };
    expect(twilio.handleWebhook(signedCallback(params), NOW)).toEqual({ ok: true, ignored: 0, events: [{ kind: 'inbound', fromE164: '+6281234567890', text: 'BERHENTI', providerMessageId: 'SM' + '1'.repeat(32) }] });
  });

  it('reads the message a reply answered (OriginalRepliedMessageSid) as its contextId', () => {
    const params = { MessageSid: 'SM' + '2'.repeat(32), SmsStatus: 'received', From: 'whatsapp:+6281234567890', To: 'whatsapp:+14155238886', Body: 'ya', OriginalRepliedMessageSid: 'SM' + '9'.repeat(32), AccountSid: ACCOUNT };
    expect(twilio.handleWebhook(signedCallback(params), NOW)).toEqual({ ok: true, ignored: 0, events: [{ kind: 'inbound', fromE164: '+6281234567890', text: 'ya', providerMessageId: 'SM' + '2'.repeat(32), contextId: 'SM' + '9'.repeat(32) }] });
  });

  it('parameter names that are also Object.prototype members are plain data', () => {
    const params = { MessageSid: 'SM' + 'e'.repeat(32), MessageStatus: 'sent', constructor: 'x', toString: 'y' };
    expect(twilio.handleWebhook(signedCallback(params), NOW)).toMatchObject({ ok: true, events: [{ status: 'sent' }] });
    expect(twilio.handleWebhook(signedCallback(statusParams('constructor')), NOW)).toEqual({ ok: true, events: [], ignored: 1 });
  });

  it('property: for any form params, we accept exactly what the twilio package signs, and refuse any single-byte change', () => {
    const key = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,11}$/);
    fc.assert(fc.property(fc.dictionary(key, fc.string({ maxLength: 20 }), { minKeys: 1, maxKeys: 6 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (params, pos, delta) => {
      const body = Buffer.from(callback(params));
      const sig = getExpectedTwilioSignature(TOKEN, HOOK, formToObject(body.toString()));
      const ok = twilio.handleWebhook(webhookRequest({ url: HOOK, body, headers: { 'x-twilio-signature': sig } }), NOW);
      if (ok.ok !== true) return false;
      const tampered = Buffer.from(body);
      const i = pos % tampered.length;
      tampered[i] = (tampered[i]! + delta) % 256;
      const changed = formToObject(tampered.toString('latin1'));
      const stillEqual = JSON.stringify(Object.entries(changed).sort()) === JSON.stringify(Object.entries(formToObject(body.toString())).sort());
      // A change that decodes to the same parameters (e.g. %41 vs A) is the same request for Twilio's scheme.
      return stillEqual || twilio.handleWebhook(webhookRequest({ url: HOOK, body: tampered, headers: { 'x-twilio-signature': sig } }), NOW).ok === false;
    }), { numRuns: 300 });
  });
});

describe('twilio: test connection and status lookup', () => {
  it('GET Accounts/{sid}.json', () => {
    const c = twilio.testConnection();
    expect(c.request).toMatchObject({ method: 'GET', url: `http://sim.local:4010/twilio/2010-04-01/Accounts/${ACCOUNT}.json`, headers: { authorization: basic(ACCOUNT, TOKEN) }, body: '' });
    expect(c.interpret(response(200, { sid: ACCOUNT, status: 'active' }))).toEqual({ ok: true, detail: 'account active' });
    expect(c.interpret(response(200, { sid: ACCOUNT, status: 'suspended' }))).toEqual({ ok: false, reason: 'account status suspended' });
    expect(c.interpret(response(401, { code: 20003, message: 'Authenticate', status: 401 }))).toEqual({ ok: false, reason: 'twilio:20003: Authenticate' });
  });

  it('GET Messages/{sid}.json maps every status of twilio-oai\'s message_enum_status it can meet', () => {
    const lookup = twilio.statusLookup!;
    expect(lookup.build('SM' + 'e'.repeat(32))).toMatchObject({ method: 'GET', url: `http://sim.local:4010/twilio/2010-04-01/Accounts/${ACCOUNT}/Messages/SM${'e'.repeat(32)}.json`, body: '' });
    const statuses = (spec.$defs.message_enum_status.enum as string[]).filter((s) => !['receiving', 'received', 'partially_delivered'].includes(s));
    for (const s of statuses) expect(lookup.parse(response(200, { status: s })).kind).toBe('found');
    expect(lookup.parse(response(200, { status: 'undelivered', error_code: 63016 }))).toEqual({ kind: 'found', status: 'failed', errorCode: 'twilio:63016' });
    expect(lookup.parse(response(200, { status: 'queued', error_code: null }))).toEqual({ kind: 'found', status: 'accepted' });
    expect(lookup.parse(response(404, { code: 20404, message: 'not found' }))).toEqual({ kind: 'not_found' });
    expect(lookup.parse(response(503, ''))).toMatchObject({ kind: 'error', disposition: 'retry' });
  });
});
