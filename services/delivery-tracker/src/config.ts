import { baseEnv, loadConfig, port, z } from '@sicantik/config';

export const configSchema = z.object({
  ...baseEnv,
  HTTP_PORT: port(8091),
  /** Defaults to TOPIC_PREFIX + 'delivery-tracker-projection', so prefixed deployments never share a group. */
  CONSUMER_GROUP: z.string().min(1).optional(),
  MONGO_DB: z.string().default('sicantik_projections'),
  /** Notification documents the projection keeps in memory (reads by _id only on a miss). */
  PROJECTION_CACHE_DOCS: z.coerce.number().int().min(0).default(50_000),
  /** Provider message id -> notification entries kept in memory. */
  PROJECTION_CACHE_MESSAGES: z.coerce.number().int().min(0).default(200_000),
  META_APP_SECRET: z.string().min(8, 'must be at least 8 characters'),
  META_VERIFY_TOKEN: z.string().min(8, 'must be at least 8 characters'),
  STATS_API_TOKEN: z.string().min(16, 'must be at least 16 characters'),
});
export type Config = z.infer<typeof configSchema>;
export const readConfig = (env = process.env): Config => loadConfig(configSchema, env);
