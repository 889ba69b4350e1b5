import fc from 'fast-check';
import { deterministicId, maskPhone, normalizePhone, notificationId, parseCountryList } from './index';

describe('deterministic ids', () => {
  it('derives the same id from the same cause and a UUID-shaped value', () => {
    const a = notificationId('permit_ready', 'REG-1', '503/1');
    expect(a).toBe(notificationId('permit_ready', 'REG-1', '503/1'));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
  it('property: distinct causes give distinct ids (no separator collisions)', () => {
    fc.assert(fc.property(fc.array(fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\u0000')), { minLength: 1, maxLength: 4 }),
      fc.array(fc.string().filter((s) => !s.includes('\u0000')), { minLength: 1, maxLength: 4 }), (x, y) => {
        fc.pre(JSON.stringify(x) !== JSON.stringify(y));
        expect(deterministicId('ns', ...x)).not.toBe(deterministicId('ns', ...y));
      }));
  });
});

describe('phone numbers (Indonesia)', () => {
  it.each([
    ['0812-3456-7890', '+6281234567890'],
    ['+62 812-3456-7890', '+6281234567890'],
    ['6281234567890', '+6281234567890'],
    ['81234567890', '+6281234567890'],
  ])('%s -> %s', (input, e164) => {
    expect(normalizePhone(input)).toEqual({ ok: true, e164, country: 'ID' });
  });
  it.each([
    ['021 1234 5678', 'NOT_MOBILE', /FIXED_LINE/],
    ['12', 'INVALID', /not a valid/],
    ['', 'EMPTY', /empty/],
    ['abc', 'INVALID', /^not a valid phone number: \(no digits\)$/],
    ['08123', 'INVALID', /not a valid/],
    // libphonenumber itself calls this invalid for Indonesia: it is not rewritten to +62 by hand
    ['0062 812 3456 7890', 'INVALID', /not a valid/],
    ['+44 7911 123456', 'COUNTRY_NOT_ALLOWED', /^country not allowed: \+44 \(GG\); allowed: ID$/],
    ['+1 415 523 8886', 'COUNTRY_NOT_ALLOWED', /^country not allowed: \+1 \(US\); allowed: ID$/],
  ])('rejects %s (%s)', (input, problem, reason) => {
    const r = normalizePhone(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect([r.problem, r.reason]).toEqual([problem, expect.stringMatching(reason)]);
  });
  it('accepts another country only when configured, and still only mobile numbers', () => {
    expect(normalizePhone('+60 12-345 6789', { allowedCountries: ['ID', 'MY'] })).toEqual({ ok: true, e164: '+60123456789', country: 'MY' });
    expect(normalizePhone('+60 12-345 6789')).toMatchObject({ ok: false, problem: 'COUNTRY_NOT_ALLOWED' });
    expect(normalizePhone('+60 3-2345 6789', { allowedCountries: ['MY'] })).toMatchObject({ ok: false, problem: 'NOT_MOBILE' });
  });
  it('reads a list of allowed countries, naming unknown codes', () => {
    expect(parseCountryList(' id, my ,ID')).toEqual({ ok: true, countries: ['ID', 'MY'] });
    expect(parseCountryList('ID,XX,62')).toEqual({ ok: false, unknown: ['XX', '62'] });
  });
  it('property: a usable number is always +62 E.164 under the default rules', () => {
    fc.assert(fc.property(fc.string({ maxLength: 20 }), fc.stringMatching(/^[0+ 6()-]{0,4}8[0-9 -]{8,13}$/), (junk, phone) => {
      for (const s of [junk, phone]) {
        const r = normalizePhone(s);
        if (r.ok) { expect(r.e164).toMatch(/^\+62\d{8,13}$/); expect(r.country).toBe('ID'); }
      }
    }));
  });
  it('masks all but the country prefix and the last four digits', () => {
    expect(maskPhone('+6281234567890')).toBe('+628******7890');
    expect(maskPhone('6281234567890')).toBe('628******7890');
  });
  it('masks a short or odd input whole instead of throwing', () => {
    expect(maskPhone('+0800-  00 -')).toBe('*******');
    expect(maskPhone('08123')).toBe('*****');
  });
  it('property: a masked number never contains the middle digits', () => {
    fc.assert(fc.property(fc.stringMatching(/^\+628[0-9]{9,11}$/), (p) => {
      const m = maskPhone(p);
      expect(m).toHaveLength(p.length);
      expect(m.slice(4, -4)).toMatch(/^\*+$/);
    }));
  });
});
