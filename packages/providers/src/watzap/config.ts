import type { Env, ProviderRole, ReadSecretFile } from '../types';
import { EnvReader } from '../shared/config';

////////// Watzap.id configuration (unofficial gateway; credentials travel in the JSON body)

export interface WatzapConfig {
  baseUrl: string;
  /** send role */
  apiKey?: string;
  /** send role: identifies our linked WhatsApp number ("Assigned Numbers for API"). */
  numberKey?: string;
  /** receive role: secret in the webhook URL: Watzap signs nothing. */
  webhookToken?: string;
}

export const WATZAP_ENV = { send: ['WATZAP_API_KEY', 'WATZAP_NUMBER_KEY', 'WATZAP_BASE_URL'], receive: ['WATZAP_WEBHOOK_TOKEN'] } as const;

export function watzapConfigFromEnv(env: Env, readSecretFile: ReadSecretFile, roles: ReadonlySet<ProviderRole>): WatzapConfig | undefined {
  const r = new EnvReader('watzap', env, readSecretFile, roles);
  if (!r.configured({ send: ['WATZAP_API_KEY', 'WATZAP_NUMBER_KEY'], receive: ['WATZAP_WEBHOOK_TOKEN'] })) return undefined;
  r.requireForRoles({ send: ['WATZAP_API_KEY', 'WATZAP_NUMBER_KEY'], receive: ['WATZAP_WEBHOOK_TOKEN'] });
  const out: WatzapConfig = { baseUrl: r.baseUrl('WATZAP_BASE_URL', 'https://api.watzap.id/v1') };
  if (roles.has('send')) {
    const req = r.requireAll({ WATZAP_API_KEY: r.secret('WATZAP_API_KEY'), WATZAP_NUMBER_KEY: r.secret('WATZAP_NUMBER_KEY') });
    out.apiKey = req.WATZAP_API_KEY;
    out.numberKey = req.WATZAP_NUMBER_KEY;
  }
  if (roles.has('receive')) {
    out.webhookToken = r.requireAll({ WATZAP_WEBHOOK_TOKEN: r.secret('WATZAP_WEBHOOK_TOKEN') }).WATZAP_WEBHOOK_TOKEN;
    if (out.webhookToken.length < 16) throw r.error('WATZAP_WEBHOOK_TOKEN must be at least 16 characters (it is the only webhook check)');
  }
  return out;
}
