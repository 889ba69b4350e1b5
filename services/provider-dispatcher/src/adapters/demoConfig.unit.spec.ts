import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { configuredProviders } from '@sicantik/providers';
import { readConfig } from '../config';
import { effectiveChain, route } from '../domain/routing';

////////// The README's start command (scripts/start.sh -> scripts/services.sh) configures
// the simulator's gateways Watzap and Fonnte beside Meta, and the opt-in link: the demo
// shows seed 004's routing. Read from the script's own exports (nothing is started).

const root = path.resolve(__dirname, '..', '..', '..', '..');
const demoEnv = (): NodeJS.ProcessEnv => {
  const out = execFileSync('bash', ['--noprofile', '--norc', '-c', 'set -euo pipefail; eval "$(grep -E \'^export \' scripts/services.sh)"; env -0'], { cwd: root, env: { PATH: process.env.PATH ?? '' } });
  return Object.fromEntries(out.toString('utf8').split('\0').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
};

describe('the demo configuration (scripts/services.sh)', () => {
  it('configures Meta, Watzap and Fonnte against the simulator, with the opt-in link; a contact who has not opted in goes through Watzap with the link, an opted-in one through Meta', () => {
    const env = demoEnv();
    const configured = new Set(configuredProviders(env, { roles: ['send'] }).map((p) => p.name));
    expect([...configured].sort()).toEqual(['fonnte', 'meta', 'watzap']);
    expect([env.WATZAP_BASE_URL, env.FONNTE_BASE_URL, env.META_BASE_URL]).toEqual(['http://127.0.0.1:8099/watzap/v1', 'http://127.0.0.1:8099/fonnte', 'http://127.0.0.1:8099/meta']);
    const cfg = readConfig(env);
    expect(cfg.OPT_IN_LINK).toBe('https://wa.me/6281100000000?text=MULAI');
    const { chain } = effectiveChain({ chain: cfg.PROVIDER_CHAIN, defaultProvider: cfg.DEFAULT_PROVIDER, configured });
    const policy = { chain, optInRequired: new Set(cfg.OPT_IN_REQUIRED), unconsented: cfg.UNCONSENTED_OPT_IN_PROVIDERS };
    expect(route({ policy, contact: { optedIn: false, optedOut: false }, excluded: [], unavailable: new Map() })).toMatchObject({ kind: 'send', provider: 'watzap', reason: 'NOT_OPTED_IN', appendOptInLink: true });
    expect(route({ policy, contact: { optedIn: true, optedOut: false }, excluded: [], unavailable: new Map() })).toMatchObject({ kind: 'send', provider: 'meta', reason: 'OPTED_IN' });
  });
});
