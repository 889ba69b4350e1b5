import type { Env, ReadSecretFile } from '../types';
import { EnvReader } from '../shared/config';

////////// Watzap.id configuration (unofficial gateway; credentials travel in the JSON body)

export interface WatzapConfig {
  baseUrl: string;
  apiKey: string;
  /** Identifies our linked WhatsApp number ("Assigned Numbers for API"). */
  numberKey: string;
  /** Secret in the webhook URL: Watzap signs nothing. */
  webhookToken: string;
}

export const WATZAP_ENV = ['WATZAP_API_KEY', 'WATZAP_NUMBER_KEY', 'WATZAP_WEBHOOK_TOKEN', 'WATZAP_BASE_URL'] as const;

export function watzapConfigFromEnv(env: Env, readSecretFile: ReadSecretFile): WatzapConfig | undefined {
  const r = new EnvReader('watzap', env, readSecretFile);
  if (!r.anySet(['WATZAP_API_KEY', 'WATZAP_NUMBER_KEY', 'WATZAP_WEBHOOK_TOKEN'])) return undefined;
  const req = r.requireAll({
    WATZAP_API_KEY: r.secret('WATZAP_API_KEY'),
    WATZAP_NUMBER_KEY: r.secret('WATZAP_NUMBER_KEY'),
    WATZAP_WEBHOOK_TOKEN: r.secret('WATZAP_WEBHOOK_TOKEN'),
  });
  if (req.WATZAP_WEBHOOK_TOKEN.length < 16) throw r.error('WATZAP_WEBHOOK_TOKEN must be at least 16 characters (it is the only webhook check)');
  return {
    baseUrl: r.baseUrl('WATZAP_BASE_URL', 'https://api.watzap.id/v1'),
    apiKey: req.WATZAP_API_KEY, numberKey: req.WATZAP_NUMBER_KEY, webhookToken: req.WATZAP_WEBHOOK_TOKEN,
  };
}
