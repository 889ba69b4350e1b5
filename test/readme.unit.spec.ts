import * as fs from 'node:fs';
import * as path from 'node:path';

////////// The root README stays short: what the system does, the two commands, the guarantees, where to read on.

/** Words as `wc -w` counts them: runs of non-whitespace. */
const wordCount = (text: string): number => text.split(/\s+/).filter(Boolean).length;

describe('root README', () => {
  it('has at most 1 500 words', () => {
    expect(wordCount(fs.readFileSync(path.resolve(__dirname, '../README.md'), 'utf8'))).toBeLessThanOrEqual(1500);
  });

  it('names the two commands and where CI runs them', () => {
    const readme = fs.readFileSync(path.resolve(__dirname, '../README.md'), 'utf8');
    expect(readme).toContain('```sh\nbash scripts/start.sh\n```');
    expect(readme).toContain('```sh\nbash scripts/test.sh\n```');
    expect(fs.readFileSync(path.resolve(__dirname, '../.ci/run'), 'utf8')).toContain('exec bash scripts/test.sh');
  });
});
