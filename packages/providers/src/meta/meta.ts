import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError, maskPhone } from '@sicantik/core';
import type {
  ConnectionCheck, HandshakeReply, HttpRequest, HttpResponse, InboundEvent, OutboundMessage, SendOutcome, StatusEvent,
  WebhookEvent, WebhookRequest, WebhookResult,
} from '../types';
import { dispositionFromHttpStatus, is2xx, isObject, parseJson, reasonText, str, withRedaction, own } from '../shared/http';
import { assertE164, e164FromInternational } from '../shared/phone';
import { roleValue } from '../shared/config';
import { fromEpochSeconds, header, jsonObjectBody, webhookDescriptor } from '../shared/webhook';
import { safeEqual } from '../shared/crypto';
import { META_GRAPH_VERSION, type MetaConfig } from './config';
import { classifyMetaError } from './errors';

////////// Meta WhatsApp Cloud API (Graph v23.0)
// Send: POST {base}/v23.0/{phone-number-id}/messages, Bearer token, JSON.
// Webhooks: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(app secret, raw body).

/** Meta takes E.164 with the "+"; without it the business number's country code may be prepended (PROVIDERS.md §9). */
export const metaWirePhone = (e164: string): string => assertE164(e164);

function metaSendBody(cfg: MetaConfig, msg: OutboundMessage): Record<string, unknown> {
  const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to: metaWirePhone(msg.toE164) };
  const t = cfg.templates.get(msg.templateCode);
  if (!t) {
    // Free-form text only inside the 24 h customer-service window (routing says so: msg.freeForm).
    if (msg.freeForm === false) {
      throw new AppError(`meta: no approved template is mapped for ${msg.templateCode} and the contact is outside the 24 h customer-service window, so free-form text may not be sent`, { retriable: false, code: 'PROVIDER_CONFIG' });
    }
    return { ...base, type: 'text', text: { body: msg.text, preview_url: false } };
  }
  const parameters = msg.parameters.map((p) =>
    t.parameterFormat === 'named' ? { type: 'text', parameter_name: p.name, text: p.value } : { type: 'text', text: p.value });
  return {
    ...base,
    type: 'template',
    template: {
      name: t.name,
      // Always deterministic: exactly the language asked for (the spec's LanguageObject requires policy).
      language: { code: t.language ?? msg.language, policy: 'deterministic' },
      ...(parameters.length ? { components: [{ type: 'body', parameters }] } : {}),
    },
  };
}

const token = (cfg: MetaConfig) => roleValue(cfg.accessToken, 'meta', 'send', 'META_ACCESS_TOKEN');
const phoneNumberId = (cfg: MetaConfig) => roleValue(cfg.phoneNumberId, 'meta', 'send', 'META_PHONE_NUMBER_ID');
const authHeaders = (cfg: MetaConfig) => ({ authorization: `Bearer ${token(cfg)}` });

export function metaBuildSend(cfg: MetaConfig, msg: OutboundMessage): HttpRequest {
  return withRedaction({
    method: 'POST',
    url: `${cfg.baseUrl}/${META_GRAPH_VERSION}/${phoneNumberId(cfg)}/messages`,
    headers: { ...authHeaders(cfg), 'content-type': 'application/json' },
    body: JSON.stringify(metaSendBody(cfg, msg)),
  }, [token(cfg)]);
}

interface MetaErrorBody { code?: unknown; message?: unknown; is_transient?: unknown; error_data?: { details?: unknown } }

function metaFailure(res: HttpResponse): Extract<SendOutcome, { kind: 'failed' }> {
  const body = parseJson(res.body);
  const err = isObject(body) && isObject(body.error) ? (body.error as MetaErrorBody) : undefined;
  if (err && typeof err.code === 'number') {
    const c = classifyMetaError(err.code, err.is_transient === true);
    const details = isObject(err.error_data) ? str(err.error_data.details) : undefined;
    return {
      kind: 'failed', disposition: c.disposition, errorCode: `meta:${err.code}`,
      reason: reasonText(details ?? err.message, `Meta error ${err.code}`),
      ...(c.retryAfterMs !== undefined ? { retryAfterMs: c.retryAfterMs } : {}),
    };
  }
  // No Meta error body: a proxy or an outage answered.
  return { kind: 'failed', disposition: dispositionFromHttpStatus(res.status), errorCode: `http:${res.status}`, reason: `HTTP ${res.status} without a Meta error body` };
}

export function metaParseSendResponse(res: HttpResponse): SendOutcome {
  if (is2xx(res.status)) {
    const body = parseJson(res.body);
    const messages = isObject(body) && Array.isArray(body.messages) ? body.messages : [];
    const id = isObject(messages[0]) ? str(messages[0].id) : undefined;
    if (id) return { kind: 'accepted', providerMessageId: id };
    // Accepted without an id: never resend blindly (it may have gone out).
    return { kind: 'failed', disposition: 'permanent', errorCode: `http:${res.status}`, reason: 'Meta answered 2xx without messages[0].id' };
  }
  return metaFailure(res);
}

////////// Webhooks

/** Meta: signed (X-Hub-Signature-256); the common answers. */
export const META_WEBHOOK = webhookDescriptor();

function verifyMetaSignature(cfg: MetaConfig, req: WebhookRequest): 'ok' | 'missing' | 'malformed' | 'signature' {
  const h = header(req, 'x-hub-signature-256');
  if (h === undefined) return 'missing';
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(h.trim());
  if (!m) return 'malformed';
  const got = Buffer.from(m[1]!, 'hex');
  const want = createHmac('sha256', roleValue(cfg.appSecret, 'meta', 'receive', 'META_APP_SECRET')).update(req.rawBody).digest();
  return timingSafeEqual(got, want) ? 'ok' : 'signature';
}

const STATUS: Readonly<Record<string, StatusEvent['status']>> = { sent: 'sent', delivered: 'delivered', read: 'read', failed: 'failed' };

function metaStatusEvent(s: Record<string, unknown>): StatusEvent | undefined {
  const id = str(s.id);
  const status = own(STATUS, str(s.status));
  if (!id || !status) return undefined;
  const at = fromEpochSeconds(s.timestamp);
  const err = Array.isArray(s.errors) && isObject(s.errors[0]) ? s.errors[0] : undefined;
  const code = err && typeof err.code === 'number' ? err.code : undefined;
  const details = err && isObject(err.error_data) ? str(err.error_data.details) : undefined;
  return {
    kind: 'status', providerMessageId: id, status,
    ...(at ? { at } : {}),
    ...(code !== undefined ? { errorCode: `meta:${code}`, disposition: classifyMetaError(code).disposition } : {}),
    ...(err ? { reason: reasonText(details ?? err.title ?? err.message, 'Meta reported a failure') } : {}),
  };
}

/** Text of a reply: a text body, a quick-reply button, or an interactive button/list title. Other types carry no text (''). */
function replyText(m: Record<string, unknown>): string {
  const text = isObject(m.text) ? str(m.text.body) : undefined;
  const button = isObject(m.button) ? str(m.button.text) ?? str(m.button.payload) : undefined;
  const inter = isObject(m.interactive) ? m.interactive : undefined;
  const interactive = inter ? (isObject(inter.button_reply) ? str(inter.button_reply.title) : isObject(inter.list_reply) ? str(inter.list_reply.title) : undefined) : undefined;
  return text ?? button ?? interactive ?? '';
}

function metaInboundEvent(m: Record<string, unknown>): InboundEvent | undefined {
  const id = str(m.id);
  const from = typeof m.from === 'string' ? e164FromInternational(m.from) : undefined;
  if (!id || !from) return undefined;
  const at = fromEpochSeconds(m.timestamp);
  // context.id: the message this one replies to (a swipe reply or a quick-reply button of our message).
  const contextId = isObject(m.context) ? str(m.context.id) : undefined;
  return { kind: 'inbound', fromE164: from, text: replyText(m), providerMessageId: id, ...(at ? { at } : {}), ...(contextId ? { contextId } : {}) };
}

function parseMetaWebhook(payload: Record<string, unknown>): { events: WebhookEvent[]; ignored: number } {
  const events: WebhookEvent[] = [];
  let ignored = 0;
  if (payload.object !== 'whatsapp_business_account' || !Array.isArray(payload.entry)) return { events, ignored: 1 };
  for (const entry of payload.entry) {
    const changes = isObject(entry) && Array.isArray(entry.changes) ? entry.changes : [];
    for (const change of changes) {
      const value = isObject(change) && isObject(change.value) ? change.value : undefined;
      if (!value) { ignored++; continue; }
      for (const s of Array.isArray(value.statuses) ? value.statuses : []) {
        const e = isObject(s) ? metaStatusEvent(s) : undefined;
        if (e) events.push(e); else ignored++;
      }
      for (const m of Array.isArray(value.messages) ? value.messages : []) {
        const e = isObject(m) ? metaInboundEvent(m) : undefined;
        if (e) events.push(e); else ignored++;
      }
    }
  }
  return { events, ignored };
}

export function metaHandleWebhook(cfg: MetaConfig, req: WebhookRequest): WebhookResult {
  const v = verifyMetaSignature(cfg, req);
  if (v !== 'ok') return { ok: false, reason: v };
  // Verified: a body that is not a JSON object is not Meta's (400, not 401).
  const payload = jsonObjectBody(req.rawBody);
  if (!payload) return { ok: false, reason: 'unparseable' };
  return { ok: true, ...parseMetaWebhook(payload) };
}

/** GET ?hub.mode=subscribe&hub.verify_token=<ours>&hub.challenge=<n>: 200 with the raw challenge, else 403. */
export function metaHandshake(cfg: MetaConfig, req: WebhookRequest): HandshakeReply {
  const q = (k: string) => { const v = req.query[k]; return Array.isArray(v) ? v[0] : v; };
  const token = q('hub.verify_token');
  const challenge = q('hub.challenge');
  if (q('hub.mode') === 'subscribe' && cfg.verifyToken && token !== undefined && challenge !== undefined && safeEqual(token, cfg.verifyToken)) {
    return { status: 200, body: challenge };
  }
  return { status: 403, body: 'Forbidden' };
}

////////// Test connection: GET /{phone-number-id} (a cheap authenticated read of our own number)

export function metaTestConnection(cfg: MetaConfig): ConnectionCheck {
  return {
    request: withRedaction({
      method: 'GET',
      url: `${cfg.baseUrl}/${META_GRAPH_VERSION}/${phoneNumberId(cfg)}?fields=display_phone_number,verified_name,quality_rating`,
      headers: authHeaders(cfg), body: '',
    }, [token(cfg)]),
    checks: 'the access token is valid and can read the configured phone-number id',
    interpret(res) {
      const body = parseJson(res.body);
      if (is2xx(res.status) && isObject(body) && str(body.id)) {
        const display = str(body.display_phone_number);
        return { ok: true, detail: `number ${maskPhone(display) || '(unknown)'} ${str(body.verified_name) ?? ''} quality ${str(body.quality_rating) ?? 'unknown'}`.replace(/\s+/g, ' ').trim() };
      }
      const f = metaFailure(res);
      return { ok: false, reason: `${f.errorCode}: ${f.reason}` };
    },
  };
}
