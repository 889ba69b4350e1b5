import type { Env, ReadSecretFile } from '../types';
import { EnvReader, templateEntry } from '../shared/config';
import { e164FromInternational } from '../shared/phone';

////////// Twilio configuration

export interface TwilioConfig {
  baseUrl: string;
  accountSid: string;
  /** Signs X-Twilio-Signature (always the Auth Token, even when sending with an API key). */
  authToken: string;
  /** REST credentials when set (API key SID + secret); else AccountSid + Auth Token. */
  apiKey?: { sid: string; secret: string };
  /** Our WhatsApp sender, E.164 (sent as whatsapp:+...). */
  from?: string;
  messagingServiceSid?: string;
  statusCallbackUrl?: string;
  /** templateCode -> Content SID (HX...). */
  templates: ReadonlyMap<string, string>;
}

export const TWILIO_ENV = [
  'TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_API_KEY_SID', 'TWILIO_API_KEY_SECRET', 'TWILIO_WHATSAPP_FROM',
  'TWILIO_MESSAGING_SERVICE_SID', 'TWILIO_STATUS_CALLBACK_URL', 'TWILIO_BASE_URL', 'TWILIO_TEMPLATES',
] as const;

export function twilioConfigFromEnv(env: Env, readSecretFile: ReadSecretFile): TwilioConfig | undefined {
  const r = new EnvReader('twilio', env, readSecretFile);
  if (!r.anySet(['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_API_KEY_SID', 'TWILIO_API_KEY_SECRET'])) return undefined;
  const req = r.requireAll({ TWILIO_ACCOUNT_SID: r.value('TWILIO_ACCOUNT_SID'), TWILIO_AUTH_TOKEN: r.secret('TWILIO_AUTH_TOKEN') });
  if (!/^AC[0-9a-fA-F]{32}$/.test(req.TWILIO_ACCOUNT_SID)) throw r.error('TWILIO_ACCOUNT_SID must look like AC + 32 hex digits');
  const keySid = r.value('TWILIO_API_KEY_SID');
  const keySecret = r.secret('TWILIO_API_KEY_SECRET');
  if ((keySid === undefined) !== (keySecret === undefined)) throw r.error('set both TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET, or neither');
  if (keySid !== undefined && !/^SK[0-9a-fA-F]{32}$/.test(keySid)) throw r.error('TWILIO_API_KEY_SID must look like SK + 32 hex digits');
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
    baseUrl: r.baseUrl('TWILIO_BASE_URL', 'https://api.twilio.com'),
    accountSid: req.TWILIO_ACCOUNT_SID,
    authToken: req.TWILIO_AUTH_TOKEN,
    ...(keySid && keySecret ? { apiKey: { sid: keySid, secret: keySecret } } : {}),
    ...(from ? { from } : {}),
    ...(messagingServiceSid ? { messagingServiceSid } : {}),
    ...(statusCallbackUrl ? { statusCallbackUrl } : {}),
    templates,
  };
}
