import { randomUUID } from 'node:crypto';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import type { TwilioConfig } from '../config';
import { hex, isObj, str, toE164 } from '../util';
import type { ErrorKind, ErrorOptions, ProviderSim, Reply, SendInput, SimMessage } from './types';

////////// Twilio Messages API: POST /twilio/2010-04-01/Accounts/{AccountSid}/Messages.json,
// form-encoded, HTTP Basic (AccountSid:AuthToken or ApiKeySid:ApiKeySecret); 201 with the
// Message resource (sid SM + 32 hex); errors {code,message,more_info,status}; status callbacks
// form-encoded and signed with X-Twilio-Signature (the twilio package's own function).

const TWILIO_ERRORS: Record<number, { message: string; http: number }> = {
  20003: { message: 'Authenticate', http: 401 },
  20404: { message: 'The requested resource was not found', http: 404 },
  20429: { message: 'Too Many Requests', http: 429 },
  20500: { message: 'Internal Server Error', http: 500 },
  20503: { message: 'Service Unavailable', http: 503 },
  21211: { message: "Invalid 'To' Phone Number", http: 400 },
  21603: { message: "A 'From' phone number is required.", http: 400 },
  21604: { message: "A 'To' phone number is required.", http: 400 },
  21610: { message: 'Attempt to send to unsubscribed recipient', http: 400 },
  21617: { message: 'The concatenated message body exceeds the 1600 character limit.', http: 400 },
  21619: { message: 'A text message body or media urls must be specified.', http: 400 },
  21655: { message: 'The ContentSid is Invalid.', http: 400 },
  21656: { message: 'The ContentVariables Parameter is invalid.', http: 400 },
  21910: { message: 'Invalid From and To pair. From and To should be of the same channel.', http: 400 },
  30001: { message: 'Queue overflow', http: 429 },
  63003: { message: 'Channel could not find To address', http: 400 },
  63016: { message: 'Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.', http: 400 },
  63018: { message: 'Rate limit exceeded for Channel', http: 429 },
  63024: { message: 'Invalid message recipient', http: 400 },
  63027: { message: 'Template does not exist for a language and locale', http: 400 },
  63028: { message: 'Number of parameters provided does not match the expected number of parameters', http: 400 },
  63032: { message: "User's number is part of an experiment", http: 400 },
};

const rfc2822 = (ms: number) => new Date(ms).toUTCString().replace('GMT', '+0000');

function restError(code: number, httpStatus?: number, message?: string): Reply {
  const known = TWILIO_ERRORS[code];
  const status = httpStatus ?? known?.http ?? 400;
  return {
    status,
    body: { code, message: message ?? known?.message ?? 'Error', more_info: `https://www.twilio.com/docs/errors/${code}`, status },
    ...(status === 401 ? { headers: { 'WWW-Authenticate': 'Basic realm="Twilio API"' } } : {}),
  };
}

export function createTwilio(cfg: TwilioConfig): ProviderSim {
  const resource = (m: SimMessage, status: string): Record<string, unknown> => {
    const last = m.statuses[m.statuses.length - 1];
    const failed = last?.status === 'failed';
    const e = m.echo ?? {};
    return {
      account_sid: cfg.accountSid, api_version: '2010-04-01', body: e.Body ?? '',
      date_created: rfc2822(m.createdAtMs), date_sent: m.statuses.length ? rfc2822(m.statuses[0]!.atMs) : null, date_updated: rfc2822(last?.atMs ?? m.createdAtMs),
      direction: 'outbound-api', error_code: failed ? Number(last?.code) : null, error_message: failed ? (TWILIO_ERRORS[Number(last?.code)]?.message ?? null) : null,
      from: m.from ?? null, messaging_service_sid: e.MessagingServiceSid ?? null, num_media: '0', num_segments: '1', price: null, price_unit: 'USD',
      sid: m.id, status, subresource_uris: { media: `/2010-04-01/Accounts/${cfg.accountSid}/Messages/${m.id}/Media.json` },
      to: `whatsapp:${m.to}`, uri: `/2010-04-01/Accounts/${cfg.accountSid}/Messages/${m.id}.json`,
    };
  };
  const form = (url: string, params: Record<string, string>) => ({
    url,
    body: new URLSearchParams(params).toString(),
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded', 'User-Agent': 'TwilioProxy/1.1', 'I-Twilio-Idempotency-Token': randomUUID(),
      'X-Twilio-Signature': getExpectedTwilioSignature(cfg.authToken, url, params),
    },
  });

  const authenticate = ({ headers, params }: SendInput): Reply | null => {
    const m = /^Basic\s+(\S+)$/i.exec(String(headers.authorization ?? ''));
    const [user, ...rest] = m ? Buffer.from(m[1]!, 'base64').toString('utf8').split(':') : [];
    const pass = rest.join(':');
    const ok = (user === cfg.accountSid && pass === cfg.authToken) || (!!cfg.apiKeySid && user === cfg.apiKeySid && pass === cfg.apiKeySecret);
    if (!ok) return restError(20003);
    if (params.accountSid !== cfg.accountSid) return restError(20404, 404, `The requested resource /2010-04-01/Accounts/${params.accountSid} was not found`);
    return null;
  };

  return {
    name: 'twilio',
    sendPath: '/twilio/2010-04-01/Accounts/:accountSid/Messages.json',
    authenticate,
    parse({ body }: SendInput) {
      const b = isObj(body) ? body : {};
      const to = str(b.To);
      const from = str(b.From);
      const service = str(b.MessagingServiceSid);
      const text = str(b.Body);
      const contentSid = str(b.ContentSid);
      const vars = str(b.ContentVariables);
      const fail = (code: number) => ({ ok: false as const, reply: restError(code) });
      if (!to) return fail(21604);
      if (!/^whatsapp:\+[1-9]\d{6,14}$/.test(to)) return /^whatsapp:/.test(to) || !from?.startsWith('whatsapp:') ? fail(21211) : fail(21910);
      if (!from && !service) return fail(21603);
      if (from && !from.startsWith('whatsapp:')) return fail(21910);
      if (!text && !contentSid && b.MediaUrl === undefined) return fail(21619);
      if (text && text.length > 1600) return fail(21617);
      if (contentSid && !/^HX[0-9a-f]{32}$/.test(contentSid)) return fail(21655);
      if (vars !== undefined) {
        try { if (!isObj(JSON.parse(vars))) return fail(21656); } catch { return fail(21656); }
      }
      return {
        ok: true,
        value: {
          recipients: [toE164(to)], from: from ?? undefined, statusCallback: str(b.StatusCallback),
          echo: { Body: text, ContentSid: contentSid, ContentVariables: vars, MessagingServiceSid: service },
        },
      };
    },
    accept(_input, parsed) {
      const to = parsed.recipients[0]!;
      const id = `SM${hex(16)}`;
      const now = Date.now();
      const status = parsed.from ? 'queued' : 'accepted';
      const msg: SimMessage = { provider: 'twilio', id, to, from: parsed.from, createdAtMs: now, echo: parsed.echo, statuses: [] };
      return { messages: [{ id, to }], reply: { status: 201, body: resource(msg, status) } };
    },
    error(kind: ErrorKind, o: ErrorOptions) {
      if (kind === 'rate_limit') return restError(Number(o.code ?? 20429), o.httpStatus ?? 429, o.message);
      if (kind === 'server_error') return restError(Number(o.code ?? 20500), o.httpStatus ?? 500, o.message);
      return restError(Number(o.code ?? 21211), o.httpStatus, o.message);
    },
    defaultFailCode: 63024,
    statusUrl: (m) => m.statusCallback ?? cfg.webhookUrl,
    inboundUrl: () => cfg.inboundWebhookUrl ?? cfg.webhookUrl,
    urlSecrets: () => [],
    statusWebhook(m, status, code, url) {
      const params: Record<string, string> = {
        AccountSid: cfg.accountSid, ApiVersion: '2010-04-01', ChannelInstallSid: 'XE00000000000000000000000000000000', ChannelPrefix: 'whatsapp',
        ChannelToAddress: m.to, From: m.from ?? cfg.from, MessageSid: m.id, MessageStatus: status, SmsSid: m.id, SmsStatus: status,
        To: `whatsapp:${m.to}`,
      };
      const service = m.echo?.MessagingServiceSid;
      if (typeof service === 'string') params.MessagingServiceSid = service;
      if (status === 'failed' || status === 'undelivered') params.ErrorCode = String(code ?? 63024);
      return form(url, params);
    },
    inboundWebhook({ from, text, name }, url) {
      const id = `SM${hex(16)}`;
      return { id, ...form(url, {
        AccountSid: cfg.accountSid, ApiVersion: '2010-04-01', Body: text, From: `whatsapp:${from}`, MessageSid: id, MessageType: 'text', NumMedia: '0',
        NumSegments: '1', ProfileName: name, ReferralNumMedia: '0', SmsMessageSid: id, SmsSid: id, SmsStatus: 'received', To: cfg.from, WaId: from.replace(/^\+/, ''),
      }) };
    },
    extraRoutes: [
      {
        method: 'get', kind: 'lookup', path: '/twilio/2010-04-01/Accounts/:accountSid/Messages/:sid.json',
        handle(input, messages) {
          const denied = authenticate(input);
          if (denied) return denied;
          const m = messages.get(input.params.sid ?? '');
          if (!m || m.provider !== 'twilio') return restError(20404, 404, `The requested resource /2010-04-01/Accounts/${input.params.accountSid}/Messages/${input.params.sid}.json was not found`);
          return { status: 200, body: resource(m, m.statuses[m.statuses.length - 1]?.status ?? (m.from ? 'queued' : 'accepted')) };
        },
      },
      {
        method: 'get', kind: 'account', path: '/twilio/2010-04-01/Accounts/:accountSid.json',
        handle(input) {
          const denied = authenticate(input);
          if (denied) return denied;
          const uri = `/2010-04-01/Accounts/${cfg.accountSid}`;
          return { status: 200, body: {
            auth_token: '[redacted]', date_created: 'Mon, 06 Jan 2025 03:00:00 +0000', date_updated: 'Mon, 06 Jan 2025 03:00:00 +0000', friendly_name: 'SICANTIK (simulated)',
            owner_account_sid: cfg.accountSid, sid: cfg.accountSid, status: 'active', subresource_uris: { messages: `${uri}/Messages.json` }, type: 'Full', uri: `${uri}.json`,
          } };
        },
      },
    ],
  };
}
