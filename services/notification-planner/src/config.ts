import { baseEnv, loadConfig, z } from '@sicantik/config';

export const configSchema = z.object({
  ...baseEnv,
  CONSUMER_GROUP: z.string().default('notification-planner'),
});
export type Config = z.infer<typeof configSchema>;
export const readConfig = (env = process.env): Config => loadConfig(configSchema, env);
