import { Kafka, logLevel } from 'kafkajs';
import { classifyError } from '@sicantik/core';
import { freePort } from '../../../test/support';

////////// classifyError on real errors from peers that are not there (no stack needed): what
// kafkajs and fetch actually throw when the broker or the registry is unreachable is
// known-retriable, so the consumer loop waits for it and never dead-letters a record.

describe('classifyError on real errors of unreachable peers', () => {
  it('kafkajs connecting to a closed port (after its own retries): retriable', async () => {
    const port = await freePort();
    const producer = new Kafka({ brokers: [`127.0.0.1:${port}`], clientId: 'it', logLevel: logLevel.NOTHING, connectionTimeout: 300, retry: { retries: 1, initialRetryTime: 50 } }).producer();
    const err = await producer.connect().then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ name: 'KafkaJSNumberOfRetriesExceeded', retriable: false });
    expect(classifyError(err)).toBe('retriable');
  });

  it('fetch to a closed port (TypeError: fetch failed, caused by ECONNREFUSED): retriable', async () => {
    const port = await freePort();
    const err = await fetch(`http://127.0.0.1:${port}/`).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ name: 'TypeError', message: 'fetch failed', cause: { code: 'ECONNREFUSED' } });
    expect(classifyError(err)).toBe('retriable');
  });
});
