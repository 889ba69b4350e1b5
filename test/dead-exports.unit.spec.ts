import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

////////// The dead-export check (knip, run by scripts/test.sh after lint) reports an export nothing imports.
// The fixture is a one-package workspace whose src/lib.ts exports `unusedHelper`, imported by nothing;
// it is checked with the same rules as the repository (knip.json `include`).

const ROOT = path.resolve(__dirname, '..');
const FIXTURE = path.join(__dirname, 'fixtures/knip');
const knip = (dir: string) => spawnSync(path.join(ROOT, 'node_modules/.bin/knip'), ['--directory', dir, '--reporter', 'json', '--no-progress'], { encoding: 'utf8' });
const rules = (file: string) => (JSON.parse(fs.readFileSync(file, 'utf8')) as { include: string[] }).include;

describe('dead exports (knip)', () => {
  it('the fixture is checked with the repository rules', () => {
    expect(rules(path.join(FIXTURE, 'knip.json'))).toEqual(rules(path.join(ROOT, 'knip.json')));
  });

  it('reports exactly the unused export of the fixture and fails', () => {
    const r = knip(FIXTURE);
    expect(r.status).toBe(1);
    const issues = (JSON.parse(r.stdout) as { issues: { file: string; exports: { name: string }[]; types: unknown[] }[] }).issues;
    expect(issues.map((i) => ({ file: i.file, exports: i.exports.map((e) => e.name), types: i.types }))).toEqual([{ file: 'src/lib.ts', exports: ['unusedHelper'], types: [] }]);
  });
});
