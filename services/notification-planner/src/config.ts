import { baseEnv, loadConfig, z } from '@sicantik/config';

export const configSchema = z.object({
  ...baseEnv,
  /** Defaults to TOPIC_PREFIX + 'notification-planner', so prefixed deployments never share a group. */
  CONSUMER_GROUP: z.string().min(1).optional(),
});
export type Config = z.infer<typeof configSchema>;
export const readConfig = (env = process.env): Config => loadConfig(configSchema, env);
