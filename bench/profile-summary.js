#!/usr/bin/env node
// Summarises V8 .cpuprofile files (node --cpu-prof): self time by package/area and the
// top functions. Usage: node bench/profile-summary.js DIR_OR_FILES... [--top=15]
require('./help')(__filename);
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
const top = Number((args.find((a) => a.startsWith('--top=')) ?? '--top=12').slice(6));
const files = args.filter((a) => !a.startsWith('--')).flatMap((a) => (fs.statSync(a).isDirectory() ? fs.readdirSync(a).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(a, f)) : [a]));

/** The area a frame belongs to: a package under node_modules, our workspace package, node internals, or GC/idle. */
function area(cf) {
  const u = cf.url || '';
  if (!u) return cf.functionName === '(idle)' ? '(idle)' : cf.functionName === '(garbage collector)' ? '(gc)' : cf.functionName === '(program)' ? '(program)' : '(native)';
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) { const rest = u.slice(nm + 13).split('/'); return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]; }
  if (u.startsWith('node:')) return `node:${u.slice(5).split('/')[0]}`;
  const m = u.match(/\/(packages|services|tools)\/([^/]+)\//);
  return m ? `@sicantik/${m[2]}` : u;
}

for (const f of files) {
  const p = JSON.parse(fs.readFileSync(f, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = p.timeDeltas;
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byArea = new Map(); const byFn = new Map();
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    const a = area(cf);
    byArea.set(a, (byArea.get(a) ?? 0) + us);
    const k = `${cf.functionName || '(anonymous)'} ${a}${cf.url && !cf.url.includes('node_modules') && !cf.url.startsWith('node:') ? `:${path.basename(cf.url)}:${cf.lineNumber + 1}` : ''}`;
    byFn.set(k, (byFn.get(k) ?? 0) + us);
  }
  const busy = total - (byArea.get('(idle)') ?? 0);
  const main = p.nodes.map((n) => n.callFrame.url).find((u) => /\/(services|tools)\/[^/]+\/dist\/main\.js$/.test(u ?? ''));
  console.log(`\n## ${main ? main.match(/\/(services|tools)\/([^/]+)\//)[2] : path.basename(f)}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (${((100 * busy) / total).toFixed(0)} %)`);
  const line = (m) => [...m].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => `  ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${k}`).join('\n');
  console.log('by area (share of busy time):\n' + line(byArea));
  console.log('top functions (self time):\n' + line(byFn));
}
