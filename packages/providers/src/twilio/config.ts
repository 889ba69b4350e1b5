import type { Env, ProviderRole, ReadSecretFile } from '../types';
import { EnvReader, templateEntry } from '../shared/config';
import { e164FromInternational } from '../shared/phone';

////////// Twilio configuration

export interface TwilioConfig {
  baseUrl: string;
  /** send role */
  accountSid?: string;
  /** Both roles: REST auth when no API key is set, and the key of X-Twilio-Signature (always the Auth Token). */
  authToken?: string;
  /** send role: REST credentials when set (API key SID + secret), else AccountSid + Auth Token. */
  apiKey?: { sid: string; secret: string };
  /** send role: our WhatsApp sender, E.164 (sent as whatsapp:+...), and/or a Messaging Service. */
  from?: string;
  messagingServiceSid?: string;
  statusCallbackUrl?: string;
  /** send role: templateCode -> Content SID (HX...). */
  templates: ReadonlyMap<string, string>;
}

export const TWILIO_ENV = {
  send: ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_API_KEY_SID', 'TWILIO_API_KEY_SECRET', 'TWILIO_WHATSAPP_FROM', 'TWILIO_MESSAGING_SERVICE_SID', 'TWILIO_STATUS_CALLBACK_URL', 'TWILIO_BASE_URL', 'TWILIO_TEMPLATES'],
  receive: ['TWILIO_AUTH_TOKEN'],
} as const;

export function twilioConfigFromEnv(env: Env, readSecretFile: ReadSecretFile, roles: ReadonlySet<ProviderRole>): TwilioConfig | undefined {
  const r = new EnvReader('twilio', env, readSecretFile, roles);
  if (!r.configured({ send: ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_API_KEY_SID', 'TWILIO_API_KEY_SECRET'], receive: ['TWILIO_AUTH_TOKEN'] })) return undefined;
  r.requireForRoles({ send: ['TWILIO_ACCOUNT_SID'], receive: ['TWILIO_AUTH_TOKEN'] });
  const authToken = r.secret('TWILIO_AUTH_TOKEN');
  const base = { baseUrl: r.baseUrl('TWILIO_BASE_URL', 'https://api.twilio.com'), templates: new Map<string, string>() };
  if (roles.has('receive')) r.requireAll({ TWILIO_AUTH_TOKEN: authToken });
  if (!roles.has('send')) return { ...base, ...(authToken ? { authToken } : {}) };
  const accountSid = r.requireAll({ TWILIO_ACCOUNT_SID: r.value('TWILIO_ACCOUNT_SID') }).TWILIO_ACCOUNT_SID;
  if (!/^AC[0-9a-fA-F]{32}$/.test(accountSid)) throw r.error('TWILIO_ACCOUNT_SID must look like AC + 32 hex digits');
  const keySid = r.value('TWILIO_API_KEY_SID');
  const keySecret = r.secret('TWILIO_API_KEY_SECRET');
  if ((keySid === undefined) !== (keySecret === undefined)) throw r.error('set both TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET, or neither');
  if (keySid !== undefined && !/^SK[0-9a-fA-F]{32}$/.test(keySid)) throw r.error('TWILIO_API_KEY_SID must look like SK + 32 hex digits');
  if (!authToken && !keySid) throw r.error('partially configured: missing TWILIO_AUTH_TOKEN (or TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET)');
  const fromRaw = r.value('TWILIO_WHATSAPP_FROM');
  const from = fromRaw === undefined ? undefined : e164FromInternational(fromRaw.replace(/^whatsapp:/, ''));
  if (fromRaw !== undefined && from === undefined) throw r.error('TWILIO_WHATSAPP_FROM must be an E.164 number');
  const messagingServiceSid = r.value('TWILIO_MESSAGING_SERVICE_SID');
  if (messagingServiceSid !== undefined && !/^MG[0-9a-fA-F]{32}$/.test(messagingServiceSid)) throw r.error('TWILIO_MESSAGING_SERVICE_SID must look like MG + 32 hex digits');
  if (!from && !messagingServiceSid) throw r.error('partially configured: missing TWILIO_WHATSAPP_FROM or TWILIO_MESSAGING_SERVICE_SID');
  const templates = r.templates('TWILIO_TEMPLATES', (v) => {
    const sid = templateEntry(v, ['contentSid'], [])?.contentSid;
    return sid && /^HX[0-9a-fA-F]{32}$/.test(sid) ? sid : undefined;
  });
  const statusCallbackUrl = r.value('TWILIO_STATUS_CALLBACK_URL');
  if (statusCallbackUrl !== undefined) r.baseUrl('TWILIO_STATUS_CALLBACK_URL', statusCallbackUrl);
  return {
    ...base,
    accountSid,
    ...(authToken ? { authToken } : {}),
    ...(keySid && keySecret ? { apiKey: { sid: keySid, secret: keySecret } } : {}),
    ...(from ? { from } : {}),
    ...(messagingServiceSid ? { messagingServiceSid } : {}),
    ...(statusCallbackUrl ? { statusCallbackUrl } : {}),
    templates,
  };
}
