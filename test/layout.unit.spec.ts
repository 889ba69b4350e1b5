import * as fs from 'node:fs';
import * as path from 'node:path';
import { layoutProblems } from './support/layout';

////////// Every service has src/domain/, src/adapters/, src/config.ts, src/main.ts and a README.md with its sections.

describe('service layout', () => {
  it('every service of the repository is in shape', () => {
    expect(layoutProblems(path.resolve(__dirname, '..'))).toEqual([]);
  });

  it('the checker reports a service without its README, and nothing else, on a fixture', () => {
    // test/fixtures/layout/services: "complete" has everything; "no-readme" lacks only README.md.
    expect(layoutProblems(path.join(__dirname, 'fixtures/layout'))).toEqual([
      'services/no-readme/README.md: missing (what it consumes and produces, settings, admin API and CLI, metrics)',
    ]);
  });
});

describe('the dispatcher: a pure core and a thin shell', () => {
  it('no file of provider-dispatcher outside src/domain/ is over 200 lines (tests included)', () => {
    const root = path.resolve(__dirname, '../services/provider-dispatcher');
    const files = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) return ['node_modules', 'dist', 'domain'].includes(e.name) && (e.name !== 'domain' || dir === path.join(root, 'src')) ? [] : files(p);
      return [p];
    });
    const long = files(root).map((f) => [path.relative(root, f), fs.readFileSync(f, 'utf8').split('\n').length - 1] as const).filter(([, n]) => n > 200);
    expect(long).toEqual([]);
  });
});
