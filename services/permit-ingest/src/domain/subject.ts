import { normalizePhone } from '@sicantik/core';
import type { PermitEvent } from '@sicantik/schemas';

////////// Which number names the applicant's subject (issue 16: pseudonymous subjects)
// The applicant's number in E.164 when it is a usable Indonesian mobile number (the form
// the erasure request's number is normalised to); any other non-blank text as written
// (trimmed), so that the name and the odd number in the event are still encrypted with a
// key of their own. None without a number: such an event names no subject.

export function applicantSubjectPhone(ev: PermitEvent): string | null {
  const raw = 'telepon_pemohon' in ev.payload ? ev.payload.telepon_pemohon : null;
  if (typeof raw !== 'string' || !raw.trim()) return null;
  const p = normalizePhone(raw);
  return p.ok ? p.e164 : raw.trim();
}
