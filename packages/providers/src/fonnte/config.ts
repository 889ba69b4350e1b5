import type { Env, ProviderRole, ReadSecretFile } from '../types';
import { EnvReader } from '../shared/config';

////////// Fonnte configuration (unofficial gateway: a WhatsApp device linked by QR code; no templates)

export interface FonnteConfig {
  baseUrl: string;
  /** send role: device token, sent as the Authorization header (no "Bearer"). */
  token?: string;
  /** receive role: secret in the webhook URL (?token= or last path segment): Fonnte signs nothing. */
  webhookToken?: string;
}

export const FONNTE_ENV = { send: ['FONNTE_TOKEN', 'FONNTE_BASE_URL'], receive: ['FONNTE_WEBHOOK_TOKEN'] } as const;

export function fonnteConfigFromEnv(env: Env, readSecretFile: ReadSecretFile, roles: ReadonlySet<ProviderRole>): FonnteConfig | undefined {
  const r = new EnvReader('fonnte', env, readSecretFile, roles);
  if (!r.configured({ send: ['FONNTE_TOKEN'], receive: ['FONNTE_WEBHOOK_TOKEN'] })) return undefined;
  r.requireForRoles({ send: ['FONNTE_TOKEN'], receive: ['FONNTE_WEBHOOK_TOKEN'] });
  const out: FonnteConfig = { baseUrl: r.baseUrl('FONNTE_BASE_URL', 'https://api.fonnte.com') };
  if (roles.has('send')) out.token = r.requireAll({ FONNTE_TOKEN: r.secret('FONNTE_TOKEN') }).FONNTE_TOKEN;
  if (roles.has('receive')) {
    out.webhookToken = r.requireAll({ FONNTE_WEBHOOK_TOKEN: r.secret('FONNTE_WEBHOOK_TOKEN') }).FONNTE_WEBHOOK_TOKEN;
    if (out.webhookToken.length < 16) throw r.error('FONNTE_WEBHOOK_TOKEN must be at least 16 characters (it is the only webhook check)');
  }
  return out;
}
