import express from 'express';
import { Writable } from 'node:stream';
import { createLogger } from './logger';
import { createMetrics } from './metrics';
import { listen, opsRouter } from './ops';

describe('ops endpoints over real HTTP', () => {
  it('/readyz is 503 naming the failing dependency, /healthz stays 200, /metrics is Prometheus text', async () => {
    let dbUp = false;
    const metrics = createMetrics('it');
    const app = express();
    app.use(opsRouter(metrics, [
      { name: 'kafka', check: async () => undefined },
      { name: 'mongodb', check: async () => { if (!dbUp) throw new Error('connect ECONNREFUSED 127.0.0.1:27017'); } },
    ]));
    const { server, port } = await listen(app, 0);
    try {
      const base = `http://127.0.0.1:${port}`;
      const notReady = await fetch(`${base}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toEqual({ status: 'not ready', checks: [{ name: 'kafka', ok: true }, { name: 'mongodb', ok: false, error: 'connect ECONNREFUSED 127.0.0.1:27017' }] });
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      dbUp = true;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toContain('sicantik_messages_consumed_total');
      expect(text).toContain('service="it"');
    } finally {
      server.close();
    }
  });
});

describe('logger redaction', () => {
  it('never writes secrets or raw phone numbers', () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
    const log = createLogger('it', { destination: sink });
    log.info({ token: 'abc-secret-token', phone: '+6281234567890', recipient: { phone: '+6281234567890' }, headers: { authorization: 'Bearer abc-secret-token' } }, 'x');
    expect(JSON.parse(lines[0]!)).toMatchObject({ service: 'it', level: 'info', msg: 'x', token: '[redacted]', phone: '[redacted]' });
    expect(lines.join('')).not.toContain('6281234567890');
    expect(lines.join('')).not.toContain('abc-secret-token');
  });
});
