import type { ConnectionCheck, DeliveryStatus, Disposition, HttpRequest, HttpResponse, OutboundMessage, SendOutcome, WebhookEvent, WebhookRequest, WebhookResult } from '../types';
import { dispositionFromHttpStatus, is2xx, isObject, own, parseJson, reasonText, str, withRedaction } from '../shared/http';
import { e164Digits, e164FromInternational } from '../shared/phone';
import { fromEpochSeconds, jsonObjectBody, urlTokenCheck, webhookDescriptor } from '../shared/webhook';
import { roleValue } from '../shared/config';
import type { WatzapConfig } from './config';

////////// Watzap.id (api.watzap.id/v1), low confidence: no official docs in a stored copy.
// What follows is from a public copy of Watzap's API documentation (endpoints
// checking_key, validate_number, send_message, set_webhook, the response codes
// 200/1002-1006 and the incoming_chat webhook) and from public client code.
// Send: POST {base}/send_message, JSON {api_key, number_key, phone_no, message}.
// The documented answer carries no message id and there is no documented status
// webhook. Should an answer carry data.message_id, or a webhook of type
// "message_ack" arrive (as the provider simulator models them; not in Watzap's
// documentation: [R]), they are used.

export const watzapWirePhone = (e164: string): string => e164Digits(e164);

const keys = (cfg: WatzapConfig) => ({
  apiKey: roleValue(cfg.apiKey, 'watzap', 'send', 'WATZAP_API_KEY'),
  numberKey: roleValue(cfg.numberKey, 'watzap', 'send', 'WATZAP_NUMBER_KEY'),
});

export function watzapBuildSend(cfg: WatzapConfig, msg: OutboundMessage): HttpRequest {
  const { apiKey, numberKey } = keys(cfg);
  return withRedaction({
    method: 'POST', url: `${cfg.baseUrl}/send_message`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ api_key: apiKey, number_key: numberKey, phone_no: watzapWirePhone(msg.toE164), message: msg.text }),
  }, [apiKey, numberKey]);
}

const CODES: ReadonlyMap<string, Disposition> = new Map<string, Disposition>([
  ['1002', 'fallback'], // invalid API key
  ['1003', 'fallback'], // invalid number key
  ['1004', 'fallback'], // pairing failed, access denied: our device is not linked
  ['1005', 'retry'], // fatal error with a dynamic message
  ['1006', 'retry'], // other error
]);

/** Watzap's `status` is a string ("200") in its docs; clients accept a number too. */
const statusCode = (body: unknown): string | undefined => (isObject(body) ? str(body.status) : undefined);

/**
 * Without a message id in the answer, one is made from the notification id:
 * deterministic, so a retried or replayed send maps to the same id. It is ours,
 * not Watzap's, and nothing Watzap sends later will carry it.
 */
const watzapSyntheticId = (notificationId: string): string => `watzap:${notificationId}`;

export function watzapParseSendResponse(msg: OutboundMessage, res: HttpResponse): SendOutcome {
  if (!is2xx(res.status)) return { kind: 'failed', disposition: dispositionFromHttpStatus(res.status), errorCode: `http:${res.status}`, reason: `HTTP ${res.status}` };
  const body = parseJson(res.body);
  const code = statusCode(body);
  if (code === '200') {
    const id = isObject(body) && isObject(body.data) ? str(body.data.message_id) : undefined;
    return id ? { kind: 'accepted', providerMessageId: id } : { kind: 'accepted', providerMessageId: watzapSyntheticId(msg.notificationId), synthetic: true };
  }
  return {
    kind: 'failed', disposition: (code && CODES.get(code)) || 'retry',
    errorCode: code ? `watzap:${code}` : 'watzap:unknown',
    reason: reasonText(isObject(body) ? body.message : undefined, 'Watzap refused the message'),
  };
}

////////// Webhooks: incoming_chat (documented); message_ack ([R], see above)

/** Watzap signs nothing: its secret rides in the URL, as ?token= or the last path segment. */
export const WATZAP_WEBHOOK = webhookDescriptor({ urlSecretSegment: true });

const ACK: Readonly<Record<string, DeliveryStatus>> = { sent: 'sent', delivered: 'delivered', read: 'read', failed: 'failed' };

/** chat_id "628...@c.us" (or @s.whatsapp.net); groups (@g.us) are not replies to us. */
function chatE164(chatId: string): string | undefined {
  const m = /^(\d+)@(c\.us|s\.whatsapp\.net)$/.exec(chatId) ?? /^(\d+)$/.exec(chatId);
  return m ? e164FromInternational(m[1]!) : undefined;
}

function parseWatzapWebhook(p: Record<string, unknown>): { events: WebhookEvent[]; ignored: number } {
  const data = isObject(p.data) ? p.data : undefined;
  if (p.type === 'message_ack' && data) {
    const id = str(data.message_id);
    const status = own(ACK, str(data.message_ack)?.toLowerCase());
    if (!id || !status) return { events: [], ignored: 1 };
    const at = fromEpochSeconds(data.timestamp);
    return { events: [{ kind: 'status', providerMessageId: id, status, ...(at ? { at } : {}), ...(status === 'failed' ? { errorCode: 'watzap:failed', reason: 'Watzap reported the message failed' } : {}) }], ignored: 0 };
  }
  if (p.type !== 'incoming_chat' || !data || data.is_from_me === true) return { events: [], ignored: 1 };
  const id = str(data.message_id);
  const from = typeof data.chat_id === 'string' ? chatE164(data.chat_id) : undefined;
  if (!id || !from) return { events: [], ignored: 1 };
  const at = fromEpochSeconds(data.timestamp);
  return { events: [{ kind: 'inbound', fromE164: from, text: str(data.message_body) ?? '', providerMessageId: id, ...(at ? { at } : {}) }], ignored: 0 };
}

export function watzapHandleWebhook(cfg: WatzapConfig, req: WebhookRequest): WebhookResult {
  const v = urlTokenCheck(req, roleValue(cfg.webhookToken, 'watzap', 'receive', 'WATZAP_WEBHOOK_TOKEN'));
  if (v !== 'ok') return { ok: false, reason: v };
  // The URL's secret matched: a body that is not a JSON object is not Watzap's (400, not 401).
  const payload = jsonObjectBody(req.rawBody);
  if (!payload) return { ok: false, reason: 'unparseable' };
  return { ok: true, ...parseWatzapWebhook(payload) };
}

////////// Test connection: POST checking_key (reads the key's licences; sends nothing)

export function watzapTestConnection(cfg: WatzapConfig): ConnectionCheck {
  const { apiKey, numberKey } = keys(cfg);
  return {
    request: withRedaction({ method: 'POST', url: `${cfg.baseUrl}/checking_key`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: apiKey }) }, [apiKey, numberKey]),
    checks: 'the API key is valid, the number key belongs to it and that number is connected',
    interpret(res) {
      if (!is2xx(res.status)) return { ok: false, reason: `http:${res.status}` };
      const body = parseJson(res.body);
      const data = isObject(body) && isObject(body.data) ? body.data : undefined;
      if (!data) return { ok: false, reason: reasonText(isObject(body) ? body.message : undefined, 'Watzap refused the API key') };
      const licence = (Array.isArray(data.licenses_key) ? data.licenses_key : []).find((l) => isObject(l) && l.key === numberKey);
      if (!isObject(licence)) return { ok: false, reason: 'the number key is not one of this API key\'s numbers' };
      return licence.is_connected === true ? { ok: true, detail: `number connected, licence until ${str(licence.active_until) ?? 'unknown'}` } : { ok: false, reason: 'the number is not connected' };
    },
  };
}
