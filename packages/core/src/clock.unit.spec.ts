import fc from 'fast-check';
import { DateTime } from 'luxon';
import { JAKARTA_ZONE, jakartaDate, jakartaDayNumber, jakartaDayStart } from './clock';

////////// Days in Asia/Jakarta by a fixed offset, judged by the time-zone database (luxon)

describe('Jakarta days', () => {
  const instant = fc.integer({ min: Date.parse('1970-01-01T00:00:00Z'), max: Date.parse('2200-01-01T00:00:00Z') });

  it('jakartaDate equals the time-zone database for any instant from 1970 to 2200', () => {
    fc.assert(fc.property(instant, (ms) => jakartaDate(ms) === DateTime.fromMillis(ms, { zone: JAKARTA_ZONE }).toISODate()), { numRuns: 20_000 });
  });

  it('a day starts at 00:00 WIB, and every instant lies in the day of its number', () => {
    fc.assert(fc.property(instant, (ms) => {
      const d = jakartaDayNumber(ms);
      return jakartaDayStart(d) <= ms && ms < jakartaDayStart(d + 1)
        && DateTime.fromMillis(jakartaDayStart(d), { zone: JAKARTA_ZONE }).toFormat('HH:mm:ss.SSS') === '00:00:00.000'
        && jakartaDate(jakartaDayStart(d)) === jakartaDate(ms);
    }), { numRuns: 20_000 });
  });

  it('changes date at midnight WIB (17:00 UTC)', () => {
    expect(jakartaDate(Date.parse('2026-11-21T16:59:59.999Z'))).toBe('2026-11-21');
    expect(jakartaDate(Date.parse('2026-11-21T17:00:00.000Z'))).toBe('2026-11-22');
    expect(jakartaDayStart(jakartaDayNumber(Date.parse('2026-11-22T03:00:00Z')))).toBe(Date.parse('2026-11-21T17:00:00Z'));
  });
});
