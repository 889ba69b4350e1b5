import fc from 'fast-check';
import { deterministicId, isRetriable, maskPhone, normalizePhone, notificationId, PermanentError, TransientError } from './index';

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
    ['0062 812 3456 7890', '+6281234567890'],
  ])('%s -> %s', (input, e164) => {
    expect(normalizePhone(input)).toEqual({ ok: true, e164 });
  });
  it.each([['021 1234 5678', /FIXED_LINE/], ['12', /not a valid/], ['', /empty/]])('rejects %s', (input, reason) => {
    const r = normalizePhone(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
  it('masks all but the country prefix and the last four digits', () => {
    expect(maskPhone('+6281234567890')).toBe('+628******7890');
    expect(maskPhone('6281234567890')).toBe('628******7890');
  });
  it('property: a masked number never contains the middle digits', () => {
    fc.assert(fc.property(fc.stringMatching(/^\+628[0-9]{9,11}$/), (p) => {
      const m = maskPhone(p);
      expect(m).toHaveLength(p.length);
      expect(m.slice(4, -4)).toMatch(/^\*+$/);
    }));
  });
});

describe('errors carry retriability', () => {
  it('classifies', () => {
    expect(isRetriable(new TransientError('x'))).toBe(true);
    expect(isRetriable(new PermanentError('x'))).toBe(false);
    expect(isRetriable(new TypeError('bug'))).toBe(false);
    expect(isRetriable(new Error('socket hang up'))).toBe(true);
  });
});
