import { ConfigError, z } from '@sicantik/config';

////////// Roles and API keys (pure: no I/O, no clock)
// API_KEYS names the keys of a service's admin and statistics API, each with a role:
//   API_KEYS=name:role:key,name2:role:key2
// name: letters, digits, '.', '_' or '-' (unique; it is what the logs show, never the key);
// role: analyst | operator | admin; key: at least 16 characters, no ',' (it may hold ':').
// A role includes the ones below it: analyst < operator < admin.
//   analyst   reads; phone numbers masked (+62812****7890), person names as initials
//   operator  what an analyst can, unmasked; test sends, dead letters, in-doubt sends
//   admin     everything: templates, directory, schedules, replay, erasure, access reports
// The single tokens of before (STATS_API_TOKEN, ADMIN_API_TOKEN) keep working as keys of
// a fixed role (legacyKey); each service's README says which.

export const ROLES = ['analyst', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
/** Who is calling: the key's name and role (never the key). */
export interface Principal { name: string; role: Role }
export interface ApiKey extends Principal { key: string }

export const isRole = (s: string): s is Role => (ROLES as readonly string[]).includes(s);
/** True when `have` includes `need` (analyst < operator < admin). */
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export const MIN_KEY_LENGTH = 16;
const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** The problems of an API_KEYS value, each naming its entry (by position and name) but never the key. */
export function apiKeyIssues(raw: string, variable = 'API_KEYS'): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const seenNames = new Set<string>();
  const seenKeys = new Map<string, string>();
  const entries = raw.split(',').map((e) => e.trim());
  entries.forEach((entry, i) => {
    const at = `${variable}[${i + 1}]`;
    if (entry === '') { issues.push({ path: at, message: 'is empty (entries are name:role:key, separated by ",")' }); return; }
    const first = entry.indexOf(':');
    const second = first < 0 ? -1 : entry.indexOf(':', first + 1);
    if (second < 0) { issues.push({ path: at, message: 'is not name:role:key' }); return; }
    const name = entry.slice(0, first);
    const role = entry.slice(first + 1, second);
    const key = entry.slice(second + 1);
    const named = NAME.test(name) ? `${at} (${name})` : at;
    if (!NAME.test(name)) issues.push({ path: at, message: 'the name must be 1-64 letters, digits, ".", "_" or "-"' });
    else if (seenNames.has(name)) issues.push({ path: named, message: `the name ${name} is used twice (names must be unique)` });
    else seenNames.add(name);
    if (!isRole(role)) issues.push({ path: named, message: `the role must be one of ${ROLES.join(', ')}` });
    if (key.length < MIN_KEY_LENGTH) issues.push({ path: named, message: `the key must be at least ${MIN_KEY_LENGTH} characters` });
    else if (seenKeys.has(key)) issues.push({ path: named, message: `the key is the same as ${seenKeys.get(key)}'s (keys must differ)` });
    else seenKeys.set(key, NAME.test(name) ? name : at);
  });
  return issues;
}

/** Parses API_KEYS (see above); throws a ConfigError naming each bad entry, never a key. Empty or unset: no keys. */
export function parseApiKeys(raw: string | undefined, variable = 'API_KEYS'): ApiKey[] {
  if (raw === undefined || raw.trim() === '') return [];
  const issues = apiKeyIssues(raw, variable);
  if (issues.length > 0) throw new ConfigError(issues);
  return raw.split(',').map((e) => {
    const entry = e.trim();
    const first = entry.indexOf(':');
    const second = entry.indexOf(':', first + 1);
    return { name: entry.slice(0, first), role: entry.slice(first + 1, second) as Role, key: entry.slice(second + 1) };
  });
}

/**
 * The API_KEYS setting of a service's config schema: the keys (parseApiKeys), or a
 * configuration issue per bad entry ("entry[2] (dash): the key must be at least 16 characters").
 */
export const apiKeysSetting = z.string().optional()
  .superRefine((raw, ctx) => { if (raw !== undefined) for (const i of apiKeyIssues(raw, 'entry')) ctx.addIssue({ code: 'custom', message: `${i.path}: ${i.message}` }); })
  .transform((raw) => parseApiKeys(raw));

/** A single token of before as a key: its name is the variable's (what the logs show). */
export function legacyKey(variable: string, token: string | undefined, role: Role): ApiKey[] {
  return token ? [{ name: variable, role, key: token }] : [];
}

/** The keys a service accepts: API_KEYS plus the legacy tokens; a token equal to a key of API_KEYS is refused. */
export function keyRing(...lists: ApiKey[][]): ApiKey[] {
  const all = lists.flat();
  const issues: { path: string; message: string }[] = [];
  const seen = new Map<string, string>();
  for (const k of all) {
    const other = seen.get(k.key);
    if (other !== undefined) issues.push({ path: k.name, message: `is the same key as ${other} (every key must differ)` });
    else seen.set(k.key, k.name);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return all;
}

////////// Masking for analysts

/**
 * A phone number as an analyst sees it: the country code and the first three digits, then
 * stars, then the last four (+6281234567890 -> +62812****7890; without '+', the first four:
 * 081234567890 -> 0812****7890). Too short to keep at least
 * four digits hidden: all stars.
 */
export function maskNumber(phone: string | null | undefined): string {
  if (!phone) return '';
  const s = phone.replace(/[^\d+]/g, '');
  const head = s.startsWith('+') ? 6 : 4; // +62812 / 0812: the operator's prefix, not the subscriber's digits
  if (s.length < head + 4 + 4) return '*'.repeat(s.length);
  return s.slice(0, head) + '*'.repeat(s.length - head - 4) + s.slice(-4);
}

/** A person's name as initials: "Budi Santoso" -> "B. S."; empty stays empty. */
export function initials(name: string | null | undefined): string {
  if (!name) return '';
  return name.trim().split(/\s+/u).filter(Boolean).map((w) => `${[...w][0]!.toLocaleUpperCase('id')}.`).join(' ');
}

/** A phone-like run of digits inside free text (8 digits or more, spaces and dashes allowed). */
const PHONE_IN_TEXT = /\+?\d(?:[\s-]?\d){7,}/g;
/** Free text (a provider's error, a reason) with every phone-like number in it masked. */
export function maskText(text: string | null | undefined): string | null | undefined {
  if (text === null || text === undefined) return text;
  return text.replace(PHONE_IN_TEXT, (m) => maskNumber(m));
}

/** An identifier that may encode a phone number (e.g. Meta's message ids): hidden whole. */
export const REDACTED = '****';

/** How a response is shown to a principal: analysts masked, operators and admins as stored. */
export interface Masker {
  readonly unmasked: boolean;
  phone(s: string | null | undefined): string | null | undefined;
  name(s: string | null | undefined): string | null | undefined;
  text(s: string | null | undefined): string | null | undefined;
  /** An identifier that may encode a number: REDACTED for analysts. */
  opaque(s: string | null | undefined): string | null | undefined;
}
const keep = <T>(s: T) => s;
export function maskerFor(p: Principal): Masker {
  if (roleAtLeast(p.role, 'operator')) return { unmasked: true, phone: keep, name: keep, text: keep, opaque: keep };
  return {
    unmasked: false,
    phone: (s) => (s ? maskNumber(s) : s),
    name: (s) => (s ? initials(s) : s),
    text: maskText,
    opaque: (s) => (s ? REDACTED : s),
  };
}
