import { DateTime } from 'luxon';
import type { RecipientKind } from '@sicantik/schemas';

////////// When a notification may be sent (pure: the planning time is passed in)
// - Citizens (APPLICANT): a non-urgent message is not handed to a provider in the
//   quiet hours (default 21:00-07:00) of the office's zone; it waits for their end.
// - Staff and officials: working hours (default Monday-Friday 08:00-16:00) in their
//   own zone (the directory entry's, else the office's), and never on a public holiday
//   or collective leave day (cuti bersama); it waits for the next working-hour start.
// - An URGENT scenario ignores both.
// - A status_update also waits for its coalescing window (coalesce below), and the later
//   of the two times wins.
// The planning time is the cause's own time (the event's, or the schedule run's), so a
// replay decides the same notBefore.

export type Urgency = 'URGENT' | 'NORMAL';
export type DeferReason = 'QUIET_HOURS' | 'WORKING_HOURS' | 'HOLIDAY' | 'COALESCING';

export interface Holiday { date: string; name: string; kind: 'HOLIDAY' | 'CUTI_BERSAMA' }

/** A time of day in minutes after midnight (07:00 = 420). */
export type DayMinute = number;

export interface TimingSettings {
  /** The office's IANA zone (citizens' quiet hours; staff without a zone of their own). */
  officeZone: string;
  /** Citizens' quiet hours [start, end) (wrapping midnight when start > end); null = none. */
  quietHours: { start: DayMinute; end: DayMinute } | null;
  /** Staff's and officials' working hours: ISO weekdays (1 = Monday) and [start, end); null = any time. */
  workingHours: { days: readonly number[]; start: DayMinute; end: DayMinute } | null;
  /** Public holidays and collective leave days, by date (yyyy-MM-dd, in the recipient's zone). */
  holidays: ReadonlyMap<string, Holiday>;
  /** Urgency class per scenario; a scenario not named is NORMAL. */
  urgency: Readonly<Record<string, Urgency>>;
  /** status_update coalescing: sent afterLastMs after the last change, at most maxMs after the first; null = off. */
  coalescing: { afterLastMs: number; maxMs: number } | null;
}

export interface Earliest {
  /** The earliest send time; null = at once. */
  notBefore: number | null;
  reason: Exclude<DeferReason, 'COALESCING'> | null;
  /** Why, in words (for the decision record). */
  text: string | null;
}

const AT_ONCE: Earliest = { notBefore: null, reason: null, text: null };

const hhmm = (m: DayMinute): string => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
const atMinute = (day: DateTime, m: DayMinute): DateTime => day.startOf('day').set({ hour: Math.floor(m / 60), minute: m % 60 });
const minuteOf = (t: DateTime): number => t.hour * 60 + t.minute;
const fmt = (ms: number, zone: string) => `${DateTime.fromMillis(ms, { zone }).toFormat("yyyy-MM-dd HH:mm")} ${zone}`;

const urgencyOf = (scenario: string, s: TimingSettings): Urgency => s.urgency[scenario] ?? 'NORMAL';

/**
 * The earliest time a notification may be handed to a provider, planned at `at`.
 * `zone` is the recipient's own zone (staff and officials: their directory entry's), if any.
 */
export function earliestSend(n: { scenario: string; recipientKind: RecipientKind; zone?: string | null }, at: number, s: TimingSettings): Earliest {
  if (urgencyOf(n.scenario, s) === 'URGENT') return AT_ONCE;
  if (n.recipientKind === 'APPLICANT') return quietHours(at, s.officeZone, s.quietHours);
  return workingHours(at, n.zone || s.officeZone, s.workingHours, s.holidays);
}

function quietHours(at: number, zone: string, q: TimingSettings['quietHours']): Earliest {
  if (!q || q.start === q.end) return AT_ONCE;
  const t = DateTime.fromMillis(at, { zone });
  const m = minuteOf(t);
  const inside = q.start > q.end ? m >= q.start || m < q.end : m >= q.start && m < q.end;
  if (!inside) return AT_ONCE;
  let end = atMinute(t, q.end);
  if (end.toMillis() <= at) end = atMinute(t.plus({ days: 1 }), q.end);
  const notBefore = end.toMillis();
  return { notBefore, reason: 'QUIET_HOURS', text: `quiet hours ${hhmm(q.start)}-${hhmm(q.end)} ${zone}: not before ${fmt(notBefore, zone)}` };
}

/** How far ahead the next working day is looked for (a configuration without one is refused by config.ts). */
const MAX_DAYS_AHEAD = 400;

function workingHours(at: number, zone: string, w: TimingSettings['workingHours'], holidays: ReadonlyMap<string, Holiday>): Earliest {
  if (!w) return AT_ONCE;
  let day = DateTime.fromMillis(at, { zone }).startOf('day');
  // The first holiday (on a working weekday) between now and the next working-hour start: the reason.
  let holiday: Holiday | null = null;
  for (let i = 0; i < MAX_DAYS_AHEAD; i++, day = day.plus({ days: 1 }).startOf('day')) {
    if (!w.days.includes(day.weekday)) continue;
    const h = holidays.get(day.toISODate()!);
    if (h) { holiday ??= h; continue; }
    const start = atMinute(day, w.start).toMillis();
    const end = atMinute(day, w.end).toMillis();
    if (at >= end) continue;
    if (at >= start) return AT_ONCE;
    const hours = `working hours ${hhmm(w.start)}-${hhmm(w.end)} ${zone}`;
    return holiday
      ? { notBefore: start, reason: 'HOLIDAY', text: `${holiday.date} is ${holiday.kind === 'CUTI_BERSAMA' ? 'collective leave' : 'a public holiday'} (${holiday.name}); ${hours}: not before ${fmt(start, zone)}` }
      : { notBefore: start, reason: 'WORKING_HOURS', text: `outside ${hours}: not before ${fmt(start, zone)}` };
  }
  return AT_ONCE;
}

////////// Coalescing of status updates (per permit and recipient)

/** The open coalescing window of one permit and recipient (kept in the permit state). */
export interface CoalesceWindow {
  /** Time of the first change of the window (its start). */
  start: number;
  /** status_lama of the first change: the carried message says "from <first> to <latest>". */
  firstStatus: string;
  /** The notification that currently carries the window. */
  notificationId: string;
  /** That notification's earliest send time (coalescing and quiet/working hours): a change at or after it opens a new window. */
  notBefore: number;
}

export interface Coalesced {
  /** The window after this change (its notBefore still to be combined with quiet/working hours by the caller). */
  window: CoalesceWindow;
  /** The notification this change replaces (it is now carried by the new one), or null when the change opens a new window. */
  carries: string | null;
  /** min(change + afterLast, first + max). */
  notBefore: number;
}

/**
 * A status change at `at` (with its status_lama), carried by notification `notificationId`:
 * inside the open window (at or after its start, before its notBefore) it joins it and the
 * window's previous notification is carried by the new one; otherwise it opens a new window.
 */
export function coalesce(open: CoalesceWindow | undefined, change: { at: number; statusLama: string; notificationId: string }, c: { afterLastMs: number; maxMs: number }): Coalesced {
  const joins = open !== undefined && change.at >= open.start && change.at < open.notBefore && open.notificationId !== change.notificationId;
  const start = joins ? open.start : change.at;
  const firstStatus = joins ? open.firstStatus : change.statusLama;
  const notBefore = Math.min(change.at + c.afterLastMs, start + c.maxMs);
  return { window: { start, firstStatus, notificationId: change.notificationId, notBefore }, carries: joins ? open.notificationId : null, notBefore };
}

/** The key under which a later notification drops an earlier unsent one at the dispatcher (status_update windows). */
export const statusSupersedeKey = (pendaftaranId: string, recipientKind: string, recipientId: string, windowStart: number) =>
  `status:${pendaftaranId}:${recipientKind}:${recipientId}:${windowStart}`;
export const expirySupersedeKey = (pendaftaranId: string, recipientKind: string, recipientId: string) => `expiry:${pendaftaranId}:${recipientKind}:${recipientId}`;
export const reminderSupersedeKey = (recipientKind: string, recipientId: string) => `reminder:${recipientKind}:${recipientId}`;

/** The end of a date (its last millisecond) in a zone: an expiry warning after it is stale. */
export const endOfDate = (date: string, zone: string): number => DateTime.fromISO(date, { zone }).endOf('day').toMillis();

////////// Settings text (used by config.ts; pure parsing)

/** "21:00-07:00" -> minutes; "off" -> null. */
export function parseHours(v: string): { start: DayMinute; end: DayMinute } | null | Error {
  if (v.trim().toLowerCase() === 'off') return null;
  const m = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(v);
  if (!m) return new Error(`"${v}" is not HH:MM-HH:MM (or off)`);
  const [h1, m1, h2, m2] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
  if (h1 > 23 || h2 > 24 || m1 > 59 || m2 > 59 || (h2 === 24 && m2 !== 0)) return new Error(`"${v}" has an hour or minute out of range`);
  return { start: h1 * 60 + m1, end: h2 * 60 + m2 };
}

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** "Mon-Fri 08:00-16:00" (days: a range or a comma list) -> ISO weekdays and minutes; "off" -> null. */
export function parseWorkingHours(v: string): TimingSettings['workingHours'] | Error {
  if (v.trim().toLowerCase() === 'off') return null;
  const m = /^\s*([A-Za-z,\- ]+?)\s+(\S+)\s*$/.exec(v);
  if (!m) return new Error(`"${v}" is not "Mon-Fri 08:00-16:00" (or off)`);
  const days: number[] = [];
  for (const part of m[1]!.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean)) {
    const [a, b] = part.split('-').map((x) => WEEKDAYS.indexOf(x.trim().slice(0, 3)) + 1);
    if (!a || (b !== undefined && !b)) return new Error(`"${part}" is not a day or day range (Mon..Sun)`);
    for (let d = a; ; d = (d % 7) + 1) { if (!days.includes(d)) days.push(d); if (d === (b ?? a)) break; }
  }
  const hours = parseHours(m[2]!);
  if (hours instanceof Error) return hours;
  if (!hours || hours.start >= hours.end) return new Error(`"${m[2]}": working hours must start before they end`);
  return { days: days.sort((x, y) => x - y), ...hours };
}

////////// Urgency classes of the scenarios (defaults; URGENCY overrides per scenario)
// None of the seed scenarios is urgent: each can wait for the morning or the next working
// day without harm (a permit that is ready, a status change, an approval request, a
// reminder, an expiry warning weeks ahead, the opt-in request). URGENT is for answers to a
// message the person has just sent (they are awake and waiting, and Meta's 24-hour
// window is open): the consent confirmations and the help answer.
export const DEFAULT_URGENCY: Readonly<Record<string, Urgency>> = {
  permit_ready: 'NORMAL',
  status_update: 'NORMAL',
  approval_required: 'NORMAL',
  document_pending: 'NORMAL',
  reminder: 'NORMAL',
  permit_expiry_warning: 'NORMAL',
  permit_renewal_approved: 'NORMAL',
  meta_opt_in_request: 'NORMAL',
  consent_confirmation: 'URGENT',
  help_reply: 'URGENT',
};

/** "consent_confirmation=URGENT,reminder=NORMAL" -> overrides. */
export function parseUrgency(v: string): Record<string, Urgency> | Error {
  const out: Record<string, Urgency> = {};
  for (const pair of v.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([a-z][a-z0-9_]*)=(urgent|normal)$/i.exec(pair);
    if (!m) return new Error(`"${pair}" is not scenario=URGENT or scenario=NORMAL`);
    out[m[1]!] = m[2]!.toUpperCase() as Urgency;
  }
  return out;
}
