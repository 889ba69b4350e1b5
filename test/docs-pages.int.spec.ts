import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { parse } from 'yaml';
import { loadOpenApi } from '@sicantik/observability';
import { uniq } from './support';
import { HTTP_SERVICES, builtSpecPath, httpApp, type HttpService } from './support/httpApps';

////////// /openapi.json, /openapi.yaml and /docs on every HTTP service, over real HTTP, with no credentials and no network

const ROOT = path.resolve(__dirname, '..');

/** Every script and stylesheet a page references (src of <script>, href of <link>). */
function references(html: string): string[] {
  return [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"|<link\b[^>]*\bhref="([^"]+)"/g)].map((m) => m[1] ?? m[2] ?? '');
}

describe.each(Object.keys(HTTP_SERVICES) as HttpService[])('%s serves its OpenAPI document and /docs', (service) => {
  const file = path.join(ROOT, HTTP_SERVICES[service], 'openapi.yaml');
  let server: Server;
  let base: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const made = httpApp(service);
    close = made.close;
    server = await new Promise((r) => { const s = made.app.listen(0, '127.0.0.1', () => r(s)); });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('finds the document where its built dist/main.js looks (the package root, copied whole into the image)', () => {
    expect(builtSpecPath(service)).toBe(file);
    expect(fs.existsSync(path.join(ROOT, HTTP_SERVICES[service], 'dist', 'main.js'))).toBe(true);
    expect(loadOpenApi(builtSpecPath(service)).doc).toEqual(parse(fs.readFileSync(file, 'utf8')));
  });

  it('GET /openapi.json is the parsed openapi.yaml; GET /openapi.yaml is the file as is', async () => {
    const json = await fetch(`${base}/openapi.json`);
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await json.json()).toEqual(parse(fs.readFileSync(file, 'utf8')));
    const yaml = await fetch(`${base}/openapi.yaml`);
    expect(yaml.status).toBe(200);
    expect(yaml.headers.get('content-type')).toBe('application/yaml; charset=utf-8');
    expect(await yaml.text()).toBe(fs.readFileSync(file, 'utf8'));
  });

  it('GET /docs is an HTML page whose scripts and stylesheets are all relative and each answers 200', async () => {
    const res = await fetch(`${base}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    const title = (parse(fs.readFileSync(file, 'utf8')) as { info: { title: string } }).info.title;
    expect(html).toContain(`<title>${title.replace(/&/g, '&#38;').replace(/'/g, '&#39;')}: API docs</title>`);
    const refs = references(html);
    expect(refs).toEqual([
      'docs/assets/swagger-ui.css', 'docs/assets/favicon-32x32.png',
      'docs/assets/swagger-ui-bundle.js', 'docs/assets/swagger-ui-standalone-preset.js', 'docs/assets/init.js',
    ]);
    expect(html).not.toMatch(/https?:\/\/|\/\/[a-z]/i);
    for (const ref of refs) {
      const asset = await fetch(new URL(ref, `${base}/docs`));
      expect({ ref, status: asset.status }).toEqual({ ref, status: 200 });
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    // The page fetches the document relative to itself, so it works behind a path prefix too.
    expect(await (await fetch(`${base}/docs/assets/init.js`)).text()).toContain("fetch('openapi.json')");
  });

  it('/docs/ is sent to /docs (the relative references need it), and other asset names are 404', async () => {
    const slash = await fetch(`${base}/docs/`, { redirect: 'manual' });
    expect(slash.status).toBe(301);
    expect(slash.headers.get('location')).toBe('../docs');
    expect((await fetch(`${base}/docs/assets/index.html`)).status).toBe(404);
    expect((await fetch(`${base}/docs/assets/..%2Fpackage.json`)).status).toBe(404);
  });
});

describe('a missing or invalid openapi.yaml stops the start', () => {
  const dir = path.join(ROOT, '.cache', uniq('docs-start-'));
  afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('loadOpenApi names the file and the fault', () => {
    fs.mkdirSync(dir, { recursive: true });
    const f = path.join(dir, 'openapi.yaml');
    expect(() => loadOpenApi(f)).toThrow(`OpenAPI document ${f} cannot be read: ENOENT`);
    fs.writeFileSync(f, 'openapi: 3.1.0\ninfo: { title: x\n');
    expect(() => loadOpenApi(f)).toThrow(new RegExp(`^OpenAPI document ${f} is not valid YAML: `));
    fs.writeFileSync(f, 'openapi: 3.1.0\nopenapi: 3.1.0\n');
    expect(() => loadOpenApi(f)).toThrow(new RegExp(`^OpenAPI document ${f} is not valid YAML: Map keys must be unique`));
    fs.writeFileSync(f, '- a\n');
    expect(() => loadOpenApi(f)).toThrow(`OpenAPI document ${f} is invalid: it is not a mapping`);
    fs.writeFileSync(f, 'swagger: "2.0"\n');
    expect(() => loadOpenApi(f)).toThrow(`OpenAPI document ${f} is invalid: field "openapi" must be a 3.x version string`);
    fs.writeFileSync(f, 'openapi: 3.1.0\ninfo: { title: x }\npaths: {}\n');
    expect(() => loadOpenApi(f)).toThrow(`OpenAPI document ${f} is invalid: field "info" must have a string title and version`);
    fs.writeFileSync(f, 'openapi: 3.1.0\ninfo: { title: x, version: "1" }\n');
    expect(() => loadOpenApi(f)).toThrow(`OpenAPI document ${f} is invalid: field "paths" must be a mapping`);
  });

  it('the built provider simulator, its openapi.yaml missing then broken, exits 1 naming the file', () => {
    // A copy of the package without its openapi.yaml, inside the repository so its modules resolve.
    const pkg = path.join(dir, 'provider-simulator');
    fs.cpSync(path.join(ROOT, 'tools/provider-simulator/dist'), path.join(pkg, 'dist'), { recursive: true });
    const run = () => spawnSync(process.execPath, ['dist/main.js'], { cwd: pkg, env: { PATH: process.env.PATH, SIM_PORT: '0' }, encoding: 'utf8', timeout: 20_000 });
    const spec = path.join(pkg, 'openapi.yaml');
    let r = run();
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 1, stderr: `provider simulator failed to start: OpenAPI document ${spec} cannot be read: ENOENT\n` });
    fs.writeFileSync(spec, 'openapi: 3.1.0\npaths: [\n');
    r = run();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^provider simulator failed to start: OpenAPI document ${spec} is not valid YAML: .+\\n$`));
  });
});
