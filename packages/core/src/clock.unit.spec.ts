import fc from 'fast-check';
import { DateTime } from 'luxon';
import { JAKARTA_ZONE, clockFromEnv, jakartaDate, jakartaDayNumber, jakartaDayStart, systemClock } from './clock';

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

describe('clockFromEnv: a clock end-to-end tests move through a file', () => {
  it('is the system clock without SICANTIK_TEST_CLOCK_FILE', () => {
    expect(clockFromEnv({})).toBe(systemClock);
  });

  it('adds the file\'s milliseconds to the system time, re-reading the file at most every 50 ms', () => {
    let content = '3600000';
    let reads = 0;
    const clock = clockFromEnv({ SICANTIK_TEST_CLOCK_FILE: '/x' }, () => { reads += 1; return content; });
    const before = Date.now();
    const t = clock.now().getTime();
    expect(t - before).toBeGreaterThanOrEqual(3_600_000);
    expect(t - Date.now()).toBeLessThanOrEqual(3_600_000);
    content = '0';
    clock.now();
    expect(reads).toBe(1); // cached within 50 ms
  });

  it('counts a missing or empty file as 0 and refuses a file that is not a number', () => {
    const missing = clockFromEnv({ SICANTIK_TEST_CLOCK_FILE: '/x' }, () => { throw new Error('ENOENT'); });
    expect(Math.abs(missing.now().getTime() - Date.now())).toBeLessThan(1000);
    const bad = clockFromEnv({ SICANTIK_TEST_CLOCK_FILE: '/x' }, () => 'tomorrow');
    expect(() => bad.now()).toThrow(/not a number of milliseconds/);
  });
});
