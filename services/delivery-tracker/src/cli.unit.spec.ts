import { main, type CliIo } from './cli';

////////// sicantik-tracker's command line: --help exits 0; a rebuild that cannot run exits 1 with
// the reason (a rebuild that runs: test/e2e/tracker-rebuild.e2e.spec.ts).

const run = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
  let out = '';
  let err = '';
  const io: CliIo = { out: (s) => { out += s; }, err: (s) => { err += s; }, env };
  return { code: await main(['node', 'sicantik-tracker', ...args], io), out, err };
};

describe('sicantik-tracker command line', () => {
  it('--help: exit 0; rebuild --help names its settings', async () => {
    const top = await run(['--help']);
    expect([top.code, top.err]).toEqual([0, '']);
    expect(top.out).toMatch(/^Usage: sicantik-tracker \[options\] \[command\]/);
    const rebuild = await run(['rebuild', '--help']);
    expect([rebuild.code, rebuild.out.split('\n')[0]]).toEqual([0, 'Usage: sicantik-tracker rebuild [options]']);
    for (const v of ['MONGO_DB', 'CONSUMER_GROUP', 'RETENTION_DAYS', 'KAFKA_BROKERS', 'Exit status']) expect(rebuild.out).toContain(v);
  });

  it('a rebuild without its settings: exit 1, the missing setting named, nothing printed on stdout', async () => {
    const r = await run(['rebuild'], {});
    expect([r.code, r.out]).toEqual([1, '']);
    expect(r.err).toMatch(/^sicantik-tracker: rebuild failed: invalid configuration:/);
    expect(r.err).toContain('MONGO_DB: is required but not set');
  });

  it('an unknown command: exit 1', async () => {
    expect(await run(['rebuilt'])).toEqual({ code: 1, out: '', err: expect.stringContaining("unknown command 'rebuilt'") });
  });
});
