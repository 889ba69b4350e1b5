import jwt from 'jsonwebtoken';
import type {
  ConnectionCheck, DeliveryStatus, Disposition, HttpRequest, HttpResponse, OutboundMessage, SendOutcome, WebhookEvent,
  WebhookRequest, WebhookResult,
} from '../types';
import { safeEqual, sha256Hex } from '../shared/crypto';
import { basicAuth, dispositionFromHttpStatus, is2xx, isObject, parseJson, reasonText, retryAfterMs, str, withRedaction, own } from '../shared/http';
import { e164Digits, e164FromInternational } from '../shared/phone';
import { fromIso, header, jsonObjectBody, webhookDescriptor } from '../shared/webhook';
import { roleValue } from '../shared/config';
import type { VonageConfig } from './config';

////////// Vonage Messages API (WhatsApp)
// Send: POST {base}/v1/messages, JSON, HTTP Basic (api key:secret).
// Webhooks: Authorization: Bearer <HS256 JWT signed with the signature secret>,
// whose payload_hash is the hex SHA-256 of the raw body.

/** Vonage writes numbers without "+" or "00". */
export const vonageWirePhone = (e164: string): string => e164Digits(e164);

function vonageSendBody(cfg: VonageConfig, msg: OutboundMessage): Record<string, unknown> {
  const base = { channel: 'whatsapp', to: vonageWirePhone(msg.toE164), from: roleValue(cfg.from, 'vonage', 'send', 'VONAGE_WHATSAPP_FROM') };
  const t = cfg.templates.get(msg.templateCode);
  if (!t) return { message_type: 'text', ...base, text: msg.text, client_ref: msg.notificationId };
  return {
    message_type: 'template', ...base,
    template: { name: t.name, parameters: msg.parameters.map((p) => p.value) },
    whatsapp: { policy: 'deterministic', locale: t.locale ?? msg.language },
    // Echoed in every status webhook, so a report can be tied to the notification even if the send response was lost.
    client_ref: msg.notificationId,
  };
}

const apiSecret = (cfg: VonageConfig) => roleValue(cfg.apiSecret, 'vonage', 'send', 'VONAGE_API_SECRET');
const auth = (cfg: VonageConfig) => basicAuth(roleValue(cfg.apiKey, 'vonage', 'send', 'VONAGE_API_KEY'), apiSecret(cfg));

export function vonageBuildSend(cfg: VonageConfig, msg: OutboundMessage): HttpRequest {
  return withRedaction({
    method: 'POST', url: `${cfg.baseUrl}/v1/messages`,
    headers: { authorization: auth(cfg), 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(vonageSendBody(cfg, msg)),
  }, [apiSecret(cfg)]);
}

// Messages API error codes (PROVIDERS.md §4). The WhatsApp-specific ones are not
// in a stored copy of developer.vonage.com/api-errors/messages ([R]); an unknown
// code falls back to its HTTP status.
const TABLE: ReadonlyMap<number, Disposition> = new Map<number, Disposition>([
  [1000, 'retry'], // throttled
  [1010, 'permanent'], // missing parameters
  [1020, 'permanent'], // invalid parameters
  [1022, 'fallback'], // invalid template (ours at Vonage) or template parameters
  [1030, 'retry'], // internal error
  [1100, 'retry'], // communication with the channel failed
  [1040, 'permanent'], // invalid message or number prefix
  [1050, 'permanent'], // number barred
  [1060, 'fallback'], // account barred
  [1070, 'fallback'], // out of credit or quota
]);

/** RFC 7807 problem: the code is the fragment of `type` (".../api-errors/messages#1020") or the title. */
function problemCode(p: Record<string, unknown>): number | undefined {
  const t = str(p.type);
  const m = t ? /#(\d+)$/.exec(t) : null;
  if (m) return Number(m[1]);
  const title = str(p.title);
  return title && /^\d+$/.test(title) ? Number(title) : undefined;
}

function vonageFailure(res: HttpResponse): Extract<SendOutcome, { kind: 'failed' }> {
  const body = parseJson(res.body);
  const code = isObject(body) ? problemCode(body) : undefined;
  const disposition = (code !== undefined ? TABLE.get(code) : undefined) ?? dispositionFromHttpStatus(res.status);
  const wait = retryAfterMs(res);
  return {
    kind: 'failed', disposition,
    errorCode: code !== undefined ? `vonage:${code}` : `http:${res.status}`,
    reason: reasonText(isObject(body) ? body.detail ?? body.title : undefined, `HTTP ${res.status}`),
    ...(disposition === 'retry' && wait !== undefined ? { retryAfterMs: wait } : {}),
  };
}

export function vonageParseSendResponse(res: HttpResponse): SendOutcome {
  if (is2xx(res.status)) {
    const body = parseJson(res.body);
    const id = isObject(body) ? str(body.message_uuid) : undefined;
    if (id) return { kind: 'accepted', providerMessageId: id };
    return { kind: 'failed', disposition: 'permanent', errorCode: `http:${res.status}`, reason: 'Vonage answered 2xx without message_uuid' };
  }
  return vonageFailure(res);
}

////////// Webhooks

/** Vonage rarely sends an unsigned callback after an internal error and retries it on a 5xx: 503 for `missing`. */
export const VONAGE_WEBHOOK = webhookDescriptor({ rejectionStatus: { missing: 503 } });

function verifyVonageSignature(cfg: VonageConfig, req: WebhookRequest, now: Date): 'ok' | 'missing' | 'malformed' | 'signature' | 'stale' {
  const h = header(req, 'authorization');
  // Vonage rarely sends an unsigned callback after an internal error; it retries if we answer 5xx.
  if (h === undefined) return 'missing';
  const m = /^Bearer\s+(\S+)$/i.exec(h.trim());
  if (!m) return 'malformed';
  const secret = roleValue(cfg.signatureSecret, 'vonage', 'receive', 'VONAGE_SIGNATURE_SECRET');
  let claims: jwt.JwtPayload;
  try {
    const decoded = jwt.verify(m[1]!, secret, {
      algorithms: ['HS256'], clockTimestamp: Math.floor(now.getTime() / 1000), clockTolerance: cfg.toleranceSeconds,
    });
    if (typeof decoded === 'string') return 'malformed';
    claims = decoded;
  } catch (e) {
    if (e instanceof jwt.TokenExpiredError || e instanceof jwt.NotBeforeError) return 'stale';
    return (e as Error).message === 'invalid signature' ? 'signature' : 'malformed';
  }
  // The JWT says nothing about the body until payload_hash matches it.
  if (typeof claims.payload_hash !== 'string' || !safeEqual(claims.payload_hash.toLowerCase(), sha256Hex(req.rawBody))) return 'signature';
  if (typeof claims.iat !== 'number') return 'malformed';
  if (Math.abs(now.getTime() / 1000 - claims.iat) > cfg.toleranceSeconds) return 'stale';
  return 'ok';
}

const STATUS: Readonly<Record<string, DeliveryStatus>> = {
  submitted: 'sent', delivered: 'delivered', read: 'read', rejected: 'failed', undeliverable: 'failed',
};

function parseVonageWebhook(p: Record<string, unknown>): { events: WebhookEvent[]; ignored: number } {
  const id = str(p.message_uuid);
  if (!id) return { events: [], ignored: 1 };
  const at = fromIso(p.timestamp);
  const rawStatus = str(p.status);
  if (rawStatus !== undefined) {
    const status = own(STATUS, rawStatus);
    if (!status) return { events: [], ignored: 1 };
    const err = isObject(p.error) ? p.error : undefined;
    const code = err ? problemCode(err) : undefined;
    const clientRef = str(p.client_ref);
    return {
      events: [{
        kind: 'status', providerMessageId: id, status,
        ...(at ? { at } : {}),
        ...(code !== undefined ? { errorCode: `vonage:${code}`, disposition: TABLE.get(code) ?? 'permanent' } : {}),
        ...(err ? { reason: reasonText(err.detail ?? err.title, 'Vonage reported a failure') } : {}),
        ...(clientRef ? { notificationId: clientRef } : {}),
      }],
      ignored: 0,
    };
  }
  // Inbound message: message_type text / reply / button ...
  const from = typeof p.from === 'string' ? e164FromInternational(p.from) : undefined;
  if (!from || str(p.message_type) === undefined) return { events: [], ignored: 1 };
  const text = str(p.text) ?? (isObject(p.reply) ? str(p.reply.title) : undefined) ?? (isObject(p.button) ? str(p.button.text) ?? str(p.button.payload) : undefined) ?? '';
  // context.message_uuid: the message this one replies to (WhatsApp replies).
  const contextId = isObject(p.context) ? str(p.context.message_uuid) : undefined;
  return { events: [{ kind: 'inbound', fromE164: from, text, providerMessageId: id, ...(at ? { at } : {}), ...(contextId ? { contextId } : {}) }], ignored: 0 };
}

export function vonageHandleWebhook(cfg: VonageConfig, req: WebhookRequest, now: Date): WebhookResult {
  const v = verifyVonageSignature(cfg, req, now);
  if (v !== 'ok') return { ok: false, reason: v };
  // Verified (payload_hash covers the raw bytes): a body that is not a JSON object is not Vonage's (400, not 401).
  const payload = jsonObjectBody(req.rawBody);
  if (!payload) return { ok: false, reason: 'unparseable' };
  return { ok: true, ...parseVonageWebhook(payload) };
}

////////// Test connection: the Account API balance (GET, Basic auth)

export function vonageTestConnection(cfg: VonageConfig): ConnectionCheck {
  return {
    request: withRedaction({ method: 'GET', url: `${cfg.restBaseUrl}/account/get-balance`, headers: { authorization: auth(cfg), accept: 'application/json' }, body: '' }, [apiSecret(cfg)]),
    checks: 'the API key and secret are valid (the webhook signature secret is not checked)',
    interpret(res) {
      const body = parseJson(res.body);
      if (is2xx(res.status) && isObject(body) && typeof body.value === 'number') return { ok: true, detail: `balance ${body.value.toFixed(2)} EUR` };
      const f = vonageFailure(res);
      return { ok: false, reason: `${f.errorCode}: ${f.reason}` };
    },
  };
}
