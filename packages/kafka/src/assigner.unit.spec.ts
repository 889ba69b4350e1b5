import fc from 'fast-check';
import { coPartition } from './assigner';

describe('co-partitioned assignment', () => {
  it('gives partition p of every topic to the same member', () => {
    expect(coPartition(['b', 'a'], { events: 3, changelog: 3, single: 1 })).toEqual({
      a: { events: [0, 2], changelog: [0, 2], single: [0] },
      b: { events: [1], changelog: [1] },
    });
  });
  it('property: each partition of each topic has exactly one owner, and that owner is the same for every topic with the partition', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 24 }), (members, n) => {
      const plan = coPartition(members, { a: n, b: n });
      for (let p = 0; p < n; p++) {
        const ownersA = members.filter((m) => plan[m]!.a?.includes(p));
        const ownersB = members.filter((m) => plan[m]!.b?.includes(p));
        expect(ownersA).toHaveLength(1);
        expect(ownersB).toEqual(ownersA);
      }
    }));
  });
});
