import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { main, type CliIo } from './cli';

////////// sicantik-planner's exit status: 0 for --help and for runs that were done; 1 when the
// admin API refused or failed a run, or the command line is wrong. A stand-in planner
// answers on a local port (this is the CLI's logic; the e2e suite runs it against the real one).

describe('sicantik-planner exit status', () => {
  let server: Server;
  let url = '';
  const asked: string[] = [];
  const auths: (string | undefined)[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += String(c); });
      req.on('end', () => {
        asked.push(body);
        auths.push(req.headers.authorization);
        const { date } = JSON.parse(body) as { date: string };
        res.setHeader('content-type', 'application/json');
        if (date > '2026-12-01') { res.statusCode = 400; res.end(JSON.stringify({ error: 'validation_failed', issues: [{ path: 'date', message: 'is after today' }] })); return; }
        res.end(JSON.stringify({ date, planned: 1, skipped: 0, duplicates: 0 }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => { await new Promise((r) => server.close(r)); });

  const run = async (args: string[], env: NodeJS.ProcessEnv = { PLANNER_URL: url, ADMIN_API_TOKEN: 'unit-admin-token-000001' }) => {
    let out = '';
    let err = '';
    const io: CliIo = { out: (s) => { out += s; }, err: (s) => { err += s; }, env };
    return { code: await main(['node', 'sicantik-planner', ...args], io), out, err };
  };

  it('--help: usage on stdout, exit 0 (also for each command)', async () => {
    const top = await run(['--help']);
    expect([top.code, top.err]).toEqual([0, '']);
    expect(top.out).toMatch(/^Usage: sicantik-planner \[options\] \[command\]/);
    expect(top.out).toContain('PLANNER_URL');
    const daily = await run(['run-daily', '--help']);
    expect([daily.code, daily.out.split('\n')[0]]).toEqual([0, 'Usage: sicantik-planner run-daily [options]']);
  });

  it('runs that were done: one line each, exit 0', async () => {
    const r = await run(['run-daily', '--from', '2026-11-29', '--to', '2026-11-30']);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out.trim().split('\n').map((l) => JSON.parse(l).date)).toEqual(['2026-11-29', '2026-11-30']);
  });

  it('a run the planner refused: the answer on stderr, exit 1 (the dates before it were done and printed)', async () => {
    const r = await run(['run-daily', '--from', '2026-12-01', '--to', '2026-12-02']);
    expect(r.code).toBe(1);
    expect(r.out.trim().split('\n').map((l) => JSON.parse(l).date)).toEqual(['2026-12-01']);
    expect(r.err).toBe(`sicantik-planner: 400 from ${url}/v1/admin/schedules/daily/run: {"error":"validation_failed","issues":[{"path":"date","message":"is after today"}]}\n`);
  });

  it('sends the caller\'s own key (SICANTIK_API_KEY) when set, else ADMIN_API_TOKEN; the API checks its role', async () => {
    auths.length = 0;
    await run(['run-daily', '--date', '2026-11-30'], { PLANNER_URL: url, SICANTIK_API_KEY: 'my-own-key-00000000001', ADMIN_API_TOKEN: 'unit-admin-token-000001' });
    await run(['run-daily', '--date', '2026-11-30']);
    expect(auths).toEqual(['Bearer my-own-key-00000000001', 'Bearer unit-admin-token-000001']);
  });

  it('a wrong command line or a missing token: exit 1 with the reason, nothing asked', async () => {
    const before = asked.length;
    expect(await run(['run-daily'])).toEqual({ code: 1, out: '', err: 'sicantik-planner: give --date, or --from and --to\n' });
    expect(await run(['run-daily', '--date', '1 Dec'])).toEqual({ code: 1, out: '', err: expect.stringContaining('must be a date yyyy-MM-dd') });
    expect(await run(['no-such-command'])).toEqual({ code: 1, out: '', err: expect.stringContaining("unknown command 'no-such-command'") });
    expect(await run(['run-daily', '--date', '2026-11-30'], { PLANNER_URL: url })).toEqual({ code: 1, out: '', err: 'sicantik-planner: neither SICANTIK_API_KEY nor ADMIN_API_TOKEN is set\n' });
    expect(asked.length).toBe(before);
  });
});
