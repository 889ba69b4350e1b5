import { normalizePhone } from '@sicantik/core';
import type { PermitEvent } from '@sicantik/schemas';

////////// Which subject an event's personal fields are encrypted with (issue 16: pseudonymous subjects)

/**
 * The number that names the applicant's subject: in E.164 when it is a usable Indonesian
 * mobile number (the form the erasure request's number is normalised to); any other
 * non-blank text as written (trimmed), so that the name and the odd number in the event
 * are still encrypted with a key of their own. None without a number.
 */
export function applicantSubjectPhone(ev: PermitEvent): string | null {
  const raw = 'telepon_pemohon' in ev.payload ? ev.payload.telepon_pemohon : null;
  if (typeof raw !== 'string' || !raw.trim()) return null;
  const p = normalizePhone(raw);
  return p.ok ? p.e164 : raw.trim();
}

/** The event carries the applicant's name (a personal field of permit.events). */
function carriesApplicantName(ev: PermitEvent): boolean {
  const name = 'nama_pemohon' in ev.payload ? ev.payload.nama_pemohon : null;
  return typeof name === 'string';
}

/**
 * Where the subject of an event comes from:
 * - 'number': its own applicant number (found or allocated in the SubjectRegistry);
 * - 'permit': it carries the applicant's name but no number: the permit's applicant
 *   subject, as the ingest recorded it from an earlier event of the permit with a number;
 * - 'none': nothing personal in it (no name, no number): no subject, as before.
 */
export type SubjectSource = { from: 'number'; phone: string } | { from: 'permit' } | { from: 'none' };

export function subjectSource(ev: PermitEvent): SubjectSource {
  const phone = applicantSubjectPhone(ev);
  if (phone) return { from: 'number', phone };
  return carriesApplicantName(ev) ? { from: 'permit' } : { from: 'none' };
}

/**
 * The name written instead of the applicant's when an event that only repeats it
 * (DocumentPendingSignature, ApprovalRequested) has no subject to encrypt it with: the
 * name is left out, and the planner takes it from its permit state (upstream never sends
 * an empty name: validation refuses it).
 */
export const NAME_LEFT_OUT = '';

/** Event types whose name only repeats the applicant's (the permit state has it from PermitRegistered/PermitIssued). */
const REPEATS_NAME = new Set<PermitEvent['payload']['type']>(['DocumentPendingSignature', 'ApprovalRequested']);

/**
 * The event as published, given the subject found for it (null: none known).
 * - With a subject: `subjectId` set, so the codec encrypts the name and number with its key.
 * - Without: an event that only repeats the applicant's name has the name left out
 *   (NAME_LEFT_OUT), so it is never written in plain; any other event is written as
 *   before (an applicant without a usable number and without a known subject: its name
 *   is the planner's only source; docs/privacy.md, Limits).
 */
export function withApplicantSubject(ev: PermitEvent, subjectId: string | null): PermitEvent {
  if (subjectId) return { ...ev, subjectId };
  if (REPEATS_NAME.has(ev.payload.type) && carriesApplicantName(ev)) {
    return { ...ev, subjectId: null, payload: { ...ev.payload, nama_pemohon: NAME_LEFT_OUT } as PermitEvent['payload'] };
  }
  return { ...ev, subjectId: null };
}

/**
 * What the ingest records as the permit's applicant subject after publishing an event:
 * only a subject that came from the event's own number. The first one recorded stays
 * (insert-only, batched with the event-id record), except that ApplicantContactChanged,
 * which says the applicant's contact changed, replaces it.
 */
export function permitSubjectUpdate(ev: PermitEvent, source: SubjectSource, subjectId: string | null): { subjectId: string; replace: boolean } | null {
  if (source.from !== 'number' || !subjectId) return null;
  return { subjectId, replace: ev.payload.type === 'ApplicantContactChanged' };
}
