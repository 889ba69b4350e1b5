import type { Disposition } from '../types';

////////// Meta Cloud API error codes -> disposition
// Meta says to branch on `error.code` (plus `error_data.details`), never on the
// HTTP status. Table from PROVIDERS.md §1 (Meta's error-code reference). The [R]
// rows were checked: 131047 = "Re-engagement message, more than 24 hours since
// the customer last replied" and 132000/132001 = template parameter count
// mismatch / template does not exist in that language, as several independent
// reference pages list them (kwiqreply, ycloud, heltar); 1 / 2 / 131000 are
// "unknown / service temporarily unavailable / something went wrong, try again"
// (ycloud, niswey). 131016 and 133004 (service / server temporarily unavailable)
// were not found in a stored copy and stay [R]: retried with a cap.

interface MetaClassification {
  disposition: Disposition;
  retryAfterMs?: number;
}

const MINUTE = 60_000;

const TABLE: ReadonlyMap<number, MetaClassification> = new Map<number, MetaClassification>([
  // Throughput of the number: back off for seconds.
  [130429, { disposition: 'retry', retryAfterMs: 1_000 }],
  // Pair rate limit (same business number -> same user): about one message per 6 s.
  [131056, { disposition: 'retry', retryAfterMs: 6_000 }],
  // App / WABA Graph call-rate limits: back off for minutes.
  [4, { disposition: 'retry', retryAfterMs: MINUTE }],
  [80007, { disposition: 'retry', retryAfterMs: MINUTE }],
  // Unknown / service / temporary errors.
  [1, { disposition: 'retry' }],
  [2, { disposition: 'retry' }],
  [131000, { disposition: 'retry' }],
  [131016, { disposition: 'retry' }],
  [133004, { disposition: 'retry' }],
  // Auth failure, token expired, permission denied: this account cannot send at all; alert.
  [0, { disposition: 'fallback' }],
  [190, { disposition: 'fallback' }],
  [10, { disposition: 'fallback' }],
  // Invalid, missing or bad parameter: our request is wrong.
  [100, { disposition: 'permanent' }],
  [131008, { disposition: 'permanent' }],
  [131009, { disposition: 'permanent' }],
  // Undeliverable through Meta (not a WhatsApp user, old client, ToS not accepted).
  [131026, { disposition: 'fallback' }],
  // Re-engagement: outside the 24 h window, a template is needed.
  [131047, { disposition: 'fallback' }],
  // Template parameter mismatch / template missing or not approved / paused / disabled: our Meta template setup.
  [132000, { disposition: 'fallback' }],
  [132001, { disposition: 'fallback' }],
  [132015, { disposition: 'fallback' }],
  [132016, { disposition: 'fallback' }],
  // Spam rate limit on our number: this number is restricted.
  [131048, { disposition: 'fallback' }],
  // Meta chose not to deliver (marketing): retry no sooner than 24 h.
  [131049, { disposition: 'retry', retryAfterMs: 24 * 60 * MINUTE }],
  // The user stopped marketing messages.
  [131050, { disposition: 'permanent' }],
  // The user's number is part of an experiment.
  [130472, { disposition: 'permanent' }],
  // Policy block on our account, account locked.
  [368, { disposition: 'fallback' }],
  [131031, { disposition: 'fallback' }],
]);

export function classifyMetaError(code: number, isTransient?: boolean): MetaClassification {
  const known = TABLE.get(code);
  if (known) return known;
  if (code >= 200 && code <= 299) return { disposition: 'fallback' }; // API permission errors
  // Unknown code: Meta's own is_transient hint, else do not repeat what Meta refused.
  return { disposition: isTransient ? 'retry' : 'permanent' };
}
