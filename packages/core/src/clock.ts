////////// Time
// The clock is injected everywhere; pure logic receives `now` as a value.
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
export function fixedClock(at: Date | string): Clock & { set(d: Date | string): void } {
  let t = new Date(at);
  return { now: () => new Date(t.getTime()), set: (d) => { t = new Date(d); } };
}
export const JAKARTA_ZONE = 'Asia/Jakarta';
