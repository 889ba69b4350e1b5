import { groupStatus, partitionStatus, type OffsetSample } from './lagStatus';

// Recorded series (time, committed, end), oldest first, 5 s apart.
const series = (rows: [number, number, number][]): OffsetSample[] => rows.map(([at, committed, end]) => ({ at, committed: BigInt(committed), end: BigInt(end) }));

describe('consumer-group status from the offset series', () => {
  it('lag flat at 0 while records flow: ok', () => {
    expect(partitionStatus(series([[0, 100, 100], [5000, 140, 140], [10_000, 190, 190]]))).toEqual({ status: 'ok', lag: 0n, lagChange: 0n, committedPerSecond: 9 });
  });

  it('lag large, committed advancing and lag shrinking: catching up', () => {
    expect(partitionStatus(series([[0, 1000, 50_000], [5000, 6000, 50_500], [10_000, 11_000, 51_000]]))).toEqual({ status: 'catching up', lag: 40_000n, lagChange: -9_000n, committedPerSecond: 1000 });
  });

  it('lag > 0 and committed not moving: stalled (whether or not new records arrive)', () => {
    expect(partitionStatus(series([[0, 700, 720], [5000, 700, 720], [10_000, 700, 725]]))).toEqual({ status: 'stalled', lag: 25n, lagChange: 5n, committedPerSecond: 0 });
    expect(partitionStatus(series([[0, 700, 720], [10_000, 700, 720]])).status).toBe('stalled');
  });

  it('no new records and lag 0: idle', () => {
    expect(partitionStatus(series([[0, 42, 42], [5000, 42, 42], [10_000, 42, 42]]))).toEqual({ status: 'idle', lag: 0n, lagChange: 0n, committedPerSecond: 0 });
  });

  it('lag that came and went within the window counts by the last sample: ok', () => {
    expect(partitionStatus(series([[0, 10, 10], [5000, 10, 30], [10_000, 30, 30]])).status).toBe('ok');
  });

  it('one sample cannot show movement: lag 0 is idle, lag > 0 is stalled', () => {
    expect(partitionStatus(series([[0, 5, 5]])).status).toBe('idle');
    expect(partitionStatus(series([[0, 5, 9]]))).toEqual({ status: 'stalled', lag: 4n, lagChange: 0n, committedPerSecond: 0 });
  });

  it('a group takes its worst partition\'s status', () => {
    const v = (rows: [number, number, number][]) => partitionStatus(series(rows));
    const idle = v([[0, 1, 1], [1000, 1, 1]]);
    const ok = v([[0, 1, 1], [1000, 2, 2]]);
    const catching = v([[0, 1, 9], [1000, 2, 9]]);
    const stalled = v([[0, 1, 9], [1000, 1, 9]]);
    expect(groupStatus([])).toBe('idle');
    expect(groupStatus([idle, idle])).toBe('idle');
    expect(groupStatus([idle, ok])).toBe('ok');
    expect(groupStatus([ok, catching, idle])).toBe('catching up');
    expect(groupStatus([catching, stalled, ok])).toBe('stalled');
  });

  it('needs at least one sample', () => {
    expect(() => partitionStatus([])).toThrow('at least one sample');
  });
});
