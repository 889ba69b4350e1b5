import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { BOTH, MESSAGE, NOW, noSecretFiles, response, webhookRequest } from '../testkit.spec';
import { metaConfigFromEnv, type MetaConfig } from './config';
import { classifyMetaError } from './errors';
import { createMetaProvider } from './index';

// Oracle: Meta's own OpenAPI spec (facebook/openapi, v23.0), vendored fragments.
const spec = parseYaml(readFileSync(join(__dirname, 'spec/business-messaging-api_v23.0.fragments.yaml'), 'utf8'));
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ $id: 'meta', ...spec });
const schema = (name: string) => {
  const v = ajv.getSchema(`meta#/components/schemas/${name}`);
  if (!v) throw new Error(`no schema ${name}`);
  return (data: unknown) => { const ok = v(data) as boolean; return ok ? 'valid' : ajv.errorsText(v.errors); };
};
/** TemplateMessage, plus each component against its discriminator mapping (the validator ignores discriminator). */
function validTemplateMessage(body: Record<string, any>): string {
  const whole = schema('TemplateMessage')(body);
  if (whole !== 'valid') return whole;
  for (const c of body.template.components ?? []) {
    const mapped = schema(({ header: 'HeaderComponent', body: 'BodyComponent', button: 'ButtonComponent' } as Record<string, string>)[c.type] ?? 'TemplateComponent')(c);
    if (mapped !== 'valid') return mapped;
    for (const p of c.parameters ?? []) {
      const pv = schema(p.type === 'text' ? 'TextParameter' : 'ParameterObject')(p);
      if (pv !== 'valid') return pv;
    }
  }
  return 'valid';
}

const ENV = {
  META_ACCESS_TOKEN: 'EAAG-system-user-token',
  META_PHONE_NUMBER_ID: '106540352242922',
  META_APP_SECRET: 'app-secret-123',
  META_VERIFY_TOKEN: 'verify-me-please',
  META_BASE_URL: 'http://sim.local:4010/meta',
  META_TEMPLATES: JSON.stringify({
    PERMIT_EXPIRY_REMINDER: 'permit_expiry_reminder',
    NAMED: { name: 'permit_expiry_named', parameterFormat: 'named', language: 'id' },
    EMPTY: 'no_params_template',
  }),
};
const cfg = metaConfigFromEnv(ENV, noSecretFiles, BOTH) as MetaConfig;
const meta = createMetaProvider(cfg);

describe('meta: config', () => {
  it('is undefined when nothing is set, and refuses partial config naming the missing variables only', () => {
    expect(metaConfigFromEnv({}, noSecretFiles, BOTH)).toBeUndefined();
    expect(() => metaConfigFromEnv({ META_ACCESS_TOKEN: 'secret-value-xyz' }, noSecretFiles, BOTH)).toThrow(/missing META_PHONE_NUMBER_ID, META_APP_SECRET/);
    try { metaConfigFromEnv({ META_ACCESS_TOKEN: 'secret-value-xyz' }, noSecretFiles, BOTH); } catch (e) { expect(String(e)).not.toContain('secret-value-xyz'); }
  });
  it('pins Graph v23.0 and reads templates', () => {
    expect(() => metaConfigFromEnv({ ...ENV, META_API_VERSION: 'v21.0' }, noSecretFiles, BOTH)).toThrow(/pinned to v23.0/);
    expect(cfg.templates.get('NAMED')).toEqual({ name: 'permit_expiry_named', language: 'id', parameterFormat: 'named' });
    expect(() => metaConfigFromEnv({ ...ENV, META_TEMPLATES: '{"X":{"nam":"typo"}}' }, noSecretFiles, BOTH)).toThrow(/template code "X"/);
  });
});

describe('meta: send request', () => {
  it('builds the exact template request, valid against the spec TemplateMessage', () => {
    const req = meta.buildSend(MESSAGE);
    expect(req.method).toBe('POST');
    expect(req.url).toBe('http://sim.local:4010/meta/v23.0/106540352242922/messages');
    expect(req.headers).toEqual({ authorization: 'Bearer EAAG-system-user-token', 'content-type': 'application/json' });
    expect(req.body).toBe('{"messaging_product":"whatsapp","recipient_type":"individual","to":"+6281234567890","type":"template",'
      + '"template":{"name":"permit_expiry_reminder","language":{"code":"id","policy":"deterministic"},"components":[{"type":"body","parameters":['
      + '{"type":"text","text":"Budi"},{"type":"text","text":"503/1"},{"type":"text","text":"1 Maret 2027"}]}]}}');
    expect(validTemplateMessage(JSON.parse(req.body))).toBe('valid');
  });

  it('the 24 h window is an input (freeForm, from the dispatcher\'s routing): a mapped template is always sent; text only when free-form is allowed, else refused before any request', () => {
    expect(JSON.parse(meta.buildSend({ ...MESSAGE, freeForm: false }).body).type).toBe('template');
    expect(JSON.parse(meta.buildSend({ ...MESSAGE, templateCode: 'UNMAPPED', freeForm: true }).body)).toMatchObject({ type: 'text', text: { body: MESSAGE.text } });
    expect(JSON.parse(meta.buildSend({ ...MESSAGE, templateCode: 'UNMAPPED' }).body).type).toBe('text'); // not said (a test send): as before
    expect(() => meta.buildSend({ ...MESSAGE, templateCode: 'UNMAPPED', freeForm: false })).toThrow(expect.objectContaining({ code: 'PROVIDER_CONFIG', message: expect.stringContaining('outside the 24 h customer-service window') }));
  });

  it('named parameters carry parameter_name and still validate', () => {
    const body = JSON.parse(meta.buildSend({ ...MESSAGE, templateCode: 'NAMED' }).body);
    expect(body.template.components[0].parameters[0]).toEqual({ type: 'text', parameter_name: 'partner_name', text: 'Budi' });
    expect(validTemplateMessage(body)).toBe('valid');
  });

  it('a template without parameters has no components; policy is always deterministic', () => {
    const body = JSON.parse(meta.buildSend({ ...MESSAGE, templateCode: 'EMPTY', parameters: [] }).body);
    expect(body.template).toEqual({ name: 'no_params_template', language: { code: 'id', policy: 'deterministic' } });
    expect(validTemplateMessage(body)).toBe('valid');
  });

  it('the spec oracle rejects what we must never send (no policy, missing text)', () => {
    const body = JSON.parse(meta.buildSend(MESSAGE).body);
    delete body.template.language.policy;
    expect(validTemplateMessage(body)).not.toBe('valid');
    const noText = JSON.parse(meta.buildSend(MESSAGE).body);
    delete noText.template.components[0].parameters[0].text;
    expect(validTemplateMessage(noText)).not.toBe('valid');
  });

  it('without a template mapping it sends the rendered text', () => {
    expect(meta.buildSend({ ...MESSAGE, templateCode: 'UNMAPPED' }).body).toBe(
      '{"messaging_product":"whatsapp","recipient_type":"individual","to":"+6281234567890","type":"text",'
      + '"text":{"body":"Yth. Budi, izin 503/1 Anda berakhir pada 1 Maret 2027.","preview_url":false}}');
  });

  it('never shows the token when the request is logged', () => {
    const req = meta.buildSend(MESSAGE);
    expect(JSON.stringify(req)).not.toContain('EAAG-system-user-token');
    expect(require('node:util').inspect(req)).not.toContain('EAAG-system-user-token');
  });
});

describe('meta: responses', () => {
  it('reads messages[0].id from a spec-valid success', () => {
    const ok = { messaging_product: 'whatsapp', contacts: [{ input: '+6281234567890', wa_id: '6281234567890' }], messages: [{ id: 'wamid.HBgLNjI4MTIzNDU2Nzg5MBUCABIYIDNB', message_status: 'accepted' }] };
    expect(schema('MessageResponsePayload')(ok)).toBe('valid');
    expect(meta.parseSendResponse(MESSAGE, response(200, ok))).toEqual({ kind: 'accepted', providerMessageId: 'wamid.HBgLNjI4MTIzNDU2Nzg5MBUCABIYIDNB' });
  });

  it('a 2xx without an id is never treated as retryable (it may have been sent)', () => {
    expect(meta.parseSendResponse(MESSAGE, response(200, { messaging_product: 'whatsapp' }))).toMatchObject({ kind: 'failed', disposition: 'permanent' });
  });

  // Meta: branch on error.code, never on the HTTP status (all of these come with 400 here).
  it.each([
    [130429, 'retry', 1_000], [131056, 'retry', 6_000], [4, 'retry', 60_000], [80007, 'retry', 60_000],
    [1, 'retry', undefined], [2, 'retry', undefined], [131000, 'retry', undefined], [131016, 'retry', undefined], [133004, 'retry', undefined],
    [0, 'fallback', undefined], [190, 'fallback', undefined], [10, 'fallback', undefined], [200, 'fallback', undefined], [299, 'fallback', undefined],
    [100, 'permanent', undefined], [131008, 'permanent', undefined], [131009, 'permanent', undefined],
    [131026, 'fallback', undefined], [131047, 'fallback', undefined], [132000, 'fallback', undefined], [132001, 'fallback', undefined],
    [132015, 'fallback', undefined], [132016, 'fallback', undefined], [131048, 'fallback', undefined], [131049, 'retry', 86_400_000],
    [131050, 'permanent', undefined], [130472, 'permanent', undefined], [368, 'fallback', undefined], [131031, 'fallback', undefined],
    [999999, 'permanent', undefined],
  ])('error.code %d -> %s', (code, disposition, retryAfterMs) => {
    const out = meta.parseSendResponse(MESSAGE, response(400, { error: { message: '(#x) msg', type: 'OAuthException', code, error_data: { messaging_product: 'whatsapp', details: 'detail text' }, fbtrace_id: 'A' } }));
    expect(out).toEqual({ kind: 'failed', disposition, errorCode: `meta:${code}`, reason: 'detail text', ...(retryAfterMs ? { retryAfterMs } : {}) });
  });

  it('masks phone numbers a provider echoes in its reason', () => {
    const out = meta.parseSendResponse(MESSAGE, response(400, { error: { message: 'x', type: 'OAuthException', code: 131026, error_data: { details: 'Recipient +6281234567890 is not on WhatsApp' } } }));
    expect(out).toMatchObject({ reason: 'Recipient +628******7890 is not on WhatsApp' });
  });

  it('an unknown code marked is_transient is retried; no Meta body falls back to the HTTP status', () => {
    expect(classifyMetaError(424242, true).disposition).toBe('retry');
    expect(meta.parseSendResponse(MESSAGE, response(502, '<html>bad gateway</html>'))).toEqual({ kind: 'failed', disposition: 'retry', errorCode: 'http:502', reason: 'HTTP 502 without a Meta error body' });
    expect(meta.parseSendResponse(MESSAGE, response(401, ''))).toMatchObject({ disposition: 'fallback', errorCode: 'http:401' });
  });
});

// Oracle for signatures: node:crypto HMAC-SHA256 over the raw bytes, as Meta documents.
const sign = (body: string | Buffer, secret = 'app-secret-123') => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
const URL_ = 'https://tracker.example.id/webhooks/meta';
const statusPayload = (status: string, id = 'wamid.ABC', extra: object = {}) => ({
  object: 'whatsapp_business_account',
  entry: [{ id: '419561257915477', changes: [{ field: 'messages', value: {
    messaging_product: 'whatsapp', metadata: { display_phone_number: '6281100000000', phone_number_id: '106540352242922' },
    statuses: [{ id, status, timestamp: '1764000000', recipient_id: '6281234567890', conversation: { id: 'c1', origin: { type: 'utility' } },
      pricing: { billable: true, pricing_model: 'PMP', category: 'utility' }, ...extra }],
  } }] }],
});
const signed = (payload: unknown) => { const body = JSON.stringify(payload); return webhookRequest({ url: URL_, body, headers: { 'X-Hub-Signature-256': sign(body) } }); };

describe('meta: webhooks', () => {
  it('status fixtures are valid WebhookPayloads (and the oracle refuses a bogus status)', () => {
    expect(schema('WebhookPayload')(statusPayload('delivered'))).toBe('valid');
    expect(schema('WebhookPayload')(statusPayload('bogus'))).not.toBe('valid');
  });

  it('accepts a valid signature and maps the status with its time', () => {
    expect(meta.handleWebhook(signed(statusPayload('delivered')), NOW)).toEqual({
      ok: true, ignored: 0, events: [{ kind: 'status', providerMessageId: 'wamid.ABC', status: 'delivered', at: new Date(1764000000 * 1000) }],
    });
  });

  it('rejects forged (other secret), tampered, missing and malformed signatures', () => {
    const body = JSON.stringify(statusPayload('read'));
    expect(meta.handleWebhook(webhookRequest({ url: URL_, body, headers: { 'x-hub-signature-256': sign(body, 'not-our-secret') } }), NOW)).toEqual({ ok: false, reason: 'signature' });
    expect(meta.handleWebhook(webhookRequest({ url: URL_, body: body.replace('read', 'sent'), headers: { 'x-hub-signature-256': sign(body) } }), NOW)).toEqual({ ok: false, reason: 'signature' });
    expect(meta.handleWebhook(webhookRequest({ url: URL_, body }), NOW)).toEqual({ ok: false, reason: 'missing' });
    expect(meta.handleWebhook(webhookRequest({ url: URL_, body, headers: { 'x-hub-signature-256': 'sha1=abc' } }), NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('reads the message a reply answered (context.id) as its contextId', () => {
    const raw = '{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"1","phone_number_id":"2"},"messages":[{"context":{"from":"6281100000000","id":"wamid.OUT7"},"from":"6281234567890","id":"wamid.IN2","timestamp":"1764000100","type":"text","text":{"body":"ya"}}]}}]}]}';
    expect(meta.handleWebhook(webhookRequest({ url: URL_, body: raw, headers: { 'x-hub-signature-256': sign(raw) } }), NOW))
      .toEqual({ ok: true, ignored: 0, events: [{ kind: 'inbound', fromE164: '+6281234567890', text: 'ya', providerMessageId: 'wamid.IN2', at: new Date(1764000100 * 1000), contextId: 'wamid.OUT7' }] });
  });

  it('verifies the raw bytes: Meta escapes non-ASCII, re-serialising would change them', () => {
    const raw = '{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"1","phone_number_id":"2"},"contacts":[{"profile":{"name":"Ren\\u00e9"},"wa_id":"6281234567890"}],"messages":[{"from":"6281234567890","id":"wamid.IN1","timestamp":"1764000100","type":"text","text":{"body":"BERHENTI \\ud83d\\ude4f"}}]}}]}]}';
    const out = meta.handleWebhook(webhookRequest({ url: URL_, body: raw, headers: { 'x-hub-signature-256': sign(raw) } }), NOW);
    expect(out).toEqual({ ok: true, ignored: 0, events: [{ kind: 'inbound', fromE164: '+6281234567890', text: 'BERHENTI 🙏', providerMessageId: 'wamid.IN1', at: new Date(1764000100 * 1000) }] });
    const reserialised = JSON.stringify(JSON.parse(raw));
    expect(reserialised).not.toBe(raw);
    expect(meta.handleWebhook(webhookRequest({ url: URL_, body: reserialised, headers: { 'x-hub-signature-256': sign(raw) } }), NOW)).toEqual({ ok: false, reason: 'signature' });
  });

  it('a replayed delivery verifies again and yields the same events (no timestamp in this scheme; the tracker dedupes)', () => {
    const req = signed(statusPayload('sent'));
    expect(meta.handleWebhook(req, NOW)).toEqual(meta.handleWebhook(req, new Date(NOW.getTime() + 86_400_000)));
  });

  it('out-of-order statuses parse independently (read before sent)', () => {
    const read = meta.handleWebhook(signed(statusPayload('read', 'wamid.X')), NOW);
    const sent = meta.handleWebhook(signed(statusPayload('sent', 'wamid.X')), NOW);
    expect(read).toMatchObject({ ok: true, events: [{ status: 'read' }] });
    expect(sent).toMatchObject({ ok: true, events: [{ status: 'sent' }] });
  });

  it('failed statuses carry the code, reason and disposition', () => {
    const payload = statusPayload('failed', 'wamid.F', { errors: [{ code: 131026, title: 'Message undeliverable', message: 'Message undeliverable', error_data: { details: 'Message Undeliverable.' } }] });
    expect(schema('WebhookPayload')(payload)).toBe('valid');
    expect(meta.handleWebhook(signed(payload), NOW)).toMatchObject({ ok: true, events: [{ status: 'failed', errorCode: 'meta:131026', reason: 'Message Undeliverable.', disposition: 'fallback' }] });
  });

  it('counts what it does not map and refuses a signed body that is not JSON', () => {
    expect(meta.handleWebhook(signed({ object: 'page', entry: [] }), NOW)).toEqual({ ok: true, events: [], ignored: 1 });
    expect(meta.handleWebhook(signed(statusPayload('constructor')), NOW)).toEqual({ ok: true, events: [], ignored: 1 });
    const body = 'not json';
    expect(meta.handleWebhook(webhookRequest({ url: URL_, body, headers: { 'x-hub-signature-256': sign(body) } }), NOW)).toEqual({ ok: false, reason: 'unparseable' });
    expect(meta.handleWebhook(webhookRequest({ url: URL_, body: '[1]', headers: { 'x-hub-signature-256': sign('[1]') } }), NOW)).toEqual({ ok: false, reason: 'unparseable' });
    // Not verified: whatever the body, never `unparseable`.
    expect(meta.handleWebhook(webhookRequest({ url: URL_, body, headers: { 'x-hub-signature-256': sign('other') } }), NOW)).toEqual({ ok: false, reason: 'signature' });
    expect(meta.handleWebhook(webhookRequest({ url: URL_, body }), NOW)).toEqual({ ok: false, reason: 'missing' });
    expect(meta.webhook.rejectionStatus).toEqual({ missing: 401, signature: 401, stale: 401, malformed: 401, unparseable: 400 });
  });

  it('property: any single-byte change of a signed body fails verification', () => {
    const body = Buffer.from(JSON.stringify(statusPayload('delivered')));
    const signature = sign(body);
    fc.assert(fc.property(fc.nat(body.length - 1), fc.integer({ min: 1, max: 255 }), (i, delta) => {
      const tampered = Buffer.from(body);
      tampered[i] = (tampered[i]! + delta) % 256;
      return meta.handleWebhook(webhookRequest({ url: URL_, body: tampered, headers: { 'x-hub-signature-256': signature } }), NOW).ok === false;
    }), { numRuns: 300 });
  });

  it('answers the GET subscription handshake only with our verify token', () => {
    const get = (q: string) => webhookRequest({ url: `${URL_}?${q}`, body: '', method: 'GET' });
    expect(meta.handshake!(get('hub.mode=subscribe&hub.verify_token=verify-me-please&hub.challenge=1158201444'))).toEqual({ status: 200, body: '1158201444' });
    expect(meta.handshake!(get('hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1'))).toEqual({ status: 403, body: 'Forbidden' });
    expect(meta.handshake!(get('hub.mode=unsubscribe&hub.verify_token=verify-me-please&hub.challenge=1')).status).toBe(403);
  });
});

describe('meta: test connection', () => {
  it('reads our phone-number id with the token', () => {
    const check = meta.testConnection();
    expect(check.request).toMatchObject({ method: 'GET', url: 'http://sim.local:4010/meta/v23.0/106540352242922?fields=display_phone_number,verified_name,quality_rating', body: '' });
    expect(check.request.headers).toEqual({ authorization: 'Bearer EAAG-system-user-token' });
    expect(check.interpret(response(200, { id: '106540352242922', display_phone_number: '+62 811-0000-0000', verified_name: 'DPMPTSP', quality_rating: 'GREEN' })))
      .toEqual({ ok: true, detail: 'number +628******0000 DPMPTSP quality GREEN' });
    expect(check.interpret(response(401, { error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 } }))).toEqual({ ok: false, reason: 'meta:190: Invalid OAuth access token.' });
    expect(meta.statusLookup).toBeUndefined();
  });
});
