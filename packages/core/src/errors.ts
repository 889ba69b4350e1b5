////////// Errors
// One base error with a `retriable` flag, as KafkaJS does. `classifyError` is the one
// rule that sorts any error into three classes for the consumer loops:
//   retriable  broker, registry, database or network unavailable: wait and retry, never dead-letter;
//   permanent  the record cannot be processed (our errors say so): dead-letter it at once;
//   unknown    anything else, e.g. a TypeError from a bug: retry a few times, then dead-letter.

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

export type ErrorClass = 'retriable' | 'permanent' | 'unknown';

/**
 * How a consumer loop treats an error (first rule that matches):
 * 1. an AppError says so itself (`retriable`: retriable, else permanent);
 * 2. another error that carries a boolean `retriable` of its own, except kafkajs': that flag;
 * 3. unavailability, also as the cause of a wrapper without a flag of its own (`cause`,
 *    AggregateError's `errors`), is retriable: network errors (ECONNREFUSED, ECONNRESET,
 *    ETIMEDOUT, ..., also under fetch's `TypeError: fetch failed`), kafkajs errors it
 *    marks retriable or gave up retrying (KafkaJSNumberOfRetriesExceeded, timeouts, no
 *    coordinator), MongoDB's network, server-selection, pool and not-primary errors,
 *    those it labels retryable, and FerretDB's InternalError for a busy or unreachable
 *    storage (SQLite locked, PostgreSQL refusing connections);
 * 4. kafkajs' other errors (`retriable: false` only says kafkajs will not retry them): unknown;
 * 5. anything else (TypeError, RangeError, a plain Error, a thrown string): unknown.
 */
export function classifyError(err: unknown): ErrorClass {
  if (err instanceof AppError) return err.retriable ? 'retriable' : 'permanent';
  if (isUnavailable(err, 0)) return 'retriable';
  const e = err as { retriable?: unknown; name?: unknown } | null;
  if (e && typeof e === 'object' && e.retriable === false && !isKafkaJs(e)) return 'permanent';
  return 'unknown';
}

/** Known-retriable: worth waiting for however long it takes (see classifyError). */
export function isRetriable(err: unknown): boolean {
  return classifyError(err) === 'retriable';
}

/** Node's and undici's codes for a peer that cannot be reached or went away. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN',
  'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENETRESET', 'ENOTCONN',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
  'ERR_SOCKET_CONNECTION_TIMEOUT', 'ERR_NETWORK',
]);
/** kafkajs errors that mean "the cluster did not answer in time", though kafkajs calls them non-retriable. */
const KAFKAJS_UNAVAILABLE = new Set(['KafkaJSNumberOfRetriesExceeded', 'KafkaJSTimeout', 'KafkaJSLockTimeout', 'KafkaJSGroupCoordinatorNotFound', 'KafkaJSNoBrokerAvailableError', 'KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSBrokerNotFound']);
/** MongoDB driver errors for a server that cannot be reached, is shutting down or stepped down. */
const MONGO_UNAVAILABLE = new Set([
  'MongoNetworkError', 'MongoNetworkTimeoutError', 'MongoServerSelectionError', 'MongoNotConnectedError', 'MongoTopologyClosedError',
  'MongoServerClosedError', 'MongoStalePrimaryError', 'MongoOperationTimeoutError', 'MongoPoolClosedError', 'MongoPoolClearedError',
  'PoolClearedOnNetworkError', 'MongoWaitQueueTimeoutError',
]);
/** MongoDB server codes its drivers retry (HostUnreachable, NetworkTimeout, ShutdownInProgress, NotWritablePrimary, ...). */
const MONGO_RETRYABLE_CODES = new Set([6, 7, 89, 91, 134, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);
const MONGO_RETRYABLE_LABELS = ['RetryableWriteError', 'TransientTransactionError', 'ResetPool', 'PoolRequstedRetry', 'PoolRequestedRetry', 'SystemOverloadedError'];
/**
 * FerretDB answers InternalError (code 1) with its storage's own error text when that
 * storage is busy or away: SQLite still locked after its busy timeout (FerretDB v1, the
 * local stack), PostgreSQL refusing or dropping connections.
 */
const STORAGE_UNAVAILABLE = /SQLITE_BUSY|SQLITE_LOCKED|database is locked|database table is locked|connection refused|connection reset|broken pipe|i\/o timeout|context deadline exceeded|the database system is (starting up|shutting down|in recovery mode)|too many clients|server closed the connection|failed to connect/i;

const isKafkaJs = (e: { name?: unknown }) => typeof e.name === 'string' && e.name.startsWith('KafkaJS');

function isUnavailable(err: unknown, depth: number): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as { name?: unknown; code?: unknown; retriable?: unknown; cause?: unknown; errors?: unknown; hasErrorLabel?: unknown; errorLabels?: unknown };
  const name = typeof e.name === 'string' ? e.name : '';
  // An error of ours (or another with a flag of its own) has decided.
  if (typeof e.retriable === 'boolean' && !isKafkaJs(e)) return e.retriable;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (isKafkaJs(e) && (e.retriable === true || KAFKAJS_UNAVAILABLE.has(name))) return true;
  if (name.startsWith('Mongo') || name === 'PoolClearedOnNetworkError') {
    if (MONGO_UNAVAILABLE.has(name)) return true;
    if (typeof e.code === 'number' && MONGO_RETRYABLE_CODES.has(e.code)) return true;
    if (e.code === 1 && STORAGE_UNAVAILABLE.test(String((e as { message?: unknown }).message ?? ''))) return true;
    const has = typeof e.hasErrorLabel === 'function'
      ? (l: string) => (e.hasErrorLabel as (l: string) => boolean).call(err, l)
      : (l: string) => Array.isArray(e.errorLabels) && e.errorLabels.includes(l);
    if (MONGO_RETRYABLE_LABELS.some(has)) return true;
  }
  if (isUnavailable(e.cause, depth + 1)) return true;
  return Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every((x) => isUnavailable(x, depth + 1));
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

const DUPLICATE_KEY = 11000;
type WriteErr = { code?: number; index?: number; err?: { index?: number; code?: number } };
const writeErrorsOf = (err: unknown): WriteErr[] => {
  const errs = (err as { writeErrors?: WriteErr[] | WriteErr } | null)?.writeErrors;
  return Array.isArray(errs) ? errs : errs ? [errs] : [];
};
const codeOf = (w: WriteErr) => w.code ?? w.err?.code;

/**
 * MongoDB's duplicate-key error (E11000): another writer inserted that key first. A bulk
 * write error counts only when every one of its write errors is a duplicate key.
 */
export function isDuplicateKey(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const list = writeErrorsOf(err);
  if (list.length > 0) return list.every((w) => codeOf(w) === DUPLICATE_KEY);
  return (err as { code?: unknown }).code === DUPLICATE_KEY;
}

/**
 * For an unordered bulk insert that failed: the indexes of the documents whose key was
 * already there, when duplicates are all that went wrong; otherwise the error is rethrown.
 * A single write's duplicate (insertOne: a MongoServerError without writeErrors) gives
 * its own index, 0.
 */
export function duplicateKeyIndexes(err: unknown): number[] {
  if (!isDuplicateKey(err)) throw err;
  const list = writeErrorsOf(err);
  if (list.length === 0) return [(err as { index?: number }).index ?? 0];
  return list.map((w) => (w.index ?? w.err?.index)!);
}
