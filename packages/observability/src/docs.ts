import express from 'express';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';

////////// /openapi.json, /openapi.yaml and /docs (Swagger UI, bundled: no CDN)
// Each service ships its openapi.yaml at its package root (beside dist/), which is
// where the Docker image has it too. It is read and checked once at start-up: a
// missing or invalid document stops the start with a message naming the file,
// instead of answering 500 later. The pages hold no data, so they need no key;
// "Try it out" calls still need one (the UI's Authorize button, from the spec's
// bearer scheme).

export type OpenApiDocument = {
  /** Where it was read from. */
  path: string;
  /** The file as it is. */
  text: string;
  /** The file parsed. */
  doc: { openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, unknown>> } & Record<string, unknown>;
};

/** The package's openapi.yaml seen from a module in its src/ or dist/ (pass `__dirname`). */
export function openApiPathFrom(moduleDir: string): string {
  return resolve(moduleDir, '..', 'openapi.yaml');
}

/** Reads and checks an OpenAPI 3 document; throws an Error naming the file and the fault. */
export function loadOpenApi(path: string): OpenApiDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`OpenAPI document ${path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    throw new Error(`OpenAPI document ${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const o = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  const fault = !o(doc) ? 'it is not a mapping'
    : typeof doc.openapi !== 'string' || !doc.openapi.startsWith('3.') ? 'field "openapi" must be a 3.x version string'
      : !o(doc.info) || typeof doc.info.title !== 'string' || typeof doc.info.version !== 'string' ? 'field "info" must have a string title and version'
        : !o(doc.paths) ? 'field "paths" must be a mapping'
          : undefined;
  if (fault) throw new Error(`OpenAPI document ${path} is invalid: ${fault}`);
  return { path, text, doc: doc as OpenApiDocument['doc'] };
}

const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
/** The only files of swagger-ui-dist the page uses (the rest stays unserved). */
const ASSETS = ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png', 'favicon-16x16.png'];

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Every reference is relative to /docs, so the page works behind a path prefix too.
const page = (title: string) => `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>${escapeHtml(title)}: API docs</title>
  <link rel="stylesheet" href="docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png" sizes="32x32">
  <style>body { margin: 0; } .swagger-ui .topbar { display: none; }</style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/assets/swagger-ui-bundle.js"></script>
  <script src="docs/assets/swagger-ui-standalone-preset.js"></script>
  <script src="docs/assets/init.js"></script>
</body>
</html>
`;

// "Try it out" goes to the origin the page came from first (the spec's servers
// name the default local ports, which another deployment may not use).
const init = `window.addEventListener('load', function () {
  fetch('openapi.json').then(function (r) { return r.json(); }).then(function (spec) {
    spec.servers = [{ url: window.location.origin, description: 'this server' }].concat(spec.servers || []);
    window.ui = SwaggerUIBundle({
      spec: spec,
      dom_id: '#swagger-ui',
      deepLinking: true,
      persistAuthorization: false,
      validatorUrl: null,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: 'BaseLayout'
    });
  });
});
`;

/** GET /openapi.json, /openapi.yaml, /docs and /docs/assets/*: no credentials. */
export function docsRouter(spec: OpenApiDocument): express.Router {
  const r = express.Router();
  const json = JSON.stringify(spec.doc);
  const html = page(spec.doc.info.title);
  r.get('/openapi.json', (_req, res) => { res.type('application/json').send(json); });
  r.get('/openapi.yaml', (_req, res) => { res.type('application/yaml').send(spec.text); });
  r.get('/docs', (req, res) => {
    // /docs/ would break the relative references: send it to /docs.
    if (req.path.endsWith('/')) { res.redirect(301, '../docs'); return; }
    res.type('html').send(html);
  });
  r.get('/docs/assets/:file', (req, res, next) => {
    const name = req.params.file;
    if (name === 'init.js') { res.type('application/javascript').send(init); return; }
    if (!ASSETS.includes(name)) { res.status(404).json({ error: 'not_found' }); return; }
    res.sendFile(join(SWAGGER_UI_DIR, name), { maxAge: '1h' }, (e) => { if (e) next(e); });
  });
  return r;
}

/** Adds the docs routes to an ops router (the one every service mounts without credentials). */
export function withDocs(ops: express.Router, spec: OpenApiDocument): express.Router {
  ops.use(docsRouter(spec));
  return ops;
}
