import { z } from 'zod';
import { ValidationError } from '@sicantik/core';

////////// Configuration
// The environment is parsed once at start-up. Every bad or missing variable is
// named in one error, so an operator fixes all of them in one go.

export { z };

/** Zod issues as `{path, message}` pairs for API answers; `root` names the whole input. */
export function zodIssues(e: z.ZodError, root = '(body)', prefix: (string | number)[] = []): { path: string; message: string }[] {
  return e.issues.map((i) => ({ path: [...prefix, ...i.path].map(String).join('.') || root, message: i.message }));
}

export class ConfigError extends ValidationError {
  constructor(issues: { path: string; message: string }[]) {
    super(
      `invalid configuration:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`,
      issues,
    );
  }
}

export function loadConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined> = process.env): z.infer<S> {
  const r = schema.safeParse(env);
  if (r.success) return r.data;
  throw new ConfigError(
    r.error.issues.map((i) => {
      const path = i.path.map(String).join('.') || '(root)';
      const unset = i.path.length === 1 && env[String(i.path[0])] === undefined;
      return { path, message: unset ? 'is required but not set' : i.message };
    }),
  );
}

////////// Common pieces every service uses
export const port = (def: number) => z.coerce.number().int().min(0).max(65535).default(def);
export const csv = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
export const bool = (def: boolean) =>
  z.enum(['true', 'false', '1', '0']).default(def ? 'true' : 'false').transform((v) => v === 'true' || v === '1');

export const baseEnv = {
  SERVICE_INSTANCE: z.string().default('local'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  KAFKA_BROKERS: csv.default(['127.0.0.1:9092']),
  KAFKA_CLIENT_ID: z.string().optional(),
  SCHEMA_REGISTRY_URL: z.url().default('http://127.0.0.1:8081/apis/ccompat/v7'),
  MONGO_URL: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb://').default('mongodb://127.0.0.1:27017'),
  TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, 'only letters, digits, . _ -').default(''),
  TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(6),
  TOPIC_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(5).default(1),
  OPS_PORT: port(0),
  /** 127.0.0.1 by default; 0.0.0.0 inside containers. */
  BIND_HOST: z.string().default('127.0.0.1'),
};
