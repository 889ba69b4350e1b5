import { untilAvailable } from './follow';

describe('untilAvailable (start-up calls against a broker that just restarted)', () => {
  it('retries retriable Kafka errors until the call succeeds', async () => {
    let calls = 0;
    const r = await untilAvailable(async () => {
      if (++calls < 3) throw Object.assign(new Error('This server is not the leader for that topic-partition'), { retriable: true });
      return 'offsets';
    });
    expect([r, calls]).toEqual(['offsets', 3]);
  });
  it('gives up at once on other errors, and after the deadline on retriable ones', async () => {
    let calls = 0;
    await expect(untilAvailable(async () => { calls++; throw new Error('topic does not exist'); })).rejects.toThrow('topic does not exist');
    expect(calls).toBe(1);
    await expect(untilAvailable(async () => { throw Object.assign(new Error('leader not available'), { retriable: true }); }, 50)).rejects.toThrow('leader not available');
  });
});
