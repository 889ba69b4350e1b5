import * as fs from 'node:fs';
import * as path from 'node:path';

////////// One shape for every service (services/*): what must be there, and what its README covers.

/** The entries every service has: pure decisions, I/O, settings, composition root, documentation. */
const REQUIRED_ENTRIES: readonly { path: string; kind: 'dir' | 'file'; what: string }[] = [
  { path: 'src/domain', kind: 'dir', what: 'pure logic (no I/O, clock or randomness: the lint rule)' },
  { path: 'src/adapters', kind: 'dir', what: 'Kafka, database, HTTP and provider I/O' },
  { path: 'src/config.ts', kind: 'file', what: 'the zod schema of its environment' },
  { path: 'src/main.ts', kind: 'file', what: 'the composition root' },
  { path: 'README.md', kind: 'file', what: 'what it consumes and produces, settings, admin API and CLI, metrics' },
];

/** The sections a service README has (level-2 headings, in this order). */
const README_SECTIONS = ['Consumes and produces', 'Settings', 'Admin API and CLI', 'Metrics'] as const;

/** Every problem of the services under `root` (a repository or a fixture), one line each; empty when all is in shape. */
export function layoutProblems(root: string): string[] {
  const servicesDir = path.join(root, 'services');
  const problems: string[] = [];
  const services = fs.readdirSync(servicesDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  if (services.length === 0) problems.push('services/: no service');
  for (const s of services) {
    for (const e of REQUIRED_ENTRIES) {
      const p = path.join(servicesDir, s, e.path);
      const st = fs.statSync(p, { throwIfNoEntry: false });
      if (!st) problems.push(`services/${s}/${e.path}: missing (${e.what})`);
      else if (e.kind === 'dir' ? !st.isDirectory() : !st.isFile()) problems.push(`services/${s}/${e.path}: not a ${e.kind === 'dir' ? 'directory' : 'file'}`);
    }
    const readme = path.join(servicesDir, s, 'README.md');
    if (fs.statSync(readme, { throwIfNoEntry: false })?.isFile()) {
      const headings = fs.readFileSync(readme, 'utf8').split('\n').filter((l) => l.startsWith('## ')).map((l) => l.slice(3).trim());
      const present = README_SECTIONS.filter((h) => headings.includes(h));
      for (const h of README_SECTIONS) if (!headings.includes(h)) problems.push(`services/${s}/README.md: no "## ${h}" section`);
      if (present.length === README_SECTIONS.length && present.map((h) => headings.indexOf(h)).some((i, k, a) => k > 0 && i < a[k - 1]!)) {
        problems.push(`services/${s}/README.md: sections not in the order ${README_SECTIONS.join(', ')}`);
      }
    }
  }
  return problems;
}
