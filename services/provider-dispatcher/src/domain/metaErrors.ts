////////// Meta Cloud API error classification (pure). Branch on `code`, not on HTTP status.
const RETRIABLE = new Set([130429, 131056, 4, 80007, 1, 2, 131000, 131016, 133004]);

export function classifyMetaError(httpStatus: number | undefined, code: number | undefined): boolean {
  if (code !== undefined && RETRIABLE.has(code)) return true;
  if (code !== undefined) return false;
  // No Meta error body: network failure, 5xx or 429 from a proxy are retriable.
  return httpStatus === undefined || httpStatus >= 500 || httpStatus === 429;
}
