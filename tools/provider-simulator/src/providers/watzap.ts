import { randomBytes } from 'node:crypto';
import type { WatzapConfig } from '../config';
import { digits, isObj, str } from '../util';
import type { ErrorKind, ErrorOptions, ProviderSim, Reply, SendInput } from './types';

////////// Watzap.id (unofficial gateway, low confidence): POST /watzap/v1/send_message with
// JSON {api_key, number_key, phone_no, message, wait_until_send?}; the key is in the body.
// Answers are HTTP 200 with a string status: "200" on success, Watzap's own codes on errors
// (1002 Invalid API Key, 1003 Invalid Number Key, 1004, 1005, 1006, 3001). Webhooks
// ({type, data:{…}}) are unsigned: the callback URL carries a secret token.

const WATZAP_ERRORS: Record<string, string> = {
  '1002': 'Invalid API Key',
  '1003': 'Invalid Number Key',
  '1004': 'Pairing Failed, Access Denied',
  '1005': 'Fatal Error / Instance Not Started',
  '1006': 'Other Error',
  '3001': 'Need Upgrade Package',
};

const answer = (status: string, message: string, extra: object = {}, http = 200): Reply => ({ status: http, body: { status, message, ...extra } });
const waMessageId = () => `3EB0${randomBytes(8).toString('hex').toUpperCase()}`;

/** Our status → the ack word in Watzap's message_ack event (an assumption: no official docs). */
const ACK: Record<string, string> = { sent: 'SENT', delivered: 'DELIVERED', read: 'READ', failed: 'FAILED' };

export function createWatzap(cfg: WatzapConfig): ProviderSim {
  const post = (url: string, payload: object) => ({ url, body: JSON.stringify(payload), headers: { 'Content-Type': 'application/json' } });
  const keyOk = (b: Record<string, unknown>) => b.api_key === cfg.apiKey;
  const authenticate = ({ body }: SendInput): Reply | null => {
    const b = isObj(body) ? body : {};
    if (!keyOk(b)) return answer('1002', WATZAP_ERRORS['1002']!);
    if (b.number_key !== cfg.numberKey) return answer('1003', WATZAP_ERRORS['1003']!);
    return null;
  };

  return {
    name: 'watzap',
    sendPath: '/watzap/v1/send_message',
    authenticate,
    parse({ body }: SendInput) {
      const b = isObj(body) ? body : {};
      let phone = (str(b.phone_no) ?? '').replace(/[\s\-+]/g, '');
      if (phone.startsWith('0')) phone = `62${phone.slice(1)}`;
      if (!/^\d{8,15}$/.test(phone) || !str(b.message)) return { ok: false, reply: answer('1006', WATZAP_ERRORS['1006']!, { detail: 'phone_no and message are required' }) };
      return { ok: true, value: { recipients: [`+${phone}`], echo: { wait: b.wait_until_send === '1' || b.wait_until_send === 1 } } };
    },
    accept(_input, parsed) {
      const id = waMessageId();
      return { messages: [{ id, to: parsed.recipients[0]! }], reply: answer('200', 'Successfully', { data: { message_id: id } }) };
    },
    error(kind: ErrorKind, o: ErrorOptions) {
      if (kind === 'server_error') {
        const status = o.httpStatus ?? 502;
        return { status, contentType: 'text/html', body: `<html><head><title>${status} Bad Gateway</title></head><body><h1>${status} Bad Gateway</h1></body></html>` };
      }
      if (kind === 'rate_limit') return answer(String(o.code ?? '429'), o.message ?? 'Too Many Requests', {}, o.httpStatus ?? 200);
      const code = String(o.code ?? '1005');
      return answer(code, o.message ?? WATZAP_ERRORS[code] ?? 'Other Error', {}, o.httpStatus ?? 200);
    },
    defaultFailCode: 'FAILED',
    statusUrl: () => cfg.webhookUrl,
    inboundUrl: () => cfg.webhookUrl,
    urlSecrets: () => [cfg.webhookToken],
    statusWebhook(m, status, code, url) {
      return post(url, { type: 'message_ack', data: {
        message_id: m.id, chat_id: `${digits(m.to)}@c.us`, message_ack: ACK[status] ?? status.toUpperCase(), timestamp: Math.floor(Date.now() / 1000), is_from_me: true,
        ...(status === 'failed' ? { error: String(code ?? 'FAILED') } : {}),
      } });
    },
    inboundWebhook({ from, text, name }, url) {
      const id = waMessageId();
      return { id, ...post(url, { type: 'incoming_chat', data: {
        chat_id: `${digits(from)}@c.us`, message_id: id, name, profile_picture: '', timestamp: Math.floor(Date.now() / 1000), message_body: text,
        message_ack: 'DELIVERED', has_media: false, media_mime: '', media_name: '', location_attached: null, is_forwading: false, is_from_me: false,
      } }) };
    },
    extraRoutes: [
      {
        // The key check a "test connection" uses, answered as Watzap's API documentation shows
        // it: the account and its licences, one per linked number, each with its number key
        // (`key`) and whether that number is connected. Watzap's own example sends the key as
        // "api-key" in one place and "api_key" in another: both are read.
        method: 'post', kind: 'account', path: '/watzap/v1/checking_key',
        handle({ body }) {
          const b = isObj(body) ? body : {};
          if (b.api_key !== cfg.apiKey && b['api-key'] !== cfg.apiKey) return answer('1002', WATZAP_ERRORS['1002']!);
          return { status: 200, body: { data: {
            id: 'SIMWATZAP', name: 'WatZap.id', email: 'simulator@example.invalid', expires_on: '31 December 2099', plan: 'WatZap Premium', total_legacy_licenses: '1',
            licenses_key: [{
              id: 'SIMNUMBER1', key: cfg.numberKey, plan: 'WatZap Premium', active_from: '2026-01-01 00:00:00', active_until: '2099-12-31 00:00:00',
              limit_message_per_day: 0, expires_on: '31 December 2099', limit_domain: 'Unlimited', wa_number: cfg.device, is_connected: true,
            }],
          }, status: true, message: 'Successfully' } };
        },
      },
      {
        method: 'post', kind: 'account', path: '/watzap/v1/validate_number',
        handle(input) {
          const denied = authenticate(input);
          if (denied) return denied;
          return { status: 200, body: { status: '200', ack: 'successfully' } };
        },
      },
    ],
  };
}
