import type { Env, ReadSecretFile } from '../types';
import { EnvReader } from '../shared/config';

////////// Fonnte configuration (unofficial gateway: a WhatsApp device linked by QR code; no templates)

export interface FonnteConfig {
  baseUrl: string;
  /** Device token, sent as the Authorization header (no "Bearer"). */
  token: string;
  /** Secret in the webhook URL (?token= or last path segment): Fonnte signs nothing. */
  webhookToken: string;
}

export const FONNTE_ENV = ['FONNTE_TOKEN', 'FONNTE_WEBHOOK_TOKEN', 'FONNTE_BASE_URL'] as const;

export function fonnteConfigFromEnv(env: Env, readSecretFile: ReadSecretFile): FonnteConfig | undefined {
  const r = new EnvReader('fonnte', env, readSecretFile);
  if (!r.anySet(['FONNTE_TOKEN', 'FONNTE_WEBHOOK_TOKEN'])) return undefined;
  const req = r.requireAll({ FONNTE_TOKEN: r.secret('FONNTE_TOKEN'), FONNTE_WEBHOOK_TOKEN: r.secret('FONNTE_WEBHOOK_TOKEN') });
  if (req.FONNTE_WEBHOOK_TOKEN.length < 16) throw r.error('FONNTE_WEBHOOK_TOKEN must be at least 16 characters (it is the only webhook check)');
  return { baseUrl: r.baseUrl('FONNTE_BASE_URL', 'https://api.fonnte.com'), token: req.FONNTE_TOKEN, webhookToken: req.FONNTE_WEBHOOK_TOKEN };
}
