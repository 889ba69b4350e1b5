import { readFileSync } from 'node:fs';

////////// Time
// A Clock is injected wherever the time decides an outcome or is written into an
// event: each service's main.ts passes systemClock (tests pass a fixedClock or their
// own `now`) to the planner (schedules, decisions, changelog), the renderer (template
// events), the dispatcher (routing, pacing and quotas, retries, its records) and the
// tracker (when a report was received). Pure logic (services/*/src/domain) receives
// `now` as a value and never reads the time itself (a lint rule).
// The system time is read directly (Date.now, new Date) only where elapsed time or a
// lease matters and no outcome does: timeouts, deadlines and back-off, durations in
// logs, unique reader group names, the time in a dead letter's headers, the circuit
// breaker's open time, permit-ingest's claim leases (compared across processes, so
// wall time), and the provider simulator (it plays the outside world).
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
export function fixedClock(at: Date | string): Clock & { set(d: Date | string): void } {
  let t = new Date(at);
  return { now: () => new Date(t.getTime()), set: (d) => { t = new Date(d); } };
}
export const JAKARTA_ZONE = 'Asia/Jakarta';

////////// Days in Asia/Jakarta: one helper for every service
// WIB is UTC+7 all year, without daylight saving, since 1964, so a fixed offset gives
// the same dates as a time-zone database (tested against luxon) without its cost on
// hot paths (luxon's zone offset lookup was 14 % of a projection rebuild's CPU).

export const JAKARTA_OFFSET_MS = 7 * 3_600_000;
const DAY_MS = 86_400_000;
/** Days since 1970-01-01 (Asia/Jakarta) of an instant. */
export const jakartaDayNumber = (ms: number): number => Math.floor((ms + JAKARTA_OFFSET_MS) / DAY_MS);
/** The instant a day number starts: 00:00 Asia/Jakarta. */
export const jakartaDayStart = (day: number): number => day * DAY_MS - JAKARTA_OFFSET_MS;
/** The date (yyyy-MM-dd) of an instant in Asia/Jakarta. */
export const jakartaDate = (ms: number): string => new Date(ms + JAKARTA_OFFSET_MS).toISOString().slice(0, 10);

////////// A clock tests can move, across processes (end-to-end tests only)
// With SICANTIK_TEST_CLOCK_FILE set, a service's time is the system time plus the
// number of milliseconds written in that file (a plain integer; a missing or empty file
// counts as 0). The file is read at most every 50 ms, so a test moves every running
// service's time at once by rewriting one file (e.g. to 22:00 Asia/Jakarta, then to
// 07:00 the next morning). Unset (always, outside tests), it is the system clock.
// Only services read it (each main.ts); pure logic gets `now` passed in as before.
export function clockFromEnv(env: NodeJS.ProcessEnv = process.env, readFile: (p: string) => string = (p) => readFileSync(p, 'utf8')): Clock {
  const file = env['SICANTIK_TEST_CLOCK_FILE'];
  if (!file) return systemClock;
  let offset = 0;
  let readAt = -Infinity;
  return {
    now: () => {
      const t = Date.now();
      if (t - readAt >= 50) {
        readAt = t;
        let text = '';
        try { text = readFile(file).trim(); } catch { text = ''; }
        const n = text === '' ? 0 : Number(text);
        if (!Number.isFinite(n)) throw new Error(`SICANTIK_TEST_CLOCK_FILE ${file} holds ${JSON.stringify(text)}, not a number of milliseconds`);
        offset = n;
      }
      return new Date(t + offset);
    },
  };
}
