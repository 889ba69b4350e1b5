import fc from 'fast-check';
import { ConfigError } from '@sicantik/config';
import { initials, keyRing, legacyKey, maskerFor, maskNumber, maskText, parseApiKeys, REDACTED, roleAtLeast, ROLES } from './roles';

const K1 = 'k1-0123456789abcdef';
const K2 = 'k2-0123456789abcdef:with:colons';

describe('API_KEYS', () => {
  it('parses name:role:key entries (a key may hold ":"; spaces around entries ignored)', () => {
    expect(parseApiKeys(`dash:analyst:${K1}, sre-1:operator:${K2}`)).toEqual([
      { name: 'dash', role: 'analyst', key: K1 },
      { name: 'sre-1', role: 'operator', key: K2 },
    ]);
    expect(parseApiKeys(undefined)).toEqual([]);
    expect(parseApiKeys('  ')).toEqual([]);
  });

  it.each([
    [`dash:analyst:short`, 'API_KEYS[1] (dash): the key must be at least 16 characters'],
    [`dash:analyst:${K1},dash:admin:${K2}`, 'API_KEYS[2] (dash): the name dash is used twice (names must be unique)'],
    [`dash:reader:${K1}`, 'API_KEYS[1] (dash): the role must be one of analyst, operator, admin'],
    [`dash:analyst:${K1},ops:admin:${K1}`, "API_KEYS[2] (ops): the key is the same as dash's (keys must differ)"],
    [`dash:analyst:${K1},`, 'API_KEYS[2]: is empty (entries are name:role:key, separated by ",")'],
    [`dash-${K1}`, 'API_KEYS[1]: is not name:role:key'],
    [`da sh:analyst:${K1}`, 'API_KEYS[1]: the name must be 1-64 letters, digits, ".", "_" or "-"'],
  ])('refuses %s with a ConfigError naming the entry, never the key', (raw, issue) => {
    let err: unknown;
    try { parseApiKeys(raw); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([issue]);
    expect(e.retriable).toBe(false);
    expect(e.message).not.toContain(K1);
    expect(e.message).not.toContain('short');
  });

  it('legacy tokens join the ring under their variable name; one key in two places is refused', () => {
    const keys = keyRing(parseApiKeys(`dash:analyst:${K1}`), legacyKey('ADMIN_API_TOKEN', K2, 'admin'), legacyKey('STATS_API_TOKEN', undefined, 'operator'));
    expect(keys.map((k) => `${k.name}:${k.role}`)).toEqual(['dash:analyst', 'ADMIN_API_TOKEN:admin']);
    expect(() => keyRing(parseApiKeys(`dash:analyst:${K1}`), legacyKey('ADMIN_API_TOKEN', K1, 'admin'))).toThrow('ADMIN_API_TOKEN: is the same key as dash');
  });
});

describe('role order', () => {
  it('a role includes the ones below it and no other', () => {
    const got = ROLES.flatMap((have) => ROLES.filter((need) => roleAtLeast(have, need)).map((need) => `${have}>=${need}`));
    expect(got).toEqual(['analyst>=analyst', 'operator>=analyst', 'operator>=operator', 'admin>=analyst', 'admin>=operator', 'admin>=admin']);
  });
});

describe('masking', () => {
  it('masks numbers as +62812****7890 and names as initials', () => {
    expect(maskNumber('+6281234567890')).toBe('+62812****7890');
    expect(maskNumber('+62812345678901')).toBe('+62812*****8901');
    expect(maskNumber('081234567890')).toBe('0812****7890');
    expect(maskNumber('+1234567')).toBe('********');
    expect(maskNumber(undefined)).toBe('');
    expect(initials('Budi Santoso')).toBe('B. S.');
    expect(initials('  siti   nurhaliza binti ahmad ')).toBe('S. N. B. A.');
    expect(initials('')).toBe('');
    expect(maskText('number +62 812-3456-7890 is not on WhatsApp (code 131026)')).toBe('number +62812****7890 is not on WhatsApp (code 131026)');
  });

  it('an analyst gets masked values, operators and admins the stored ones', () => {
    const a = maskerFor({ name: 'dash', role: 'analyst' });
    expect([a.unmasked, a.phone('+6281234567890'), a.name('Budi Santoso'), a.opaque('wamid.X'), a.opaque(null), a.text('to 6281234567890')])
      .toEqual([false, '+62812****7890', 'B. S.', REDACTED, null, 'to 6281*****7890']);
    for (const role of ['operator', 'admin'] as const) {
      const m = maskerFor({ name: 'x', role });
      expect([m.unmasked, m.phone('+6281234567890'), m.name('Budi Santoso'), m.opaque('wamid.X')]).toEqual([true, '+6281234567890', 'Budi Santoso', 'wamid.X']);
    }
  });

  const digits = (min: number, max: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((d) => d.join(''));
  it('property: a masked number never shows the number\'s middle digits', () => {
    fc.assert(fc.property(fc.boolean(), digits(6, 16), (plus, d) => {
      const phone = (plus ? '+' : '') + d;
      const m = maskNumber(phone);
      const head = plus ? 6 : 4;
      expect(m).toHaveLength(phone.length);
      // every position between the head and the last four is a star, and at least four are hidden
      if (phone.length < head + 8) expect(m).toBe('*'.repeat(phone.length));
      else {
        expect(m.slice(head, -4)).toBe('*'.repeat(phone.length - head - 4));
        expect(m.slice(0, head) + m.slice(-4)).toBe(phone.slice(0, head) + phone.slice(-4));
      }
      expect(m.replace(/\*/g, '').length).toBeLessThanOrEqual(phone.length - 4);
    }));
  });

  it('property: free text keeps no phone-like run of 8 or more digits once masked', () => {
    const piece = fc.oneof(fc.string({ unit: fc.constantFrom(...'abc xyz.,:()'), maxLength: 8 }), digits(1, 16), digits(2, 14).map((d) => `+${d}`), fc.constantFrom(' ', '-'));
    fc.assert(fc.property(fc.array(piece, { maxLength: 8 }), (parts) => {
      const out = maskText(parts.join(''))!;
      expect(out).not.toMatch(/\d(?:[\s-]?\d){7,}/);
    }));
  });

  it('property: initials never hold more than one letter of any word', () => {
    const word = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéü'), minLength: 1, maxLength: 12 });
    fc.assert(fc.property(fc.array(word, { minLength: 1, maxLength: 5 }), fc.constantFrom(' ', '  ', '\t'), (words, sep) => {
      const out = initials(words.join(sep));
      const parts = out.split(' ');
      expect(parts).toHaveLength(words.length);
      parts.forEach((p, i) => expect(p).toBe(`${words[i]![0]!.toLocaleUpperCase('id')}.`));
      for (const w of words) if (w.length > 1) expect(out.toLowerCase()).not.toContain(w.toLowerCase());
    }));
  });
});
