import type { Admin } from 'kafkajs';
import { groupStatus, partitionStatus, type GroupStatus, type OffsetSample } from './lagStatus';

////////// Consumer lag of a deployment: readings of the committed and end offsets of every
// consumer group under a topic prefix, and the report (lag per partition, a status per
// group by the rules of lagStatus.ts) built from a series of readings. Used by the SRE CLI
// (sicantik-ops lag) and the delivery-tracker's lag endpoint (the dashboard).

/** One reading: per group, per "topic|partition", the committed and end offsets; groups without any commit apart. */
export interface OffsetReading { at: number; groups: Map<string, Map<string, { committed: bigint; end: bigint }>>; uncommitted: string[] }

export interface LagPartition { topic: string; partition: number; committed: number; end: number; lag: number; lagChange: number; committedPerSecond: number; status: GroupStatus }
export interface LagReport {
  prefix: string;
  samples: number;
  /** The time of the first and of the last reading (epoch ms). */
  from: number;
  asOf: number;
  groups: { group: string; status: GroupStatus; lag: number; partitions: LagPartition[] }[];
  /** Groups of the deployment with no committed offset (throw-away followers and readers): listed, no status. */
  uncommitted: string[];
}

/** Reads every group's committed offsets under `prefix` and the end offsets of their topics. */
export async function readOffsets(admin: Admin, prefix: string, now: () => number = Date.now): Promise<OffsetReading> {
  const { groups: listed } = await admin.listGroups();
  const ids = listed.map((g) => g.groupId).filter((g) => g.startsWith(prefix)).sort();
  const ends = new Map<string, { low: bigint; high: bigint }[]>();
  const endsOf = async (topic: string) => {
    let e = ends.get(topic);
    if (!e) {
      const offs = await admin.fetchTopicOffsets(topic);
      e = [];
      for (const o of offs) e[o.partition] = { low: BigInt(o.low), high: BigInt(o.high) };
      ends.set(topic, e);
    }
    return e;
  };
  const at = now();
  const groups = new Map<string, Map<string, { committed: bigint; end: bigint }>>();
  const uncommitted: string[] = [];
  for (const groupId of ids) {
    const offsets = await admin.fetchOffsets({ groupId });
    const parts = new Map<string, { committed: bigint; end: bigint }>();
    let any = false;
    for (const t of offsets) {
      const e = await endsOf(t.topic);
      for (const p of t.partitions) {
        const w = e[p.partition];
        if (!w) continue;
        const c = BigInt(p.offset);
        if (c >= 0n) any = true;
        // A partition the group never committed reads from the start (the services read fromBeginning).
        parts.set(`${t.topic}|${p.partition}`, { committed: c >= 0n ? c : w.low, end: w.high });
      }
    }
    if (any) groups.set(groupId, parts); else uncommitted.push(groupId);
  }
  return { at, groups, uncommitted };
}

/** The report of a series of readings (oldest first, at least one): the groups of the last one, each partition judged over the series. */
export function lagReport(prefix: string, readings: readonly OffsetReading[]): LagReport {
  if (readings.length === 0) throw new Error('lagReport needs at least one reading');
  const last = readings[readings.length - 1]!;
  const groups: LagReport['groups'] = [];
  for (const [group, parts] of last.groups) {
    const rows: LagPartition[] = [];
    for (const [key, now] of parts) {
      const series: OffsetSample[] = [];
      for (const r of readings) {
        const s = r.groups.get(group)?.get(key);
        if (s) series.push({ at: r.at, ...s });
      }
      const v = partitionStatus(series);
      const sep = key.lastIndexOf('|');
      const physical = key.slice(0, sep);
      rows.push({
        topic: physical.startsWith(prefix) ? physical.slice(prefix.length) : physical, partition: Number(key.slice(sep + 1)),
        committed: Number(now.committed), end: Number(now.end), lag: Number(v.lag), lagChange: Number(v.lagChange),
        committedPerSecond: Math.round(v.committedPerSecond * 10) / 10, status: v.status,
      });
    }
    rows.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic.localeCompare(b.topic)));
    groups.push({ group, status: groupStatus(rows.map((r) => ({ ...r, lag: BigInt(r.lag), lagChange: BigInt(r.lagChange) }))), lag: rows.reduce((s, r) => s + r.lag, 0), partitions: rows });
  }
  return { prefix, samples: readings.length, from: readings[0]!.at, asOf: last.at, groups, uncommitted: last.uncommitted };
}
