////////// Consumer-group status from the recent offset series (pure: samples are passed in)
// A sample of one partition is (time, committed, end): the group's committed offset and
// the partition's end offset (high watermark) read at that time; lag = end - committed.
// The rules, over the samples of a window (oldest first), per partition:
//   - lag at the last sample is 0, and the end offset moved in the window -> ok
//   - lag at the last sample is 0, and the end offset did not move        -> idle
//   - lag > 0 at the last sample, committed offset moved in the window    -> catching up
//   - lag > 0 at the last sample, committed offset did not move           -> stalled
// and per group, the worst partition wins: stalled > catching up > ok > idle
// (a group is idle only when every partition is idle). One sample cannot show movement:
// lag 0 then counts as idle and lag > 0 as stalled, so take at least two samples.
// A partition paused on purpose (the planner's deferrals) with records waiting shows as
// stalled until it resumes: read `stalled` as "look at this group".

export type GroupStatus = 'ok' | 'catching up' | 'stalled' | 'idle';

export interface OffsetSample {
  /** Epoch milliseconds the offsets were read. */
  at: number;
  /** The group's committed offset (the next record it will read). */
  committed: bigint;
  /** The partition's end offset (high watermark). */
  end: bigint;
}

export interface PartitionVerdict {
  status: GroupStatus;
  /** Lag at the last sample. */
  lag: bigint;
  /** Lag at the last sample minus lag at the first (negative: shrinking). */
  lagChange: bigint;
  /** Records committed per second over the window (0 with one sample). */
  committedPerSecond: number;
}

const RANK: Record<GroupStatus, number> = { idle: 0, ok: 1, 'catching up': 2, stalled: 3 };

/** The status of one partition from its samples (oldest first; at least one). */
export function partitionStatus(samples: readonly OffsetSample[]): PartitionVerdict {
  if (samples.length === 0) throw new Error('partitionStatus needs at least one sample');
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const lagOf = (s: OffsetSample) => (s.end > s.committed ? s.end - s.committed : 0n);
  const lag = lagOf(last);
  const committedMoved = last.committed > first.committed;
  const endMoved = last.end > first.end;
  const seconds = (last.at - first.at) / 1000;
  const committedPerSecond = seconds > 0 ? Number(last.committed - first.committed) / seconds : 0;
  const status: GroupStatus = lag === 0n ? (endMoved ? 'ok' : 'idle') : committedMoved ? 'catching up' : 'stalled';
  return { status, lag, lagChange: lag - lagOf(first), committedPerSecond };
}

/** The group's status: its worst partition's (stalled > catching up > ok > idle); idle with no partitions. */
export function groupStatus(partitions: readonly PartitionVerdict[]): GroupStatus {
  let worst: GroupStatus = 'idle';
  for (const p of partitions) if (RANK[p.status] > RANK[worst]) worst = p.status;
  return worst;
}

/** The lines of the rules, for the CLI's help and the README. */
export const STATUS_RULES = `Status per partition, over the samples of the window (lag = end offset - committed):
  ok           lag 0 at the last sample, new records arrived in the window
  idle         lag 0 at the last sample, no new records in the window
  catching up  lag > 0 at the last sample, the committed offset advanced in the window
  stalled      lag > 0 at the last sample, the committed offset did not move
A group takes its worst partition's status (stalled > catching up > ok > idle).`;
