import type { Env, ProviderRole, ReadSecretFile } from '../types';
import { EnvReader, templateEntry } from '../shared/config';

////////// Meta configuration

/** Pinned: the request bodies are validated against Meta's v23.0 OpenAPI spec. */
export const META_GRAPH_VERSION = 'v23.0';

/**
 * Meta's approved twin of one of our templates, when the template record names none: the
 * built-in templates' twins are all `sicantik_<code>` (language id, category utility).
 */
export const metaTemplateTwin = (code: string): string => `sicantik_${code}`;

/** Meta's rule for template names: lower-case letters, digits and _ (at most 512). */
export const metaTemplateNameIssue = (name: string): string | undefined => (/^[a-z0-9_]{1,512}$/.test(name) ? undefined : 'Meta template names are lower-case letters, digits and _');

interface MetaTemplate {
  name: string;
  /** Overrides the message language (e.g. "id"). */
  language?: string;
  /** "named" when the template was created with parameter_format NAMED. */
  parameterFormat: 'positional' | 'named';
}

export interface MetaConfig {
  baseUrl: string;
  /** send role */
  phoneNumberId?: string;
  accessToken?: string;
  templates: ReadonlyMap<string, MetaTemplate>;
  /** receive role: signs X-Hub-Signature-256. */
  appSecret?: string;
  /** receive role, optional: the GET subscription handshake; without it the handshake is refused. */
  verifyToken?: string;
}

export const META_ENV = {
  send: ['META_ACCESS_TOKEN', 'META_PHONE_NUMBER_ID', 'META_BASE_URL', 'META_TEMPLATES'],
  receive: ['META_APP_SECRET', 'META_VERIFY_TOKEN'],
} as const;

export function metaConfigFromEnv(env: Env, readSecretFile: ReadSecretFile, roles: ReadonlySet<ProviderRole>): MetaConfig | undefined {
  const r = new EnvReader('meta', env, readSecretFile, roles);
  if (!r.configured({ send: ['META_ACCESS_TOKEN', 'META_PHONE_NUMBER_ID'], receive: ['META_APP_SECRET', 'META_VERIFY_TOKEN'] })) return undefined;
  r.requireForRoles({ send: ['META_ACCESS_TOKEN', 'META_PHONE_NUMBER_ID'], receive: ['META_APP_SECRET'] });
  const pinned = r.value('META_API_VERSION');
  if (pinned !== undefined && pinned !== META_GRAPH_VERSION) throw r.error(`META_API_VERSION is pinned to ${META_GRAPH_VERSION} in this package; unset it`);
  let send: Pick<MetaConfig, 'phoneNumberId' | 'accessToken' | 'templates'> = { templates: new Map() };
  if (roles.has('send')) {
    const req = r.requireAll({ META_ACCESS_TOKEN: r.secret('META_ACCESS_TOKEN'), META_PHONE_NUMBER_ID: r.value('META_PHONE_NUMBER_ID') });
    if (!/^\d+$/.test(req.META_PHONE_NUMBER_ID)) throw r.error('META_PHONE_NUMBER_ID must be the numeric phone-number id');
    const templates = r.templates('META_TEMPLATES', (v) => {
      const e = templateEntry(v, ['name'], ['language', 'parameterFormat']);
      if (!e?.name) return undefined;
      if (e.parameterFormat !== undefined && e.parameterFormat !== 'positional' && e.parameterFormat !== 'named') return undefined;
      return { name: e.name, ...(e.language ? { language: e.language } : {}), parameterFormat: (e.parameterFormat ?? 'positional') as MetaTemplate['parameterFormat'] };
    });
    send = { phoneNumberId: req.META_PHONE_NUMBER_ID, accessToken: req.META_ACCESS_TOKEN, templates };
  }
  let receive: Pick<MetaConfig, 'appSecret' | 'verifyToken'> = {};
  if (roles.has('receive')) {
    const req = r.requireAll({ META_APP_SECRET: r.secret('META_APP_SECRET') });
    const verifyToken = r.secret('META_VERIFY_TOKEN');
    receive = { appSecret: req.META_APP_SECRET, ...(verifyToken ? { verifyToken } : {}) };
  }
  return { baseUrl: r.baseUrl('META_BASE_URL', 'https://graph.facebook.com'), ...send, ...receive };
}
