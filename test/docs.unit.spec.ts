import * as fs from 'node:fs';
import * as path from 'node:path';
import { baseEnv } from '@sicantik/config';
import { docsProblems, documentFiles } from './support/docs';
import { ROOT, SERVICE_CONFIGS, readDoc, repoDocs, repoDocsContext } from './support/repoDocs';

////////// Every command, environment variable, endpoint and file path the READMEs and docs/*.md
// name exists (the rules: test/support/docs.ts). The commands run with --help: test/docs.int.spec.ts.

const ctx = repoDocsContext();

describe('the documentation names only what exists', () => {
  it('reads every README and docs/*.md', () => {
    expect(documentFiles(ROOT)).toEqual(expect.arrayContaining(['README.md', 'docs/providers.md', 'packages/providers/README.md', 'tools/provider-simulator/README.md', ...Object.keys(SERVICE_CONFIGS).map((s) => `services/${s}/README.md`)]));
  });

  it('every command, variable, endpoint and path they name exists', () => {
    expect(docsProblems(repoDocs(), ctx).problems).toEqual([]);
  });

  it("each service's README names every variable of its config schema, and packages/config's README the common ones", () => {
    const missing: string[] = [];
    for (const [service, schema] of Object.entries(SERVICE_CONFIGS)) {
      const readme = fs.readFileSync(path.join(ROOT, 'services', service, 'README.md'), 'utf8');
      for (const v of Object.keys(schema.shape)) if (!(v in baseEnv) && !readme.includes(`\`${v}\``)) missing.push(`services/${service}/README.md: ${v}`);
    }
    const common = fs.readFileSync(path.join(ROOT, 'packages/config/README.md'), 'utf8');
    for (const v of Object.keys(baseEnv)) if (!common.includes(`\`${v}\``)) missing.push(`packages/config/README.md: ${v}`);
    expect(missing).toEqual([]);
  });

  it('the checker reports exactly what a fixture names that does not exist', () => {
    // test/fixtures/docs/README.md names one variable no config reads, one missing path, one
    // endpoint in no OpenAPI document and one bin no workspace declares, among names that exist.
    const fixture = readDoc(path.join(__dirname, 'fixtures/docs'), 'README.md');
    expect(docsProblems([{ file: 'test/fixtures/docs/README.md', text: fixture.text }], ctx).problems).toEqual([
      'test/fixtures/docs/README.md: `SICANTIK_WIDGET_URL` is neither a variable a configuration reads nor a name the code defines',
      'test/fixtures/docs/README.md: path `docs/no-such-page.md` does not exist',
      'test/fixtures/docs/README.md: endpoint `GET /v1/stats/widgets` is in no OpenAPI document',
      'test/fixtures/docs/README.md: command `npx sicantik-widgets`: no workspace declares this bin and no tool of that name is installed',
    ]);
  });

  it('a variable assigned in a command must be one a configuration, script or bench reads', () => {
    const doc = { file: 'test/fixtures/docs/inline.md', text: '```sh\nRETRY_DELAY_MS=1 SICANTIK_WIDGETS=3 node bench/pipeline.bench.js\n```\n' };
    expect(docsProblems([doc], ctx).problems).toEqual(['test/fixtures/docs/inline.md: variable `SICANTIK_WIDGETS` is read by no configuration, script or bench']);
  });
});
