import { createHmac, randomBytes } from 'node:crypto';
import { blindIndex, dataKeyOf, messageRef, decryptField, encryptField, ERASED, isEncrypted, isErased, unwrapKey, wrapKey } from './crypto';
import { generatePrivacyEnv, parseMasterKeys, privacyEnv } from './settings';
import { z } from '@sicantik/config';

const key = dataKeyOf(randomBytes(32));

describe('field encryption (AES-256-GCM, subject id as associated data)', () => {
  it('round trips, in the pd1. format, with a fresh IV each time', () => {
    const a = encryptField(key, 'subj-1', 'Budi Santoso');
    const b = encryptField(key, 'subj-1', 'Budi Santoso');
    expect(a).toMatch(/^pd1\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(isEncrypted(a)).toBe(true);
    expect(decryptField(key, 'subj-1', a)).toBe('Budi Santoso');
    expect(decryptField(key, 'subj-1', encryptField(key, 'subj-1', ''))).toBe('');
    expect(decryptField(key, 'subj-1', encryptField(key, 'subj-1', 'Émoji 👍 ok'))).toBe('Émoji 👍 ok');
  });

  it('detects any changed byte (TAMPERED, not retriable)', () => {
    const c = encryptField(key, 'subj-1', '+6281234567890');
    const body = Buffer.from(c.slice(4), 'base64url');
    for (const i of [0, 12, body.length - 1]) {
      const t = Buffer.from(body);
      t[i] = t[i]! ^ 1;
      expect(() => decryptField(key, 'subj-1', `pd1.${t.toString('base64url')}`)).toThrow(expect.objectContaining({ code: 'TAMPERED', retriable: false }));
    }
    expect(() => decryptField(key, 'subj-1', 'pd1.AAAA')).toThrow(expect.objectContaining({ code: 'TAMPERED' }));
  });

  it('fails under another subject id (the associated data) or another key', () => {
    const c = encryptField(key, 'subj-1', 'Budi');
    expect(() => decryptField(key, 'subj-2', c)).toThrow(expect.objectContaining({ code: 'TAMPERED' }));
    expect(() => decryptField(dataKeyOf(randomBytes(32)), 'subj-1', c)).toThrow(expect.objectContaining({ code: 'TAMPERED' }));
  });

  it('tells encrypted fields and the erased marker from plain text', () => {
    expect(isEncrypted('pd1.hello')).toBe(false);
    expect(isEncrypted('Budi')).toBe(false);
    expect(isEncrypted(null)).toBe(false);
    expect(isErased(ERASED)).toBe(true);
    expect(isErased('Budi')).toBe(false);
  });
});

describe('key wrapping with a master key', () => {
  const m1 = { id: 'k1', key: randomBytes(32) };
  const m2 = { id: 'k2', key: randomBytes(32) };
  it('unwraps what it wrapped, only with the same master key and subject', () => {
    const raw = randomBytes(32);
    const w = wrapKey(m1, 's-1', raw);
    expect(unwrapKey(m1, 's-1', w).equals(raw)).toBe(true);
    expect(() => unwrapKey(m2, 's-1', w)).toThrow(expect.objectContaining({ code: 'BAD_WRAPPED_KEY' }));
    expect(() => unwrapKey(m1, 's-2', w)).toThrow(expect.objectContaining({ code: 'BAD_WRAPPED_KEY' }));
    expect(() => unwrapKey(m1, 's-1', 'AAAA')).toThrow(expect.objectContaining({ code: 'BAD_WRAPPED_KEY' }));
  });
});

describe('blind index', () => {
  it('is stable for a number and key, differs by number and by key, and does not contain the number', () => {
    const k = Buffer.alloc(32, 7);
    const a = blindIndex(k, '+6281234567890');
    expect(a).toBe(blindIndex(Buffer.alloc(32, 7), '+6281234567890'));
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(blindIndex(k, '+6281234567891')).not.toBe(a);
    expect(blindIndex(Buffer.alloc(32, 8), '+6281234567890')).not.toBe(a);
    expect(a).not.toContain('81234567890');
    // HMAC-SHA256, fixed vector
    expect(blindIndex(Buffer.alloc(32, 0), '+6281234567890')).toBe(createHmac('sha256', Buffer.alloc(32, 0)).update('+6281234567890').digest('base64url'));
  });
});

describe('message ref', () => {
  it('is stable for a provider, id and key, differs by each, is not a blind index, and does not contain the id', () => {
    const k = Buffer.alloc(32, 7);
    const id = 'wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjQ0';
    const a = messageRef(k, 'meta', id);
    expect(a).toBe(messageRef(Buffer.alloc(32, 7), 'meta', id));
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(messageRef(k, 'watzap', id)).not.toBe(a);
    expect(messageRef(k, 'meta', `${id}x`)).not.toBe(a);
    expect(messageRef(Buffer.alloc(32, 8), 'meta', id)).not.toBe(a);
    expect(a).not.toBe(blindIndex(k, id));
    expect(a).not.toContain('HBgN');
    // HMAC-SHA256 of message:<provider>:<id>, fixed vector
    expect(messageRef(Buffer.alloc(32, 0), 'meta', 'm-1')).toBe(createHmac('sha256', Buffer.alloc(32, 0)).update('message:meta:m-1').digest('base64url'));
  });
});

describe('settings', () => {
  const schema = z.object(privacyEnv);
  const k32 = randomBytes(32).toString('base64');
  it('parses master keys in order (the first wraps) and the index key', () => {
    const r = schema.parse({ PRIVACY_MASTER_KEYS: `k2:${k32}, k1:${randomBytes(32).toString('base64url')}`, PRIVACY_INDEX_KEY: k32 });
    expect(r.PRIVACY_MASTER_KEYS.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(r.PRIVACY_MASTER_KEYS[0]!.key.toString('base64')).toBe(k32);
    expect(r.PRIVACY_INDEX_KEY.length).toBe(32);
  });

  it('names the problem without ever repeating a key', () => {
    const short = Buffer.alloc(16, 1).toString('base64');
    const cases: [string, string][] = [
      ['', 'needs at least one `<id>:<base64 of 32 bytes>`'],
      [k32, 'entry 1 is not `<id>:<base64 of 32 bytes>` (id: letters, digits, . _ -)'],
      [`k1:${short}`, 'key k1 (entry 1) is not base64 of exactly 32 bytes'],
      [`k1:${k32},k1:${k32}`, 'key id k1 appears twice'],
      [`k1:${k32},k 2:${k32}`, 'entry 2 is not `<id>:<base64 of 32 bytes>` (id: letters, digits, . _ -)'],
    ];
    for (const [text, problem] of cases) expect(parseMasterKeys(text)).toEqual({ ok: false, problem });
    const r = schema.safeParse({ PRIVACY_MASTER_KEYS: `k1:${short}`, PRIVACY_INDEX_KEY: short });
    expect(r.success).toBe(false);
    const messages = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(messages).toEqual(['PRIVACY_MASTER_KEYS: key k1 (entry 1) is not base64 of exactly 32 bytes', 'PRIVACY_INDEX_KEY: is not base64 of exactly 32 bytes']);
    expect(messages.join('\n')).not.toContain(short);
  });

  it('generates settings that parse', () => {
    const g = generatePrivacyEnv('kgen');
    const r = schema.parse(g);
    expect(r.PRIVACY_MASTER_KEYS[0]!.id).toBe('kgen');
  });
});
