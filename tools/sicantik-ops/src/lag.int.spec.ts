import { Kafka, logLevel } from 'kafkajs';
import { stack, uniq, waitFor } from '../../../test/support';
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
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'it', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  const follower = kafka.consumer({ groupId: `${prefix}follower` });
  const topic = `${prefix}permit.events`;

  beforeAll(async () => {
    await admin.connect();
    await producer.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `a${i}` })) });
    await producer.send({ topic, messages: Array.from({ length: 4 }, (_, i) => ({ partition: 1, value: `b${i}` })) });
    // behind: 6 records waiting on partition 0, nothing moves -> stalled; done: all read, nothing new -> idle.
    await admin.setOffsets({ groupId: `${prefix}behind`, topic, partitions: [{ partition: 0, offset: '4' }, { partition: 1, offset: '4' }] });
    await admin.setOffsets({ groupId: `${prefix}done`, topic, partitions: [{ partition: 0, offset: '10' }, { partition: 1, offset: '4' }] });
    // A follower that reads and never commits (the services' throw-away groups).
    await follower.connect();
    await follower.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    await follower.run({ autoCommit: false, eachMessage: async () => { seen++; } });
    await waitFor(async () => seen >= 14, { what: 'the follower read everything' });
  });
  afterAll(async () => {
    await follower.disconnect();
    await producer.disconnect();
    await admin.disconnect();
  });

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
