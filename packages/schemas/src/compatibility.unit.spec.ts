import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as avro from 'avsc';
import { TOPIC_NAMES, loadSchema, schemasDir } from './catalog';

////////// Every schema must read every version of itself ever committed
// (backward-transitive): new reader, old writer. An incompatible edit fails CI.

const repo = path.resolve(schemasDir(), '..');
function committedVersions(file: string): string[] {
  try {
    const revs = execFileSync('git', ['log', '--format=%H', '--', file], { cwd: repo, encoding: 'utf8' }).split('\n').filter(Boolean);
    return revs.map((r) => execFileSync('git', ['show', `${r}:${file}`], { cwd: repo, encoding: 'utf8' }));
  } catch {
    return []; // not a git checkout (e.g. a Docker image): nothing to compare with
  }
}

describe('schema evolution', () => {
  it.each(TOPIC_NAMES)('%s resolves against all its committed versions', (topic) => {
    const reader = avro.Type.forSchema(loadSchema(topic) as avro.Schema);
    const versions = committedVersions(`schemas/${topic}.avsc`);
    for (const v of versions) {
      const writer = avro.Type.forSchema(JSON.parse(v) as avro.Schema);
      expect(() => reader.createResolver(writer)).not.toThrow();
    }
  });
  it('catches an incompatible change (a new field without default)', () => {
    const old = avro.Type.forSchema(loadSchema('contact.events') as avro.Schema);
    const s = loadSchema('contact.events') as { fields: object[] };
    const changed = avro.Type.forSchema({ ...s, fields: [...s.fields, { name: 'x', type: 'string' }] } as avro.Schema);
    expect(() => changed.createResolver(old)).toThrow();
  });
});
