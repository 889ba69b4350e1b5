import { baseEnv, loadConfig, z } from '@sicantik/config';
import { RECONCILE_RETENTION_MS } from '@sicantik/schemas';
import { PROVIDER_NAMES, isProviderName, type ProviderName } from '@sicantik/providers';
import { parseQuotas, parseRates, type Rate } from './domain/pacing';
import { privacyEnv } from '@sicantik/privacy';
import { apiKeysSetting, keyRing, legacyKey, type ApiKey } from '@sicantik/observability';

////////// Configuration (the providers' credentials are read by @sicantik/providers: see docs/providers.md)

/** Seed 000: 60 messages/minute and 1000/day per provider account; Meta's own throughput (80/s per number) and pair rate (about 10/min to one user). */
const DEFAULT_RATE_LIMITS: Readonly<Partial<Record<ProviderName, string>>> = { meta: '80/s', twilio: '60/min', bird: '60/min', vonage: '60/min', fonnte: '60/min', watzap: '60/min' };
const DEFAULT_DAILY_QUOTAS: Readonly<Partial<Record<ProviderName, number>>> = { twilio: 1000, bird: 1000, vonage: 1000, fonnte: 1000, watzap: 1000 };
const DEFAULT_PAIR_RATE_LIMITS: Readonly<Partial<Record<ProviderName, string>>> = { meta: '10/min' };

const providerList = (what: string) => z.string().transform((s, ctx) => {
  const names = s.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
  const bad = names.filter((n) => !isProviderName(n));
  if (bad.length) ctx.addIssue({ code: 'custom', message: `${what}: unknown provider ${bad.join(', ')} (one of ${PROVIDER_NAMES.join(', ')})` });
  return names as ProviderName[];
});
const rates = (defaults: Readonly<Partial<Record<ProviderName, string>>>) => z.string().optional().transform((s, ctx): Map<ProviderName, Rate> => {
  try { return parseRates(s, defaults); } catch (e) { ctx.addIssue({ code: 'custom', message: (e as Error).message }); return new Map(); }
});

export const configSchema = z.object({
  ...baseEnv,
  /** PRIVACY_MASTER_KEYS and PRIVACY_INDEX_KEY (@sicantik/privacy): personal fields are encrypted with per-subject keys. */
  ...privacyEnv,
  /** Defaults to TOPIC_PREFIX + 'provider-dispatcher', so prefixed deployments never share a group. */
  CONSUMER_GROUP: z.string().min(1).optional(),
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** Fallback order; only the configured providers of it are used. */
  PROVIDER_CHAIN: providerList('PROVIDER_CHAIN').default(['meta', 'twilio', 'bird', 'vonage', 'watzap', 'fonnte']),
  /** Tried first (moved to the front of the chain). */
  DEFAULT_PROVIDER: z.string().optional().transform((s, ctx) => {
    const v = s?.trim().toLowerCase();
    if (!v) return undefined;
    if (!isProviderName(v)) { ctx.addIssue({ code: 'custom', message: `unknown provider ${v}` }); return undefined; }
    return v;
  }),
  /** WhatsApp Business Platform providers: only for contacts who opted in. */
  OPT_IN_REQUIRED: providerList('OPT_IN_REQUIRED').default(['meta', 'twilio', 'bird', 'vonage']),
  /** Appended to gateway messages for contacts who have not opted in (e.g. https://wa.me/62811...?text=MULAI). */
  OPT_IN_LINK: z.url().optional(),
  OPT_IN_TEXT: z.string().refine((s) => s.includes('{link}'), 'must contain {link}').optional(),
  /** Only opt-in providers configured and the contact has not opted in: hold until it does (compliant default), or send anyway. */
  UNCONSENTED_OPT_IN_PROVIDERS: z.enum(['hold', 'send']).default('hold'),
  /** A held notification is dropped (EXPIRED) this long after it was held. */
  HOLD_EXPIRES_AFTER_MS: z.coerce.number().int().min(1000).default(30 * 86_400_000),
  /** How often held notifications are looked at (expiry, staleness, an opt-in missed during a restore). */
  HOLD_SWEEP_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  /** A partition waiting for a later time (a deferral, a retry) is read again after at most this long. */
  WAIT_RECHECK_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  RATE_LIMITS: rates(DEFAULT_RATE_LIMITS),
  PAIR_RATE_LIMITS: rates(DEFAULT_PAIR_RATE_LIMITS),
  DAILY_QUOTAS: z.string().optional().transform((s, ctx) => {
    try { return parseQuotas(s, DEFAULT_DAILY_QUOTAS); } catch (e) { ctx.addIssue({ code: 'custom', message: (e as Error).message }); return new Map<ProviderName, number>(); }
  }),
  QUOTA_EXHAUSTED: z.enum(['fallback', 'wait']).default('fallback'),
  RETRY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  RETRY_DELAY_MS: z.coerce.number().int().min(0).default(300_000),
  RETRY_BACKOFF: z.coerce.number().min(1).max(10).default(2),
  RETRY_JITTER: z.coerce.number().min(0).max(1).default(0.2),
  IN_DOUBT_POLICY: z.enum(['hold', 'lookup']).default('hold'),
  IN_DOUBT_LOOKUP_DELAY_MS: z.coerce.number().int().min(0).default(60_000),
  CIRCUIT_ERROR_PERCENT: z.coerce.number().min(1).max(100).default(50),
  CIRCUIT_VOLUME: z.coerce.number().int().min(1).default(5),
  CIRCUIT_WINDOW_MS: z.coerce.number().int().min(100).default(10_000),
  CIRCUIT_RESET_MS: z.coerce.number().int().min(100).default(30_000),
  /** Rendered notifications per batch (one claim produce, one outcome produce). */
  DISPATCH_BATCH_MAX: z.coerce.number().int().min(1).max(5000).default(500),
  /** Provider calls in flight per batch. */
  PROVIDER_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(64),
  /** Topic-partitions handled at once. */
  PARTITION_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** Longest a fetch waits for new records (a deferred partition is read again within this after its time). */
  FETCH_MAX_WAIT_MS: z.coerce.number().int().min(10).max(10_000).default(250),
  /** The admin API's single token of before (GET /v1/admin/providers, ...): a key of role admin. */
  ADMIN_API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * API keys of the admin API with their roles: name:role:key,... (@sicantik/observability
   * roles.ts; README "Roles and API keys"). Neither this nor ADMIN_API_TOKEN: the admin API is off.
   */
  API_KEYS: apiKeysSetting,
  // Reconciliation of accepted messages without a final status report (RECONCILE.md).
  /** off: no reconciler in this instance (run it on, in at least one instance per deployment). */
  RECONCILE: z.enum(['on', 'off']).default('on'),
  /** A message the provider accepted is looked at this long after the acceptance if no final report came. */
  RECONCILE_AFTER_MS: z.coerce.number().int().min(100).default(3_600_000),
  /** Looked up again until this long after the acceptance; then NO_REPORT (or sent, if SENT was reported). */
  RECONCILE_GIVE_UP_MS: z.coerce.number().int().min(100).default(86_400_000),
  /** Wait before the second lookup; doubles for each further one. */
  RECONCILE_LOOKUP_BACKOFF_MS: z.coerce.number().int().min(10).default(900_000),
  /** How often the due messages are looked for. */
  RECONCILE_TICK_MS: z.coerce.number().int().min(10).max(600_000).default(10_000),
  /** Resolved messages are remembered this long after their last change (a repeated acceptance changes nothing); older acceptances are ignored. */
  RECONCILE_REMEMBER_MS: z.coerce.number().int().min(1000).max(RECONCILE_RETENTION_MS).default(7 * 86_400_000),
  /** Status lookups in flight at once per instance. */
  RECONCILE_LOOKUP_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /** Defaults to TOPIC_PREFIX + 'dispatcher-reconcile' (and that + '-accepted' for the re-keying stage). */
  RECONCILE_CONSUMER_GROUP: z.string().min(1).optional(),
}).superRefine((c, ctx) => {
  if (c.RECONCILE_GIVE_UP_MS < c.RECONCILE_AFTER_MS) ctx.addIssue({ code: 'custom', path: ['RECONCILE_GIVE_UP_MS'], message: 'must be at least RECONCILE_AFTER_MS' });
  if (c.RECONCILE_REMEMBER_MS <= c.RECONCILE_GIVE_UP_MS) ctx.addIssue({ code: 'custom', path: ['RECONCILE_REMEMBER_MS'], message: 'must be more than RECONCILE_GIVE_UP_MS' });
});
/** keys: every key the admin API accepts (API_KEYS, and ADMIN_API_TOKEN as admin). */
type Config = z.infer<typeof configSchema> & { keys: ApiKey[] };
export const readConfig = (env = process.env): Config => {
  const cfg = loadConfig(configSchema, env);
  return { ...cfg, keys: keyRing(cfg.API_KEYS, legacyKey('ADMIN_API_TOKEN', cfg.ADMIN_API_TOKEN, 'admin')) };
};
