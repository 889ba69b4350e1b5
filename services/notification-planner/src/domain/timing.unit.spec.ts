import fc from 'fast-check';
import { DateTime } from 'luxon';
import type { PermitEvent, RecipientKind } from '@sicantik/schemas';
import { DEFAULT_HOLIDAYS, holidayMap, parseHolidays } from './holidays';
import { DEFAULT_URGENCY, earliestSend, parseHours, parseUrgency, parseWorkingHours, type TimingSettings } from './timing';
import { decideDaily, decideOnEvent, type Decision, type DirectoryEntry, type PlannerSettings } from './decide';
import { evolve, initialState, type PermitState } from './state';

const timing: TimingSettings = {
  officeZone: 'Asia/Jakarta',
  quietHours: { start: 21 * 60, end: 7 * 60 },
  workingHours: { days: [1, 2, 3, 4, 5], start: 8 * 60, end: 16 * 60 },
  holidays: holidayMap(DEFAULT_HOLIDAYS),
  urgency: { ...DEFAULT_URGENCY, consent_confirmation: 'URGENT' },
  coalescing: { afterLastMs: 10 * 60_000, maxMs: 30 * 60_000 },
};
/** A time in WIB (Asia/Jakarta), e.g. wib('2026-12-07 22:00'). */
const wib = (t: string) => DateTime.fromFormat(t, 'yyyy-MM-dd HH:mm', { zone: 'Asia/Jakarta' }).toMillis();
const iso = (ms: number | null) => (ms === null ? null : DateTime.fromMillis(ms, { zone: 'Asia/Jakarta' }).toFormat('yyyy-MM-dd HH:mm'));
const citizen = (scenario = 'status_update') => ({ scenario, recipientKind: 'APPLICANT' as RecipientKind });
const staff = (scenario = 'document_pending', zone: string | null = null) => ({ scenario, recipientKind: 'STAFF' as RecipientKind, zone });
const when = (n: Parameters<typeof earliestSend>[0], at: string) => { const e = earliestSend(n, wib(at), timing); return [iso(e.notBefore), e.reason]; };

describe('quiet hours for citizens (21:00-07:00 WIB)', () => {
  it('given a status update for an applicant at 22:00 WIB, when planned, then it may go at 07:00 the next morning', () => {
    expect(when(citizen(), '2026-12-07 22:00')).toEqual(['2026-12-08 07:00', 'QUIET_HOURS']);
  });
  it('given 06:59 WIB, then 07:00 the same morning', () => {
    expect(when(citizen(), '2026-12-08 06:59')).toEqual(['2026-12-08 07:00', 'QUIET_HOURS']);
  });
  it('given 07:00 WIB or 20:59, then at once', () => {
    expect(when(citizen(), '2026-12-08 07:00')).toEqual([null, null]);
    expect(when(citizen(), '2026-12-08 20:59')).toEqual([null, null]);
  });
  it('given 21:00 WIB exactly, then 07:00 the next morning; just after midnight, 07:00 that morning', () => {
    expect(when(citizen(), '2026-12-08 21:00')).toEqual(['2026-12-09 07:00', 'QUIET_HOURS']);
    expect(when(citizen(), '2026-12-09 00:01')).toEqual(['2026-12-09 07:00', 'QUIET_HOURS']);
  });
  it('citizens have no working hours or holidays: Saturday noon and Christmas noon go at once', () => {
    expect(when(citizen(), '2026-12-12 12:00')).toEqual([null, null]);
    expect(when(citizen(), '2026-12-25 12:00')).toEqual([null, null]);
  });
  it('given an urgent scenario at 23:00 WIB, then at once', () => {
    expect(when(citizen('consent_confirmation'), '2026-12-07 23:00')).toEqual([null, null]);
    expect(when(staff('consent_confirmation'), '2026-12-12 23:00')).toEqual([null, null]);
  });
  it('the reason says the hours and the time', () => {
    expect(earliestSend(citizen(), wib('2026-12-07 22:00'), timing).text).toBe('quiet hours 21:00-07:00 Asia/Jakarta: not before 2026-12-08 07:00 Asia/Jakarta');
  });
});

describe('working hours and holidays for staff and officials (Mon-Fri 08:00-16:00)', () => {
  it('given Friday 17:00 WIB, then Monday 08:00', () => {
    expect(when(staff(), '2026-12-11 17:00')).toEqual(['2026-12-14 08:00', 'WORKING_HOURS']);
  });
  it('given a Tuesday 10:00, then at once; 07:30, then 08:00; 16:00, then 08:00 the next day', () => {
    expect(when(staff(), '2026-12-08 10:00')).toEqual([null, null]);
    expect(when(staff(), '2026-12-08 07:30')).toEqual(['2026-12-08 08:00', 'WORKING_HOURS']);
    expect(when({ scenario: 'approval_required', recipientKind: 'OFFICIAL' }, '2026-12-08 16:00')).toEqual(['2026-12-09 08:00', 'WORKING_HOURS']);
  });
  it('given the eve of Christmas collective leave (Wed 23 Dec 2026, 16:30), then Monday 28 Dec 08:00 (24 Dec cuti bersama, 25 Dec Natal, weekend)', () => {
    expect(when(staff(), '2026-12-23 16:30')).toEqual(['2026-12-28 08:00', 'HOLIDAY']);
    expect(earliestSend(staff(), wib('2026-12-23 16:30'), timing).text)
      .toBe('2026-12-24 is collective leave (Cuti bersama Kelahiran Yesus Kristus); working hours 08:00-16:00 Asia/Jakarta: not before 2026-12-28 08:00 Asia/Jakarta');
  });
  it('given Idul Fitri 2026 cuti bersama (Fri 20 Mar, 10:00), then Wednesday 25 Mar 08:00 (20, 23, 24 cuti bersama; 21-22 Idul Fitri)', () => {
    expect(when(staff(), '2026-03-20 10:00')).toEqual(['2026-03-25 08:00', 'HOLIDAY']);
  });
  it('given 2027 holidays: Independence Day (Tue 17 Aug 2027) and Good Friday (26 Mar 2027)', () => {
    expect(when(staff(), '2027-08-17 09:00')).toEqual(['2027-08-18 08:00', 'HOLIDAY']);
    expect(when(staff(), '2027-03-25 17:00')).toEqual(['2027-03-29 08:00', 'HOLIDAY']);
  });
  it('a holiday on a weekend is no reason of its own: Sat 21 Mar 2026 (Idul Fitri) -> the next working day says HOLIDAY for the leave days after it', () => {
    expect(when(staff(), '2026-03-21 12:00')).toEqual(['2026-03-25 08:00', 'HOLIDAY']);
    expect(when(staff(), '2026-12-12 12:00')).toEqual(['2026-12-14 08:00', 'WORKING_HOURS']);
  });
  it('the directory zone counts: 07:30 WIB is 08:30 in Makassar (WITA), inside working hours; 15:30 WIB is 16:30 WITA, outside', () => {
    expect(when(staff('document_pending', 'Asia/Makassar'), '2026-12-08 07:30')).toEqual([null, null]);
    expect(when(staff('document_pending', 'Asia/Makassar'), '2026-12-08 15:30')).toEqual([DateTime.fromISO('2026-12-09T08:00', { zone: 'Asia/Makassar' }).setZone('Asia/Jakarta').toFormat('yyyy-MM-dd HH:mm'), 'WORKING_HOURS']);
  });
});

describe('settings text', () => {
  it('parses hours, working days, holidays and urgency, and says what is wrong', () => {
    expect(parseHours('21:00-07:00')).toEqual({ start: 1260, end: 420 });
    expect(parseHours('off')).toBeNull();
    expect((parseHours('9-17') as Error).message).toBe('"9-17" is not HH:MM-HH:MM (or off)');
    expect(parseWorkingHours('Mon-Fri 08:00-16:00')).toEqual({ days: [1, 2, 3, 4, 5], start: 480, end: 960 });
    expect(parseWorkingHours('Mon-Thu,Sat 07:30-15:00')).toEqual({ days: [1, 2, 3, 4, 6], start: 450, end: 900 });
    expect((parseWorkingHours('Mon-Fri 16:00-08:00') as Error).message).toBe('"16:00-08:00": working hours must start before they end');
    expect(parseHolidays('2027-03-10=Idul Fitri 1448 H,2027-03-12=cuti:Cuti bersama Idul Fitri,2027-07-01')).toEqual([
      { date: '2027-03-10', name: 'Idul Fitri 1448 H', kind: 'HOLIDAY' },
      { date: '2027-03-12', name: 'Cuti bersama Idul Fitri', kind: 'CUTI_BERSAMA' },
      { date: '2027-07-01', name: 'hari libur', kind: 'HOLIDAY' },
    ]);
    expect((parseHolidays('10-03-2027') as Error).message).toBe('"10-03-2027" is not yyyy-MM-dd[=name] or yyyy-MM-dd=cuti:name');
    expect(parseUrgency('approval_required=urgent')).toEqual({ approval_required: 'URGENT' });
  });
  it('the 2026 list has the SKB\'s 17 holidays and 8 collective leave days', () => {
    const y2026 = DEFAULT_HOLIDAYS.filter((h) => h.date.startsWith('2026'));
    expect([y2026.filter((h) => h.kind === 'HOLIDAY').length, y2026.filter((h) => h.kind === 'CUTI_BERSAMA').length]).toEqual([17, 8]);
  });
});

////////// Properties

const jakartaMinute = (ms: number) => { const t = DateTime.fromMillis(ms, { zone: 'Asia/Jakarta' }); return t.hour * 60 + t.minute; };
const anyTime = fc.integer({ min: wib('2026-01-01 00:00'), max: wib('2027-12-31 23:59') });
const anyKind = fc.constantFrom<RecipientKind>('APPLICANT', 'STAFF', 'OFFICIAL');
const anyScenario = fc.constantFrom(...Object.keys(DEFAULT_URGENCY), 'consent_confirmation', 'unknown_scenario');

describe('properties of the earliest send time', () => {
  it('notBefore is never earlier than (nor equal to) the planning time', () => {
    fc.assert(fc.property(anyTime, anyKind, anyScenario, (at, kind, scenario) => {
      const e = earliestSend({ scenario, recipientKind: kind }, at, timing);
      return e.notBefore === null || e.notBefore > at;
    }), { numRuns: 2000 });
  });
  it('a non-urgent citizen message never goes inside quiet hours', () => {
    fc.assert(fc.property(anyTime, (at) => {
      const e = earliestSend(citizen(), at, timing);
      const m = jakartaMinute(e.notBefore ?? at);
      return m >= 7 * 60 && m < 21 * 60;
    }), { numRuns: 2000 });
  });
  it('a staff message goes on a working weekday that is no holiday, inside working hours', () => {
    fc.assert(fc.property(anyTime, (at) => {
      const t = DateTime.fromMillis(earliestSend(staff(), at, timing).notBefore ?? at, { zone: 'Asia/Jakarta' });
      const m = t.hour * 60 + t.minute;
      return t.weekday <= 5 && !timing.holidays.has(t.toISODate()!) && m >= 8 * 60 && m < 16 * 60;
    }), { numRuns: 2000 });
  });
  it('urgent is always at once', () => {
    fc.assert(fc.property(anyTime, anyKind, (at, kind) => earliestSend({ scenario: 'consent_confirmation', recipientKind: kind }, at, timing).notBefore === null));
  });
});

////////// Coalescing status updates (through decideOnEvent)

const settings: PlannerSettings = { linkDashboard: 'https://sicantik.test/dashboard', linkPerpanjangan: 'https://sicantik.test/perpanjangan', kontakDpmptsp: '0628-20000', reminderAfterHours: 24, timing };
const noStaff: DirectoryEntry[] = [];
let seq = 0;
const registered: PermitEvent = { eventId: 'reg', occurredAt: wib('2026-12-01 09:00'), correlationId: 'c', causationId: null, source: 'sicantik', pendaftaran_id: 'REG-9', payload: { type: 'PermitRegistered', jenis_izin: 'PBG', nama_pemohon: 'Budi', telepon_pemohon: '0812-3456-7890', status: 'Baru' } };
const change = (at: number, lama: string, baru: string): PermitEvent => ({
  eventId: `chg-${++seq}`, occurredAt: at, correlationId: `c-${seq}`, causationId: null, source: 'sicantik', pendaftaran_id: 'REG-9',
  payload: { type: 'PermitStatusChanged', status_lama: lama, status_baru: baru, changedAt: at, link_detail: null },
});
/** Decides a sequence of events from the registered permit, as the planner does (state carried from one to the next). */
function run(events: PermitEvent[], directory = noStaff, s = settings): { decisions: Decision[]; state: PermitState } {
  let state = evolve(initialState('REG-9'), registered);
  const decisions: Decision[] = [];
  for (const e of events) { const r = decideOnEvent(state, e, directory, s); state = r.after; decisions.push(...r.decisions); }
  return { decisions, state };
}
const plannedOf = (ds: Decision[]) => ds.flatMap((d) => (d.kind === 'planned' ? [d.request] : []));
const coalescedOf = (ds: Decision[]) => ds.flatMap((d) => (d.kind === 'coalesced' ? [d] : []));

describe('coalesced status updates', () => {
  it('given three changes in five minutes, then one message carries them (first old status, latest new one) 10 min after the last, and two are COALESCED naming the next', () => {
    const evs = [change(wib('2026-12-08 10:00'), 'Verifikasi', 'Survey'), change(wib('2026-12-08 10:02'), 'Survey', 'Rapat Teknis'), change(wib('2026-12-08 10:05'), 'Rapat Teknis', 'Disetujui')];
    const { decisions } = run(evs);
    const [n1, n2, n3] = plannedOf(decisions);
    expect(coalescedOf(decisions).map((c) => [c.notificationId, c.carriedBy])).toEqual([[n1!.notificationId, n2!.notificationId], [n2!.notificationId, n3!.notificationId]]);
    expect([n3!.variables.status_lama, n3!.variables.status_baru, iso(n3!.notBefore!), n3!.deferReason]).toEqual(['Verifikasi', 'Disetujui', '2026-12-08 10:15', 'COALESCING']);
    expect(new Set([n1, n2, n3].map((n) => n!.supersedeKey))).toEqual(new Set([`status:REG-9:APPLICANT:REG-9:${wib('2026-12-08 10:00')}`]));
    expect(decisions.find((d) => d.kind === 'planned' && d.request === n3)).toMatchObject({ deferral: { reason: 'COALESCING' } });
  });
  it('given changes every 9 minutes, then the carrying message is capped at 30 minutes after the first', () => {
    const { decisions } = run(['10:00', '10:09', '10:18', '10:27'].map((t, i) => change(wib(`2026-12-08 ${t}`), `S${i}`, `S${i + 1}`)));
    expect(plannedOf(decisions).map((r) => iso(r.notBefore!))).toEqual(['2026-12-08 10:10', '2026-12-08 10:19', '2026-12-08 10:28', '2026-12-08 10:30']);
    expect(coalescedOf(decisions)).toHaveLength(3);
    expect(plannedOf(decisions).at(-1)!.variables.status_lama).toBe('S0');
  });
  it('given a change at the previous message\'s notBefore, then it opens a new window (the previous one may have gone)', () => {
    const { decisions } = run([change(wib('2026-12-08 10:00'), 'A', 'B'), change(wib('2026-12-08 10:10'), 'B', 'C')]);
    expect(coalescedOf(decisions)).toEqual([]);
    expect(plannedOf(decisions).map((r) => [r.variables.status_lama, r.variables.status_baru, iso(r.notBefore!)])).toEqual([['A', 'B', '2026-12-08 10:10'], ['B', 'C', '2026-12-08 10:20']]);
  });
  it('given a change at 20:55 WIB, then its coalescing time 21:05 falls in quiet hours: 07:00', () => {
    const { decisions } = run([change(wib('2026-12-07 20:55'), 'A', 'B')]);
    expect(plannedOf(decisions).map((r) => [iso(r.notBefore!), r.deferReason])).toEqual([['2026-12-08 07:00', 'QUIET_HOURS']]);
  });
  it('given a change at 22:00 WIB, then quiet hours win (07:00); a change at 23:00 joins the same window and is carried to 07:00', () => {
    const { decisions } = run([change(wib('2026-12-07 22:00'), 'A', 'B'), change(wib('2026-12-07 23:00'), 'B', 'C')]);
    expect(plannedOf(decisions).map((r) => [r.variables.status_lama, iso(r.notBefore!), r.deferReason])).toEqual([['A', '2026-12-08 07:00', 'QUIET_HOURS'], ['A', '2026-12-08 07:00', 'QUIET_HOURS']]);
    expect(coalescedOf(decisions)).toHaveLength(1);
  });
  it('staff get their own window, with working hours on top; the applicant\'s is separate', () => {
    const dir: DirectoryEntry[] = [{ id: 'st-1', role: 'STAFF', name: 'Rina', phone: '0813-1111-2222', jenisIzin: ['*'], active: true }];
    const { decisions, state } = run([change(wib('2026-12-11 15:55'), 'A', 'B'), change(wib('2026-12-11 15:58'), 'B', 'C')], dir);
    const staffMsgs = plannedOf(decisions).filter((r) => r.recipient.kind === 'STAFF');
    expect(staffMsgs.map((r) => [iso(r.notBefore!), r.deferReason])).toEqual([['2026-12-14 08:00', 'WORKING_HOURS'], ['2026-12-14 08:00', 'WORKING_HOURS']]);
    expect(coalescedOf(decisions).map((c) => c.recipientKind)).toEqual(['APPLICANT', 'STAFF']);
    expect(Object.keys(state.coalescing ?? {}).sort()).toEqual(['APPLICANT:REG-9', 'STAFF:st-1']);
  });
  it('a replay decides the same: the same events give the same requests, notBefore and windows', () => {
    const evs = [change(wib('2026-12-07 22:00'), 'A', 'B'), change(wib('2026-12-07 22:04'), 'B', 'C'), change(wib('2026-12-08 09:00'), 'C', 'D')];
    const first = run(evs), again = run(evs);
    expect(again).toEqual(first);
    expect(plannedOf(first.decisions).map((r) => [iso(r.notBefore!), r.deferReason])).toEqual([['2026-12-08 07:00', 'QUIET_HOURS'], ['2026-12-08 07:00', 'QUIET_HOURS'], ['2026-12-08 09:10', 'COALESCING']]);
  });
  it('without timing settings nothing is stamped (the requests are as before issue 16)', () => {
    const { decisions } = run([change(wib('2026-12-07 22:00'), 'A', 'B')], noStaff, { ...settings, timing: null });
    expect(plannedOf(decisions)[0]).not.toHaveProperty('notBefore');
  });
  it('property: for any sequence of changes, one message per window is not COALESCED, and each COALESCED names one that exists', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 45 * 60_000 }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 0, max: 23 }), (gaps, hour) => {
      let t = wib('2026-12-08 00:00') + hour * 3_600_000;
      const evs = gaps.map((g, i) => change((t += g), `S${i}`, `S${i + 1}`));
      const { decisions } = run(evs);
      const planned = plannedOf(decisions);
      const ids = new Set(planned.map((r) => r.notificationId));
      const coalesced = coalescedOf(decisions);
      const carriedIds = coalesced.map((c) => c.notificationId);
      if (!coalesced.every((c) => ids.has(c.carriedBy) && ids.has(c.notificationId))) return false;
      if (new Set(carriedIds).size !== carriedIds.length) return false;
      const byWindow = new Map<string, string[]>();
      for (const r of planned) byWindow.set(r.supersedeKey!, [...(byWindow.get(r.supersedeKey!) ?? []), r.notificationId]);
      // Exactly one per window is left to send: the window's last one.
      return [...byWindow.values()].every((w) => w.filter((id) => !carriedIds.includes(id)).length === 1 && !carriedIds.includes(w.at(-1)!))
        && planned.every((r, i) => r.notBefore == null || r.notBefore > evs[i]!.occurredAt)
        // ... and none goes inside the citizens' quiet hours
        && planned.every((r, i) => { const m = jakartaMinute(r.notBefore ?? evs[i]!.occurredAt); return m >= 7 * 60 && m < 21 * 60; });
    }), { numRuns: 300 });
  });
});

describe('expiry warnings and reminders carry a supersede key', () => {
  it('an expiry warning gets expiry:<permit>:<kind>:<id> and goes stale at the end of the expiry date; planned at a daily run at 09:00 it goes at once', () => {
    let s = evolve(initialState('REG-9'), registered);
    s = evolve(s, { ...registered, eventId: 'exp', payload: { type: 'PermitExpiryDateSet', no_surat: '503/9', tanggal_berakhir: '2027-01-06' } });
    const { decisions } = decideDaily([s], noStaff, '2026-12-07', settings);
    expect(plannedOf(decisions).map((r) => [r.scenario, r.supersedeKey, iso(r.staleAfter!), r.notBefore])).toEqual([
      ['permit_expiry_warning', 'expiry:REG-9:APPLICANT:REG-9', '2027-01-06 23:59', null],
    ]);
    expect(plannedOf(decisions)[0]!.staleAfter).toBe(wib('2027-01-07 00:00') - 1);
  });
  it('a daily run requested late at night defers the warning to 07:00', () => {
    let s = evolve(initialState('REG-9'), registered);
    s = evolve(s, { ...registered, eventId: 'exp', payload: { type: 'PermitExpiryDateSet', no_surat: '503/9', tanggal_berakhir: '2027-01-06' } });
    const { decisions } = decideDaily([s], noStaff, '2026-12-07', settings, undefined, wib('2026-12-07 22:30'));
    expect(plannedOf(decisions).map((r) => [iso(r.notBefore!), r.deferReason])).toEqual([['2026-12-08 07:00', 'QUIET_HOURS']]);
  });
});
