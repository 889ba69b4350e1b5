import { DateTime } from 'luxon';
import { deterministicId, jakartaDate, normalizePhone, notificationId, type PhoneResult } from '@sicantik/core';
import type { NotificationRequested, PermitEvent, Recipient, RecipientKind } from '@sicantik/schemas';
import { EXPIRY_THRESHOLDS, daysUntil, expiryDecision, thresholdDay } from './expiry';
import { evolve, type PendingDocument, type PermitState } from './state';
import {
  coalesce, earliestSend, endOfDate, expirySupersedeKey, reminderSupersedeKey, statusSupersedeKey,
  type CoalesceWindow, type DeferReason, type Earliest, type TimingSettings,
} from './timing';

////////// Planner decisions (pure): permit facts and schedule runs -> notification requests
// Every request's id is derived from its cause, so a replayed or duplicated
// input yields the same request and never a second message. Every decision,
// planned or skipped, carries its reason.

export const ZONE = 'Asia/Jakarta';

export interface DirectoryEntry {
  id: string;
  role: 'STAFF' | 'OFFICIAL';
  name: string;
  phone: string;
  /** Permit types this person handles; '*' = all. */
  jenisIzin: string[];
  active: boolean;
  /** The person's IANA time zone for working hours (issue 16); null/absent = the office's. */
  zone?: string | null;
  /** The person's subject (issue 16; absent in entries written before it). */
  subjectId?: string | null;
}

export interface PlannerSettings {
  linkDashboard: string;
  linkPerpanjangan: string;
  kontakDpmptsp: string;
  /** Documents pending longer than this are in the daily reminder (seed: 24 h). */
  reminderAfterHours: number;
  /** Scenario -> template code, e.g. the seed-004 universal set (permit_expiry_warning -> permit_reminder). Default: the scenario's own. */
  templates?: Readonly<Record<string, string>>;
  /** Seed 004: ask new applicants once per number to opt in to the official WhatsApp channel (off unless set). */
  optInRequest?: { linkOptIn: string } | null;
  /** ISO 3166 regions whose numbers may be messaged (default: Indonesia only); others are skipped with COUNTRY_NOT_ALLOWED. */
  allowedCountries?: readonly string[];
  /** Issue 16: quiet hours, working hours, holidays, urgency, coalescing. Absent = every notification may go at once. */
  timing?: TimingSettings | null;
}

/** Why a planned notification waits (its DEFERRED decision): the code and the particulars. */
interface Deferral { reason: DeferReason; text: string }

type Planned = { kind: 'planned'; request: NotificationRequested; deferral?: Deferral | null };
export type Decision =
  | Planned
  /** A status_update not sent on its own: the later notification `carriedBy` carries its change (coalescing). */
  | { kind: 'coalesced'; scenario: string; pendaftaran_id: string; recipientKind: RecipientKind; recipientId: string; reason: string; code: 'COALESCED'; notificationId: string; carriedBy: string }
  | { kind: 'skipped'; scenario: string; pendaftaran_id: string; recipientKind: RecipientKind | null; recipientId: string | null; reason: string; code: ReasonCode; notificationId: string | null }
  /** A warning that was still ahead and will now never be sent (expiry date changed, renewed, cancelled). */
  | { kind: 'cancelled'; scenario: string; pendaftaran_id: string; recipientKind: RecipientKind | null; recipientId: string | null; reason: string; code: ReasonCode; notificationId: string };

/** Stable codes for analysis (counts by reason); the text says the particulars. */
type ReasonCode =
  | 'NO_PHONE' | 'PHONE_UNUSABLE' | 'COUNTRY_NOT_ALLOWED' | 'OPTED_OUT' | 'ALREADY_OPTED_IN' | 'STATUS_UNCHANGED' | 'NO_OFFICIAL' | 'NO_STAFF'
  | 'SUPERSEDED' | 'PERMIT_CANCELLED' | 'PERMIT_EXPIRED' | 'DUPLICATE' | 'EXPIRY_DATE_CHANGED' | 'RENEWED' | 'BACKFILL' | 'COALESCED' | 'SUBJECT_ERASED' | 'WRONG_NUMBER';
interface Reason { code: ReasonCode; text: string }

/** What the planner knows about recipients beyond the permit and the directory. */
export interface Contacts {
  /** E.164 numbers that opted out (a STOP reply); they get no message until they opt in again. */
  optedOut: ReadonlySet<string>;
  /** E.164 numbers that opted in (a MULAI reply); they get no opt-in request. */
  optedIn?: ReadonlySet<string>;
  /** Permit + person pairs answered BUKAN SAYA (wrongNumberKey): that permit's applicant messages skip that person. */
  wrongNumber?: ReadonlySet<string>;
}

/** The key of a permit + person pair in Contacts.wrongNumber: the permit id and the person's contact key (subject id, else E.164). */
export const wrongNumberKey = (pendaftaranId: string, person: string): string => `${pendaftaranId}\u0000${person}`;
const NO_CONTACTS: Contacts = { optedOut: new Set(), optedIn: new Set() };

/** Reason texts shared with tests and docs. */
export const REASON = {
  noPhone: 'applicant has no phone number',
  optedOut: 'recipient opted out of WhatsApp notifications',
  cancelled: 'permit cancelled',
  expired: 'permit expired',
  wrongNumber: 'the owner of this number answered that it is not the applicant of this permit (BUKAN SAYA)',
} as const;

interface Cause { eventId: string; correlationId: string; occurredAt: number }

function request(scenario: string, id: string, cause: Cause, pendaftaran_id: string, recipient: Recipient, variables: Record<string, string>, items: Record<string, string>[] = []): Planned {
  return {
    kind: 'planned',
    request: {
      eventId: deterministicId('sicantik.event', 'NotificationRequested', id),
      occurredAt: cause.occurredAt, correlationId: cause.correlationId, causationId: cause.eventId,
      notificationId: id, scenario, templateCode: scenario, pendaftaran_id, recipient, variables, items, locale: 'id',
    },
  };
}

const skip = (scenario: string, pendaftaran_id: string, reason: Reason, r: { kind: RecipientKind; id: string } | null = null, id: string | null = null): Decision =>
  ({ kind: 'skipped', scenario, pendaftaran_id, recipientKind: r?.kind ?? null, recipientId: r?.id ?? null, reason: reason.text, code: reason.code, notificationId: id });

/** Who can be reached: the phone rules from the settings and the opt-in state. */
interface Reach { settings: PlannerSettings; contacts: Contacts }
type Reached = { ok: true; recipient: Recipient } | { ok: false; reason: Reason };

/** One rule for every recipient: a usable number (valid, mobile, allowed country) that has not opted out. */
function reach(who: 'applicant' | 'directory', phone: string | null, r: Reach, recipient: (e164: string) => Recipient): Reached {
  const p: PhoneResult = phone ? normalizePhone(phone, { allowedCountries: r.settings.allowedCountries }) : { ok: false, problem: 'EMPTY', reason: 'empty phone number' };
  if (!p.ok && p.problem === 'EMPTY' && who === 'applicant') return { ok: false, reason: { code: 'NO_PHONE', text: REASON.noPhone } };
  if (!p.ok) return { ok: false, reason: { code: p.problem === 'COUNTRY_NOT_ALLOWED' ? 'COUNTRY_NOT_ALLOWED' : 'PHONE_UNUSABLE', text: `${who} phone unusable: ${p.reason}` } };
  if (r.contacts.optedOut.has(p.e164)) return { ok: false, reason: { code: 'OPTED_OUT', text: REASON.optedOut } };
  return { ok: true, recipient: recipient(p.e164) };
}

const applicant = (s: PermitState, r: Reach): Reached => {
  const a = reach('applicant', s.telepon_pemohon, r, (phone) => ({ kind: 'APPLICANT', id: s.pendaftaran_id, name: s.nama_pemohon, phone, subjectId: s.subjectId ?? null }));
  if (a.ok && r.contacts.wrongNumber?.has(wrongNumberKey(s.pendaftaran_id, a.recipient.subjectId ?? a.recipient.phone))) return { ok: false, reason: { code: 'WRONG_NUMBER', text: REASON.wrongNumber } };
  return a;
};

const person = (e: DirectoryEntry, r: Reach): Reached =>
  reach('directory', e.phone, r, (phone) => ({ kind: e.role, id: e.id, name: e.name, phone, subjectId: e.subjectId ?? null }));

const handles = (e: DirectoryEntry, jenis: string | null) =>
  e.active && (e.jenisIzin.includes('*') || (jenis !== null && e.jenisIzin.some((j) => j.toLowerCase() === jenis.toLowerCase())));

/** Indonesian date-time: "22 November 2026 09.00 WIB". */
export function formatWaktu(ms: number): string {
  return `${DateTime.fromMillis(ms, { zone: ZONE }).setLocale('id').toFormat('d MMMM yyyy HH.mm')} WIB`;
}

/** Indonesian duration: "1 hari 3 jam", "26 menit". */
export function formatDurasi(ms: number): string {
  const totalMin = Math.max(0, Math.floor(ms / 60_000));
  const d = Math.floor(totalMin / 1440), h = Math.floor((totalMin % 1440) / 60), m = totalMin % 60;
  const parts = [d ? `${d} hari` : '', h ? `${h} jam` : '', !d && !h ? `${m} menit` : ''].filter(Boolean);
  return parts.join(' ');
}

////////// On each permit event

export function decideOnEvent(before: PermitState, ev: PermitEvent, directory: DirectoryEntry[], settings: PlannerSettings, contacts: Contacts = NO_CONTACTS): { after: PermitState; decisions: Decision[] } {
  const after = evolve(before, ev);
  const rc: Reach = { settings, contacts };
  const p = ev.payload;
  const reg = ev.pendaftaran_id;
  const cause: Cause = ev;
  const out: Decision[] = [];
  switch (p.type) {
    case 'PermitIssued': {
      const id = notificationId('permit_ready', reg, p.no_surat);
      const a = applicant(after, rc);
      if (!a.ok) out.push(skip('permit_ready', reg, a.reason, { kind: 'APPLICANT', id: reg }, id));
      else out.push(request('permit_ready', id, cause, reg, a.recipient, {
        nama_pemohon: p.nama_pemohon, jenis_izin: p.jenis_izin, no_surat: p.no_surat, tanggal_terbit: p.tanggal_terbit, link_download: p.link_download,
      }));
      break;
    }
    case 'ApprovalRequested': {
      const officials = p.pejabat_id
        ? directory.filter((e) => e.id === p.pejabat_id && e.role === 'OFFICIAL' && e.active)
        : directory.filter((e) => e.role === 'OFFICIAL' && handles(e, p.jenis_izin));
      if (officials.length === 0) {
        out.push(skip('approval_required', reg, { code: 'NO_OFFICIAL', text: p.pejabat_id ? `official ${p.pejabat_id} is not an active official in the directory` : `no official in the directory handles ${p.jenis_izin}` }));
      }
      for (const o of officials) {
        const id = notificationId('approval_required', reg, `${ev.eventId}:${o.id}`);
        const r = person(o, rc);
        if (!r.ok) { out.push(skip('approval_required', reg, r.reason, { kind: 'OFFICIAL', id: o.id }, id)); continue; }
        out.push(request('approval_required', id, cause, reg, r.recipient, {
          nama_pejabat: o.name, jenis_izin: p.jenis_izin, nama_pemohon: after.nama_pemohon ?? '', no_surat: p.no_surat ?? after.no_surat ?? reg, link_approval: p.link_approval,
        }));
      }
      break;
    }
    case 'PermitStatusChanged': {
      // Compare the old status with the new one (the Odoo version compared a value with itself).
      if (p.status_lama.trim().toLowerCase() === p.status_baru.trim().toLowerCase()) {
        out.push(skip('status_update', reg, { code: 'STATUS_UNCHANGED', text: `status unchanged (${p.status_baru})` }));
        break;
      }
      const vars = {
        pendaftaran_id: reg, status_lama: p.status_lama, status_baru: p.status_baru, timestamp: formatWaktu(p.changedAt),
        link_detail: p.link_detail ?? `${settings.linkDashboard}/${encodeURIComponent(reg)}`,
      };
      // Coalescing: windows that closed before this change are forgotten.
      const windows: Record<string, CoalesceWindow> = Object.fromEntries(Object.entries(before.coalescing ?? {}).filter(([, w]) => w.notBefore > p.changedAt));
      const send = (id: string, recipient: Recipient, zone: string | null) => {
        const d = request('status_update', id, cause, reg, recipient, vars);
        out.push(...(settings.timing ? coalescedStatus(d, p.status_lama, p.changedAt, zone, windows, settings.timing) : [d]));
      };
      const a = applicant(after, rc);
      const aid = notificationId('status_update', reg, `${ev.eventId}:applicant`);
      if (!a.ok) out.push(skip('status_update', reg, a.reason, { kind: 'APPLICANT', id: reg }, aid));
      else send(aid, a.recipient, null);
      for (const s of directory.filter((e) => e.role === 'STAFF' && handles(e, after.jenis_izin))) {
        const id = notificationId('status_update', reg, `${ev.eventId}:${s.id}`);
        const r = person(s, rc);
        if (!r.ok) out.push(skip('status_update', reg, r.reason, { kind: 'STAFF', id: s.id }, id));
        else send(id, r.recipient, s.zone ?? null);
      }
      if (settings.timing?.coalescing) after.coalescing = windows;
      break;
    }
    case 'PermitRenewalApproved': {
      const id = notificationId('permit_renewal_approved', reg, p.no_surat_baru);
      const a = applicant(after, rc);
      if (!a.ok) out.push(skip('permit_renewal_approved', reg, a.reason, { kind: 'APPLICANT', id: reg }, id));
      else out.push(request('permit_renewal_approved', id, cause, reg, a.recipient, {
        nama_pemohon: after.nama_pemohon ?? '', jenis_izin: after.jenis_izin ?? '', no_surat_baru: p.no_surat_baru,
        tanggal_mulai: p.tanggal_mulai, tanggal_berakhir: p.tanggal_berakhir, masa_berlaku: String(p.masa_berlaku_tahun), link_download: p.link_download,
      }));
      break;
    }
    case 'PermitRegistered':
    case 'ApplicantContactChanged': {
      // Seed 004: a new number is asked once to opt in to the official channel.
      if (!settings.optInRequest || !after.telepon_pemohon || after.telepon_pemohon === before.telepon_pemohon) break;
      const a = applicant(after, rc);
      if (!a.ok) { out.push(skip('meta_opt_in_request', reg, a.reason, { kind: 'APPLICANT', id: reg })); break; }
      const id = notificationId('meta_opt_in_request', a.recipient.phone, '');
      if (contacts.optedIn?.has(a.recipient.phone)) { out.push(skip('meta_opt_in_request', reg, { code: 'ALREADY_OPTED_IN', text: 'recipient already opted in' }, { kind: 'APPLICANT', id: reg }, id)); break; }
      out.push(request('meta_opt_in_request', id, cause, reg, a.recipient, { nama_pemohon: after.nama_pemohon ?? '', pendaftaran_id: reg, link_opt_in: settings.optInRequest.linkOptIn }));
      break;
    }
    // Facts that only change state; their messages come from schedules (digests, expiry).
    case 'DocumentPendingSignature':
    case 'PermitExpiryDateSet':
      break;
    default: {
      const _never: never = p;
      return _never;
    }
  }
  out.push(...cancelledWarnings(before, after, ev));
  const plannedAt = p.type === 'PermitStatusChanged' ? p.changedAt : ev.occurredAt;
  return { after, decisions: withTemplates(withTiming(out, plannedAt, settings, directory), settings) };
}

////////// Timing (issue 16): earliest send time, supersede key, stale time

const deferralOf = (e: Earliest): Deferral | null => (e.reason && e.text ? { reason: e.reason, text: e.text } : null);

/**
 * Stamps each planned request not yet stamped with its earliest send time (quiet hours,
 * working hours, holidays, planned at `at`), and the expiry warnings and reminders with
 * the key a later one replaces them by (and the time an expiry warning goes stale).
 */
function withTiming(ds: Decision[], at: number, settings: PlannerSettings, directory: readonly DirectoryEntry[]): Decision[] {
  const t = settings.timing;
  if (!t) return ds;
  return ds.map((d) => {
    if (d.kind !== 'planned' || d.request.deferReason !== undefined) return d;
    const r = d.request;
    const zone = r.recipient.kind === 'APPLICANT' ? null : directory.find((e) => e.id === r.recipient.id)?.zone ?? null;
    const e = earliestSend({ scenario: r.scenario, recipientKind: r.recipient.kind, zone }, at, t);
    const expiry = r.scenario === 'permit_expiry_warning' && r.variables['tanggal_berakhir'] ? r.variables['tanggal_berakhir'] : null;
    const supersedeKey = expiry ? expirySupersedeKey(r.pendaftaran_id, r.recipient.kind, r.recipient.id)
      : r.scenario === 'reminder' ? reminderSupersedeKey(r.recipient.kind, r.recipient.id) : null;
    return {
      kind: 'planned', deferral: deferralOf(e),
      request: { ...r, notBefore: e.notBefore, deferReason: e.reason, supersedeKey, staleAfter: expiry ? endOfDate(expiry, t.officeZone) : null },
    };
  });
}

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

/**
 * One recipient's status_update, coalesced: joins the open window (the window's previous
 * notification becomes COALESCED, carried by this one, which says "from <the window's
 * first old status> to <the latest>") or opens a new one. It may go at
 * min(change + afterLast, first change + max), or later if quiet/working hours say so.
 * Updates `windows` (the permit's open windows, by recipient).
 */
function coalescedStatus(d: Planned, statusLama: string, at: number, zone: string | null, windows: Record<string, CoalesceWindow>, t: TimingSettings): Decision[] {
  const r = d.request;
  const hours = (when: number) => earliestSend({ scenario: r.scenario, recipientKind: r.recipient.kind, zone }, when, t);
  if (!t.coalescing) { const e = hours(at); return [{ ...d, deferral: deferralOf(e), request: { ...r, notBefore: e.notBefore, deferReason: e.reason, supersedeKey: null, staleAfter: null } }]; }
  const key = `${r.recipient.kind}:${r.recipient.id}`;
  const c = coalesce(windows[key], { at, statusLama, notificationId: r.notificationId }, t.coalescing);
  // Quiet/working hours are judged when the window would send (a change at 20:55 would go at 21:05: in quiet hours).
  const due = Math.max(c.notBefore, at);
  const e = hours(due);
  const latest = e.notBefore ?? due;
  const notBefore = latest > at ? latest : null;
  windows[key] = { ...c.window, notBefore: notBefore ?? at };
  const byHours = e.notBefore !== null;
  const deferral: Deferral | null = notBefore === null ? null : byHours ? deferralOf(e)
    : { reason: 'COALESCING', text: `status updates coalesced: ${minutes(t.coalescing.afterLastMs)} after the last change, at most ${minutes(t.coalescing.maxMs)} after the first (${new Date(c.window.start).toISOString()}): not before ${new Date(notBefore).toISOString()}` };
  const planned: Decision = {
    kind: 'planned', deferral,
    request: {
      ...r, variables: { ...r.variables, status_lama: c.window.firstStatus },
      notBefore, deferReason: deferral?.reason ?? null, supersedeKey: statusSupersedeKey(r.pendaftaran_id, r.recipient.kind, r.recipient.id, c.window.start), staleAfter: null,
    },
  };
  if (!c.carries) return [planned];
  return [planned, {
    kind: 'coalesced', scenario: r.scenario, pendaftaran_id: r.pendaftaran_id, recipientKind: r.recipient.kind, recipientId: r.recipient.id, notificationId: c.carries, carriedBy: r.notificationId, code: 'COALESCED',
    reason: `carried by ${r.notificationId}: the status changed again (to ${r.variables['status_baru'] ?? ''}) before it was due`,
  }];
}

/**
 * Warnings of the old expiry date that were still ahead (not decided, not
 * superseded by a decided one, not superseded by a more urgent threshold that
 * already applies, date not passed) and will now never be sent: the
 * expiry date changed, the permit was renewed, or it was cancelled. Each becomes
 * a CANCELLED decision under the id the warning would have had.
 */
/** True when the event ends the current expiry plan: the expiry date changed, or the permit was cancelled. */
const endsExpiryPlan = (before: PermitState, after: PermitState): boolean =>
  before.tanggal_berakhir !== null && (after.tanggal_berakhir !== before.tanggal_berakhir || (after.cancelled && !before.cancelled));

function cancelledWarnings(before: PermitState, after: PermitState, ev: PermitEvent): Decision[] {
  const old = before.tanggal_berakhir;
  if (!old || !endsExpiryPlan(before, after)) return [];
  const nowCancelled = after.cancelled && !before.cancelled;
  const asOf = jakartaDate(ev.occurredAt);
  const daysLeft = daysUntil(old, asOf);
  if (daysLeft <= 0 || before.cancelled) return [];
  const planned = before.expiryPlanned[old] ?? [];
  // The most urgent threshold that already applies: the next run would send it and supersede the earlier ones.
  const urgent = EXPIRY_THRESHOLDS.filter((t) => daysLeft <= t).at(-1) ?? Infinity;
  const reg = before.pendaftaran_id;
  const [code, reason]: [ReasonCode, string] = nowCancelled
    ? ['PERMIT_CANCELLED', `${REASON.cancelled} (status ${after.status ?? 'unknown'})`]
    : ev.payload.type === 'PermitRenewalApproved'
      ? ['RENEWED', `permit renewed: new expiry date ${after.tanggal_berakhir}`]
      : ['EXPIRY_DATE_CHANGED', `expiry date changed from ${old} to ${after.tanggal_berakhir ?? 'none'}`];
  return EXPIRY_THRESHOLDS.filter((t) => t <= urgent && !planned.some((p) => p <= t)).map((t) => ({
    kind: 'cancelled' as const, scenario: 'permit_expiry_warning', pendaftaran_id: reg, recipientKind: 'APPLICANT' as const, recipientId: reg,
    reason: `${t}-day warning for ${old} cancelled: ${reason}`, code, notificationId: notificationId('permit_expiry_warning', reg, `${old}:${t}`),
  }));
}

////////// Daily run (09:00 Asia/Jakarta, or triggered for any date)

export interface ExpiryMark { pendaftaran_id: string; expiry: string; threshold: number }

/** The time a daily run stands for: 09:00 Asia/Jakarta on its date. Every decision of the run carries it. */
export const dailyRunTime = (asOf: string): number => DateTime.fromISO(`${asOf}T09:00:00`, { zone: ZONE }).toMillis();

/**
 * The daily run for `asOf`, executed at `now` (default: 09:00 that day).
 * - Expiry warnings catch up: a run for a past date still decides what was due then.
 * - The reminder digest reflects the real state when it is sent: only the run for
 *   the current day (Asia/Jakarta) sends it, listing the documents waiting longer
 *   than `reminderAfterHours` at `now` with their true age. A backfill of past
 *   dates records it as skipped (BACKFILL), so a sweep over many days never sends
 *   a staff member one reminder per day. (A future date is refused by the caller.)
 */
export function decideDaily(permits: PermitState[], directory: DirectoryEntry[], asOf: string, settings: PlannerSettings, contacts: Contacts = NO_CONTACTS, now: number = dailyRunTime(asOf)): { decisions: Decision[]; marks: ExpiryMark[] } {
  const expiry = decideExpiryWarnings(permits, asOf, settings, contacts, Math.max(now, dailyRunTime(asOf)));
  return { decisions: [...expiry.decisions, ...decideReminders(permits, directory, asOf, settings, contacts, now)], marks: expiry.marks };
}

const dailyCause = (asOf: string): Cause => ({ eventId: `schedule:daily:${asOf}`, correlationId: `schedule:daily:${asOf}`, occurredAt: dailyRunTime(asOf) });

/**
 * The expiry-warning half of the daily run (per permit: each partition's owner runs it for its permits).
 * `plannedAt`: the time quiet hours are judged at (the run's time, or later when it was requested later).
 */
export function decideExpiryWarnings(permits: PermitState[], asOf: string, settings: PlannerSettings, contacts: Contacts = NO_CONTACTS, plannedAt: number = dailyRunTime(asOf)): { decisions: Decision[]; marks: ExpiryMark[] } {
  const cause = dailyCause(asOf);
  const rc: Reach = { settings, contacts };
  const decisions: Decision[] = [];
  const marks: ExpiryMark[] = [];

  for (const s of permits) {
    if (!s.tanggal_berakhir) continue;
    const reg = s.pendaftaran_id;
    const planned = s.expiryPlanned[s.tanggal_berakhir] ?? [];
    const d = expiryDecision(s.tanggal_berakhir, asOf, planned);
    if (d.kind === 'none') {
      if (d.reason === 'expired' && d.daysLeft === 0) decisions.push(skip('permit_expiry_warning', reg, { code: 'PERMIT_EXPIRED', text: REASON.expired }));
      continue;
    }
    for (const t of d.superseded) {
      decisions.push(skip('permit_expiry_warning', reg, { code: 'SUPERSEDED', text: `${t}-day warning superseded by the ${d.threshold}-day warning: ${supersededCause(s, t, asOf)}` },
        null, notificationId('permit_expiry_warning', reg, `${s.tanggal_berakhir}:${t}`)));
    }
    const id = notificationId('permit_expiry_warning', reg, `${s.tanggal_berakhir}:${d.threshold}`);
    // The threshold is decided now, sent or skipped: marked so no later run decides it again.
    marks.push({ pendaftaran_id: reg, expiry: s.tanggal_berakhir, threshold: d.threshold });
    if (s.cancelled) { decisions.push(skip('permit_expiry_warning', reg, { code: 'PERMIT_CANCELLED', text: REASON.cancelled }, { kind: 'APPLICANT', id: reg }, id)); continue; }
    const a = applicant(s, rc);
    if (!a.ok) { decisions.push(skip('permit_expiry_warning', reg, a.reason, { kind: 'APPLICANT', id: reg }, id)); continue; }
    decisions.push(request('permit_expiry_warning', id, cause, reg, a.recipient, {
      nama_pemohon: s.nama_pemohon ?? '', jenis_izin: s.jenis_izin ?? '', no_surat: s.no_surat ?? reg, tanggal_berakhir: s.tanggal_berakhir,
      sisa_hari: String(d.daysLeft), link_perpanjangan: `${settings.linkPerpanjangan}?pendaftaran_id=${encodeURIComponent(reg)}`, kontak_dpmptsp: settings.kontakDpmptsp,
    }));
  }
  return { decisions: withTemplates(withTiming(decisions, plannedAt, settings, []), settings), marks };
}

/** The reminder half of the daily run: one digest per staff member over every permit (run once, not per partition), planned at `now`. */
export function decideReminders(permits: PermitState[], directory: DirectoryEntry[], asOf: string, settings: PlannerSettings, contacts: Contacts = NO_CONTACTS, now: number = dailyRunTime(asOf)): Decision[] {
  const cause = dailyCause(asOf);
  const rc: Reach = { settings, contacts };
  // Reminder digest: one message per staff member listing documents pending > 24 h, as they are now.
  const cutoff = now - settings.reminderAfterHours * 3_600_000;
  const stale = permits.filter((s) => !s.cancelled).flatMap((s) => s.pendingDocuments.filter((d) => d.pendingSince <= cutoff).map((d) => ({ s, d })));
  const today = jakartaDate(now);
  const reminders = staffDigests('reminder', asOf, stale, directory, cause, rc,
    ({ s, d }) => ({ jenis_izin: d.jenis_izin, nama_pemohon: d.nama_pemohon, pendaftaran_id: s.pendaftaran_id, waktu_pending: formatDurasi(now - d.pendingSince) }));
  return withTemplates(withTiming(asOf === today ? reminders : reminders.map((r) => (r.kind === 'planned'
    ? skip('reminder', '', { code: 'BACKFILL', text: `reminders are sent only by the run for the current day (${today}, Asia/Jakarta); the run for ${asOf} is a backfill` },
      { kind: r.request.recipient.kind, id: r.request.recipient.id }, r.request.notificationId)
    : r)), now, settings, directory), settings);
}

/**
 * Why threshold `t` was never decided on its day: the expiry date became known
 * (issued late, or changed) fewer than `t` days before it, or no daily run
 * happened from its day until `asOf`.
 */
function supersededCause(s: PermitState, t: number, asOf: string): string {
  const expiry = s.tanggal_berakhir!;
  const due = thresholdDay(expiry, t);
  if (s.expirySetAt == null) return `not decided on its day (${due}): the scheduler did not run, or the expiry date was not yet known`;
  const known = jakartaDate(s.expirySetAt);
  const left = daysUntil(expiry, known);
  if (left < t) {
    return s.expiryChangedFrom
      ? `the expiry date changed from ${s.expiryChangedFrom} to ${expiry} on ${known}, ${left} days before it`
      : `the expiry date ${expiry} became known on ${known}, ${left} days before it`;
  }
  return `no daily run from ${due}, when it was due, until ${asOf} (missed while the scheduler did not run)`;
}

/** Each planned request uses the template configured for its scenario (default: the scenario's own). */
function withTemplates(ds: Decision[], settings: PlannerSettings): Decision[] {
  const map = settings.templates;
  if (!map || Object.keys(map).length === 0) return ds;
  return ds.map((d) => (d.kind === 'planned' && map[d.request.scenario] ? { ...d, request: { ...d.request, templateCode: map[d.request.scenario]! } } : d));
}

////////// Document digest: documents that started waiting for a signature in [from, to)

/** The cause id of the digest run for the window starting at `from`. */
export const documentDigestCause = (from: number) => `schedule:document_pending:${DateTime.fromMillis(from, { zone: ZONE }).toISO()!}`;

/** `plannedAt`: the time working hours are judged at (default: the window's end). */
export function decideDocumentDigest(permits: PermitState[], directory: DirectoryEntry[], from: number, to: number, settings: PlannerSettings, contacts: Contacts = NO_CONTACTS, plannedAt: number = to): Decision[] {
  const windowKey = DateTime.fromMillis(from, { zone: ZONE }).toISO()!;
  const cause: Cause = { eventId: documentDigestCause(from), correlationId: documentDigestCause(from), occurredAt: to };
  const fresh = permits.filter((s) => !s.cancelled).flatMap((s) => s.pendingDocuments.filter((d) => d.pendingSince >= from && d.pendingSince < to).map((d) => ({ s, d })));
  return withTemplates(withTiming(staffDigests('document_pending', windowKey, fresh, directory, cause, { settings, contacts },
    ({ s, d }) => ({ jenis_izin: d.jenis_izin, nama_pemohon: d.nama_pemohon, pendaftaran_id: s.pendaftaran_id })), Math.max(plannedAt, to), settings, directory), settings);
}

type WaitingDoc = { s: PermitState; d: PendingDocument };

/**
 * One digest per active staff member listing the documents of the permit types they
 * handle (id: scenario + staff + `key`, the date or window); a document no staff
 * member handles is recorded as skipped.
 */
function staffDigests(scenario: 'reminder' | 'document_pending', key: string, docs: WaitingDoc[], directory: DirectoryEntry[], cause: Cause,
  rc: Reach, row: (w: WaitingDoc) => Record<string, string>): Decision[] {
  const out: Decision[] = [];
  const typeOf = ({ s, d }: WaitingDoc) => s.jenis_izin ?? d.jenis_izin;
  for (const staff of directory.filter((e) => e.role === 'STAFF' && e.active)) {
    const mine = docs.filter((w) => handles(staff, typeOf(w)));
    if (mine.length === 0) continue;
    const id = notificationId(scenario, `staff:${staff.id}`, key);
    const r = person(staff, rc);
    if (!r.ok) { out.push(skip(scenario, '', r.reason, { kind: 'STAFF', id: staff.id }, id)); continue; }
    out.push(request(scenario, id, cause, '', r.recipient, { jumlah: String(mine.length), link_dashboard: rc.settings.linkDashboard }, mine.map(row)));
  }
  for (const { s } of docs.filter((w) => !directory.some((e) => e.role === 'STAFF' && handles(e, typeOf(w))))) {
    out.push(skip(scenario, s.pendaftaran_id, { code: 'NO_STAFF', text: `no staff in the directory handles ${s.jenis_izin ?? 'this permit type'}` }));
  }
  return out;
}
