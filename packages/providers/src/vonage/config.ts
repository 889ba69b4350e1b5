import type { Env, ProviderRole, ReadSecretFile } from '../types';
import { EnvReader, templateEntry } from '../shared/config';

////////// Vonage configuration (Messages API, HTTP Basic auth with the account key and secret)

interface VonageTemplate {
  /** As Vonage expects it; for WhatsApp templates this may be "<namespace>:<name>". */
  name: string;
  /** BCP 47 locale, defaults to the message language. */
  locale?: string;
}

export interface VonageConfig {
  /** Messages API host, e.g. https://api.nexmo.com (regional hosts can be set here). */
  baseUrl: string;
  /** Account API host (balance check), https://rest.nexmo.com. */
  restBaseUrl: string;
  /** send role */
  apiKey?: string;
  apiSecret?: string;
  /** send role: our WhatsApp number, digits without "+". */
  from?: string;
  templates: ReadonlyMap<string, VonageTemplate>;
  /** receive role: signs the webhook JWTs (HS256); not the API secret. */
  signatureSecret?: string;
  toleranceSeconds: number;
}

export const VONAGE_ENV = {
  send: ['VONAGE_API_KEY', 'VONAGE_API_SECRET', 'VONAGE_WHATSAPP_FROM', 'VONAGE_BASE_URL', 'VONAGE_REST_BASE_URL', 'VONAGE_TEMPLATES'],
  receive: ['VONAGE_SIGNATURE_SECRET'],
} as const;

export function vonageConfigFromEnv(env: Env, readSecretFile: ReadSecretFile, roles: ReadonlySet<ProviderRole>): VonageConfig | undefined {
  const r = new EnvReader('vonage', env, readSecretFile, roles);
  if (!r.configured({ send: ['VONAGE_API_KEY', 'VONAGE_API_SECRET', 'VONAGE_WHATSAPP_FROM'], receive: ['VONAGE_SIGNATURE_SECRET'] })) return undefined;
  r.requireForRoles({ send: ['VONAGE_API_KEY', 'VONAGE_API_SECRET', 'VONAGE_WHATSAPP_FROM'], receive: ['VONAGE_SIGNATURE_SECRET'] });
  const out: VonageConfig = {
    baseUrl: r.baseUrl('VONAGE_BASE_URL', 'https://api.nexmo.com'),
    restBaseUrl: r.baseUrl('VONAGE_REST_BASE_URL', 'https://rest.nexmo.com'),
    templates: new Map(),
    toleranceSeconds: 300,
  };
  if (roles.has('receive')) out.signatureSecret = r.requireAll({ VONAGE_SIGNATURE_SECRET: r.secret('VONAGE_SIGNATURE_SECRET') }).VONAGE_SIGNATURE_SECRET;
  if (!roles.has('send')) return out;
  const req = r.requireAll({
    VONAGE_API_KEY: r.value('VONAGE_API_KEY'),
    VONAGE_API_SECRET: r.secret('VONAGE_API_SECRET'),
    VONAGE_WHATSAPP_FROM: r.value('VONAGE_WHATSAPP_FROM'),
  });
  const from = req.VONAGE_WHATSAPP_FROM.replace(/^\+/, '');
  if (!/^[1-9]\d{7,14}$/.test(from)) throw r.error('VONAGE_WHATSAPP_FROM must be an international number');
  const templates = r.templates('VONAGE_TEMPLATES', (v) => {
    const e = templateEntry(v, ['name'], ['locale']);
    return e?.name ? { name: e.name, ...(e.locale ? { locale: e.locale } : {}) } : undefined;
  });
  return { ...out, apiKey: req.VONAGE_API_KEY, apiSecret: req.VONAGE_API_SECRET, from, templates };
}
