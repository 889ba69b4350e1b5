import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { BirdConfig } from '../config';
import { hex, isObj, str } from '../util';
import type { ErrorKind, ErrorOptions, ProviderSim, Reply, SendInput, SimMessage } from './types';

////////// Bird platform API (the new generation): POST /bird/v1/whatsapp/messages with
// Authorization: Bearer <key>; 202 with the WhatsAppMessage (uuid id, status accepted);
// errors {error:{type,code,name,message,doc_url,request_id,…}} (422 validation, 429);
// events whatsapp.sent|delivered|read|failed|received signed with Standard Webhooks.

/** Failure codes of whatsapp.failed events (PROVIDERS.md §3.3) and the Meta code behind each. */
const BIRD_FAILURES: Record<string, { description: string; meta?: number }> = {
  service_window_expired: { description: 'The 24-hour customer service window has expired; send a template.', meta: 131047 },
  undeliverable: { description: 'The message could not be delivered to the recipient.', meta: 131026 },
  rate_limited: { description: 'The recipient or sender rate limit was reached.', meta: 131056 },
  recipient_suppressed: { description: 'The recipient is on a suppression list.' },
  insufficient_balance: { description: 'The workspace balance is insufficient.' },
  price_not_found: { description: 'No price is configured for this destination.' },
  internal_error: { description: 'An internal error occurred.', meta: 131000 },
};

const SYNC_ERRORS: Record<string, { type: string; http: number; message: string }> = {
  WhatsAppInvalidRecipient: { type: 'validation_error', http: 422, message: 'The recipient is not a valid WhatsApp phone number.' },
  WhatsAppSenderRequired: { type: 'validation_error', http: 422, message: 'A sender (from) is required.' },
  WhatsAppTemplateNotFound: { type: 'validation_error', http: 422, message: 'The template does not exist or is not approved for this language.' },
  WhatsAppOutsideServiceWindow: { type: 'validation_error', http: 422, message: 'Free-form messages need an open customer service window.' },
  InsufficientBalance: { type: 'billing_error', http: 402, message: 'The workspace balance is insufficient.' },
  Unauthenticated: { type: 'auth_error', http: 401, message: 'The API key is missing or invalid.' },
  TooManyRequests: { type: 'rate_limit_error', http: 429, message: 'Rate limit exceeded; retry after the Retry-After delay.' },
  InternalError: { type: 'internal_error', http: 500, message: 'An internal error occurred.' },
  ServiceUnavailable: { type: 'service_unavailable_error', http: 503, message: 'The service is temporarily unavailable.' },
};

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

function birdError(code: string, httpStatus?: number, message?: string, extra: Record<string, unknown> = {}): Reply {
  const known = SYNC_ERRORS[code];
  const status = httpStatus ?? known?.http ?? 422;
  return {
    status,
    headers: { 'X-Request-Id': randomUUID(), ...(status === 429 || status === 503 ? { 'Retry-After': '1' } : {}) },
    body: { error: {
      type: known?.type ?? (status === 429 ? 'rate_limit_error' : status >= 500 ? 'internal_error' : 'validation_error'),
      code, name: snake(code), message: message ?? known?.message ?? 'The request was rejected.',
      doc_url: `https://docs.bird.com/errors/${snake(code)}`, request_id: randomUUID(), ...extra,
    } },
  };
}

export function createBird(cfg: BirdConfig): ProviderSim {
  const signer = new Webhook(cfg.webhookSecret);
  const iso = (ms = Date.now()) => new Date(ms).toISOString();
  const message = (m: SimMessage, status: string) => ({
    id: m.id, workspace_id: cfg.workspaceId, direction: 'outbound', status, to: m.to, from: m.from ?? cfg.from,
    ...(m.echo ?? {}), tags: [], metadata: {}, created_at: iso(m.createdAtMs), updated_at: iso(m.statuses[m.statuses.length - 1]?.atMs ?? m.createdAtMs),
  });
  const signed = (url: string, event: object) => {
    const body = JSON.stringify(event);
    const id = `msg_${hex(12)}`;
    const at = new Date();
    return { url, body, headers: {
      'Content-Type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signer.sign(id, at, body),
    } };
  };

  const authenticate = ({ headers }: SendInput): Reply | null => (headers.authorization === `Bearer ${cfg.apiKey}` ? null : birdError('Unauthenticated'));
  const current = (m: SimMessage) => message(m, m.statuses[m.statuses.length - 1]?.status ?? 'accepted');

  return {
    name: 'bird',
    sendPath: '/bird/v1/whatsapp/messages',
    authenticate,
    parse({ body }: SendInput) {
      const b = isObj(body) ? body : {};
      const to = str(b.to);
      const from = str(b.from);
      const tpl = isObj(b.template) ? b.template : undefined;
      const text = isObj(b.text) ? b.text : undefined;
      if (!to || !/^\+[1-9]\d{6,14}$/.test(to)) return { ok: false, reply: birdError('WhatsAppInvalidRecipient', 422, undefined, { param: 'to' }) };
      if (!from) return { ok: false, reply: birdError('WhatsAppSenderRequired', 422, undefined, { param: 'from' }) };
      if (tpl) {
        if (!str(tpl.id) && !str(tpl.slug)) return { ok: false, reply: birdError('ValidationFailed', 422, 'The request has invalid field values.', { details: [{ param: 'template.id', message: 'template.id or template.slug is required' }] }) };
        if (!str(tpl.language)) return { ok: false, reply: birdError('ValidationFailed', 422, 'The request has invalid field values.', { details: [{ param: 'template.language', message: 'is required' }] }) };
      } else if (!str(text?.body)) {
        return { ok: false, reply: birdError('ValidationFailed', 422, 'The request has invalid field values.', { details: [{ param: '.', message: 'one of template or text is required' }] }) };
      }
      return { ok: true, value: { recipients: [to], from, echo: tpl ? { template: tpl } : { text } } };
    },
    accept(_input, parsed) {
      const to = parsed.recipients[0]!;
      const id = randomUUID();
      const m: SimMessage = { provider: 'bird', id, to, from: parsed.from, createdAtMs: Date.now(), echo: parsed.echo, statuses: [] };
      return { messages: [{ id, to }], reply: { status: 202, body: message(m, 'accepted') } };
    },
    error(kind: ErrorKind, o: ErrorOptions) {
      if (kind === 'rate_limit') return birdError(String(o.code ?? 'TooManyRequests'), o.httpStatus ?? 429, o.message);
      if (kind === 'server_error') return birdError(String(o.code ?? ((o.httpStatus ?? 500) === 503 ? 'ServiceUnavailable' : 'InternalError')), o.httpStatus ?? 500, o.message);
      return birdError(String(o.code ?? 'WhatsAppInvalidRecipient'), o.httpStatus, o.message);
    },
    defaultFailCode: 'undeliverable',
    statusUrl: () => cfg.webhookUrl,
    inboundUrl: () => cfg.webhookUrl,
    urlSecrets: () => [],
    statusWebhook(m, status, code, url) {
      const data: Record<string, unknown> = {
        whatsapp_id: m.id, workspace_id: cfg.workspaceId, direction: 'outbound', from: m.from ?? cfg.from, to: m.to, tags: [], metadata: {},
      };
      if (status === 'failed') {
        const c = String(code ?? 'undeliverable');
        const f = BIRD_FAILURES[c];
        data.error = { code: c, description: f?.description ?? c, ...(f?.meta ? { meta_error_code: f.meta } : {}), occurred_at: iso() };
      }
      return signed(url, { type: `whatsapp.${status}`, timestamp: iso(), data });
    },
    inboundWebhook({ from, text, name }, url) {
      const id = randomUUID();
      return { id, ...signed(url, {
        type: 'whatsapp.received', timestamp: iso(),
        data: { whatsapp_id: id, workspace_id: cfg.workspaceId, direction: 'inbound', from, to: cfg.from, tags: [], metadata: {}, contact: { name }, text: { body: text } },
      }) };
    },
    extraRoutes: [
      {
        method: 'get', kind: 'lookup', path: '/bird/v1/whatsapp/messages/:messageId',
        handle(input, messages) {
          const m = messages.get(input.params.messageId ?? '');
          return authenticate(input) ?? (m && m.provider === 'bird' ? { status: 200, body: current(m) } : birdError('NotFound', 404, 'The WhatsApp message was not found.'));
        },
      },
      {
        // newest first, as a cursor page; the adapters use it as a credential check
        method: 'get', kind: 'account', path: '/bird/v1/whatsapp/messages',
        handle(input, messages) {
          const denied = authenticate(input);
          if (denied) return denied;
          const limit = Math.min(Math.max(Number(input.query.limit ?? 10) || 10, 1), 100);
          const data = messages.list().filter((m) => m.provider === 'bird').reverse().slice(0, limit).map(current);
          return { status: 200, body: { data, next_cursor: null, prev_cursor: null, refresh_cursor: data[0]?.id ?? null } };
        },
      },
    ],
  };
}
