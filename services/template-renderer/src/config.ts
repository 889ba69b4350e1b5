import { baseEnv, loadConfig, port, z } from '@sicantik/config';
import { privacyEnv } from '@sicantik/privacy';
import { apiKeysSetting, keyRing, legacyKey, type ApiKey } from '@sicantik/observability';

export const configSchema = z.object({
  ...baseEnv,
  /** PRIVACY_MASTER_KEYS and PRIVACY_INDEX_KEY (@sicantik/privacy): personal fields are encrypted with per-subject keys. */
  ...privacyEnv,
  /** Defaults to TOPIC_PREFIX + 'template-renderer', so prefixed deployments never share a group. */
  CONSUMER_GROUP: z.string().min(1).optional(),
  HTTP_PORT: port(8093),
  /** The admin API's single token of before (required, as before): a key of role admin. */
  ADMIN_API_TOKEN: z.string().min(16, 'must be at least 16 characters'),
  /** More API keys of the admin API with their roles: name:role:key,... (@sicantik/observability roles.ts; README "Roles and API keys"). */
  API_KEYS: apiKeysSetting,
});
/** keys: every key the admin API accepts (API_KEYS, and ADMIN_API_TOKEN as admin). */
export type Config = z.infer<typeof configSchema> & { keys: ApiKey[] };
export const readConfig = (env = process.env): Config => {
  const cfg = loadConfig(configSchema, env);
  return { ...cfg, keys: keyRing(cfg.API_KEYS, legacyKey('ADMIN_API_TOKEN', cfg.ADMIN_API_TOKEN, 'admin')) };
};
