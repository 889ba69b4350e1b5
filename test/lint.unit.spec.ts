import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

////////// The lint rule that keeps every service's src/domain pure (eslint.config.mjs)

describe('domain purity lint', () => {
  // The CLI, as `npm run lint` runs it (jest's module sandbox cannot load the .mjs config).
  const root = path.resolve(__dirname, '..');
  const bin = path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js');
  const lint = async (file: string, code: string): Promise<(string | null)[]> => {
    let out: string;
    try {
      out = execFileSync(process.execPath, [bin, '--format', 'json', '--stdin', '--stdin-filename', path.join(root, file)], { cwd: root, input: code, encoding: 'utf8' });
    } catch (e) {
      out = (e as { stdout: string }).stdout; // exit code 1: problems found
    }
    return (JSON.parse(out) as { messages: { ruleId: string | null }[] }[])[0]!.messages.map((m) => m.ruleId);
  };

  it('refuses I/O modules, adapters, the clock, randomness and the environment in src/domain', async () => {
    const code = [
      "import { Kafka } from 'kafkajs';", "import { MongoClient } from 'mongodb';", "import { readFileSync } from 'node:fs';", "import { send } from '../adapters/meta';",
      'export const f = () => [Kafka, MongoClient, readFileSync, send, Date.now(), new Date(), Math.random(), process.env.X];',
    ].join('\n');
    const rules = await lint('services/provider-dispatcher/src/domain/probe.ts', code);
    expect(rules.filter((r) => r === 'no-restricted-imports').length).toBeGreaterThanOrEqual(4);
    expect(rules.filter((r) => r === 'no-restricted-properties')).toHaveLength(3);
    expect(rules.filter((r) => r === 'no-restricted-syntax')).toHaveLength(1);
  });

  it('allows pure imports and time passed in, and allows I/O outside src/domain', async () => {
    expect(await lint('services/provider-dispatcher/src/domain/probe.ts', "import { DateTime } from 'luxon';\nexport const f = (now: number) => DateTime.fromMillis(now).toISO() + new Date(now).toISOString();\n")).toEqual([]);
    expect(await lint('services/provider-dispatcher/src/adapters/probe.ts', "import { Kafka } from 'kafkajs';\nexport const f = () => [Kafka, Date.now()];\n")).toEqual([]);
  });
});
