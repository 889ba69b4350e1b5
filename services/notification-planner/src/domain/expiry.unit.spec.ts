import fc from 'fast-check';
import { DateTime } from 'luxon';
import { EXPIRY_THRESHOLDS, daysUntil, expiryDecision } from './expiry';

const day = (iso: string, plus: number) => DateTime.fromISO(iso, { zone: 'utc' }).plus({ days: plus }).toISODate()!;

describe('expiry warnings', () => {
  it.each([
    ['2027-03-01', '2026-12-01', 90, 'due', 90],
    ['2027-03-01', '2026-12-02', 89, 'due', 90], // the 90-day run was missed: caught up next day
    ['2027-03-01', '2026-12-31', 60, 'due', 60],
    ['2027-03-01', '2027-02-22', 7, 'due', 7],
    ['2027-03-01', '2027-02-28', 1, 'due', 7],
    ['2027-03-01', '2026-11-30', 91, 'none', undefined],
    ['2027-03-01', '2027-03-01', 0, 'none', undefined],
  ] as const)('expiry %s as of %s (%i days): %s %s', (expiry, asOf, days, kind, threshold) => {
    const d = expiryDecision(expiry, asOf, []);
    expect(d.daysLeft).toBe(days);
    expect(d.kind).toBe(kind);
    if (d.kind === 'due') expect(d.threshold).toBe(threshold);
  });
  it('a later threshold supersedes a missed earlier one', () => {
    expect(expiryDecision('2027-03-01', '2026-12-31', [])).toEqual({ kind: 'due', threshold: 60, daysLeft: 60, superseded: [90] });
  });
  it('never sends the 90-day warning after the 60-day one (out-of-order backfill)', () => {
    expect(expiryDecision('2027-03-01', '2026-12-01', [60])).toEqual({ kind: 'none', reason: 'already_planned', daysLeft: 90 });
  });
  it('counts leap days and month ends', () => {
    expect(daysUntil('2028-03-01', '2028-02-01')).toBe(29);
    expect(daysUntil('2027-03-01', '2027-02-01')).toBe(28);
    expect(daysUntil('2026-12-31', '2026-10-02')).toBe(90);
    expect(expiryDecision('2028-02-29', '2027-12-01', [])).toMatchObject({ kind: 'due', threshold: 90, daysLeft: 90 });
  });

  it('property: running the schedule over consecutive days (with gaps and repeats) plans each threshold at most once, in order, never after expiry', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 3000 }), // expiry as offset from a base day
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 200 }), // step between runs: 0 = a second run the same day
      (expiryOffset, steps) => {
        const base = '2026-01-01';
        const expiry = day(base, expiryOffset);
        const planned: number[] = [];
        let offset = Math.max(0, expiryOffset - 120);
        for (const s of steps) {
          offset += s;
          const asOf = day(base, offset);
          const d = expiryDecision(expiry, asOf, planned);
          if (d.kind === 'due') {
            expect(daysUntil(expiry, asOf)).toBeGreaterThan(0);
            expect(d.daysLeft).toBeLessThanOrEqual(d.threshold);
            planned.push(d.threshold);
          }
        }
        expect(new Set(planned).size).toBe(planned.length);
        expect([...planned].sort((a, b) => b - a)).toEqual(planned); // 90 before 60 before 30 before 7
        for (const p of planned) expect(EXPIRY_THRESHOLDS).toContain(p);
      }));
  });
  it('property: daily runs with no gaps send every threshold exactly once', () => {
    fc.assert(fc.property(fc.integer({ min: 100, max: 2000 }), (expiryOffset) => {
      const expiry = day('2026-01-01', expiryOffset);
      const planned: number[] = [];
      for (let o = expiryOffset - 100; o <= expiryOffset + 2; o++) {
        const d = expiryDecision(expiry, day('2026-01-01', o), planned);
        if (d.kind === 'due') { expect(d.daysLeft).toBe(d.threshold); planned.push(d.threshold); }
      }
      expect(planned).toEqual([90, 60, 30, 7]);
    }));
  });
  it('property: days between two calendar dates equal luxon\'s calendar difference (leap years, month ends, any order)', () => {
    const day = fc.integer({ min: 0, max: 200 * 366 }).map((n) => DateTime.fromISO('1950-01-01', { zone: 'utc' }).plus({ days: n }).toISODate()!);
    fc.assert(fc.property(day, day, (a, b) => {
      expect(daysUntil(a, b)).toBe(Math.round(DateTime.fromISO(a, { zone: 'utc' }).diff(DateTime.fromISO(b, { zone: 'utc' }), 'days').days));
    }));
  });
});
