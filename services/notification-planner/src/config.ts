import { baseEnv, loadConfig, port, z } from '@sicantik/config';

export const configSchema = z.object({
  ...baseEnv,
  /** Defaults to TOPIC_PREFIX + 'notification-planner', so prefixed deployments never share a group. */
  CONSUMER_GROUP: z.string().min(1).optional(),
  HTTP_PORT: port(8092),
  MONGO_DB: z.string().default('sicantik_planner'),
  ADMIN_API_TOKEN: z.string().min(16, 'must be at least 16 characters'),
  LINK_DASHBOARD: z.url().default('https://sicantik.karokab.go.id/dashboard'),
  LINK_PERPANJANGAN: z.url().default('https://sicantik.karokab.go.id/perpanjangan'),
  KONTAK_DPMPTSP: z.string().min(3).default('(0628) 20655'),
  REMINDER_AFTER_HOURS: z.coerce.number().int().min(1).default(24),
  SCHEDULER_ENABLED: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
});
export type Config = z.infer<typeof configSchema>;
export const readConfig = (env = process.env): Config => loadConfig(configSchema, env);
