import { ConfigError, baseEnv, loadConfig, port, z } from '@sicantik/config';
import { PROVIDER_ADAPTERS, PROVIDER_NAMES, configuredProviders, type Provider } from '@sicantik/providers';
import { privacyEnv } from '@sicantik/privacy';
import { apiKeysSetting, keyRing, legacyKey, type ApiKey } from '@sicantik/observability';

/**
 * What one tracker process does (one service, deployed as one or more roles):
 * - `all`: both below in one process (the default; the local scripts run this);
 * - `receiver`: only the provider webhooks: verifies each, writes what it received to
 *   delivery.status / contact.events and answers. No database, no consumer, no state:
 *   run as many as needed, apart from the projection, so webhooks are still taken while
 *   the projection is down or catching up;
 * - `projection`: only the consumer that builds the MongoDB projections and the
 *   statistics API (no webhook route, no provider secrets needed).
 */
const TRACKER_ROLES = ['all', 'receiver', 'projection'] as const;

/**
 * RETENTION_DAYS: notifications requested longer ago than this are anonymised in the
 * projections (subject id, provider message id and the provider's failure text go; state
 * and counts stay); 0 turns it off. Shared with the rebuild command, which applies the same rule.
 */
export const retentionDays = z.coerce.number().int().min(0).default(400);

export const configSchema = z.object({
  ...baseEnv,
  /** PRIVACY_MASTER_KEYS and PRIVACY_INDEX_KEY (@sicantik/privacy): personal fields are encrypted with per-subject keys. */
  ...privacyEnv,
  TRACKER_ROLE: z.enum(TRACKER_ROLES).default('all'),
  HTTP_PORT: port(8091),
  /** Defaults to TOPIC_PREFIX + 'delivery-tracker-projection', so prefixed deployments never share a group. */
  CONSUMER_GROUP: z.string().min(1).optional(),
  MONGO_DB: z.string().default('sicantik_projections'),
  /** Notification documents the projection keeps in memory (reads by _id only on a miss). */
  PROJECTION_CACHE_DOCS: z.coerce.number().int().min(0).default(50_000),
  /** Provider message id -> notification entries kept in memory. */
  PROJECTION_CACHE_MESSAGES: z.coerce.number().int().min(0).default(200_000),
  /** A status whose message is not mapped yet waits this long (ms, from its reception) for the dispatch record before it is parked (0: parked at once). */
  STATUS_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(2000),
  RETENTION_DAYS: retentionDays,
  /** How often the projection anonymises what grew older than RETENTION_DAYS and re-applies erasures (minutes). */
  RETENTION_SWEEP_MINUTES: z.coerce.number().positive().default(60),
  /**
   * How often the key-expiry job erases the subject keys whose retention ended (minutes; 0
   * turns it off): a key is kept until RETENTION_DAYS after the latest fact about its person
   * on subject.retention (a permit's validity end or last event, a directory entry's removal,
   * the last contact event) or after its creation, and for ever while a directory entry is
   * current. Runs in the roles with the projection (all, projection), in the one instance that holds
   * notification.requests partition 0; off when RETENTION_DAYS is 0.
   */
  KEY_EXPIRY_MINUTES: z.coerce.number().min(0).default(60),
  /** At most this many keys expire in one run of the key-expiry job (the oldest first; the rest in the next run). */
  KEY_EXPIRY_BATCH: z.coerce.number().int().positive().default(500),
  /**
   * API keys of the statistics and privacy APIs with their roles: name:role:key,...
   * (@sicantik/observability roles.ts; README "Roles and API keys").
   */
  API_KEYS: apiKeysSetting,
  /**
   * The statistics API's single token of before: a key of role operator (existing clients
   * read provider message ids, which analysts get masked). The roles that serve the
   * statistics API (all, projection) need it or API_KEYS.
   */
  STATS_API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * The privacy admin API's single token of before (/v1/privacy: access and erasure
   * requests): a key of role admin. That API is on when it or an admin key of API_KEYS is set.
   */
  ADMIN_API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * The public base URL the providers call, e.g. https://notif.example.go.id (with a
   * path prefix if the proxy strips one): behind a reverse proxy the URL a provider
   * signed (Twilio signs it) is this plus the request's path and query. Unset: the
   * URL is rebuilt from the request (scheme of the connection, Host header).
   */
  WEBHOOK_PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
});
export type Config = z.infer<typeof configSchema> & {
  /** Every key the APIs accept: API_KEYS, STATS_API_TOKEN as operator, ADMIN_API_TOKEN as admin. */
  keys: ApiKey[];
  /** Providers whose webhooks this tracker verifies (receive role of @sicantik/providers); none in the projection role. */
  providers: Provider[];
};

/**
 * The tracker's settings and the providers configured to receive webhooks (their
 * variables: @sicantik/providers, e.g. META_APP_SECRET and META_VERIFY_TOKEN for Meta).
 * A half-configured provider throws ProviderConfigError; none at all is a ConfigError
 * (except in the projection role, which receives no webhooks and reads no provider
 * variable). STATS_API_TOKEN is required where the statistics API is served.
 */
export function readConfig(env: Record<string, string | undefined> = process.env): Config {
  const loaded = loadConfig(configSchema, env);
  if (loaded.TRACKER_ROLE !== 'receiver' && loaded.STATS_API_TOKEN === undefined && loaded.API_KEYS.length === 0) {
    throw new ConfigError([{ path: 'STATS_API_TOKEN', message: `is required but not set (TRACKER_ROLE=${loaded.TRACKER_ROLE} serves the statistics API), unless API_KEYS holds a key` }]);
  }
  const cfg = { ...loaded, keys: keyRing(loaded.API_KEYS, legacyKey('STATS_API_TOKEN', loaded.STATS_API_TOKEN, 'operator'), legacyKey('ADMIN_API_TOKEN', loaded.ADMIN_API_TOKEN, 'admin')) };
  if (cfg.TRACKER_ROLE === 'projection') return { ...cfg, providers: [] };
  const providers = configuredProviders(env, { roles: ['receive'] });
  if (providers.length === 0) {
    const vars = PROVIDER_NAMES.map((n) => `${PROVIDER_ADAPTERS[n].envVars.receive[0]} (${n})`).join(', ');
    throw new ConfigError([{ path: '(providers)', message: `no provider is configured to receive webhooks: set at least one of ${vars}` }]);
  }
  return { ...cfg, providers };
}
