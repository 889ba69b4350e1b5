import { DateTime } from 'luxon';
import type { ContactEvent, DirectoryEntryUpdated, SubjectRetentionFact } from '@sicantik/schemas';
import type { PermitState } from './state';

////////// Retention facts (issue 16: a subject key expires only when the person has no
// permit still valid and nothing inside the retention period). The planner owns the facts
// that keep a person's key: their permits (as applicant), their directory entry (staff,
// officials) and their contact events. Each becomes a record on subject.retention, keyed
// by subject and source, saying until when the fact holds; the tracker's key-expiry job
// adds the retention period to the latest one. Every time here is an event's own time,
// so a replay writes the same records. Pure.

/** Where a permit's validity ends: the end of its expiry date (tanggal_berakhir) in the office's zone; null when it has none. */
export function validityEnd(tanggalBerakhir: string | null, zone: string): number | null {
  if (!tanggalBerakhir) return null;
  const d = DateTime.fromISO(tanggalBerakhir, { zone });
  return d.isValid ? d.endOf('day').toMillis() : null;
}

/** Until when a permit keeps its applicant: the later of its validity end (none once cancelled) and its last event; null: nothing to say (no subject, no event time). */
function permitFactUntil(s: PermitState, zone: string): number | null {
  const last = s.lastEventAt ?? legacyLastEvent(s);
  const valid = s.cancelled ? null : validityEnd(s.tanggal_berakhir, zone);
  if (last === null && valid === null) return null;
  return Math.max(last ?? -Infinity, valid ?? -Infinity);
}

/** A state written before lastEventAt was kept: the latest time it holds (when its expiry date became known, a document's pendingSince). */
function legacyLastEvent(s: PermitState): number | null {
  const times = [s.expirySetAt ?? null, ...s.pendingDocuments.map((d) => d.pendingSince)].filter((t): t is number => typeof t === 'number');
  return times.length ? Math.max(...times) : null;
}

const permitSource = (pendaftaranId: string) => `permit:${pendaftaranId}`;
const directorySource = (entryId: string) => `directory:${entryId}`;
const CONTACT_SOURCE = 'contact';

/** The current applicant's fact for a permit; none without a subject. */
export function permitFact(s: PermitState, zone: string): SubjectRetentionFact | null {
  if (!s.subjectId) return null;
  const until = permitFactUntil(s, zone);
  if (until === null) return null;
  return { subjectId: s.subjectId, source: permitSource(s.pendaftaran_id), factUntil: until, updatedAt: s.lastEventAt ?? until };
}

/**
 * The facts a permit event changes: the applicant's (the permit's validity and last event),
 * and, when the event moved the permit to another applicant (a changed number), the former
 * applicant's, which stops holding at this event.
 */
export function permitEventFacts(before: PermitState, after: PermitState, eventAt: number, zone: string): SubjectRetentionFact[] {
  const out: SubjectRetentionFact[] = [];
  if (before.subjectId && before.subjectId !== after.subjectId) {
    out.push({ subjectId: before.subjectId, source: permitSource(after.pendaftaran_id), factUntil: eventAt, updatedAt: eventAt });
  }
  const f = permitFact(after, zone);
  if (f) out.push(f);
  return out;
}

/**
 * The facts of a directory update: the person's entry holds with no end while active, and
 * until the update that made it inactive; a person the entry named before (its number
 * changed) stops being held by it at this update.
 */
export function directoryFacts(previousSubjectId: string | null | undefined, e: DirectoryEntryUpdated): SubjectRetentionFact[] {
  const out: SubjectRetentionFact[] = [];
  if (previousSubjectId && previousSubjectId !== e.subjectId) out.push({ subjectId: previousSubjectId, source: directorySource(e.entryId), factUntil: e.occurredAt, updatedAt: e.occurredAt });
  if (e.subjectId) out.push({ subjectId: e.subjectId, source: directorySource(e.entryId), factUntil: e.active ? null : e.occurredAt, updatedAt: e.occurredAt });
  return out;
}

/** The contact fact of each subject among a batch of its contact events (inbound messages, consent and its proof, sent messages): its latest event. */
export function contactFacts(events: readonly Pick<ContactEvent, 'subjectId' | 'occurredAt'>[]): SubjectRetentionFact[] {
  const latest = new Map<string, number>();
  for (const e of events) if (e.subjectId) latest.set(e.subjectId, Math.max(latest.get(e.subjectId) ?? e.occurredAt, e.occurredAt));
  return [...latest].map(([subjectId, at]) => ({ subjectId, source: CONTACT_SOURCE, factUntil: at, updatedAt: at }));
}
