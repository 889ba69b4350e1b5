import { randomBytes } from 'node:crypto';
import { main } from './cli';
import { parseMasterKeys } from './settings';

describe('sicantik-privacy', () => {
  const run = async (argv: string[], env: Record<string, string | undefined> = {}) => {
    let out = '';
    let err = '';
    const code = await main(['node', 'sicantik-privacy', ...argv], env, (s) => { out += s; }, (s) => { err += s; });
    return err ? { code, out, err } : { code, out };
  };

  it('--help (anywhere) prints the usage and exits 0; no command exits 2', async () => {
    for (const argv of [['--help'], ['rewrap', '--help'], ['-h']]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^Usage: sicantik-privacy <command>/);
    }
    expect((await run([])).code).toBe(2);
    expect(await run(['nope'])).toEqual({ code: 2, out: expect.stringMatching(/^unknown command nope/) });
  });

  it('generate-keys prints settings that parse, different each time', async () => {
    const a = (await run(['generate-keys'])).out;
    const b = (await run(['generate-keys'])).out;
    expect(a).not.toBe(b);
    const m = /^PRIVACY_MASTER_KEYS=(\S+)\nPRIVACY_INDEX_KEY=(\S+)\n$/.exec(a)!;
    expect(parseMasterKeys(m[1]!).ok).toBe(true);
    expect(Buffer.from(m[2]!, 'base64')).toHaveLength(32);
  });

  it('rewrap with bad keys stops before connecting, naming each variable and not the key', async () => {
    const short = randomBytes(16).toString('base64');
    expect(await run(['rewrap'], { PRIVACY_MASTER_KEYS: `k1:${short}`, PRIVACY_INDEX_KEY: short })).toEqual({ code: 1, out: '',
      err: 'sicantik-privacy: invalid configuration:\n  - PRIVACY_MASTER_KEYS: key k1 (entry 1) is not base64 of exactly 32 bytes\n  - PRIVACY_INDEX_KEY: is not base64 of exactly 32 bytes\n' });
    expect(await run(['rewrap'], {})).toEqual({ code: 1, out: '',
      err: 'sicantik-privacy: invalid configuration:\n  - PRIVACY_MASTER_KEYS: is required but not set\n  - PRIVACY_INDEX_KEY: is required but not set\n' });
  });
});
