import { Webhook } from 'standardwebhooks';
import type {
  ConnectionCheck, DeliveryStatus, Disposition, HttpRequest, HttpResponse, InboundEvent, LookupResult, OutboundMessage,
  SendOutcome, StatusEvent, WebhookRequest, WebhookResult,
} from '../types';
import { safeEqual } from '../shared/crypto';
import { dispositionFromHttpStatus, is2xx, isObject, parseJson, reasonText, retryAfterMs, str, withRedaction, own } from '../shared/http';
import { assertE164, e164FromInternational } from '../shared/phone';
import { bodyText, fromIso, header, webhookDescriptor } from '../shared/webhook';
import { roleValue } from '../shared/config';
import type { BirdConfig } from './config';

////////// Bird platform API (bird-sdk-typescript / @messagebird/sdk generation)
// Chosen over the legacy Conversations API (being migrated away from) and the
// Channels API (own HMAC scheme): its webhooks are Standard Webhooks, verifiable
// with the `standardwebhooks` package, and its SDK is generated from the spec.
// Send: POST {base}/v1/whatsapp/messages, Bearer key, JSON.

export const birdWirePhone = (e164: string): string => assertE164(e164);

function birdSendBody(cfg: BirdConfig, msg: OutboundMessage): Record<string, unknown> {
  const base = { to: birdWirePhone(msg.toE164), from: roleValue(cfg.from, 'bird', 'send', 'BIRD_WHATSAPP_FROM') };
  // Echoed on every webhook event of the message (EventWhatsAppBase.metadata).
  const metadata = { notification_id: msg.notificationId };
  const t = cfg.templates.get(msg.templateCode);
  if (!t) return { ...base, text: { body: msg.text }, metadata };
  const parameters = msg.parameters.map((p) => ({ type: 'text', text: p.value }));
  return {
    ...base,
    template: {
      ...(t.slug ? { slug: t.slug } : { id: t.id }),
      language: t.language ?? msg.language,
      ...(parameters.length ? { components: [{ type: 'body', parameters }] } : {}),
    },
    metadata,
  };
}

const apiKey = (cfg: BirdConfig) => roleValue(cfg.apiKey, 'bird', 'send', 'BIRD_API_KEY');
const auth = (cfg: BirdConfig) => ({ authorization: `Bearer ${apiKey(cfg)}` });

export function birdBuildSend(cfg: BirdConfig, msg: OutboundMessage): HttpRequest {
  return withRedaction({
    method: 'POST', url: `${cfg.baseUrl}/v1/whatsapp/messages`,
    headers: { ...auth(cfg), 'content-type': 'application/json' },
    body: JSON.stringify(birdSendBody(cfg, msg)),
  }, [apiKey(cfg)]);
}

// The SDK's error hierarchy branches on error.type (src/errors.ts); so do we.
const BY_TYPE: Readonly<Record<string, Disposition>> = {
  rate_limit_error: 'retry',
  service_unavailable_error: 'retry',
  internal_error: 'retry',
  auth_error: 'fallback',
  permission_error: 'fallback',
  billing_error: 'fallback',
  misdirected_error: 'fallback', // wrong region for this key
  not_found_error: 'fallback',
  precondition_error: 'fallback',
  validation_error: 'permanent',
  bad_request_error: 'permanent',
  payload_too_large_error: 'permanent',
  conflict_error: 'permanent',
};

// WhatsAppErrorCode (open enum in the SDK): failures reported on whatsapp.failed / whatsapp.rejected.
const BY_CODE: Readonly<Record<string, Disposition>> = {
  service_window_expired: 'fallback',
  undeliverable: 'fallback',
  rate_limited: 'retry',
  internal_error: 'retry',
  recipient_suppressed: 'permanent',
  media_rejected: 'permanent',
  insufficient_balance: 'fallback',
  price_not_found: 'fallback',
};

function birdFailure(res: HttpResponse): Extract<SendOutcome, { kind: 'failed' }> {
  const body = parseJson(res.body);
  const err = isObject(body) && isObject(body.error) ? body.error : isObject(body) ? body : undefined;
  const type = err ? str(err.type) : undefined;
  const disposition = own(BY_TYPE, type) || dispositionFromHttpStatus(res.status);
  const wait = retryAfterMs(res);
  const code = err ? str(err.name) ?? str(err.code) ?? type : undefined;
  return {
    kind: 'failed', disposition,
    errorCode: code ? `bird:${code}` : `http:${res.status}`,
    reason: reasonText(err?.message, `HTTP ${res.status}`),
    ...(disposition === 'retry' && wait !== undefined ? { retryAfterMs: wait } : {}),
  };
}

export function birdParseSendResponse(res: HttpResponse): SendOutcome {
  if (is2xx(res.status)) {
    const body = parseJson(res.body);
    const id = isObject(body) ? str(body.id) : undefined;
    if (id) return { kind: 'accepted', providerMessageId: id };
    return { kind: 'failed', disposition: 'permanent', errorCode: `http:${res.status}`, reason: 'Bird answered 2xx without a message id' };
  }
  return birdFailure(res);
}

////////// Webhooks: Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)

/** Bird: signed (Standard Webhooks); the common answers. */
export const BIRD_WEBHOOK = webhookDescriptor();

/**
 * The signature is computed with the `standardwebhooks` package (`Webhook.sign`,
 * the scheme Bird's SDK verifies with); the comparison is constant time and the
 * timestamp is checked against the injected clock (Webhook.verify reads
 * Date.now() itself). The body must be valid UTF-8: the package signs the body
 * as a string, under which distinct invalid byte sequences would look alike.
 */
function verifyBirdSignature(cfg: BirdConfig, req: WebhookRequest, now: Date): { result: 'ok' | 'missing' | 'malformed' | 'signature' | 'stale'; text?: string } {
  const id = header(req, 'webhook-id');
  const ts = header(req, 'webhook-timestamp');
  const sigs = header(req, 'webhook-signature');
  if (id === undefined || ts === undefined || sigs === undefined) return { result: 'missing' };
  if (!/^\d{1,12}$/.test(ts.trim())) return { result: 'malformed' };
  const text = bodyText(req.rawBody);
  if (text === undefined) return { result: 'malformed' };
  const seconds = Number(ts.trim());
  const expected = new Webhook(roleValue(cfg.webhookSecret, 'bird', 'receive', 'BIRD_WEBHOOK_SECRET')).sign(id, new Date(seconds * 1000), text);
  const passed = sigs.split(' ').filter((s) => s.startsWith('v1,'));
  if (passed.length === 0) return { result: 'malformed' };
  if (!passed.map((s) => safeEqual(s, expected)).includes(true)) return { result: 'signature' };
  if (Math.abs(now.getTime() / 1000 - seconds) > cfg.toleranceSeconds) return { result: 'stale' };
  return { result: 'ok', text };
}

const STATUS: Readonly<Record<string, DeliveryStatus>> = {
  'whatsapp.sent': 'sent', 'whatsapp.delivered': 'delivered', 'whatsapp.read': 'read', 'whatsapp.failed': 'failed', 'whatsapp.rejected': 'failed',
};

/** WhatsAppAddress: a phone number (string) or an object carrying one. */
function addressE164(v: unknown): string | undefined {
  if (typeof v === 'string') return e164FromInternational(v);
  if (isObject(v)) return e164FromInternational(str(v.phone_number) ?? str(v.number) ?? str(v.address) ?? '');
  return undefined;
}

function parseBirdEvent(event: Record<string, unknown>): { events: (StatusEvent | InboundEvent)[]; ignored: number } {
  const type = str(event.type);
  const data = isObject(event.data) ? event.data : undefined;
  const id = data ? str(data.whatsapp_id) : undefined;
  if (!type || !data || !id) return { events: [], ignored: 1 };
  const at = fromIso(event.timestamp);
  const status = own(STATUS, type);
  if (status) {
    const err = isObject(data.error) ? data.error : undefined;
    const code = err ? str(err.code) : undefined;
    const meta = err ? str(err.meta_error_code) : undefined;
    const notificationId = isObject(data.metadata) ? str(data.metadata.notification_id) : undefined;
    return {
      events: [{
        kind: 'status', providerMessageId: id, status,
        ...(at ? { at } : {}),
        ...(code ? { errorCode: `bird:${code}`, disposition: own(BY_CODE, code) ?? 'permanent' } : {}),
        ...(err ? { reason: reasonText(meta ? `${str(err.description) ?? code} (Meta ${meta})` : err.description, 'Bird reported a failure') } : {}),
        ...(notificationId ? { notificationId } : {}),
      }],
      ignored: 0,
    };
  }
  if (type === 'whatsapp.received') {
    const from = addressE164(data.from);
    if (!from) return { events: [], ignored: 1 };
    const text = isObject(data.text) ? str(data.text.body) ?? str(data.text.text) : str(data.text);
    return { events: [{ kind: 'inbound', fromE164: from, text: text ?? '', providerMessageId: id, ...(at ? { at } : {}) }], ignored: 0 };
  }
  return { events: [], ignored: 1 }; // whatsapp.accepted and other event types
}

export function birdHandleWebhook(cfg: BirdConfig, req: WebhookRequest, now: Date): WebhookResult {
  const v = verifyBirdSignature(cfg, req, now);
  if (v.result !== 'ok') return { ok: false, reason: v.result };
  // Verified: a body that is not a JSON object is not Bird's (400, not 401).
  const event = parseJson(v.text!);
  if (!isObject(event)) return { ok: false, reason: 'unparseable' };
  return { ok: true, ...parseBirdEvent(event) };
}

////////// Test connection (list messages: a cheap authenticated GET) and status lookup (GET one message)

export function birdTestConnection(cfg: BirdConfig): ConnectionCheck {
  return {
    request: withRedaction({ method: 'GET', url: `${cfg.baseUrl}/v1/whatsapp/messages`, headers: auth(cfg), body: '' }, [apiKey(cfg)]),
    checks: 'the API key is valid for this region and may read WhatsApp messages',
    interpret(res) {
      if (is2xx(res.status)) return { ok: true, detail: 'API key accepted' };
      const f = birdFailure(res);
      return { ok: false, reason: `${f.errorCode}: ${f.reason}` };
    },
  };
}

const LOOKUP: Readonly<Record<string, DeliveryStatus | 'accepted'>> = {
  accepted: 'accepted', sent: 'sent', delivered: 'delivered', read: 'read', failed: 'failed', rejected: 'failed',
};

export function birdStatusLookup(cfg: BirdConfig) {
  return {
    build: (providerMessageId: string): HttpRequest => withRedaction({
      method: 'GET', url: `${cfg.baseUrl}/v1/whatsapp/messages/${encodeURIComponent(providerMessageId)}`, headers: auth(cfg), body: '',
    }, [apiKey(cfg)]),
    parse(res: HttpResponse): LookupResult {
      if (res.status === 404) return { kind: 'not_found' };
      const body = parseJson(res.body);
      if (is2xx(res.status) && isObject(body)) {
        const status = own(LOOKUP, str(body.status));
        if (!status) return { kind: 'error', disposition: 'retry', reason: `unexpected message status ${str(body.status) ?? '(none)'}` };
        const code = isObject(body.error) ? str(body.error.code) : undefined;
        return { kind: 'found', status, ...(code ? { errorCode: `bird:${code}` } : {}) };
      }
      const f = birdFailure(res);
      return { kind: 'error', disposition: f.disposition, reason: `${f.errorCode}: ${f.reason}` };
    },
  };
}
