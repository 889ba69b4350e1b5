import type {
  ConnectionCheck, DeliveryStatus, Disposition, HttpRequest, HttpResponse, LookupResult, OutboundMessage, SendOutcome, StatusEvent,
  WebhookEvent, WebhookRequest, WebhookResult,
} from '../types';
import { hmacBase64, safeEqual, sha256Hex } from '../shared/crypto';
import { basicAuth, dispositionFromHttpStatus, formBody, is2xx, isObject, parseJson, reasonText, retryAfterMs, str, withRedaction, own } from '../shared/http';
import { assertE164, e164FromInternational } from '../shared/phone';
import { bodyText, header, webhookDescriptor } from '../shared/webhook';
import { roleValue } from '../shared/config';
import type { TwilioConfig } from './config';
import { classifyTwilioError } from './errors';

////////// Twilio Programmable Messaging (WhatsApp) with Content templates
// Send: POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded, HTTP Basic.
// Webhooks: X-Twilio-Signature = base64(HMAC-SHA1(AuthToken, URL + sorted key+value pairs)).

export const twilioWirePhone = (e164: string): string => `whatsapp:${assertE164(e164)}`;

function twilioSendPairs(cfg: TwilioConfig, msg: OutboundMessage): [string, string][] {
  const pairs: [string, string][] = [['To', twilioWirePhone(msg.toE164)]];
  if (cfg.messagingServiceSid) pairs.push(['MessagingServiceSid', cfg.messagingServiceSid]);
  if (cfg.from) pairs.push(['From', `whatsapp:${cfg.from}`]);
  const contentSid = cfg.templates.get(msg.templateCode);
  if (contentSid) {
    pairs.push(['ContentSid', contentSid]);
    // Content variables are keyed by sequential integers "1".."n" (error 63028 otherwise).
    if (msg.parameters.length) pairs.push(['ContentVariables', JSON.stringify(Object.fromEntries(msg.parameters.map((p, i) => [String(i + 1), p.value])))]);
  } else {
    pairs.push(['Body', msg.text]);
  }
  if (cfg.statusCallbackUrl) pairs.push(['StatusCallback', cfg.statusCallbackUrl]);
  return pairs;
}

const accountSid = (cfg: TwilioConfig) => roleValue(cfg.accountSid, 'twilio', 'send', 'TWILIO_ACCOUNT_SID');
const restAuth = (cfg: TwilioConfig) => (cfg.apiKey ? basicAuth(cfg.apiKey.sid, cfg.apiKey.secret) : basicAuth(accountSid(cfg), roleValue(cfg.authToken, 'twilio', 'send', 'TWILIO_AUTH_TOKEN')));
const secretsOf = (cfg: TwilioConfig) => [...(cfg.authToken ? [cfg.authToken] : []), ...(cfg.apiKey ? [cfg.apiKey.secret] : [])];
const accountUrl = (cfg: TwilioConfig) => `${cfg.baseUrl}/2010-04-01/Accounts/${accountSid(cfg)}`;

export function twilioBuildSend(cfg: TwilioConfig, msg: OutboundMessage): HttpRequest {
  return withRedaction({
    method: 'POST',
    url: `${accountUrl(cfg)}/Messages.json`,
    headers: { authorization: restAuth(cfg), 'content-type': 'application/x-www-form-urlencoded' },
    body: formBody(twilioSendPairs(cfg, msg)),
  }, secretsOf(cfg));
}

function twilioFailure(res: HttpResponse): Extract<SendOutcome, { kind: 'failed' }> {
  const body = parseJson(res.body);
  const code = isObject(body) && typeof body.code === 'number' ? body.code : undefined;
  const known = code === undefined ? undefined : classifyTwilioError(code);
  const disposition: Disposition = known ?? dispositionFromHttpStatus(res.status);
  const wait = retryAfterMs(res);
  return {
    kind: 'failed', disposition,
    errorCode: code !== undefined ? `twilio:${code}` : `http:${res.status}`,
    reason: reasonText(isObject(body) ? body.message : undefined, `HTTP ${res.status}`),
    ...(disposition === 'retry' && wait !== undefined ? { retryAfterMs: wait } : {}),
  };
}

export function twilioParseSendResponse(res: HttpResponse): SendOutcome {
  if (is2xx(res.status)) {
    const body = parseJson(res.body);
    const sid = isObject(body) ? str(body.sid) : undefined;
    if (sid && /^(SM|MM)[0-9a-fA-F]{32}$/.test(sid)) return { kind: 'accepted', providerMessageId: sid };
    return { kind: 'failed', disposition: 'permanent', errorCode: `http:${res.status}`, reason: 'Twilio answered 2xx without a message sid' };
  }
  return twilioFailure(res);
}

////////// Webhook signature (the algorithm of twilio-node's webhooks.ts, over the raw body)

/** Twilio reads the answer to an incoming message as TwiML: an empty Response sends no reply. */
export const TWILIO_WEBHOOK = webhookDescriptor({
  successReply: { status: 200, contentType: 'text/xml', body: '<?xml version="1.0" encoding="UTF-8"?><Response></Response>' },
});

type Params = Record<string, string[]>;

/** base64(HMAC-SHA1(authToken, url + for each key in sorted order: key + value, for each distinct value in sorted order)). */
function twilioSignature(authToken: string, url: string, params: Params): string {
  const data = Object.keys(params).sort().reduce((acc, k) => acc + [...new Set(params[k])].sort().map((v) => k + v).join(''), url);
  return hmacBase64('sha1', authToken, Buffer.from(data, 'utf8'));
}

/** The URL as received, without its port, and with the scheme's default port (as twilio-node tries). */
function urlVariants(url: string): string[] {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/i.exec(url);
  if (!m) return [url];
  const [, scheme, authority, rest] = m as unknown as [string, string, string, string];
  const at = authority.lastIndexOf('@');
  const user = authority.slice(0, at + 1);
  const hostPort = authority.slice(at + 1);
  const colon = hostPort.indexOf(':', hostPort.lastIndexOf(']') + 1);
  const host = colon === -1 ? hostPort : hostPort.slice(0, colon);
  const defaultPort = scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  return [...new Set([url, scheme + user + host + rest, colon === -1 ? scheme + user + host + defaultPort + rest : url])];
}

function formParams(text: string): Params {
  const out: Params = Object.create(null) as Params; // keys such as "constructor" are data here
  for (const [k, v] of new URLSearchParams(text)) (out[k] ??= []).push(v);
  return out;
}

/**
 * A body a form encoder can have produced: only characters such encoders leave as they
 * are, percent escapes of two hex digits, and escapes that decode to UTF-8. Twilio's
 * callbacks always are; JSON, binary data or broken escapes are not (URLSearchParams
 * would read them anyway, so it cannot be the judge).
 */
const FORM_BODY = /^(?:[A-Za-z0-9\-._~!$'()*+,;:@/?=&]|%[0-9A-Fa-f]{2})*$/;
function isFormEncoded(text: string): boolean {
  if (!FORM_BODY.test(text)) return false;
  try {
    for (const part of text.split(/[&=]/)) decodeURIComponent(part.replace(/\+/g, ' '));
    return true;
  } catch {
    return false;
  }
}

/**
 * Verified first, judged after: the signature is computed over what a lenient form reader
 * makes of the body (as twilio-node does behind a body parser), so a correctly signed body
 * that is not form-encoded (or, with bodySHA256, not a JSON object) is `unparseable`
 * (400), while anything unsigned stays a 401 whatever its body.
 */
function verifyTwilioSignature(cfg: TwilioConfig, req: WebhookRequest): { result: 'ok' | 'missing' | 'malformed' | 'signature' | 'unparseable'; params?: Params } {
  const sig = header(req, 'x-twilio-signature');
  if (sig === undefined) return { result: 'missing' };
  const text = bodyText(req.rawBody);
  let bodyHash: string | null;
  try {
    bodyHash = new URL(req.url).searchParams.get('bodySHA256');
  } catch {
    return { result: 'malformed' };
  }
  // JSON bodies: the URL carries bodySHA256 = hex sha256(body) and the params are left out.
  const params = bodyHash !== null ? {} : formParams(text ?? req.rawBody.toString('utf8'));
  const authToken = roleValue(cfg.authToken, 'twilio', 'receive', 'TWILIO_AUTH_TOKEN');
  const signed = urlVariants(req.url).some((u) => safeEqual(twilioSignature(authToken, u, params), sig.trim()));
  // A body that is not UTF-8 and not signed was, and stays, `malformed`.
  if (!signed) return { result: text === undefined ? 'malformed' : 'signature' };
  if (bodyHash !== null && !safeEqual(sha256Hex(req.rawBody), bodyHash.toLowerCase())) return { result: 'signature' };
  if (bodyHash === null) return text !== undefined && isFormEncoded(text) ? { result: 'ok', params } : { result: 'unparseable' };
  const json = text === undefined ? undefined : parseJson(text);
  if (!isObject(json)) return { result: 'unparseable' };
  return { result: 'ok', params: Object.assign(Object.create(null) as Params, Object.fromEntries(Object.entries(json).map(([k, v]) => [k, [typeof v === 'string' ? v : JSON.stringify(v)]]))) };
}

////////// Callbacks -> events
// Status callbacks carry MessageSid + MessageStatus (+ ErrorCode when failed or
// undelivered) and no event time; inbound messages carry MessageSid, From, Body.

const STATUS: Readonly<Record<string, StatusEvent['status']>> = {
  sent: 'sent', delivered: 'delivered', read: 'read', failed: 'failed', undelivered: 'failed', canceled: 'failed',
};

function parseTwilioCallback(params: Params): { events: WebhookEvent[]; ignored: number } {
  const one = (k: string) => params[k]?.[0];
  const sid = one('MessageSid');
  if (!sid) return { events: [], ignored: 1 };
  const messageStatus = one('MessageStatus');
  if (messageStatus !== undefined) {
    const status = own(STATUS, messageStatus);
    // queued / accepted / scheduled / sending: before the send left Twilio; nothing to record.
    if (!status) return { events: [], ignored: 1 };
    const code = one('ErrorCode');
    const numeric = code !== undefined && /^\d+$/.test(code) ? Number(code) : undefined;
    return {
      events: [{
        kind: 'status', providerMessageId: sid, status,
        ...(code ? { errorCode: `twilio:${code}`, reason: reasonText(one('ErrorMessage'), `Twilio error ${code}`) } : {}),
        ...(numeric !== undefined ? { disposition: classifyTwilioError(numeric) ?? 'permanent' } : {}),
      }],
      ignored: 0,
    };
  }
  const from = e164FromInternational((one('From') ?? '').replace(/^whatsapp:/, ''));
  if (!from) return { events: [], ignored: 1 };
  // OriginalRepliedMessageSid: the message this one replies to (a WhatsApp reply or a quick-reply button).
  const contextId = one('OriginalRepliedMessageSid');
  return { events: [{ kind: 'inbound', fromE164: from, text: one('Body') ?? one('ButtonText') ?? '', providerMessageId: sid, ...(contextId ? { contextId } : {}) }], ignored: 0 };
}

export function twilioHandleWebhook(cfg: TwilioConfig, req: WebhookRequest): WebhookResult {
  const v = verifyTwilioSignature(cfg, req);
  if (v.result !== 'ok') return { ok: false, reason: v.result };
  return { ok: true, ...parseTwilioCallback(v.params!) };
}

////////// Test connection and status lookup

export function twilioTestConnection(cfg: TwilioConfig): ConnectionCheck {
  return {
    request: withRedaction({ method: 'GET', url: `${accountUrl(cfg)}.json`, headers: { authorization: restAuth(cfg) }, body: '' }, secretsOf(cfg)),
    checks: 'the REST credentials can read the account and the account is active',
    interpret(res) {
      const body = parseJson(res.body);
      if (is2xx(res.status) && isObject(body)) {
        return body.status === 'active' ? { ok: true, detail: 'account active' } : { ok: false, reason: `account status ${str(body.status) ?? 'unknown'}` };
      }
      const f = twilioFailure(res);
      return { ok: false, reason: `${f.errorCode}: ${f.reason}` };
    },
  };
}

// Message statuses from twilio-oai's message_enum_status.
const LOOKUP: Readonly<Record<string, DeliveryStatus | 'accepted'>> = {
  queued: 'accepted', accepted: 'accepted', scheduled: 'accepted', sending: 'accepted',
  sent: 'sent', delivered: 'delivered', read: 'read', failed: 'failed', undelivered: 'failed', canceled: 'failed',
};

export function twilioStatusLookup(cfg: TwilioConfig) {
  return {
    build: (providerMessageId: string): HttpRequest => withRedaction({
      method: 'GET', url: `${accountUrl(cfg)}/Messages/${encodeURIComponent(providerMessageId)}.json`, headers: { authorization: restAuth(cfg) }, body: '',
    }, secretsOf(cfg)),
    parse(res: HttpResponse): LookupResult {
      if (res.status === 404) return { kind: 'not_found' };
      const body = parseJson(res.body);
      if (is2xx(res.status) && isObject(body)) {
        const status = own(LOOKUP, str(body.status));
        if (!status) return { kind: 'error', disposition: 'retry', reason: `unexpected message status ${str(body.status) ?? '(none)'}` };
        const code = str(body.error_code);
        return { kind: 'found', status, ...(code ? { errorCode: `twilio:${code}` } : {}) };
      }
      const f = twilioFailure(res);
      return { kind: 'error', disposition: f.disposition, reason: `${f.errorCode}: ${f.reason}` };
    },
  };
}
