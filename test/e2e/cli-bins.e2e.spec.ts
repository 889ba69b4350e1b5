import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

////////// The operator CLIs run by the names the docs use, after the README's set-up (npm install,
// then the build): `npx <name> --help` from the repository root exits 0 with the usage. npm
// links a workspace's bin at install time, before the build has made dist/: so each bin is a
// committed, executable launcher (services/<service>/bin/<name>.js) that runs dist/cli.js.

const root = path.resolve(__dirname, '../..');
const BINS = [
  { name: 'sicantik-dispatcher', service: 'provider-dispatcher', commands: ['providers', 'check', 'test-send', 'in-doubt'] },
  { name: 'sicantik-planner', service: 'notification-planner', commands: ['run-daily', 'run-digest'] },
  { name: 'sicantik-tracker', service: 'delivery-tracker', commands: ['rebuild'] },
];

describe('operator CLIs by name', () => {
  it.each(BINS.map((b) => [b.name, b]))('%s: a committed executable launcher is its package.json bin', (name, b) => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'services', b.service, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin).toEqual({ [name]: `bin/${name}.js` });
    // Tracked by git with the executable mode: present and linkable on a fresh clone before any build.
    const staged = execFileSync('git', ['ls-files', '-s', `services/${b.service}/bin/${name}.js`], { cwd: root, encoding: 'utf8' });
    expect(staged).toMatch(/^100755 /);
  });

  it.each(BINS.map((b) => [b.name, b]))('npx %s --help from the repository root: usage, exit 0', (name, b) => {
    const r = spawnSync('npx', ['--no-install', name, '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout.split('\n')[0]).toBe(`Usage: ${name} [options] [command]`);
    for (const c of b.commands) expect(r.stdout).toContain(c);
    for (const c of b.commands) {
      const sub = spawnSync('npx', ['--no-install', name, c, '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect([c, sub.status, sub.stdout.split('\n')[0]!.startsWith(`Usage: ${name} ${c} `)]).toEqual([c, 0, true]);
    }
  });

  it('the rebuild also runs as node services/delivery-tracker/dist/rebuild.js (--help: exit 0)', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'services/delivery-tracker/dist/rebuild.js'), '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect([r.status, r.stdout.split('\n')[0]]).toEqual([0, 'Usage: sicantik-tracker rebuild [options]']);
  });

  it('a launcher whose CLI is not built says so and exits 1', () => {
    const r = spawnSync(process.execPath, ['-e', `
      const Module = require('node:module');
      const load = Module._load;
      Module._load = function (request, ...rest) {
        if (String(request).endsWith('/dist/cli.js')) { const e = new Error("Cannot find module '" + request + "'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
        return load.call(this, request, ...rest);
      };
      process.argv = [process.argv[0], 'sicantik-planner', '--help'];
      require(${JSON.stringify(path.join(root, 'services/notification-planner/bin/sicantik-planner.js'))});
    `], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^sicantik-planner: .*services\/notification-planner\/dist\/cli\.js is not built yet: run `npx turbo run build`/);
  });

  // Every other command the docs name answers --help with exit 0 and does nothing else (a docs
  // test runs them so): the scripts print their header, the services and the simulator where
  // their settings are, the benches their usage.
  const OTHERS = [
    ...['scripts/start.sh', 'scripts/stop.sh', 'scripts/test.sh', 'scripts/demo.sh', 'scripts/services.sh', '.ci/run', 'deploy/local/stack.sh'].map((f) => ['bash', f] as const),
    ...['delivery-tracker', 'notification-planner', 'permit-ingest', 'provider-dispatcher', 'template-renderer'].map((s) => [process.execPath, `services/${s}/dist/main.js`] as const),
    [process.execPath, 'tools/provider-simulator/dist/main.js'] as const,
    ...readdirSync(path.join(root, 'bench')).filter((f) => f.endsWith('.bench.js') || f === 'profile-summary.js').map((f) => [process.execPath, `bench/${f}`] as const),
    [process.execPath, 'services/delivery-tracker/bench/projection.bench.js'] as const,
    [process.execPath, 'services/provider-dispatcher/bench/dispatcher.bench.js'] as const,
  ];
  it.each(OTHERS.map(([cmd, file]) => [file, cmd]))('%s --help: what it is, exit 0', (file, cmd) => {
    const r = spawnSync(cmd, [file, '--help'], { cwd: root, encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '' } });
    expect([r.status, r.signal, r.stderr]).toEqual([0, null, '']);
    expect(r.stdout.trim().length).toBeGreaterThan(20);
  });
});
