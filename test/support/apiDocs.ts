import * as fs from 'node:fs';
import { parse } from 'yaml';
import type express from 'express';

////////// Every route an app serves is in its OpenAPI document, and every documented operation is served.

interface Layer { route?: { path: string; methods: Record<string, boolean> }; name: string; rawPath?: string; handle: { stack?: Layer[] } }

/** "METHOD /path/{param}" for every route of an Express 5 app (mounted routers included). */
export function servedOperations(app: express.Express): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const l of stack) {
      if (l.route) {
        const path = `${prefix}${l.route.path}`.replace(/:(\w+)/g, '{$1}');
        for (const m of Object.keys(l.route.methods)) if (m !== '_all') out.push(`${m.toUpperCase()} ${path}`);
      } else if (l.name === 'router' && l.handle.stack) {
        walk(l.handle.stack, `${prefix}${l.rawPath && l.rawPath !== '/' ? l.rawPath : ''}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return [...new Set(out)].sort();
}

export function documentedOperations(file: string): string[] {
  const doc = parse(fs.readFileSync(file, 'utf8')) as { openapi: string; paths: Record<string, Record<string, unknown>> };
  if (!/^3\.1\./.test(doc.openapi)) throw new Error(`${file}: not OpenAPI 3.1`);
  const methods = ['get', 'put', 'post', 'delete', 'patch'];
  return Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).filter((m) => methods.includes(m)).map((m) => `${m.toUpperCase()} ${p}`)).sort();
}
