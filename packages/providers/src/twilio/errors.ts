import type { Disposition } from '../types';

////////// Twilio error codes -> disposition
// PROVIDERS.md §2. The [R] rows were checked in Twilio's error pages:
// 20429 "Too many requests ... safe to retry after backing off"; 63016 "Outside
// messaging window ... use a template (ContentSid)"; 20003 authentication failure
// and 21211 invalid 'To' number as listed in public Twilio client code.

const TABLE: ReadonlyMap<number, Disposition> = new Map<number, Disposition>([
  [20003, 'fallback'], // authentication failed: this account cannot send
  [20429, 'retry'], // too many concurrent requests
  [30001, 'retry'], // queue overflow
  [63018, 'retry'], // channel / WhatsApp rate or messaging limit
  [21211, 'permanent'], // invalid To
  [63016, 'fallback'], // outside the 24 h window / template sent as Body
  [63027, 'fallback'], // template missing for that language
  [63028, 'fallback'], // template parameter count mismatch
  [63003, 'fallback'], // To not reachable on this channel (WhatsApp 1006/1013/1021)
  [63024, 'fallback'], // invalid recipient (WhatsApp 1002/1026)
  [63032, 'permanent'], // user is part of a Meta experiment (Meta 130472)
]);

export function classifyTwilioError(code: number): Disposition | undefined {
  return TABLE.get(code);
}
