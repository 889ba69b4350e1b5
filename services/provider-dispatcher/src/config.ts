import { baseEnv, loadConfig, z } from '@sicantik/config';

export const configSchema = z.object({
  ...baseEnv,
  /** Defaults to TOPIC_PREFIX + 'provider-dispatcher', so prefixed deployments never share a group. */
  CONSUMER_GROUP: z.string().min(1).optional(),
  META_BASE_URL: z.url().default('https://graph.facebook.com'),
  META_API_VERSION: z.string().regex(/^v\d+\.\d+$/, 'must look like v23.0').default('v23.0'),
  META_PHONE_NUMBER_ID: z.string().min(1),
  META_ACCESS_TOKEN: z.string().min(8, 'must be at least 8 characters'),
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  RETRY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  RETRY_DELAY_MS: z.coerce.number().int().min(0).default(300_000),
  /** Rendered notifications per batch (one claim produce, one outcome produce). */
  DISPATCH_BATCH_MAX: z.coerce.number().int().min(1).max(5000).default(500),
  /** Provider calls in flight per batch. */
  PROVIDER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
});
export type Config = z.infer<typeof configSchema>;
export const readConfig = (env = process.env): Config => loadConfig(configSchema, env);
