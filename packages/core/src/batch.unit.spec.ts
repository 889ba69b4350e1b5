import fc from 'fast-check';
import { groupCommit } from './batch';

describe('groupCommit', () => {
  it('runs the first call alone, then everything that arrived meanwhile as one batch, results in order', async () => {
    const batches: number[][] = [];
    const double = groupCommit(async (xs: number[]) => { batches.push(xs); await new Promise((r) => setTimeout(r, 5)); return xs.map((x) => x * 2); });
    const out = await Promise.all([1, 2, 3, 4].map((x) => double(x)));
    expect(out).toEqual([2, 4, 6, 8]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });
  it('a failed batch rejects each of its callers; the next batch runs', async () => {
    let n = 0;
    const f = groupCommit(async (xs: string[]) => { if (n++ === 1) throw new Error('down'); await new Promise((r) => setTimeout(r, 1)); return xs; });
    const [a, b, c] = await Promise.allSettled([f('a'), f('b'), f('c')]);
    expect([a.status, b.status, c.status]).toEqual(['fulfilled', 'rejected', 'rejected']);
    await expect(f('d')).resolves.toBe('d');
  });
  it('property: every call gets its own result, whatever the arrival pattern', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 30 }), async (delays) => {
      const f = groupCommit(async (xs: number[]) => { await new Promise((r) => setTimeout(r, 1)); return xs.map((x) => x + 1000); });
      const out = await Promise.all(delays.map(async (d, i) => { await new Promise((r) => setTimeout(r, d)); return f(i); }));
      expect(out).toEqual(delays.map((_, i) => i + 1000));
    }), { numRuns: 30 });
  });
});
