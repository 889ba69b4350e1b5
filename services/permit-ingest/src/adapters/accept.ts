import type { PermitEvent } from '@sicantik/schemas';
import { permitSubjectUpdate, subjectSource, withApplicantSubject } from '../domain/subject';
import type { EventIdLedger, Outcome } from './dedupe';

////////// Accepting one permit event: its subject, then one publish per event id

export interface AcceptDeps {
  ledger: EventIdLedger;
  /** The SubjectRegistry: one subject per number, also across instances. */
  subjects: { subjectFor(e164: string): Promise<string> };
  /** Produces the event on permit.events (the codec encrypts its personal fields with its subject's key). */
  send(ev: PermitEvent): Promise<void>;
}

/**
 * The applicant's subject is found or allocated only for an event that is published (not
 * for a duplicate): from the event's own number, recorded with the event id as the
 * permit's; an event with the applicant's name but no number takes the permit's recorded
 * subject, read while the claim is made (one findOne by _id, no added round trip). Without
 * one, see withApplicantSubject.
 */
export function permitEventAcceptor(d: AcceptDeps): (ev: PermitEvent) => Promise<Outcome> {
  return (ev) => {
    const source = subjectSource(ev);
    const permitSubject = source.from === 'permit' ? d.ledger.permitSubject(ev.pendaftaran_id) : null;
    permitSubject?.catch(() => undefined); // awaited (its error answered 503) in publish; a duplicate never awaits it
    return d.ledger.acceptOnce(ev.eventId, ev.pendaftaran_id, async () => {
      const subjectId = source.from === 'number' ? await d.subjects.subjectFor(source.phone) : (await permitSubject) ?? null;
      await d.send(withApplicantSubject(ev, subjectId));
      return permitSubjectUpdate(ev, source, subjectId);
    });
  };
}
