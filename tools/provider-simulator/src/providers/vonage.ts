import { createHash, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { VonageConfig } from '../config';
import { digits, isObj, str } from '../util';
import type { ErrorKind, ErrorOptions, ProviderSim, Reply, SendInput } from './types';

////////// Vonage Messages API: POST /vonage/v1/messages (JSON), Bearer JWT (RS256, the
// application's key) or Basic api_key:api_secret; 202 {message_uuid}; errors RFC 7807
// application/problem+json; status and inbound webhooks JSON with Authorization: Bearer
// <HS256 JWT signed with the signature secret, payload_hash = sha256(raw body)>.

const VONAGE_ERRORS: Record<number, { title: string; detail: string; http: number }> = {
  1000: { title: 'Throttled', detail: 'Please wait, then retry your request', http: 429 },
  1010: { title: 'Missing params', detail: 'Your request is incomplete and missing some mandatory parameters', http: 422 },
  1020: { title: 'Invalid params', detail: 'The value of one or more parameters is invalid', http: 422 },
  1022: { title: 'Invalid template', detail: 'The template or its parameters are invalid', http: 422 },
  1030: { title: 'Internal error', detail: 'There was an error processing your request in the Platform', http: 500 },
  1040: { title: 'Invalid message', detail: 'The Platform was unable to process your request', http: 422 },
  1050: { title: 'Number barred', detail: 'The number you are trying to send messages to is on the list of barred numbers', http: 422 },
  1060: { title: 'Partner account barred', detail: 'Your Vonage account has been suspended', http: 403 },
  1070: { title: 'Partner quota exceeded', detail: 'You do not have enough credit to send the message', http: 402 },
  1100: { title: 'Communication failed', detail: 'Communication with the provider failed', http: 500 },
  1300: { title: 'Not part of the provider network', detail: 'The recipient is not a WhatsApp user', http: 422 },
};

function problem(code: number | string, httpStatus?: number, message?: string, extra: Record<string, unknown> = {}): Reply {
  const known = VONAGE_ERRORS[Number(code)];
  return {
    status: httpStatus ?? known?.http ?? 422,
    contentType: 'application/problem+json',
    body: {
      type: code === 'unauthorized' ? 'https://developer.vonage.com/api-errors#unauthorized' : `https://developer.vonage.com/api-errors/messages#${code}`,
      title: code === 'unauthorized' ? 'Unauthorized' : (known?.title ?? 'Error'),
      detail: message ?? (code === 'unauthorized' ? 'You did not provide correct credentials.' : (known?.detail ?? 'The request failed')),
      instance: randomUUID(),
      ...extra,
    },
  };
}

/** Vonage's status words for ours. */
const VONAGE_STATUS: Record<string, string> = { sent: 'submitted', delivered: 'delivered', read: 'read', failed: 'undeliverable' };

export function createVonage(cfg: VonageConfig): ProviderSim {
  const bearerOk = (token: string): boolean => {
    try {
      const claims = cfg.publicKey
        ? jwt.verify(token, cfg.publicKey, { algorithms: ['RS256'] })
        : (() => {
          // Without the application's public key: a well-formed RS256 token for our application, not expired.
          const d = jwt.decode(token, { complete: true });
          if (!d || d.header.alg !== 'RS256' || typeof d.payload !== 'object') return null;
          const exp = (d.payload as { exp?: number }).exp;
          return exp !== undefined && exp * 1000 < Date.now() ? null : d.payload;
        })();
      return isObj(claims) && claims.application_id === cfg.applicationId;
    } catch {
      return false;
    }
  };
  const signed = (url: string, payload: object) => {
    const body = JSON.stringify(payload);
    const token = jwt.sign({
      jti: randomUUID(), iss: 'Vonage', api_key: cfg.apiKey, application_id: cfg.applicationId,
      payload_hash: createHash('sha256').update(body).digest('hex'),
    }, cfg.signatureSecret, { algorithm: 'HS256' });
    return { url, body, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'User-Agent': 'Vonage-Messages/1.0' } };
  };

  return {
    name: 'vonage',
    sendPath: '/vonage/v1/messages',
    authenticate({ headers }) {
      const auth = String(headers.authorization ?? '');
      const basic = /^Basic\s+(\S+)$/i.exec(auth);
      if (basic && Buffer.from(basic[1]!, 'base64').toString('utf8') === `${cfg.apiKey}:${cfg.apiSecret}`) return null;
      const bearer = /^Bearer\s+(\S+)$/i.exec(auth);
      if (bearer && bearerOk(bearer[1]!)) return null;
      return problem('unauthorized', 401);
    },
    parse({ body }: SendInput) {
      const b = isObj(body) ? body : {};
      const missing = ['message_type', 'channel', 'to', 'from'].filter((k) => !str(b[k]));
      if (missing.length) return { ok: false, reply: problem(1010, 422, undefined, { invalid_parameters: missing.map((name) => ({ name, reason: 'Is required.' })) }) };
      const bad: { name: string; reason: string }[] = [];
      if (b.channel !== 'whatsapp') bad.push({ name: 'channel', reason: 'Must be whatsapp' });
      if (!/^[1-9]\d{6,14}$/.test(str(b.to)!)) bad.push({ name: 'to', reason: 'Must be an E.164 number without a leading + or 00' });
      const type = str(b.message_type);
      const tpl = isObj(b.template) ? b.template : undefined;
      if (type === 'template' && (!str(tpl?.name) || !isObj(b.whatsapp) || !str(b.whatsapp.locale))) bad.push({ name: 'template', reason: 'template.name and whatsapp.locale are required' });
      else if (type === 'text' && !str(b.text)) bad.push({ name: 'text', reason: 'Is required.' });
      else if (type === 'custom' && !isObj(b.custom)) bad.push({ name: 'custom', reason: 'Is required.' });
      else if (!['template', 'text', 'custom', 'image', 'document', 'video', 'audio', 'file', 'sticker'].includes(type!)) bad.push({ name: 'message_type', reason: 'Unsupported message_type' });
      if (bad.length) return { ok: false, reply: problem(1020, 422, undefined, { invalid_parameters: bad }) };
      return { ok: true, value: { recipients: [`+${str(b.to)}`], from: str(b.from), clientRef: str(b.client_ref) } };
    },
    accept(_input, parsed) {
      const id = randomUUID();
      return { messages: [{ id, to: parsed.recipients[0]! }], reply: { status: 202, body: { message_uuid: id } } };
    },
    error(kind: ErrorKind, o: ErrorOptions) {
      if (kind === 'rate_limit') return problem(o.code ?? 1000, o.httpStatus ?? 429, o.message);
      if (kind === 'server_error') return problem(o.code ?? 1030, o.httpStatus ?? 500, o.message);
      return problem(o.code ?? 1020, o.httpStatus, o.message);
    },
    defaultFailCode: 1300,
    statusUrl: () => cfg.webhookUrl,
    inboundUrl: () => cfg.webhookUrl,
    urlSecrets: () => [],
    statusWebhook(m, status, code, url) {
      const word = VONAGE_STATUS[status] ?? status;
      const failed = word === 'undeliverable' || word === 'rejected';
      const c = Number(code ?? 1300);
      return signed(url, {
        message_uuid: m.id, to: digits(m.to), from: m.from ?? cfg.from, timestamp: new Date().toISOString(), status: word, channel: 'whatsapp',
        ...(m.clientRef ? { client_ref: m.clientRef } : {}),
        ...(failed
          ? { error: { type: `https://developer.vonage.com/api-errors/messages#${c}`, title: c, detail: VONAGE_ERRORS[c]?.detail ?? 'The message could not be delivered', instance: randomUUID() } }
          : { usage: { currency: 'EUR', price: '0.0147' }, whatsapp: { conversation: { id: `c${m.id.replace(/-/g, '').slice(0, 16)}`, origin: { type: 'utility' } } } }),
      });
    },
    inboundWebhook({ from, text, name }, url) {
      const id = randomUUID();
      return { id, ...signed(url, {
        channel: 'whatsapp', message_uuid: id, to: cfg.from, from: digits(from), timestamp: new Date().toISOString(),
        message_type: 'text', text, profile: { name }, context_status: 'none',
      }) };
    },
    extraRoutes: [{
      // rest.nexmo.com's balance check (api_key/api_secret in the query, or Basic): what a "test connection" reads
      method: 'get', kind: 'account', path: '/vonage-rest/account/get-balance',
      handle({ query, headers }) {
        const basic = /^Basic\s+(\S+)$/i.exec(String(headers.authorization ?? ''));
        const ok = (query.api_key === cfg.apiKey && query.api_secret === cfg.apiSecret)
          || (!!basic && Buffer.from(basic[1]!, 'base64').toString('utf8') === `${cfg.apiKey}:${cfg.apiSecret}`);
        return ok ? { status: 200, body: { value: 10.28, autoReload: false } } : problem('unauthorized', 401);
      },
    }],
  };
}
