import { Command, InvalidArgumentError } from 'commander';
import { lagReport, readOffsets, STATUS_RULES, type LagReport, type OffsetReading } from '@sicantik/kafka';
import { kafkaOf, loadOpsConfig, progress, type CliIo } from '../context';

////////// sicantik-ops lag: every consumer group of the deployment, lag per partition, a status
// (the readings and the rules: @sicantik/kafka lag.ts and lagStatus.ts, shared with the
// delivery-tracker's lag endpoint).

async function sampleLag(io: CliIo, opts: { samples: number; intervalSeconds: number }): Promise<LagReport & { intervalSeconds: number }> {
  const cfg = loadOpsConfig(io);
  const admin = kafkaOf(cfg).admin();
  await admin.connect();
  try {
    const readings: OffsetReading[] = [];
    const bar = progress(io, 'sampling offsets', opts.samples);
    for (let i = 0; i < opts.samples; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, opts.intervalSeconds * 1000));
      readings.push(await readOffsets(admin, cfg.TOPIC_PREFIX));
      bar.tick();
    }
    bar.stop();
    return { ...lagReport(cfg.TOPIC_PREFIX, readings), intervalSeconds: opts.intervalSeconds };
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
      const r = await sampleLag(io, { samples: o.samples, intervalSeconds: o.interval });
      io.out(o.json ? `${JSON.stringify(r, null, 2)}\n` : formatLag(r));
    });
}
