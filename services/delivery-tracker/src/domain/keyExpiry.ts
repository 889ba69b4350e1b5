import type { SubjectRetentionFact } from '@sicantik/schemas';

////////// Subject keys expire when their retention ends (issue 16): "a subject key expires
// only when the person has no permit still valid and nothing inside the retention period".
// The facts come from subject.retention (one record per subject and source: a permit, a
// directory entry, the person's contact events; written by their owners) and from the
// key itself (its first createdAt: a subject known only by its key, e.g. an allocation
// whose record was never written). A subject's key is kept until
//     max(key createdAt, every fact's factUntil) + retention
// and for ever while a fact holds with no end (factUntil null: a current directory entry).
// Pure: the time is passed in.

export const DAY_MS = 24 * 3600_000;

/** The facts of one subject, by source (the latest record of each `<subjectId>|<source>` key). */
export type SubjectFacts = ReadonlyMap<string, number | null>;

/** The facts of every subject, folded from subject.retention (a tombstone removes its source). */
export type RetentionFacts = Map<string, Map<string, number | null>>;

export function applyRetentionFact(facts: RetentionFacts, f: Pick<SubjectRetentionFact, 'subjectId' | 'source' | 'factUntil'>): void {
  let m = facts.get(f.subjectId);
  if (!m) { m = new Map(); facts.set(f.subjectId, m); }
  m.set(f.source, f.factUntil);
}

/** A tombstone of `<subjectId>|<source>` (a subject id never holds '|'). */
export function removeRetentionFact(facts: RetentionFacts, key: string): void {
  const i = key.indexOf('|');
  if (i < 0) return;
  const m = facts.get(key.slice(0, i));
  m?.delete(key.slice(i + 1));
  if (m && m.size === 0) facts.delete(key.slice(0, i));
}

/** Until when a subject's key is kept (Infinity: a fact holds with no end). */
export function keepUntil(createdAt: number, facts: SubjectFacts | undefined, retentionMs: number): number {
  let latest = createdAt;
  for (const until of facts?.values() ?? []) {
    if (until === null) return Infinity;
    if (until > latest) latest = until;
  }
  return latest + retentionMs;
}

export interface KeyExpiry {
  subjectId: string;
  /** When its retention ended. */
  keepUntil: number;
  /** How many facts it had (0: known only by its key, kept from its creation). */
  facts: number;
}

/**
 * The subjects whose keys expire at `now`: every live key whose keep-until has passed,
 * oldest first, at most `limit` (the rest go in the next run).
 */
export function expiringSubjects(keys: Iterable<{ subjectId: string; createdAt: number }>, facts: ReadonlyMap<string, SubjectFacts>, now: number, retentionMs: number, limit = Infinity): KeyExpiry[] {
  const out: KeyExpiry[] = [];
  for (const k of keys) {
    const f = facts.get(k.subjectId);
    const until = keepUntil(k.createdAt, f, retentionMs);
    if (until <= now) out.push({ subjectId: k.subjectId, keepUntil: until, facts: f?.size ?? 0 });
  }
  out.sort((a, b) => a.keepUntil - b.keepUntil || (a.subjectId < b.subjectId ? -1 : a.subjectId > b.subjectId ? 1 : 0));
  return out.length > limit ? out.slice(0, limit) : out;
}

/** The auditor's line for one expiry (privacy.requests detail). */
export function expiryDetail(e: KeyExpiry, retentionDays: number): string {
  const basis = e.facts === 0 ? 'no fact about the person besides the key: kept from its creation' : `latest of ${e.facts} fact(s) (permits, directory entry, contact events)`;
  return `retention ended ${new Date(e.keepUntil).toISOString()} (${retentionDays} days after the ${basis}): subject key and blind-index entry tombstoned; projections scrubbed by the tracker`;
}
