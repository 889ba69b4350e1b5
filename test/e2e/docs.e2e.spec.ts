import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { uniq } from '../support';
import { startSystem, type System } from '../support/system';

////////// /openapi.json and /docs on every running process of the system (built dist, no credentials)

const ROOT = path.resolve(__dirname, '../..');

describe('every HTTP service serves its OpenAPI document and /docs', () => {
  let sys: System;
  beforeAll(async () => { sys = await startSystem({}, { opsPorts: ['provider-dispatcher'] }); });
  afterAll(async () => { await sys?.stop(); });

  it('the five services and the simulator', async () => {
    const urls: [string, string][] = [
      ['services/permit-ingest', sys.ingestUrl], ['services/notification-planner', sys.plannerUrl],
      ['services/template-renderer', sys.rendererUrl], ['services/provider-dispatcher', sys.opsUrls['provider-dispatcher'] ?? ''],
      ['services/delivery-tracker', sys.trackerUrl], ['tools/provider-simulator', sys.simUrl],
    ];
    for (const [dir, base] of urls) {
      const json = await fetch(`${base}/openapi.json`);
      expect({ dir, status: json.status }).toEqual({ dir, status: 200 });
      expect(await json.json()).toEqual(parse(fs.readFileSync(path.join(ROOT, dir, 'openapi.yaml'), 'utf8')));
      const page = await fetch(`${base}/docs`);
      expect({ dir, status: page.status, type: page.headers.get('content-type') }).toEqual({ dir, status: 200, type: 'text/html; charset=utf-8' });
      expect(await page.text()).toContain('<script src="docs/assets/swagger-ui-bundle.js"></script>');
      expect((await fetch(`${base}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
    }
  });

  it('permit-ingest built without its openapi.yaml stops at start-up with exit 1, naming the file', () => {
    // A copy of the built package without the document, inside the repository so its modules resolve.
    const pkg = path.join(ROOT, '.cache', uniq('docs-ingest-'));
    try {
      fs.cpSync(path.join(ROOT, 'services/permit-ingest/dist'), path.join(pkg, 'dist'), { recursive: true });
      const r = spawnSync(process.execPath, ['dist/main.js'], {
        cwd: pkg, env: { ...sys.env, HTTP_PORT: '0', MONGO_DB: `${sys.db('permit-ingest')}_nodocs`, SERVICE_INSTANCE: 'permit-ingest-nodocs' }, encoding: 'utf8', timeout: 60_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`permit-ingest failed to start: OpenAPI document ${path.join(pkg, 'openapi.yaml')} cannot be read: ENOENT\n`);
    } finally {
      fs.rmSync(pkg, { recursive: true, force: true });
    }
  });
});
