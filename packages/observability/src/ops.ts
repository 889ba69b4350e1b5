import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics';

////////// /metrics, /healthz, /readyz
// Liveness says the process runs; readiness runs each dependency check
// (broker, registry, database) and reports every one of them by name.

export type ReadinessCheck = { name: string; check: () => Promise<void> };

export function opsRouter(metrics: Metrics, checks: ReadinessCheck[], timeoutMs = 2000): express.Router {
  const r = express.Router();
  r.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  r.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      checks.map(async (c) => {
        try {
          await withTimeout(c.check(), timeoutMs, c.name);
          return { name: c.name, ok: true as const };
        } catch (e) {
          return { name: c.name, ok: false as const, error: e instanceof Error ? e.message : String(e) };
        }
      }),
    );
    const ok = results.every((x) => x.ok);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', checks: results });
  });
  r.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  return r;
}

export async function listen(app: express.Express, port: number, host = '127.0.0.1'): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => {
      if (err) return reject(err);
      resolve({ server, port: (server.address() as AddressInfo).port });
    });
    server.on('error', reject);
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} check timed out after ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}
