import { DateTime } from 'luxon';

////////// Expiry warnings (pure)
// Thresholds 90/60/30/7 days before the expiry date, each at most once per
// permit and expiry date. A run on any day sends the most urgent threshold that
// applies, if neither it nor a more urgent one was planned before: a missed day
// is caught up on the next run, and a missed earlier threshold is superseded by
// a later one (never the 90-day warning after the 60-day one).

export const EXPIRY_THRESHOLDS = [90, 60, 30, 7] as const;
type Threshold = (typeof EXPIRY_THRESHOLDS)[number];

const YMD = /^(\d{4})-(\d{2})-(\d{2})$/;
const dayNumber = (iso: string): number | null => {
  const m = YMD.exec(iso);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86_400_000 : null;
};

/** Whole calendar days from `asOf` to `expiry` (both yyyy-MM-dd, Asia/Jakarta). */
export function daysUntil(expiry: string, asOf: string): number {
  // Calendar dates carry no zone: day numbers since the epoch differ by exactly the days between them.
  const e = dayNumber(expiry), d = dayNumber(asOf);
  if (e !== null && d !== null) return e - d;
  return Math.round(DateTime.fromISO(expiry, { zone: 'utc' }).diff(DateTime.fromISO(asOf, { zone: 'utc' }), 'days').days);
}

/** The day a threshold's warning is due: `threshold` calendar days before the expiry date. */
export function thresholdDay(expiry: string, threshold: number): string {
  return DateTime.fromISO(expiry, { zone: 'utc' }).minus({ days: threshold }).toISODate()!;
}

export type ExpiryDecision =
  | { kind: 'due'; threshold: Threshold; daysLeft: number; superseded: Threshold[] }
  | { kind: 'none'; reason: 'not_yet' | 'expired' | 'already_planned'; daysLeft: number };

export function expiryDecision(expiry: string, asOf: string, planned: readonly number[]): ExpiryDecision {
  const daysLeft = daysUntil(expiry, asOf);
  if (daysLeft <= 0) return { kind: 'none', reason: 'expired', daysLeft };
  const applicable = EXPIRY_THRESHOLDS.filter((t) => daysLeft <= t);
  if (applicable.length === 0) return { kind: 'none', reason: 'not_yet', daysLeft };
  const threshold = applicable[applicable.length - 1]!;
  if (planned.some((p) => p <= threshold)) return { kind: 'none', reason: 'already_planned', daysLeft };
  // Superseded now: the earlier thresholds no earlier decision covered (a threshold decided, or
  // superseded by a decided one, is never recorded again at a later threshold).
  const superseded = applicable.filter((t) => t > threshold && !planned.some((p) => p <= t));
  return { kind: 'due', threshold, daysLeft, superseded };
}
