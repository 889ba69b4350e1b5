import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { docsProblems } from './support/docs';
import { ROOT, repoDocs, repoDocsContext } from './support/repoDocs';

////////// Every CLI the docs name answers --help with exit 0: each `npx <bin>` of a workspace, and
// each `node <file>` that is a bin's target, run as the built file the bin points at (so this
// needs `npx turbo run build`, as scripts/test.sh does before the tests).

const commands = docsProblems(repoDocs(), repoDocsContext()).helpCommands;
const files = [...new Set(commands.map((c) => c.file))].sort();

describe('the CLIs the docs name', () => {
  it('the docs name at least the planner and dispatcher CLIs', () => {
    expect(files).toEqual(expect.arrayContaining(['services/notification-planner/bin/sicantik-planner.js', 'services/provider-dispatcher/bin/sicantik-dispatcher.js']));
  });

  it.each(files)('%s --help exits 0 and prints its usage', (file) => {
    expect(fs.existsSync(path.join(ROOT, file))).toBe(true);
    const r = spawnSync(process.execPath, [path.join(ROOT, file), '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect({ status: r.status, usage: /Usage:/.test(r.stdout) }).toEqual({ status: 0, usage: true });
  });
});
