import type { Env, ReadSecretFile } from '../types';
import { EnvReader, templateEntry } from '../shared/config';

////////// Meta configuration

/** Pinned: the request bodies are validated against Meta's v23.0 OpenAPI spec. */
export const META_GRAPH_VERSION = 'v23.0';

interface MetaTemplate {
  name: string;
  /** Overrides the message language (e.g. "id"). */
  language?: string;
  /** "named" when the template was created with parameter_format NAMED. */
  parameterFormat: 'positional' | 'named';
}

export interface MetaConfig {
  baseUrl: string;
  phoneNumberId: string;
  accessToken: string;
  /** Signs X-Hub-Signature-256. */
  appSecret: string;
  /** For the GET subscription handshake; without it the handshake is refused. */
  verifyToken?: string;
  templates: ReadonlyMap<string, MetaTemplate>;
}

export const META_ENV = ['META_ACCESS_TOKEN', 'META_PHONE_NUMBER_ID', 'META_APP_SECRET', 'META_WEBHOOK_VERIFY_TOKEN', 'META_BASE_URL', 'META_TEMPLATES'] as const;

export function metaConfigFromEnv(env: Env, readSecretFile: ReadSecretFile): MetaConfig | undefined {
  const r = new EnvReader('meta', env, readSecretFile);
  if (!r.anySet(['META_ACCESS_TOKEN', 'META_PHONE_NUMBER_ID', 'META_APP_SECRET', 'META_WEBHOOK_VERIFY_TOKEN'])) return undefined;
  const pinned = r.value('META_API_VERSION');
  if (pinned !== undefined && pinned !== META_GRAPH_VERSION) throw r.error(`META_API_VERSION is pinned to ${META_GRAPH_VERSION} in this package; unset it`);
  const req = r.requireAll({
    META_ACCESS_TOKEN: r.secret('META_ACCESS_TOKEN'),
    META_PHONE_NUMBER_ID: r.value('META_PHONE_NUMBER_ID'),
    META_APP_SECRET: r.secret('META_APP_SECRET'),
  });
  if (!/^\d+$/.test(req.META_PHONE_NUMBER_ID)) throw r.error('META_PHONE_NUMBER_ID must be the numeric phone-number id');
  const templates = r.templates('META_TEMPLATES', (v) => {
    const e = templateEntry(v, ['name'], ['language', 'parameterFormat']);
    if (!e?.name) return undefined;
    if (e.parameterFormat !== undefined && e.parameterFormat !== 'positional' && e.parameterFormat !== 'named') return undefined;
    return { name: e.name, ...(e.language ? { language: e.language } : {}), parameterFormat: (e.parameterFormat ?? 'positional') as MetaTemplate['parameterFormat'] };
  });
  const verifyToken = r.secret('META_WEBHOOK_VERIFY_TOKEN');
  return {
    baseUrl: r.baseUrl('META_BASE_URL', 'https://graph.facebook.com'),
    phoneNumberId: req.META_PHONE_NUMBER_ID,
    accessToken: req.META_ACCESS_TOKEN,
    appSecret: req.META_APP_SECRET,
    ...(verifyToken ? { verifyToken } : {}),
    templates,
  };
}
