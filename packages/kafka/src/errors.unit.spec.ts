import {
  KafkaJSConnectionError, KafkaJSError, KafkaJSGroupCoordinatorNotFound, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError, KafkaJSRequestTimeoutError, KafkaJSTimeout,
} from 'kafkajs';
import { classifyError, TransientError } from '@sicantik/core';

////////// classifyError on kafkajs' own error classes (the loop meets them from producers,
// admin calls and changelog readers): unavailability is retriable, kafkajs' other
// non-retriable errors are unknown (bounded retries), never permanent.

/** kafkajs' typings lag its constructors (a protocol error takes { message, type, code, retriable }). */
const make = (C: unknown, ...args: unknown[]) => new (C as new (...a: unknown[]) => Error & { retriable: boolean })(...args);

describe('classifyError with kafkajs errors', () => {
  it('a broker that cannot be reached or answers "not now" is retriable', () => {
    expect(classifyError(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { broker: '127.0.0.1:9092', code: 'ECONNREFUSED' }))).toBe('retriable');
    expect(classifyError(new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out'))).toBe('retriable');
    expect(classifyError(make(KafkaJSProtocolError, { message: 'This server is not the leader for that topic-partition', type: 'NOT_LEADER_FOR_PARTITION', code: 6, retriable: true }))).toBe('retriable');
    expect(classifyError(new KafkaJSError('There is no leader for this topic-partition'))).toBe('retriable'); // kafkajs' default flag is true
    // kafkajs calls these non-retriable, but they mean the cluster did not answer in time
    const gaveUp = new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('Connection timeout'), { retryCount: 5, retryTime: 3000 });
    expect(gaveUp.retriable).toBe(false);
    expect(classifyError(gaveUp)).toBe('retriable');
    expect(classifyError(make(KafkaJSTimeout, 'Timeout while acquiring lock'))).toBe('retriable');
    expect(classifyError(make(KafkaJSGroupCoordinatorNotFound, 'Failed to find group coordinator'))).toBe('retriable');
    // what EventProducer throws when a produce request fails
    expect(classifyError(new TransientError('produce failed: Connection error', gaveUp))).toBe('retriable');
  });

  it('kafkajs\' other non-retriable errors are unknown: retried a few times, then dead-lettered', () => {
    expect(classifyError(make(KafkaJSProtocolError, { message: 'Producer attempted an operation with an old epoch', type: 'INVALID_PRODUCER_EPOCH', code: 47, retriable: false }))).toBe('unknown');
    expect(classifyError(new KafkaJSNonRetriableError(new TypeError('x is not a function')))).toBe('unknown');
    expect(classifyError(make(KafkaJSProtocolError, { message: 'The request included a message larger than the max message size the server will accept', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false }))).toBe('unknown');
  });
});
