import type { Admin } from 'kafkajs';
import { Command, InvalidArgumentError } from 'commander';
import { groupStatus, partitionStatus, STATUS_RULES, type GroupStatus, type OffsetSample } from '../domain/lagStatus';
import { kafkaOf, loadOpsConfig, progress, type CliIo } from '../context';

////////// sicantik-ops lag: every consumer group of the deployment, lag per partition, a status

interface PartitionRow { topic: string; partition: number; committed: number; end: number; lag: number; lagChange: number; committedPerSecond: number; status: GroupStatus }
interface LagReport {
  prefix: string;
  samples: number;
  intervalSeconds: number;
  groups: { group: string; status: GroupStatus; lag: number; partitions: PartitionRow[] }[];
  /** Groups of the deployment with no committed offset (throw-away followers and readers): listed, no status. */
  uncommitted: string[];
}

/** One reading: per group, per "topic|partition", the committed and end offsets; groups without any commit apart. */
async function sample(admin: Admin, prefix: string): Promise<{ at: number; groups: Map<string, Map<string, { committed: bigint; end: bigint }>>; uncommitted: string[] }> {
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
  const at = Date.now();
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

async function lagReport(io: CliIo, opts: { samples: number; intervalSeconds: number }): Promise<LagReport> {
  const cfg = loadOpsConfig(io);
  const admin = kafkaOf(cfg).admin();
  await admin.connect();
  try {
    const readings: Awaited<ReturnType<typeof sample>>[] = [];
    const bar = progress(io, 'sampling offsets', opts.samples);
    for (let i = 0; i < opts.samples; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, opts.intervalSeconds * 1000));
      readings.push(await sample(admin, cfg.TOPIC_PREFIX));
      bar.tick();
    }
    bar.stop();
    const last = readings[readings.length - 1]!;
    const groups: LagReport['groups'] = [];
    for (const [group, parts] of last.groups) {
      const rows: PartitionRow[] = [];
      for (const [key, now] of parts) {
        const series: OffsetSample[] = [];
        for (const r of readings) {
          const s = r.groups.get(group)?.get(key);
          if (s) series.push({ at: r.at, ...s });
        }
        if (series.length === 0) series.push({ at: last.at, ...now });
        const v = partitionStatus(series);
        const sep = key.lastIndexOf('|');
        const physical = key.slice(0, sep);
        rows.push({
          topic: physical.startsWith(cfg.TOPIC_PREFIX) ? physical.slice(cfg.TOPIC_PREFIX.length) : physical, partition: Number(key.slice(sep + 1)),
          committed: Number(now.committed), end: Number(now.end), lag: Number(v.lag), lagChange: Number(v.lagChange),
          committedPerSecond: Math.round(v.committedPerSecond * 10) / 10, status: v.status,
        });
      }
      rows.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic.localeCompare(b.topic)));
      groups.push({ group, status: groupStatus(rows.map((r) => ({ ...r, lag: BigInt(r.lag), lagChange: BigInt(r.lagChange) }))), lag: rows.reduce((s, r) => s + r.lag, 0), partitions: rows });
    }
    return { prefix: cfg.TOPIC_PREFIX, samples: opts.samples, intervalSeconds: opts.intervalSeconds, groups, uncommitted: last.uncommitted };
  } finally {
    await admin.disconnect();
  }
}

function formatLag(r: LagReport): string {
  const lines: string[] = [];
  if (r.groups.length === 0) lines.push(`no consumer group with committed offsets under the prefix "${r.prefix}"`);
  for (const g of r.groups) {
    lines.push(`${g.group}  ${g.status}  lag ${g.lag}`);
    for (const p of g.partitions) {
      const change = p.lagChange === 0 ? '' : `  (${p.lagChange > 0 ? '+' : ''}${p.lagChange})`;
      lines.push(`  ${p.topic}[${p.partition}]  committed ${p.committed}  end ${p.end}  lag ${p.lag}${change}  ${p.status}`);
    }
  }
  if (r.uncommitted.length) lines.push(`groups with no committed offset (followers, readers; no status): ${r.uncommitted.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

const positiveInt = (name: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
  return n;
};
const seconds = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 3600) throw new InvalidArgumentError('seconds between 0 and 3600');
  return n;
};

export function lagCommand(io: CliIo): Command {
  return new Command('lag')
    .description('every consumer group of the deployment (TOPIC_PREFIX): lag per partition and a status (ok, catching up, stalled, idle)')
    .option('--samples <n>', 'readings of the offsets (at least 1; 2 or more to see movement)', positiveInt('--samples', 1), 3)
    .option('--interval <seconds>', 'seconds between readings', seconds, 2)
    .option('--json', 'print JSON')
    .addHelpText('after', `
${STATUS_RULES}
Groups with no committed offset at all (the services' throw-away follower groups, readers)
are listed apart, without a status.

Examples:
  sicantik-ops lag                          3 readings 2 s apart
  sicantik-ops lag --samples 6 --interval 10 --json`)
    .action(async (o: { samples: number; interval: number; json?: boolean }) => {
      const r = await lagReport(io, { samples: o.samples, intervalSeconds: o.interval });
      io.out(o.json ? `${JSON.stringify(r, null, 2)}\n` : formatLag(r));
    });
}
