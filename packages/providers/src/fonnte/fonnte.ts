import type { ConnectionCheck, Disposition, HttpRequest, HttpResponse, OutboundMessage, SendOutcome, WebhookEvent, WebhookRequest, WebhookResult } from '../types';
import { sha256Hex } from '../shared/crypto';
import { dispositionFromHttpStatus, formBody, is2xx, isObject, parseJson, reasonText, str, withRedaction } from '../shared/http';
import { e164Digits, e164FromInternational } from '../shared/phone';
import { fromEpochSeconds, jsonObjectBody, urlTokenCheck, webhookDescriptor } from '../shared/webhook';
import { roleValue } from '../shared/config';
import type { FonnteConfig } from './config';

////////// Fonnte (api.fonnte.com)
// Send: POST {base}/send, Authorization: <device token>, form fields target,
// message, countryCode. No templates and no 24 h window: always the rendered text.
// The answer is HTTP 200 even on failure: the `status` flag decides.

/** Digits with country code. */
export const fonnteWirePhone = (e164: string): string => e164Digits(e164);

const token = (cfg: FonnteConfig) => roleValue(cfg.token, 'fonnte', 'send', 'FONNTE_TOKEN');

export function fonnteBuildSend(cfg: FonnteConfig, msg: OutboundMessage): HttpRequest {
  return withRedaction({
    method: 'POST', url: `${cfg.baseUrl}/send`,
    headers: { authorization: token(cfg), 'content-type': 'application/x-www-form-urlencoded' },
    // countryCode "0" turns off Fonnte's "replace a leading 0 with 62": the target is already international.
    body: formBody([['target', fonnteWirePhone(msg.toE164)], ['message', msg.text], ['countryCode', '0']]),
  }, [token(cfg)]);
}

/** Fonnte gives reasons, not codes; classify the documented ones, retry the unknown. */
function classifyReason(reason: string): Disposition {
  const r = reason.toLowerCase();
  if (/token|unauthori[sz]ed|device not found|invalid device|disconnect/.test(r)) return 'fallback'; // our device
  if (/quota|limit|package|subscription|expired/.test(r)) return 'fallback'; // our plan
  if (/target|number|invalid/.test(r)) return 'permanent';
  return 'retry';
}

const reasonCode = (reason: string) => `fonnte:${reason.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '').slice(0, 48) || 'unknown'}`;

export function fonnteParseSendResponse(res: HttpResponse): SendOutcome {
  const body = parseJson(res.body);
  if (!is2xx(res.status)) return { kind: 'failed', disposition: dispositionFromHttpStatus(res.status), errorCode: `http:${res.status}`, reason: `HTTP ${res.status}` };
  if (isObject(body) && body.status === true) {
    // id and target are parallel arrays; we send one target.
    const id = Array.isArray(body.id) ? str(body.id[0]) : undefined;
    if (id) return { kind: 'accepted', providerMessageId: id };
    return { kind: 'failed', disposition: 'permanent', errorCode: 'fonnte:no_id', reason: 'Fonnte answered status true without an id' };
  }
  const reason = reasonText(isObject(body) ? body.reason : undefined, 'Fonnte refused the message');
  return { kind: 'failed', disposition: classifyReason(reason), errorCode: reasonCode(reason), reason };
}

////////// Webhooks: the message-status webhook and the incoming-message webhook share the endpoint

/** Fonnte signs nothing: its secret rides in the URL, as ?token= or the last path segment. */
export const FONNTE_WEBHOOK = webhookDescriptor({ urlSecretSegment: true });
// Status (docs.fonnte.com "Webhook Update Message Status"): device, id, stateid, status, state.
// Incoming ("Webhook Reply Message"): device, sender, message, name, ..., timestamp, inboxid.

function statusEvent(p: Record<string, unknown>): WebhookEvent | undefined {
  const id = str(p.id);
  if (!id) return undefined;
  // `state` is WhatsApp's acknowledgement when Fonnte reports one (values [R]: not documented); `status` is Fonnte's
  // processing status (sent, pending, waiting, invalid, expired, processing, url unreachable; the deprecated /status API).
  const state = str(p.state)?.toLowerCase();
  if (state === 'read' || state === 'delivered' || state === 'sent') return { kind: 'status', providerMessageId: id, status: state };
  const status = str(p.status)?.toLowerCase();
  if (status === 'sent') return { kind: 'status', providerMessageId: id, status: 'sent' };
  if (status === 'invalid' || status === 'url unreachable') return { kind: 'status', providerMessageId: id, status: 'failed', errorCode: reasonCode(status), reason: `Fonnte status ${status}`, disposition: 'permanent' };
  // Expired: the device was disconnected for 7 days; another provider can still send it.
  if (status === 'expired') return { kind: 'status', providerMessageId: id, status: 'failed', errorCode: reasonCode(status), reason: 'Fonnte status expired', disposition: 'fallback' };
  return undefined; // pending / waiting / processing
}

/** Fonnte sends "628..." (or a national "08..."); both to E.164 (Indonesian numbers). */
function senderE164(s: string): string | undefined {
  const digits = s.replace(/\D/g, '');
  return digits.startsWith('0') ? e164FromInternational(`62${digits.slice(1)}`) : e164FromInternational(digits);
}

function parseFonnteWebhook(p: Record<string, unknown>, rawBody: Buffer): { events: WebhookEvent[]; ignored: number } {
  if (typeof p.sender === 'string' && p.message !== undefined) {
    const from = senderE164(p.sender);
    if (!from) return { events: [], ignored: 1 };
    // No message id in the incoming webhook except inboxid (when present); otherwise a digest of the delivery.
    const id = str(p.inboxid) ?? `fonnte-in-${sha256Hex(rawBody).slice(0, 32)}`;
    const at = fromEpochSeconds(p.timestamp);
    return { events: [{ kind: 'inbound', fromE164: from, text: str(p.message) ?? str(p.text) ?? '', providerMessageId: id, ...(at ? { at } : {}) }], ignored: 0 };
  }
  const e = statusEvent(p);
  return e ? { events: [e], ignored: 0 } : { events: [], ignored: 1 }; // incl. the device connect/disconnect webhook
}

export function fonnteHandleWebhook(cfg: FonnteConfig, req: WebhookRequest): WebhookResult {
  const v = urlTokenCheck(req, roleValue(cfg.webhookToken, 'fonnte', 'receive', 'FONNTE_WEBHOOK_TOKEN'));
  if (v !== 'ok') return { ok: false, reason: v };
  // The URL's secret matched: a body that is not a JSON object is not Fonnte's (400, not 401).
  const payload = jsonObjectBody(req.rawBody);
  if (!payload) return { ok: false, reason: 'unparseable' };
  return { ok: true, ...parseFonnteWebhook(payload, req.rawBody) };
}

////////// Test connection: POST /device (reads the device profile; sends nothing)

export function fonnteTestConnection(cfg: FonnteConfig): ConnectionCheck {
  return {
    request: withRedaction({ method: 'POST', url: `${cfg.baseUrl}/device`, headers: { authorization: token(cfg) }, body: '' }, [token(cfg)]),
    checks: 'the device token is valid and the WhatsApp device is connected (Fonnte has no read-only GET)',
    interpret(res) {
      const body = parseJson(res.body);
      if (!is2xx(res.status)) return { ok: false, reason: `http:${res.status}` };
      if (isObject(body) && body.status === true) {
        return body.device_status === 'connect'
          ? { ok: true, detail: `device connected, quota ${str(body.quota) ?? 'unknown'}` }
          : { ok: false, reason: `device ${str(body.device_status) ?? 'status unknown'}` };
      }
      return { ok: false, reason: reasonText(isObject(body) ? body.reason : undefined, 'Fonnte refused the token') };
    },
  };
}
