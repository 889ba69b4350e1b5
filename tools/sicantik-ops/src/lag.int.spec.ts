import { stack, uniq } from '../../../test/support';
import { lagFixture, type LagFixture } from '../../../test/support/lagFixture';
import { main } from './cli';
import type { CliIo } from './context';

////////// `sicantik-ops lag` against the real broker: groups with known lags (offsets committed
// with the admin client) and a group that never commits.

const run = async (prefix: string, args: string[]) => {
  let out = '';
  let err = '';
  const io: CliIo = { out: (s) => { out += s; }, err: (s) => { err += s; }, env: { KAFKA_BROKERS: stack.brokers.join(','), TOPIC_PREFIX: prefix }, isTTY: false };
  const code = await main(['node', 'sicantik-ops', ...args], io);
  return { code, out, err };
};

describe('sicantik-ops lag', () => {
  const prefix = `${uniq('it-ops-lag-')}.`;
  let fx: LagFixture;
  beforeAll(async () => { fx = await lagFixture(prefix); });
  afterAll(async () => { await fx.close(); });

  it('lists every group of the prefix with its lag per partition and status; the group that never commits apart', async () => {
    const r = await run(prefix, ['lag', '--samples', '2', '--interval', '0.5', '--json']);
    expect(r.code).toBe(0);
    const row = (partition: number, committed: number, end: number, status: string) => ({ topic: 'permit.events', partition, committed, end, lag: end - committed, lagChange: 0, committedPerSecond: 0, status });
    const report = JSON.parse(r.out) as { from: number; asOf: number };
    expect(report.asOf - report.from).toBeGreaterThanOrEqual(500); // the first and the last reading's times
    expect(report).toEqual({
      prefix, samples: 2, intervalSeconds: 0.5, from: report.from, asOf: report.asOf,
      groups: [
        { group: `${prefix}behind`, status: 'stalled', lag: 6, partitions: [row(0, 4, 10, 'stalled'), row(1, 4, 4, 'idle')] },
        { group: `${prefix}done`, status: 'idle', lag: 0, partitions: [row(0, 10, 10, 'idle'), row(1, 4, 4, 'idle')] },
      ],
      uncommitted: [`${prefix}follower`],
    });
    expect(r.err).toBe('sampling offsets: 2\nsampling offsets: 2 done\n');
  });

  it('prints the same as text', async () => {
    const r = await run(prefix, ['lag', '--samples', '1']);
    expect(r.code).toBe(0);
    expect(r.out).toBe([
      `${prefix}behind  stalled  lag 6`,
      '  permit.events[0]  committed 4  end 10  lag 6  stalled',
      '  permit.events[1]  committed 4  end 4  lag 0  idle',
      `${prefix}done  idle  lag 0`,
      '  permit.events[0]  committed 10  end 10  lag 0  idle',
      '  permit.events[1]  committed 4  end 4  lag 0  idle',
      `groups with no committed offset (followers, readers; no status): ${prefix}follower`,
      '',
    ].join('\n'));
  });

  it('a bad flag is a usage error (exit 1) and help exits 0 with the status rules', async () => {
    const bad = await run(prefix, ['lag', '--samples', '0']);
    expect(bad).toEqual({ code: 1, out: '', err: "error: option '--samples <n>' argument '0' is invalid. --samples must be an integer >= 1\n" });
    const help = await run(prefix, ['lag', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('stalled      lag > 0 at the last sample, the committed offset did not move');
  });
});
