import { waitForOffsets } from './keyring';

////////// Catching up: resolves once each partition's handled offset reaches its end.

describe('waitForOffsets', () => {
  it('resolves at once when every partition is at its end or empty', async () => {
    const applied = new Map([[0, 9n]]);
    await expect(waitForOffsets([{ partition: 0, high: '10', low: '0' }, { partition: 1, high: '5', low: '5' }], applied, () => undefined, 1000, 't')).resolves.toBeUndefined();
  });

  it('waits for progress on every partition behind, woken by each progress report', async () => {
    const applied = new Map<number, bigint>([[0, 3n]]);
    const wakers: (() => void)[] = [];
    let done = false;
    const p = waitForOffsets([{ partition: 0, high: '10', low: '0' }, { partition: 1, high: '2', low: '0' }], applied, (w) => wakers.push(w), 5000, 't').then(() => { done = true; });
    await new Promise((r) => setTimeout(r, 20));
    applied.set(0, 9n);
    wakers.splice(0).forEach((w) => w());
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false); // partition 1 has handled nothing yet
    applied.set(1, 1n);
    wakers.splice(0).forEach((w) => w());
    await p;
    expect(done).toBe(true);
  });

  it('gives up with a retriable error after its time', async () => {
    await expect(waitForOffsets([{ partition: 0, high: '10', low: '0' }], new Map(), () => undefined, 50, 'subject.keys'))
      .rejects.toMatchObject({ retriable: true, message: 'timed out reading subject.keys to its end' });
  });
});
