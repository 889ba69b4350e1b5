import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

////////// The lint rule that keeps every service's src/domain pure (eslint.config.mjs)

describe('domain purity lint', () => {
  // The CLI, as `npm run lint` runs it (jest's module sandbox cannot load the .mjs config).
  const root = path.resolve(__dirname, '..');
  const bin = path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js');
  const messages = (file: string, code: string): { ruleId: string | null; line: number }[] => {
    let out: string;
    try {
      out = execFileSync(process.execPath, [bin, '--format', 'json', '--stdin', '--stdin-filename', path.join(root, file)], { cwd: root, input: code, encoding: 'utf8' });
    } catch (e) {
      out = (e as { stdout: string }).stdout; // exit code 1: problems found
    }
    return (JSON.parse(out) as { messages: { ruleId: string | null; line: number }[] }[])[0]!.messages;
  };
  const lint = async (file: string, code: string): Promise<(string | null)[]> => messages(file, code).map((m) => m.ruleId);
  /** The imports (one a line) the import rule refuses. */
  const refused = async (file: string, imports: string[]): Promise<string[]> => {
    const code = imports.map((m, i) => `import * as m${i} from '${m}';`).join('\n') + `\nexport const all = [${imports.map((_, i) => `m${i}`).join(', ')}];\n`;
    const lines = new Set(messages(file, code).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.line));
    return imports.filter((_, i) => lines.has(i + 1));
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

  it('refuses every import of the service\'s adapters and I/O entry files from src/domain, at any depth, and nothing else of the service', async () => {
    const wiring = [
      '../adapters/consumer', '../adapters/batchExecutor', '../adapters/http/executor', '../adapters/providers/gateway', '../adapters',
      '../main', '../cli', '../config', '../config.ts', '../rebuild', '../planner',
    ];
    expect(await refused('services/provider-dispatcher/src/domain/probe.ts', wiring)).toEqual(wiring);
    expect(await refused('services/provider-dispatcher/src/domain/deep/probe.ts', ['../../adapters/consumer', '../../main', '../routing'])).toEqual(['../../adapters/consumer', '../../main']);
    const pure = ['./routing', './deep/rules', '../domain/ledger', '../projections/notificationStatus', '@sicantik/schemas', 'luxon'];
    expect(await refused('services/delivery-tracker/src/domain/probe.ts', pure)).toEqual([]);
  });

  it('allows pure imports and time passed in, and allows I/O outside src/domain', async () => {
    expect(await lint('services/provider-dispatcher/src/domain/probe.ts', "import { DateTime } from 'luxon';\nexport const f = (now: number) => DateTime.fromMillis(now).toISO() + new Date(now).toISOString();\n")).toEqual([]);
    expect(await lint('services/provider-dispatcher/src/adapters/probe.ts', "import { Kafka } from 'kafkajs';\nexport const f = () => [Kafka, Date.now()];\n")).toEqual([]);
  });
});
