import { randomBytes } from 'node:crypto';
import { z } from '@sicantik/config';

////////// Settings: master keys and the blind-index key (never logged)
// PRIVACY_MASTER_KEYS  comma list of `<id>:<base64 of 32 bytes>`; the first wraps new
//                      subject keys, the others only unwrap (rotation: put the new key
//                      first, run `sicantik-privacy rewrap`, then remove the old one).
// PRIVACY_INDEX_KEY    base64 of 32 bytes: the HMAC key of the blind index (phone -> subject).
//                      Changing it orphans every index entry: it is not rotated.
// No defaults (like ADMIN_API_TOKEN): scripts/services.sh sets local demo keys.

export interface MasterKey { id: string; key: Buffer }
export interface PrivacySettings {
  /** The first wraps new keys; all unwrap. */
  masterKeys: MasterKey[];
  indexKey: Buffer;
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** base64 (standard or url-safe) of exactly 32 bytes, or null. */
function key32(text: string): Buffer | null {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) return null;
  const b = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return b.length === 32 ? b : null;
}

/** Parses PRIVACY_MASTER_KEYS; the messages never repeat a key. */
export function parseMasterKeys(text: string): { ok: true; keys: MasterKey[] } | { ok: false; problem: string } {
  const entries = text.split(',').map((e) => e.trim()).filter(Boolean);
  if (entries.length === 0) return { ok: false, problem: 'needs at least one `<id>:<base64 of 32 bytes>`' };
  const keys: MasterKey[] = [];
  for (const [i, e] of entries.entries()) {
    const colon = e.indexOf(':');
    const id = colon > 0 ? e.slice(0, colon) : '';
    if (!KEY_ID.test(id)) return { ok: false, problem: `entry ${i + 1} is not \`<id>:<base64 of 32 bytes>\` (id: letters, digits, . _ -)` };
    const key = key32(e.slice(colon + 1));
    if (!key) return { ok: false, problem: `key ${id} (entry ${i + 1}) is not base64 of exactly 32 bytes` };
    if (keys.some((k) => k.id === id)) return { ok: false, problem: `key id ${id} appears twice` };
    keys.push({ id, key });
  }
  return { ok: true, keys };
}

/** The zod fields of the privacy settings: spread into a service's config schema. */
export const privacyEnv = {
  PRIVACY_MASTER_KEYS: z.string().transform((s, ctx) => {
    const r = parseMasterKeys(s);
    if (!r.ok) { ctx.addIssue({ code: 'custom', message: r.problem }); return z.NEVER; }
    return r.keys;
  }),
  PRIVACY_INDEX_KEY: z.string().transform((s, ctx) => {
    const k = key32(s);
    if (!k) { ctx.addIssue({ code: 'custom', message: 'is not base64 of exactly 32 bytes' }); return z.NEVER; }
    return k;
  }),
};

/** The settings from a config parsed with privacyEnv. */
export function privacySettings(cfg: { PRIVACY_MASTER_KEYS: MasterKey[]; PRIVACY_INDEX_KEY: Buffer }): PrivacySettings {
  return { masterKeys: cfg.PRIVACY_MASTER_KEYS, indexKey: cfg.PRIVACY_INDEX_KEY };
}

/** Fresh random settings as environment text (`sicantik-privacy generate-keys`, tests). */
export function generatePrivacyEnv(masterKeyId = `k${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`): { PRIVACY_MASTER_KEYS: string; PRIVACY_INDEX_KEY: string } {
  return { PRIVACY_MASTER_KEYS: `${masterKeyId}:${randomBytes(32).toString('base64')}`, PRIVACY_INDEX_KEY: randomBytes(32).toString('base64') };
}
