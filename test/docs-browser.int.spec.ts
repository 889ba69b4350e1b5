import * as fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { loadOpenApi } from '@sicantik/observability';
import { builtSpecPath, httpApp } from './support/httpApps';

////////// The tracker's /docs in real Chromium, with every request off 127.0.0.1 aborted: the page works offline

const SCREENSHOT = path.resolve(__dirname, '../.cache/screenshots/docs-delivery-tracker.png');
// Debian's Chromium, kept off the network: no background requests, no component updates.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('delivery-tracker /docs in Chromium', () => {
  let browser: Browser;
  let server: Server;
  let base: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const made = httpApp('delivery-tracker');
    close = made.close;
    server = await new Promise((r) => { const s = made.app.listen(0, '127.0.0.1', () => r(s)); });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('shows the title and every documented operation, asking nothing of another host', async () => {
    const spec = loadOpenApi(builtSpecPath('delivery-tracker')).doc;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const aborted: string[] = [];
    const served: string[] = [];
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname !== '127.0.0.1') { aborted.push(url.href); return route.abort(); }
      served.push(url.pathname);
      return route.continue();
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    process.stdout.write(`docs screenshot: ${SCREENSHOT}\n`);

    await expect(page.locator('.info .title').first().textContent()).resolves.toContain(spec.info.title);
    const shown = await page.locator('.opblock-summary-path').evaluateAll((els) => els.map((e) => e.getAttribute('data-path')));
    const documented = Object.keys(spec.paths);
    for (const p of ['/webhooks/{provider}', '/v1/stats/summary', '/healthz', '/openapi.json', '/docs']) expect(documented).toContain(p);
    expect([...new Set(shown)].sort()).toEqual([...documented].sort());
    // The spec's bearer scheme gives the page its Authorize button ("Try it out" needs the key).
    await expect(page.locator('button.authorize').count()).resolves.toBe(1);


    expect(aborted).toEqual([]);
    expect(errors).toEqual([]);
    // Only the page, its bundled files and the document were asked for (the favicon only if the browser wanted it).
    const files = ['/docs', '/docs/assets/init.js', '/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui-standalone-preset.js', '/docs/assets/swagger-ui.css', '/openapi.json'];
    expect([...new Set(served)].filter((p) => p !== '/docs/assets/favicon-32x32.png').sort()).toEqual(files.sort());
    await context.close();
  });
});
