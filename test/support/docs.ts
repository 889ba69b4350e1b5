import * as fs from 'node:fs';
import * as path from 'node:path';
import { documentedOperations } from './apiDocs';

////////// What the documentation names exists.
//
// The documents: README.md, services/*/README.md, packages/*/README.md, tools/*/README.md
// and docs/*.md. Only code is read: inline code (`…`), fenced code blocks, and link targets
// ([text](target)). The rules, one per kind of name:
//
// - Endpoint: "METHOD /path" (GET, POST, PUT, DELETE, PATCH) at the start of inline code or
//   of a code line. It must be an operation of an OpenAPI document (services/*/openapi.yaml,
//   tools/*/openapi.yaml), compared with the query string dropped and every path parameter
//   (`:id` or `{id}`) as one placeholder. A provider's own API is named by its full URL.
// - Environment variable: a CONSTANT_CASE name with an underscore (`RETRY_DELAY_MS`), or any
//   CONSTANT_CASE name assigned in code (`RATE=25 node …`). An assigned name must be a known
//   variable; any other must be a known variable or a name the code defines (a status, a
//   reason code, an exported constant: string literals and CONSTANT_CASE identifiers of the
//   source, Avro enum symbols). Known variables are read from the code, never listed by hand:
//   the zod config schemas (services/*/src/config.ts, which include packages/config's
//   baseEnv), each provider adapter's envVars (@sicantik/providers, each also as NAME_FILE),
//   and the environment reads of the source, benches and scripts (`env.NAME`, `env['NAME']`,
//   `E.NAME`, an env helper called with 'NAME', `${NAME:-default}` in shell, `NAME=value program`
//   in a script, a Dockerfile ARG). A path outside the repository (../shared/) must exist there when that
//   folder is beside the repository (a lone clone without it skips such paths).
// - Command: a code line or inline code that starts (after `NAME=value` assignments) with
//   `npx NAME` (a workspace package's bin, or a tool in node_modules/.bin), `node PATH`,
//   `bash PATH`, a path to a `.sh` file, or `npm run NAME` (a script of the root
//   package.json, or of the workspace given with -w). A bin and a `node` path that is a
//   bin's target are run with --help by test/docs.int.spec.ts (exit 0); other node files
//   (a service's main, a bench) and shell scripts are not run: their file must exist.
// - File path: inline code or a link target without spaces that either ends with a known
//   file extension or starts with a directory of the repository or of the document's
//   folder. It must exist relative to the document's folder or to the repository root; a
//   path through dist/ is checked at its source (dist/x.js -> src/x.ts); `*` must match at
//   least one file; a bare file name (`store.int.spec.ts`) must be the name of a file in
//   the repository; a path into a git-ignored run-time folder (.stack/, .cache/) is not
//   checked, nor one with a placeholder (<name>, {id}, …).

export interface DocsContext {
  /** Repository root: paths resolve against it and the document's folder. */
  root: string;
  variables: ReadonlySet<string>;
  codeNames: ReadonlySet<string>;
  /** Normalised "METHOD /path" of every OpenAPI document (a parameter as {}). */
  operations: ReadonlySet<string>;
  /** bin name -> its file, relative to the root (e.g. services/notification-planner/dist/cli.js). */
  bins: ReadonlyMap<string, string>;
  /** Tools installed in node_modules/.bin. */
  tools: ReadonlySet<string>;
  /** npm scripts: "" for the root package, else the workspace's folder or package name. */
  npmScripts: ReadonlyMap<string, ReadonlySet<string>>;
  /** Every file of the repository (relative, '/'-separated), without ignored folders. */
  files: readonly string[];
  ignoredDirs: ReadonlySet<string>;
}

export interface Doc { file: string; text: string }

/** A command the docs name that is run with --help: the bin's file, relative to the root. */
export interface HelpCommand { doc: string; command: string; file: string }

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
const EXTENSIONS = /\.(ts|js|mjs|cjs|json|ya?ml|md|sh|avsc|txt|xml|go|html|properties)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', '.turbo', '.cache', '.stack', 'coverage']);

////////// The documents and their code

export function documentFiles(root: string): string[] {
  const out = ['README.md'];
  for (const dir of ['services', 'packages', 'tools']) {
    for (const d of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      if (d.isDirectory() && fs.existsSync(path.join(root, dir, d.name, 'README.md'))) out.push(`${dir}/${d.name}/README.md`);
    }
  }
  for (const f of fs.readdirSync(path.join(root, 'docs'))) if (f.endsWith('.md')) out.push(`docs/${f}`);
  return out.sort();
}

interface CodeText { text: string; block: boolean; link?: boolean }

/** Inline code, fenced code lines and link targets of a Markdown text. */
function codeOf(markdown: string): CodeText[] {
  const out: CodeText[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const f = /^\s*(```+|~~~+)/.exec(line);
    if (f) { fence = fence ? undefined : f[1]; continue; }
    if (fence) { out.push({ text: line.trim(), block: true }); continue; }
    for (const m of line.matchAll(/(`+)([^`]+?)\1/g)) out.push({ text: m[2]!.trim(), block: false });
    const noCode = line.replace(/(`+)[^`]+?\1/g, '');
    for (const m of noCode.matchAll(/\]\(([^)\s]+)\)/g)) out.push({ text: m[1]!, block: false, link: true });
  }
  return out;
}

////////// The checks

const normalisePath = (p: string) => p.replace(/[?#].*$/, '').replace(/[.,;:)]+$/, '').replace(/\{[^}]*\}|:\w+/g, '{}');
const normaliseOperation = (method: string, p: string) => `${method.toUpperCase()} ${normalisePath(p)}`;

/** A documented operation, where a named value may stand for a parameter (`GET /webhooks/meta` for `GET /webhooks/{provider}`). */
function operationDocumented(operations: ReadonlySet<string>, op: string): boolean {
  if (operations.has(op)) return true;
  const segs = op.split('/');
  return [...operations].some((o) => {
    const os = o.split('/');
    return os.length === segs.length && os.every((x, i) => x === segs[i] || (x.endsWith('{}') && segs[i]!.startsWith(x.slice(0, -2))) || (x === '{}' && segs[i] !== ''));
  });
}

function endpointOf(text: string): { method: string; path: string } | undefined {
  const m = /^(GET|POST|PUT|DELETE|PATCH)\s+(\/\S*)/.exec(text);
  return m ? { method: m[1]!, path: m[2]! } : undefined;
}

const CONSTANT = /(?<![\w$<{-])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![\w>}])/g;
const ASSIGNED = /(?:^|[\s;(])([A-Z][A-Z0-9_]*)=/g;

function variableProblems(code: CodeText, ctx: DocsContext): { name: string; assigned: boolean }[] {
  if (code.link) return [];
  const out: { name: string; assigned: boolean }[] = [];
  const assigned = new Set([...code.text.matchAll(ASSIGNED)].map((m) => m[1]!));
  for (const name of assigned) if (!ctx.variables.has(name)) out.push({ name, assigned: true });
  for (const m of code.text.matchAll(CONSTANT)) {
    const name = m[1]!;
    if (assigned.has(name) || ctx.variables.has(name) || ctx.codeNames.has(name)) continue;
    out.push({ name, assigned: false });
  }
  return out;
}

function globRegex(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
}

/** Whether a path named in `docFile` exists; undefined when the text is not taken as a path. */
function pathExists(token: string, docFile: string, ctx: DocsContext): boolean | undefined {
  let p = token.replace(/^\.\//, '').replace(/[#?].*$/, '');
  if (!p || /[\s<>{}…=:$"'\\|]/.test(p) || p.startsWith('/') || p.startsWith('-') || /^\.\.\.?$/.test(p)) return undefined;
  const docDir = path.posix.dirname(docFile);
  const first = p.split('/')[0]!;
  const isDirStart = p.includes('/') && first !== '..' && (fs.existsSync(path.join(ctx.root, first)) || fs.existsSync(path.join(ctx.root, docDir, first)) || ctx.ignoredDirs.has(first));
  const isFile = EXTENSIONS.test(p.replace(/\/$/, ''));
  if (!isDirStart && !isFile && !p.startsWith('../')) return undefined;
  if (!/^[\w.@*/+-]+$/.test(p)) return undefined;
  if (p.split('/').some((seg) => ctx.ignoredDirs.has(seg) && seg !== 'dist')) return true; // a run-time folder
  if (/(^|\/)dist\//.test(p)) p = p.replace(/(^|\/)dist\//, '$1src/').replace(/\.js$/, '.ts');
  const candidates = [path.posix.normalize(path.posix.join(docDir, p)), path.posix.normalize(p)];
  const bare = !p.includes('/');
  for (const c of candidates) {
    if (c.startsWith('..')) {
      // Beside the repository (../shared/): checked where that folder is there (CI, the team's
      // machines); a lone clone without it cannot tell, and takes the name as it is.
      const target = path.resolve(ctx.root, c);
      const besideDir = path.join(path.dirname(ctx.root), path.relative(path.dirname(ctx.root), target).split(path.sep)[0]!);
      if (fs.existsSync(target) || !fs.existsSync(besideDir)) return true;
      continue;
    }
    if (c.includes('*')) {
      const re = globRegex(c.replace(/\/$/, ''));
      if (ctx.files.some((f) => re.test(f) || f.split('/').some((_, i, a) => re.test(a.slice(0, i + 1).join('/'))))) return true;
    } else if (fs.existsSync(path.join(ctx.root, c))) return true;
  }
  if (bare) {
    const re = globRegex(p);
    return ctx.files.some((f) => re.test(path.posix.basename(f)));
  }
  return false;
}

const SHELL_WORDS = /^(?:[A-Z][A-Z0-9_]*=(?:'[^']*'|"[^"]*"|\S*)\s+)*(.*)$/;

/** The program of a command line, or undefined when the line is not one of the checked commands. */
function commandOf(text: string): { kind: 'npx' | 'node' | 'bash' | 'script' | 'npm'; name: string; rest: string } | undefined {
  const line = SHELL_WORDS.exec(text.replace(/^\$\s+/, ''))![1]!.trim();
  let m = /^npx\s+(?:--no-install\s+|--no\s+)?([\w@/.-]+)(.*)$/.exec(line);
  if (m) return { kind: 'npx', name: m[1]!, rest: m[2]! };
  m = /^node\s+(?:--[\w-]+(?:=\S+)?\s+)*([\w./-]+\.(?:js|mjs|cjs))(.*)$/.exec(line);
  if (m) return { kind: 'node', name: m[1]!, rest: m[2]! };
  m = /^bash\s+([\w./-]+)(.*)$/.exec(line);
  if (m) return { kind: 'bash', name: m[1]!, rest: m[2]! };
  m = /^(?:\.\/)?([\w./-]+\.sh)(\s.*)?$/.exec(line);
  if (m) return { kind: 'script', name: m[1]!, rest: m[2] ?? '' };
  m = /^npm\s+run\s+(?:(?:-w|--workspace)[ =](\S+)\s+)?([\w:.-]+)(.*)$/.exec(line);
  if (m) return { kind: 'npm', name: `${m[1] ?? ''}\u0000${m[2]!}`, rest: m[3]! };
  return undefined;
}

/** The bin a `node` path stands for, if it is a bin's target. */
const binFileOf = (file: string, ctx: DocsContext) => [...ctx.bins.values()].find((f) => f === path.posix.normalize(file));

/** Every problem of the documents, one line each ("file: what"), and the commands to run with --help. */
export function docsProblems(docs: readonly Doc[], ctx: DocsContext): { problems: string[]; helpCommands: HelpCommand[] } {
  const problems: string[] = [];
  const helpCommands: HelpCommand[] = [];
  for (const doc of docs) {
    const seen = new Set<string>();
    const report = (what: string) => { if (!seen.has(what)) { seen.add(what); problems.push(`${doc.file}: ${what}`); } };
    for (const code of codeOf(doc.text)) {
      const ep = code.link ? undefined : endpointOf(code.text);
      if (ep) {
        if (!operationDocumented(ctx.operations, normaliseOperation(ep.method, ep.path))) report(`endpoint \`${ep.method} ${ep.path}\` is in no OpenAPI document`);
        continue;
      }
      for (const v of variableProblems(code, ctx)) {
        report(v.assigned ? `variable \`${v.name}\` is read by no configuration, script or bench` : `\`${v.name}\` is neither a variable a configuration reads nor a name the code defines`);
      }
      const cmd = code.link ? undefined : commandOf(code.text);
      if (cmd) {
        if (cmd.kind === 'npx') {
          const bin = ctx.bins.get(cmd.name);
          if (bin) helpCommands.push({ doc: doc.file, command: `npx ${cmd.name}`, file: bin });
          else if (!ctx.tools.has(cmd.name)) report(`command \`npx ${cmd.name}\`: no workspace declares this bin and no tool of that name is installed`);
        } else if (cmd.kind === 'npm') {
          const [ws, script] = cmd.name.split('\u0000') as [string, string];
          if (!ctx.npmScripts.get(ws)?.has(script)) report(`command \`npm run ${ws ? `-w ${ws} ` : ''}${script}\`: no such script`);
        } else {
          const exists = pathExists(cmd.name, doc.file, ctx);
          if (exists === false || exists === undefined) report(`command \`${cmd.kind === 'script' ? '' : `${cmd.kind} `}${cmd.name}\`: no such file`);
          const bin = cmd.kind === 'node' ? binFileOf(cmd.name, ctx) : undefined;
          if (bin) helpCommands.push({ doc: doc.file, command: `node ${cmd.name}`, file: bin });
        }
        continue;
      }
      if (code.block) continue; // other code lines: only endpoints, variables and commands are read
      if (code.link && /^(?:[a-z]+:|#)/.test(code.text)) continue; // a URL or an anchor
      if (pathExists(code.text, doc.file, ctx) === false) report(`path \`${code.text}\` does not exist`);
    }
  }
  return { problems, helpCommands };
}

////////// The repository's context, read from the code

function walk(root: string, dir = ''): string[] {
  const out: string[] = [];
  for (const d of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    if (SKIP_DIRS.has(d.name)) continue;
    const rel = dir ? `${dir}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...walk(root, rel));
    else out.push(rel);
  }
  return out;
}

const ENV_READS = [
  /\b(?:env|E)\s*(?:\.\s*([A-Z][A-Z0-9_]*)\b|\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\])/g, // process.env.X, env.X, E.X, env['X']
  /\b(?:num|int|str|bool|flag|envNum|envInt|envStr|value|secret|baseUrl|templates)\(\s*['"]([A-Z][A-Z0-9_]*)['"]/g, // env helpers
  /\$\{([A-Z][A-Z0-9_]*):?[-=]/g, // ${X:-default} in shell
];

/** `NAME=value program …` in a script: a variable of the program it runs (Go's GOFLAGS, …). */
const SHELL_INLINE_ENV = /(?<=^|[\s(;&|])([A-Z][A-Z0-9_]*)=(?:"[^"]*"|'[^']*'|[^\s;&|)]+)\s+(?=[a-z./"$]|[A-Z][A-Z0-9_]*=)/gm;

/** Variables the source, benches and scripts read from the environment. */
function envReadsOf(source: string): string[] {
  const out = new Set<string>();
  for (const re of ENV_READS) for (const m of source.matchAll(re)) out.add((m[1] ?? m[2])!);
  return [...out];
}

export interface CodeSources {
  /** zod config schemas (their shape's keys are variables). */
  schemas: readonly { shape: Record<string, unknown> }[];
  /** Provider adapters' variables (each also as NAME_FILE). */
  providerVariables: readonly string[];
}

export function repoContext(root: string, sources: CodeSources): DocsContext {
  const files = walk(root).filter((f) => !f.startsWith('test/fixtures/'));
  const variables = new Set<string>();
  for (const s of sources.schemas) for (const k of Object.keys(s.shape)) variables.add(k);
  for (const v of sources.providerVariables) { variables.add(v); variables.add(`${v}_FILE`); }
  const codeNames = new Set<string>();
  for (const f of files) {
    if (/\.(ts|js|mjs|cjs|sh)$/.test(f)) {
      const text = fs.readFileSync(path.join(root, f), 'utf8');
      const isSpec = /\.spec\.ts$/.test(f) || f.startsWith('test/');
      if (!isSpec) for (const v of envReadsOf(text)) variables.add(v);
      if (f.endsWith('.sh')) {
        for (const m of text.matchAll(/^\s*([A-Z][A-Z0-9_]*)=/gm)) codeNames.add(m[1]!); // a script's constant
        for (const m of text.matchAll(SHELL_INLINE_ENV)) variables.add(m[1]!); // set for the program a script runs
      }
      if (/\.(ts|js|mjs|cjs)$/.test(f)) {
        for (const m of text.matchAll(/['"]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['"]/g)) codeNames.add(m[1]!);
        for (const m of text.matchAll(/\b(?:const|let|enum|type|interface|class|function)\s+([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b/g)) codeNames.add(m[1]!);
      }
    } else if (f.endsWith('.avsc')) {
      for (const m of fs.readFileSync(path.join(root, f), 'utf8').matchAll(/"symbols"\s*:\s*\[([^\]]*)\]/g)) {
        for (const s of m[1]!.matchAll(/"([A-Z][A-Z0-9_]*)"/g)) codeNames.add(s[1]!);
      }
    }
  }
  const dockerfile = path.join(root, 'Dockerfile');
  if (fs.existsSync(dockerfile)) for (const m of fs.readFileSync(dockerfile, 'utf8').matchAll(/^ARG\s+([A-Z][A-Z0-9_]*)/gm)) variables.add(m[1]!);
  const operations = new Set<string>();
  for (const f of files.filter((x) => /^(services|tools)\/[^/]+\/openapi\.yaml$/.test(x))) {
    for (const op of documentedOperations(path.join(root, f))) {
      const [method, p] = op.split(' ') as [string, string];
      operations.add(normaliseOperation(method, p));
    }
  }
  const bins = new Map<string, string>();
  const npmScripts = new Map<string, Set<string>>();
  for (const f of files.filter((x) => x === 'package.json' || /^(services|packages|tools)\/[^/]+\/package\.json$/.test(x))) {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, f), 'utf8')) as { name?: string; bin?: Record<string, string> | string; scripts?: Record<string, string> };
    const dir = path.posix.dirname(f);
    const scripts = new Set(Object.keys(pkg.scripts ?? {}));
    npmScripts.set(dir === '.' ? '' : dir, scripts);
    if (pkg.name && dir !== '.') npmScripts.set(pkg.name, scripts);
    if (typeof pkg.bin === 'object') for (const [name, target] of Object.entries(pkg.bin)) bins.set(name, path.posix.normalize(path.posix.join(dir, target)));
  }
  const binDir = path.join(root, 'node_modules/.bin');
  const tools = new Set(fs.existsSync(binDir) ? fs.readdirSync(binDir) : []);
  const ignoredDirs = new Set(fs.readFileSync(path.join(root, '.gitignore'), 'utf8').split('\n').map((l) => l.trim().replace(/^\//, '').replace(/\/$/, '')).filter((l) => l && !l.includes('*')));
  return { root, variables, codeNames, operations, bins, tools, npmScripts, files, ignoredDirs };
}

////////// Tables a document keeps equal to the code (e.g. docs/states.md and the tracker's states)

/**
 * The rows of the first table under a heading (`## heading`, matched exactly): each row's
 * cells, trimmed, without the header row and the separator. Throws when there is none.
 */
export function markdownTable(text: string, heading: string): string[][] {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => /^#+ /.test(l) && l.replace(/^#+ /, '').trim() === heading);
  if (at < 0) throw new Error(`no heading "${heading}"`);
  const rows: string[][] = [];
  let i = at + 1;
  while (i < lines.length && !lines[i]!.startsWith('|')) { if (/^#+ /.test(lines[i]!)) break; i++; }
  for (; i < lines.length && lines[i]!.startsWith('|'); i++) rows.push(lines[i]!.replace(/^\||\|$/g, '').split('|').map((c) => c.trim()));
  if (rows.length < 2) throw new Error(`no table under "${heading}"`);
  return rows.slice(2);
}
