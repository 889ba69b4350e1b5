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
