import type { ContactEvent } from './types';

/**
 * The key of a person's contact events on contact.events: the subject id once there is
 * one (pseudonymous subjects, issue 16), else the E.164 number. Every writer of
 * contact.events (the webhook receiver, the planner's consent classifier, the
 * dispatcher's MESSAGE_SENT) keys through this one rule, so all of a person's events
 * share a partition.
 */
export function contactEventKey(e: Pick<ContactEvent, 'phone'> & { subjectId?: string | null }): string {
  return e.subjectId ?? e.phone;
}

/** The key of a subject.retention record: one record per subject and source of facts (`<subjectId>|<source>`). */
export function retentionFactKey(f: { subjectId: string; source: string }): string {
  return `${f.subjectId}|${f.source}`;
}
