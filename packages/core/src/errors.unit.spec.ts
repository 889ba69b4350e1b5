import { AppError, classifyError, duplicateKeyIndexes, isDuplicateKey, isRetriable, PermanentError, TransientError, ValidationError } from './errors';

////////// The one error classification (retriable / permanent / unknown) and the duplicate-key rule.
// MongoDB errors are look-alikes of the driver's (mongodb 6: the class name is the `name`,
// server errors carry `code`, `errorLabels` and `hasErrorLabel`; bulk errors `writeErrors`
// of WriteError, whose `code` and `index` read its `err`); kafkajs' own classes are checked
// in packages/kafka (errors.unit.spec.ts), where kafkajs is a dependency.

const named = (name: string, props: Record<string, unknown> = {}) => Object.assign(Object.defineProperty(new Error(name), 'name', { value: name }), props);
const mongoServerError = (code: number, labels: string[] = []) => named('MongoServerError', { code, errorLabels: labels, hasErrorLabel: (l: string) => labels.includes(l) });
class WriteError { constructor(readonly err: { code: number; index: number; errmsg?: string }) {} get code() { return this.err.code; } get index() { return this.err.index; } }
const bulkError = (codes: number[]) => named('MongoBulkWriteError', { code: codes[0], writeErrors: codes.map((code, index) => new WriteError({ code, index: index * 2 })) });

describe('classifyError: three classes', () => {
  it('our own errors say what they are', () => {
    expect(classifyError(new TransientError('database down'))).toBe('retriable');
    expect(classifyError(new PermanentError('bad data', 'BAD_DATA'))).toBe('permanent');
    expect(classifyError(new ValidationError('invalid'))).toBe('permanent');
    expect(classifyError(new AppError('x', { retriable: true, code: 'X' }))).toBe('retriable');
    // a flag set on a plain error decides, as an AppError's does
    expect(classifyError(Object.assign(new Error('timed out waiting for restore'), { retriable: true }))).toBe('retriable');
    expect(classifyError(Object.assign(new Error('record has no value'), { retriable: false, code: 'TOMBSTONE' }))).toBe('permanent');
    // an explicit flag wins over what the cause would say
    expect(classifyError(new PermanentError('rejected', 'P', Object.assign(new Error('x'), { code: 'ECONNRESET' })))).toBe('permanent');
  });

  it('bugs and unclassified errors are unknown', () => {
    expect(classifyError(new TypeError("Cannot read properties of undefined (reading 'phone')"))).toBe('unknown');
    expect(classifyError(new RangeError('Invalid time value'))).toBe('unknown');
    expect(classifyError(new ReferenceError('x is not defined'))).toBe('unknown');
    expect(classifyError(new Error('something odd'))).toBe('unknown');
    expect(classifyError('a thrown string')).toBe('unknown');
    expect(classifyError(undefined)).toBe('unknown');
    expect(classifyError(null)).toBe('unknown');
    expect(classifyError({ code: 11000 })).toBe('unknown'); // an unhandled duplicate key is the caller's bug
  });

  it('network errors are retriable, also as the cause of a wrapper (fetch) or inside an AggregateError (connect)', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']) {
      expect([code, classifyError(Object.assign(new Error('socket hang up'), { code }))]).toEqual([code, 'retriable']);
    }
    const fetchFailed = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8081'), { code: 'ECONNREFUSED' }) });
    expect(classifyError(fetchFailed)).toBe('retriable');
    const connect = new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' }), Object.assign(new Error('b'), { code: 'ETIMEDOUT' })], 'connect failed');
    expect(classifyError(connect)).toBe('retriable');
    expect(classifyError(new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' }), new TypeError('bug')]))).toBe('unknown');
    expect(classifyError(new Error('wrapped', { cause: new TransientError('inner') }))).toBe('retriable');
    expect(classifyError(new Error('wrapped', { cause: new TypeError('inner bug') }))).toBe('unknown');
  });

  it('MongoDB: unreachable, server selection, pool, stepped-down primary and retryable labels are retriable; other server errors are unknown', () => {
    for (const name of ['MongoNetworkError', 'MongoNetworkTimeoutError', 'MongoServerSelectionError', 'MongoNotConnectedError', 'MongoTopologyClosedError', 'MongoPoolClearedError', 'MongoWaitQueueTimeoutError']) {
      expect([name, classifyError(named(name))]).toEqual([name, 'retriable']);
    }
    expect(classifyError(mongoServerError(91))).toBe('retriable'); // ShutdownInProgress
    expect(classifyError(mongoServerError(10107))).toBe('retriable'); // NotWritablePrimary
    expect(classifyError(mongoServerError(1, ['RetryableWriteError']))).toBe('retriable');
    expect(classifyError(named('MongoServerError', { code: 1, errorLabels: ['TransientTransactionError'] }))).toBe('retriable');
    // FerretDB: InternalError (code 1) carrying its storage's error text
    const ferret = (message: string) => Object.assign(mongoServerError(1), { message, codeName: 'InternalError' });
    expect(classifyError(ferret('[pool.go:201 pool.(*Pool).Exec] database is locked (5) (SQLITE_BUSY)'))).toBe('retriable');
    expect(classifyError(ferret('failed to connect to `host=pg user=ferret database=ferretdb`: dial error (dial tcp 10.0.0.5:5432: connect: connection refused)'))).toBe('retriable');
    expect(classifyError(ferret('FATAL: the database system is starting up (SQLSTATE 57P03)'))).toBe('retriable');
    expect(classifyError(ferret('[msg_insert.go:88 handler.(*Handler).MsgInsert] unexpected end of JSON input'))).toBe('unknown');
    expect(classifyError(mongoServerError(121))).toBe('unknown'); // DocumentValidationFailure
    expect(classifyError(mongoServerError(11000))).toBe('unknown');
    expect(classifyError(bulkError([11000, 11000]))).toBe('unknown');
    expect(classifyError(named('MongoInvalidArgumentError'))).toBe('unknown');
    // a server-selection failure reported through a wrapper
    expect(classifyError(new Error('projection write failed', { cause: named('MongoServerSelectionError') }))).toBe('retriable');
  });

  it('isRetriable is the retriable class', () => {
    expect(isRetriable(new TransientError('x'))).toBe(true);
    expect(isRetriable(named('MongoNetworkError'))).toBe(true);
    expect(isRetriable(new PermanentError('x'))).toBe(false);
    expect(isRetriable(new TypeError('bug'))).toBe(false);
    expect(isRetriable(new Error('no code'))).toBe(false);
  });
});

describe('isDuplicateKey and duplicateKeyIndexes', () => {
  it('a single write\'s duplicate key (MongoServerError E11000)', () => {
    const e = named('MongoServerError', { code: 11000, codeName: 'DuplicateKey', keyValue: { _id: 'a' }, errmsg: 'E11000 duplicate key error collection: db.c index: _id_ dup key: { _id: "a" }' });
    expect(isDuplicateKey(e)).toBe(true);
    expect(isDuplicateKey({ code: 11000 })).toBe(true);
  });

  it('a bulk write error counts only when every write error is a duplicate key', () => {
    expect(isDuplicateKey(bulkError([11000]))).toBe(true);
    expect(isDuplicateKey(bulkError([11000, 11000, 11000]))).toBe(true);
    expect(isDuplicateKey(bulkError([11000, 121]))).toBe(false); // the error's own code is the first write error's
    expect(isDuplicateKey(bulkError([121, 11000]))).toBe(false);
    expect(isDuplicateKey({ writeErrors: { code: 11000, index: 0 } })).toBe(true); // a single write error, not a list
    expect(isDuplicateKey({ writeErrors: [{ err: { code: 11000, index: 3 } }] })).toBe(true); // raw { err } entries
  });

  it('anything else is not a duplicate key', () => {
    expect(isDuplicateKey(mongoServerError(121))).toBe(false);
    expect(isDuplicateKey(named('MongoNetworkError'))).toBe(false);
    expect(isDuplicateKey(new Error('E11000 in a message only'))).toBe(false);
    expect(isDuplicateKey({ code: '11000' })).toBe(false);
    expect(isDuplicateKey(11000)).toBe(false);
    expect(isDuplicateKey(null)).toBe(false);
    expect(isDuplicateKey(undefined)).toBe(false);
  });

  it('duplicateKeyIndexes: the indexes of a duplicates-only bulk error, 0 for a single write\'s; any other error is rethrown', () => {
    expect(duplicateKeyIndexes(bulkError([11000, 11000]))).toEqual([0, 2]);
    expect(duplicateKeyIndexes({ writeErrors: [{ err: { code: 11000, index: 3 } }] })).toEqual([3]);
    // insertOne: the driver throws a MongoServerError made from the one write error (index 0), no writeErrors
    expect(duplicateKeyIndexes(Object.assign(mongoServerError(11000), { index: 0 }))).toEqual([0]);
    expect(duplicateKeyIndexes(mongoServerError(11000))).toEqual([0]);
    const mixed = bulkError([11000, 121]);
    expect(() => duplicateKeyIndexes(mixed)).toThrow(mixed);
    const other = mongoServerError(121);
    expect(() => duplicateKeyIndexes(other)).toThrow(other);
    const net = named('MongoNetworkError');
    expect(() => duplicateKeyIndexes(net)).toThrow(net);
  });
});
