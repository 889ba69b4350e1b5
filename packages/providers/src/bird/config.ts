import { Webhook } from 'standardwebhooks';
import type { Env, ProviderRole, ReadSecretFile } from '../types';
import { EnvReader, templateEntry } from '../shared/config';
import { e164FromInternational } from '../shared/phone';

////////// Bird configuration (the new Bird platform API, {region}.platform.bird.com)

interface BirdTemplate {
  /** Exactly one of slug / id. */
  slug?: string;
  id?: string;
  language?: string;
}

export interface BirdConfig {
  baseUrl: string;
  /** send role: Bearer key, bk_{region}_... */
  apiKey?: string;
  /** send role: our WhatsApp number, E.164 (every send but a Bird-managed template needs it). */
  from?: string;
  templates: ReadonlyMap<string, BirdTemplate>;
  /** receive role: Standard Webhooks signing secret (whsec_...). */
  webhookSecret?: string;
  /** Accepted distance between webhook-timestamp and now (Standard Webhooks uses 5 minutes). */
  toleranceSeconds: number;
}

export const BIRD_ENV = {
  send: ['BIRD_API_KEY', 'BIRD_WHATSAPP_FROM', 'BIRD_REGION', 'BIRD_BASE_URL', 'BIRD_TEMPLATES'],
  receive: ['BIRD_WEBHOOK_SECRET'],
} as const;

/** Keys encode their region as {bk|bm}_{region}_{token} (bird-sdk-typescript src/region.ts). */
function regionFromKey(key: string): string | undefined {
  const [prefix, region, token] = key.split('_');
  return (prefix === 'bk' || prefix === 'bm') && region && token && /^[a-z]{2}[0-9]+$/.test(region) ? region : undefined;
}

export function birdConfigFromEnv(env: Env, readSecretFile: ReadSecretFile, roles: ReadonlySet<ProviderRole>): BirdConfig | undefined {
  const r = new EnvReader('bird', env, readSecretFile, roles);
  if (!r.configured({ send: ['BIRD_API_KEY', 'BIRD_WHATSAPP_FROM'], receive: ['BIRD_WEBHOOK_SECRET'] })) return undefined;
  r.requireForRoles({ send: ['BIRD_API_KEY', 'BIRD_WHATSAPP_FROM'], receive: ['BIRD_WEBHOOK_SECRET'] });
  const out: BirdConfig = { baseUrl: '', templates: new Map(), toleranceSeconds: 300 };
  if (roles.has('receive')) {
    const { BIRD_WEBHOOK_SECRET } = r.requireAll({ BIRD_WEBHOOK_SECRET: r.secret('BIRD_WEBHOOK_SECRET') });
    try {
      new Webhook(BIRD_WEBHOOK_SECRET);
    } catch {
      throw r.error('BIRD_WEBHOOK_SECRET is not a Standard Webhooks secret (whsec_<base64>)');
    }
    out.webhookSecret = BIRD_WEBHOOK_SECRET;
  }
  if (!roles.has('send')) return out;
  const req = r.requireAll({ BIRD_API_KEY: r.secret('BIRD_API_KEY'), BIRD_WHATSAPP_FROM: r.value('BIRD_WHATSAPP_FROM') });
  const from = e164FromInternational(req.BIRD_WHATSAPP_FROM);
  if (!from) throw r.error('BIRD_WHATSAPP_FROM must be an E.164 number');
  const region = r.value('BIRD_REGION') ?? regionFromKey(req.BIRD_API_KEY);
  if (region !== undefined && !/^[a-z]{2}[0-9]+$/.test(region)) throw r.error('BIRD_REGION must look like eu1 or us1');
  if (region === undefined && r.value('BIRD_BASE_URL') === undefined) throw r.error('set BIRD_REGION (the API key does not name one)');
  out.templates = r.templates('BIRD_TEMPLATES', (v) => {
    if (typeof v === 'string') return v.trim() ? { slug: v.trim() } : undefined;
    return templateEntry(v, ['slug', 'id'], ['language']);
  });
  return { ...out, baseUrl: r.baseUrl('BIRD_BASE_URL', `https://${region}.platform.bird.com`), apiKey: req.BIRD_API_KEY, from };
}
