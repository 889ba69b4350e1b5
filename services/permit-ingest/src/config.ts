import { baseEnv, loadConfig, port, z } from '@sicantik/config';

export const configSchema = z.object({
  ...baseEnv,
  HTTP_PORT: port(8090),
  MONGO_DB: z.string().default('sicantik_ingest'),
  INGEST_API_TOKEN: z.string().min(16, 'must be at least 16 characters'),
});
export type Config = z.infer<typeof configSchema>;
export const readConfig = (env = process.env): Config => loadConfig(configSchema, env);
