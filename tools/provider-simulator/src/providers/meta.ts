import { createHmac, randomBytes } from 'node:crypto';
import type { MetaConfig } from '../config';
import { digits, isObj, str, toE164 } from '../util';
import type { ErrorKind, ErrorOptions, ProviderSim, Reply, SendInput } from './types';

////////// Meta WhatsApp Cloud API: POST /meta/{version}/{phoneNumberId}/messages,
// Bearer token, Graph errors {error:{message,type,code,error_data,fbtrace_id}},
// webhooks in the WebhookPayload shape signed with X-Hub-Signature-256.

function signMeta(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Meta's own error table (PROVIDERS.md §1): message and the HTTP status the simulator answers with. */
const META_ERRORS: Record<number, { title: string; http: number; transient?: boolean }> = {
  0: { title: 'AuthException', http: 401 },
  1: { title: 'An unknown error occurred', http: 500, transient: true },
  2: { title: 'Service temporarily unavailable', http: 503, transient: true },
  4: { title: 'Application request limit reached', http: 429, transient: true },
  10: { title: 'Permission denied', http: 403 },
  100: { title: 'Invalid parameter', http: 400 },
  190: { title: 'Invalid OAuth access token - Cannot parse access token', http: 401 },
  200: { title: 'Permission denied', http: 403 },
  368: { title: 'Temporarily blocked for policies violations', http: 400 },
  80007: { title: 'Rate limit issues', http: 429, transient: true },
  130429: { title: 'Rate limit hit', http: 429, transient: true },
  130472: { title: "User's number is part of an experiment", http: 400 },
  131000: { title: 'Something went wrong', http: 500, transient: true },
  131008: { title: 'Required parameter is missing', http: 400 },
  131009: { title: 'Parameter value is not valid', http: 400 },
  131016: { title: 'Service unavailable', http: 503, transient: true },
  131026: { title: 'Message undeliverable', http: 400 },
  131031: { title: 'Account has been locked', http: 400 },
  131047: { title: 'Re-engagement message', http: 400 },
  131048: { title: 'Spam rate limit hit', http: 400 },
  131049: { title: 'This message was not delivered to maintain healthy ecosystem engagement.', http: 400 },
  131050: { title: 'User has stopped receiving marketing messages', http: 400 },
  131056: { title: '(Business Account, Consumer Account) pair rate limit hit', http: 429, transient: true },
  132000: { title: 'Number of parameters does not match the expected number of params', http: 400 },
  132001: { title: 'Template name does not exist in the translation', http: 404 },
  132015: { title: 'Template is paused', http: 400 },
  132016: { title: 'Template is disabled', http: 400 },
  133004: { title: 'Server temporarily unavailable', http: 503, transient: true },
};

/** A wamid as Meta shapes it: base64 of the recipient's digits and a random 18-hex-digit message key. */
function wamid(toDigits: string): string {
  const d = Buffer.from(toDigits, 'ascii');
  const key = Buffer.from(randomBytes(9).toString('hex').toUpperCase(), 'ascii');
  return `wamid.${Buffer.concat([Buffer.from([0x1c, 0x18, d.length]), d, Buffer.from([0x15, 0x02, 0x00, 0x11, 0x18, key.length]), key, Buffer.from([0x00])]).toString('base64')}`;
}

/** Meta escapes non-ASCII characters as \uXXXX in webhook bodies (so a re-serialised body does not match the signature). */
const metaJson = (v: unknown) => JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const fbtrace = () => randomBytes(8).toString('base64').replace(/[+/=]/g, '').slice(0, 11);

function graphError(code: number, httpStatus: number | undefined, message: string | undefined, details?: string): Reply {
  const known = META_ERRORS[code];
  const title = message ?? known?.title ?? 'An error occurred';
  return {
    status: httpStatus ?? known?.http ?? 400,
    body: { error: {
      message: `(#${code}) ${title}`, type: 'OAuthException', code,
      error_data: { messaging_product: 'whatsapp', details: details ?? title },
      ...(known?.transient ? { is_transient: true } : {}), fbtrace_id: fbtrace(),
    } },
  };
}

export function createMeta(cfg: MetaConfig): ProviderSim {
  const envelope = (value: object) => metaJson({
    object: 'whatsapp_business_account',
    entry: [{ id: cfg.wabaId, changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp', metadata: { display_phone_number: cfg.displayPhoneNumber, phone_number_id: cfg.phoneNumberId }, ...value,
    } }] }],
  });
  const signed = (url: string, body: string) => ({ url, body, headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signMeta(body, cfg.appSecret) } });
  const unix = () => String(Math.floor(Date.now() / 1000));

  const authenticate = ({ headers }: SendInput): Reply | null =>
    (headers.authorization === `Bearer ${cfg.accessToken}` ? null : graphError(190, 401, 'Invalid OAuth access token.'));

  return {
    name: 'meta',
    sendPath: '/meta/:version/:phoneNumberId/messages',
    authenticate,
    parse({ body }: SendInput) {
      const b = isObj(body) ? body : {};
      const to = str(b.to);
      const type = str(b.type);
      const tpl = isObj(b.template) ? b.template : undefined;
      const text = isObj(b.text) ? b.text : undefined;
      if (b.messaging_product !== 'whatsapp' || !to || !type) return { ok: false, reply: graphError(100, 400, 'Invalid parameter') };
      if (type === 'template' && (!str(tpl?.name) || !isObj(tpl?.language) || !str(tpl.language.code))) {
        return { ok: false, reply: graphError(100, 400, 'Invalid parameter', 'template.name and template.language.code are required') };
      }
      if (type === 'text' && !str(text?.body)) return { ok: false, reply: graphError(100, 400, 'Invalid parameter', 'text.body is required') };
      return { ok: true, value: { recipients: [toE164(to)], echo: { input: to } } };
    },
    accept(_input, parsed) {
      const to = parsed.recipients[0]!;
      const id = wamid(digits(to));
      return {
        messages: [{ id, to }],
        reply: { status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: parsed.echo?.input ?? to, wa_id: digits(to) }], messages: [{ id, message_status: 'accepted' }] } },
      };
    },
    error(kind: ErrorKind, o: ErrorOptions) {
      if (kind === 'rate_limit') return graphError(Number(o.code ?? (o.scope === 'recipient' ? 131056 : 130429)), o.httpStatus ?? 429, o.message);
      if (kind === 'server_error') return graphError(Number(o.code ?? 131000), o.httpStatus ?? 500, o.message);
      return graphError(Number(o.code ?? 131026), o.httpStatus, o.message);
    },
    defaultFailCode: 131026,
    statusUrl: () => cfg.webhookUrl,
    inboundUrl: () => cfg.webhookUrl,
    urlSecrets: () => [],
    statusWebhook(msg, status, code, url) {
      const s: Record<string, unknown> = { id: msg.id, status, timestamp: unix(), recipient_id: digits(msg.to) };
      if (status === 'failed') {
        const c = Number(code ?? 131026);
        const title = META_ERRORS[c]?.title ?? 'Message failed';
        s.errors = [{ code: c, title, message: title, error_data: { details: title }, href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/' }];
      } else if (status === 'sent' || status === 'delivered') {
        s.conversation = { id: `CONV${msg.id.slice(-12)}`, origin: { type: 'utility' } };
        s.pricing = { billable: true, pricing_model: 'PMP', category: 'utility' };
      }
      return signed(url, envelope({ statuses: [s] }));
    },
    inboundWebhook({ from, text, name }, url) {
      const wa = digits(from);
      const id = wamid(wa);
      return { id, ...signed(url, envelope({
        contacts: [{ wa_id: wa, profile: { name } }],
        messages: [{ from: wa, id, timestamp: unix(), type: 'text', text: { body: text } }],
      })) };
    },
    extraRoutes: [{
      // the phone number node: what a "test connection" reads (GET /{version}/{phoneNumberId}?fields=…)
      method: 'get', kind: 'account', path: '/meta/:version/:phoneNumberId',
      handle(input) {
        const denied = authenticate(input);
        if (denied) return denied;
        if (input.params.phoneNumberId !== cfg.phoneNumberId) {
          return graphError(100, 400, `Unsupported get request. Object with ID '${input.params.phoneNumberId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation`);
        }
        return { status: 200, body: { verified_name: 'SICANTIK (simulated)', display_phone_number: `+${cfg.displayPhoneNumber}`, quality_rating: 'GREEN', id: cfg.phoneNumberId } };
      },
    }],
  };
}
