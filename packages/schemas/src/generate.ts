import * as fs from 'node:fs';
import * as path from 'node:path';
import { DISPATCH_RETRY_TOPICS, schemasDir } from './catalog';

////////// Schemas generated from one source, so that copies cannot drift
// Some topic schemas repeat others; they are generated from a template in
// schemas/templates/ and committed as they come out (the registry, the Docker image
// and every reader take schemas/<topic>.avsc as it is):
// - dispatch.retry.1, .2 and .3 from templates/dispatch.retry.avsc.json: the three
//   delay tiers share one record and differ only in the tier named in its doc. They stay
//   three files because each topic is its own registry subject (<topic>-value) with
//   its own version history, which the compatibility test reads per file.
// - dispatch.dead-letter from templates/dispatch.dead-letter.avsc.json.
// - dispatch.ledger from templates/dispatch.ledger.avsc.json: notification.dispatch's
//   record (keep the two in step) plus `waiting`, the notification a DEFERRED/HELD
//   entry waits with (issue 16: a restored ledger can release, supersede or drop it).
// In a template, {"$include": "<file>"} stands for that schema file as it is (here
// notification.rendered.avsc, the notification both carry), and {{name}} in a string
// for a variable of the generated file. After editing a template or an included file:
//   npm run build -w @sicantik/schemas && npm run generate -w @sicantik/schemas
// generate.unit.spec.ts fails while a committed file differs from what this makes.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface GeneratedSchema { file: string; template: string; vars: Record<string, string> }
export const GENERATED_SCHEMAS: readonly GeneratedSchema[] = [
  ...DISPATCH_RETRY_TOPICS.map((t, i) => ({ file: `${t}.avsc`, template: 'templates/dispatch.retry.avsc.json', vars: { tier: String(i + 1) } })),
  { file: 'dispatch.dead-letter.avsc', template: 'templates/dispatch.dead-letter.avsc.json', vars: {} },
  { file: 'dispatch.ledger.avsc', template: 'templates/dispatch.ledger.avsc.json', vars: {} },
];

const readJson = (file: string): Json => JSON.parse(fs.readFileSync(file, 'utf8')) as Json;

function expand(x: Json, dir: string, vars: Record<string, string>): Json {
  if (typeof x === 'string') {
    return x.replace(/\{\{(\w+)\}\}/g, (m, k: string) => {
      const v = vars[k];
      if (v === undefined) throw new Error(`${m}: no such variable`);
      return v;
    });
  }
  if (Array.isArray(x)) return x.map((y) => expand(y, dir, vars));
  if (x !== null && typeof x === 'object') {
    const keys = Object.keys(x);
    if (keys.length === 1 && keys[0] === '$include') return readJson(path.join(dir, String(x.$include)));
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, expand(v, dir, vars)]));
  }
  return x;
}

/** The text of a schema file as committed: two-space JSON and a final newline. */
const schemaText = (schema: Json): string => `${JSON.stringify(schema, null, 2)}\n`;

/** Every generated file's name (in `dir`) and text. */
export function generateSchemas(dir = schemasDir()): Map<string, string> {
  return new Map(GENERATED_SCHEMAS.map((g) => [g.file, schemaText(expand(readJson(path.join(dir, g.template)), dir, g.vars))]));
}

if (require.main === module) {
  const dir = schemasDir();
  for (const [file, text] of generateSchemas(dir)) {
    const target = path.join(dir, file);
    const same = fs.existsSync(target) && fs.readFileSync(target, 'utf8') === text;
    if (!same) fs.writeFileSync(target, text);
    process.stdout.write(`${same ? 'unchanged' : 'written  '} ${target}\n`);
  }
}
