import { readFileSync } from 'node:fs';
import type { Env, ProviderName, ProviderRole, ReadSecretFile } from '../types';
import { ProviderConfigError } from './errors';

////////// Reading one provider's configuration from the environment
// Credentials come from NAME or from the file named by NAME_FILE (not both).
// A provider is "configured" as soon as any of its credential variables is set;
// then every required one must be there, or we fail loudly naming what is
// missing. Values never appear in messages.

export const readSecretFileSync: ReadSecretFile = (path) => readFileSync(path, 'utf8');

export class EnvReader {
  constructor(
    private readonly provider: ProviderName,
    private readonly env: Env,
    private readonly readSecretFile: ReadSecretFile,
    readonly roles: ReadonlySet<ProviderRole>,
  ) {}

  /** Whether any variable of the requested roles is set (the provider is "configured" for this service). */
  configured(vars: Readonly<Record<ProviderRole, readonly string[]>>): boolean {
    return this.anySet([...this.roles].flatMap((role) => vars[role]));
  }

  /** A non-secret value ('' counts as unset). */
  value(name: string): string | undefined {
    const v = this.env[name]?.trim();
    return v ? v : undefined;
  }

  /** A credential from NAME or NAME_FILE. */
  secret(name: string): string | undefined {
    const direct = this.value(name);
    const file = this.value(`${name}_FILE`);
    if (direct !== undefined && file !== undefined) throw this.error(`set either ${name} or ${name}_FILE, not both`);
    if (file === undefined) return direct;
    let content: string;
    try {
      content = this.readSecretFile(file);
    } catch {
      throw this.error(`cannot read the file named by ${name}_FILE`);
    }
    const v = content.replace(/\r?\n$/, '').trim();
    if (!v) throw this.error(`the file named by ${name}_FILE is empty`);
    return v;
  }

  /** Whether any of these variables (or their _FILE forms) is set. */
  anySet(names: readonly string[]): boolean {
    return names.some((n) => this.value(n) !== undefined || this.value(`${n}_FILE`) !== undefined);
  }

  /** Before reading anything: throws naming every required variable of the requested roles that is not set. */
  requireForRoles(required: Readonly<Record<ProviderRole, readonly string[]>>): void {
    const names = [...new Set([...this.roles].flatMap((role) => required[role]))];
    const missing = names.filter((n) => !this.anySet([n]));
    if (missing.length) throw this.error(`partially configured: missing ${missing.join(', ')}`);
  }

  /** Throws naming every missing variable. */
  requireAll<T extends Record<string, string | undefined>>(values: T): { [K in keyof T]: string } {
    const missing = Object.entries(values).filter(([, v]) => v === undefined).map(([k]) => k);
    if (missing.length) throw this.error(`partially configured: missing ${missing.join(', ')}`);
    return values as { [K in keyof T]: string };
  }

  /** An http(s) base URL without a trailing slash. */
  baseUrl(name: string, fallback: string): string {
    const raw = this.value(name) ?? fallback;
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw this.error(`${name} is not a URL`);
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw this.error(`${name} must be http(s)`);
    return raw.replace(/\/+$/, '');
  }

  /**
   * Template mapping from a JSON object in NAME: our template code -> a string (the
   * provider's template name/id) or an object with the fields in `fields`.
   */
  templates<T>(name: string, read: (value: unknown, code: string) => T | undefined): ReadonlyMap<string, T> {
    const raw = this.value(name);
    const out = new Map<string, T>();
    if (raw === undefined) return out;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw this.error(`${name} is not valid JSON (expected {"<templateCode>": ...})`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw this.error(`${name} must be a JSON object keyed by template code`);
    for (const [code, v] of Object.entries(parsed as Record<string, unknown>)) {
      const t = read(v, code);
      if (t === undefined) throw this.error(`${name}: the entry for template code "${code}" has an unexpected shape`);
      out.set(code, t);
    }
    return out;
  }

  error(detail: string): ProviderConfigError {
    return new ProviderConfigError(`${this.provider} provider: ${detail}`);
  }
}

/**
 * Reads one template mapping entry: a non-empty string (the value of `main`), or an
 * object whose keys are `main` and some of `optional`, all non-empty strings.
 * Unknown keys are refused so a typo does not silently fall back to free text.
 */
export function templateEntry<M extends string, O extends string>(
  v: unknown,
  main: readonly M[],
  optional: readonly O[],
): (Partial<Record<M | O, string>>) | undefined {
  if (typeof v === 'string') return v.trim() && main.length === 1 ? ({ [main[0]!]: v.trim() } as Partial<Record<M | O, string>>) : undefined;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out: Partial<Record<M | O, string>> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (!(main as readonly string[]).includes(k) && !(optional as readonly string[]).includes(k)) return undefined;
    if (typeof val !== 'string' || !val.trim()) return undefined;
    out[k as M | O] = val.trim();
  }
  return main.filter((m) => out[m] !== undefined).length === 1 ? out : undefined;
}

/** A value a role needs, or a clear error when this service did not configure that role. */
export function roleValue<T>(v: T | undefined, provider: ProviderName, role: ProviderRole, variable: string): T {
  if (v === undefined) throw new ProviderConfigError(`${provider} provider: not configured to ${role === 'send' ? 'send' : 'receive webhooks'} in this service (${variable} not set)`);
  return v;
}
