import { baseEnv, loadConfig, port, z } from '@sicantik/config';
import { privacyEnv } from '@sicantik/privacy';

export const configSchema = z.object({
  ...baseEnv,
  /** PRIVACY_MASTER_KEYS and PRIVACY_INDEX_KEY (@sicantik/privacy): personal fields are encrypted with per-subject keys. */
  ...privacyEnv,
  HTTP_PORT: port(8090),
  MONGO_DB: z.string().default('sicantik_ingest'),
  INGEST_API_TOKEN: z.string().min(16, 'must be at least 16 characters'),
});
export type Config = z.infer<typeof configSchema>;
export const readConfig = (env = process.env): Config => loadConfig(configSchema, env);
