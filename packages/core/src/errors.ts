////////// Errors
// One base error with a `retriable` flag, as KafkaJS does. Consumer loops look
// only at `retriable` to choose between retry-with-backoff and dead-letter.

export class AppError extends Error {
  readonly retriable: boolean;
  readonly code: string;
  override readonly cause?: unknown;
  constructor(message: string, opts: { retriable: boolean; code: string; cause?: unknown }) {
    super(message);
    this.name = new.target.name;
    this.retriable = opts.retriable;
    this.code = opts.code;
    this.cause = opts.cause;
  }
}

/** Bad input: never retried. */
export class ValidationError extends AppError {
  readonly issues: { path: string; message: string }[];
  constructor(message: string, issues: { path: string; message: string }[] = [], cause?: unknown) {
    super(message, { retriable: false, code: 'VALIDATION', cause });
    this.issues = issues;
  }
}

/** Infrastructure hiccup (broker, registry, database, network): retried. */
export class TransientError extends AppError {
  constructor(message: string, cause?: unknown) {
    super(message, { retriable: true, code: 'TRANSIENT', cause });
  }
}

/** A permanent failure that must become a failed event / dead letter. */
export class PermanentError extends AppError {
  constructor(message: string, code = 'PERMANENT', cause?: unknown) {
    super(message, { retriable: false, code, cause });
  }
}

/**
 * Decide whether an unknown error is worth retrying. Programming errors
 * (TypeError, ReferenceError, SyntaxError) never are; AppErrors say so
 * themselves; anything else unknown (driver/network errors) is retried.
 */
export function isRetriable(err: unknown): boolean {
  if (err instanceof AppError) return err.retriable;
  if (err instanceof TypeError || err instanceof ReferenceError || err instanceof SyntaxError) return false;
  const e = err as { retriable?: unknown } | null;
  if (e && typeof e.retriable === 'boolean') return e.retriable;
  return true;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** MongoDB's duplicate-key error (E11000): another writer inserted that key first. */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 11000;
}

/**
 * For an unordered bulk insert that failed: the indexes of the documents whose key was
 * already there, when duplicates are all that went wrong; otherwise the error is rethrown.
 */
export function duplicateKeyIndexes(err: unknown): number[] {
  type W = { code?: number; index?: number; err?: { index?: number; code?: number } };
  const errs = (err as { writeErrors?: W[] | W } | null)?.writeErrors;
  const list: W[] = Array.isArray(errs) ? errs : errs ? [errs] : [];
  if (list.length === 0 || list.some((w) => (w.code ?? w.err?.code) !== 11000)) throw err;
  return list.map((w) => (w.index ?? w.err?.index)!);
}
