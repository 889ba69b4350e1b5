import { main, type CliIo } from './cli';

////////// sicantik-dispatcher's command line: --help exits 0, a wrong command line or a missing
// token exits 1. Its exit status for a failed check or test send, against the provider
// simulator: adapters/http/checks.int.spec.ts.

const run = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
  let out = '';
  let err = '';
  const io: CliIo = { out: (s) => { out += s; }, err: (s) => { err += s; }, env };
  return { code: await main(['node', 'sicantik-dispatcher', ...args], io), out, err };
};

describe('sicantik-dispatcher command line', () => {
  it('--help: usage with the environment and the exit status, exit 0 (also for each command)', async () => {
    const top = await run(['--help']);
    expect([top.code, top.err]).toEqual([0, '']);
    expect(top.out).toMatch(/^Usage: sicantik-dispatcher \[options\] \[command\]/);
    for (const word of ['providers', 'check', 'test-send', 'in-doubt', 'DISPATCHER_URL', 'ADMIN_API_TOKEN', 'Exit status']) expect(top.out).toContain(word);
    for (const c of ['providers', 'check', 'test-send', 'in-doubt']) {
      const r = await run([c, '--help']);
      expect([c, r.code, r.out.split('\n')[0]!.startsWith(`Usage: sicantik-dispatcher ${c} `)]).toEqual([c, 0, true]);
    }
  });

  it('a wrong command line or a missing token: exit 1 with the reason on stderr', async () => {
    expect(await run(['check'])).toEqual({ code: 1, out: '', err: "error: missing required argument 'provider'\n" });
    expect(await run(['test-send'])).toEqual({ code: 1, out: '', err: "error: required option '--to <phone>' not specified\n" });
    expect(await run(['check', 'meta'])).toEqual({ code: 1, out: '', err: 'sicantik-dispatcher: neither SICANTIK_API_KEY nor ADMIN_API_TOKEN is set\n' });
  });
});
