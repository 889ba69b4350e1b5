import type express from 'express';
import { z } from 'zod';
import { zodIssues } from '@sicantik/config';
import { ValidationError, deterministicId } from '@sicantik/core';
import { authenticatedApp, requireRole, type ApiKey, type Logger } from '@sicantik/observability';
import type { TemplateEvent } from '@sicantik/schemas';
import { allProviderParameters, defaultProviderTemplates, providerTemplatesOf, templateMappingFields } from '@sicantik/providers';
import { GENERIC_PARAMETERS, render, templateVariables } from '@sicantik/templates';
import { SAMPLE, SAMPLE_ROW, validateTemplate } from '../domain/validateTemplate';
import type { TemplateStore } from './templateStore';

////////// Template admin API (API keys with roles, README "Roles and API keys"): list, create,
// update, deactivate, preview. Reads and previews: analyst (templates hold no personal data);
// changes: admin.

export interface TemplateAdminDeps {
  store: TemplateStore;
  publish(t: TemplateEvent): Promise<void>;
  now(): Date;
  /** The keys the admin API accepts (config.ts: API_KEYS and ADMIN_API_TOKEN). */
  keys: readonly ApiKey[];
  logger: Logger;
  ops: express.Router;
}

const putBody = z.object({
  body: z.string().min(1).max(4096),
  variables: z.array(z.string().regex(/^[a-z_][a-z0-9_]*$/)).optional(),
  providerTemplates: z.record(z.string(), z.string().min(1)).optional(),
  language: z.string().regex(/^[a-z]{2}(_[A-Z]{2})?$/).optional(),
  /** Deprecated aliases: providerTemplates.meta and language. */
  metaTemplateName: z.string().optional(),
  metaLanguage: z.string().regex(/^[a-z]{2}(_[A-Z]{2})?$/).optional(),
  category: z.enum(['UTILITY', 'MARKETING', 'AUTHENTICATION']).optional(),
}).strict();
const previewBody = z.object({ variables: z.record(z.string(), z.string()).optional(), items: z.array(z.record(z.string(), z.string())).optional() }).strict();


export function createTemplateAdminApp(deps: TemplateAdminDeps): express.Express {
  const { app, router: r } = authenticatedApp({ ops: deps.ops, mount: '/v1/admin', keys: deps.keys, logger: deps.logger });
  const analyst = requireRole('analyst');
  const adminRole = requireRole('admin');

  // Edits of one template are applied one at a time in this process, so two at once get versions N+1 and N+2.
  const queues = new Map<string, Promise<unknown>>();
  const serial = <T>(code: string, fn: () => Promise<T>): Promise<T> => {
    const run = (queues.get(code) ?? Promise.resolve()).catch(() => undefined).then(fn);
    queues.set(code, run);
    return run;
  };
  const etag = (t: TemplateEvent) => `"v${t.version}"`;
  /** Optimistic concurrency: with If-Match, the edit applies only to the version the editor saw (412 otherwise). */
  const stale = (req: express.Request, res: express.Response, cur: TemplateEvent | undefined): boolean => {
    const want = req.get('if-match');
    if (!want || want === '*' || (cur && want === etag(cur))) return false;
    res.status(412).json({ error: 'version_conflict', message: `template changed since you read it: current version is ${cur?.version ?? 'none'}`, currentVersion: cur?.version ?? null });
    return true;
  };

  const save = async (code: string, patch: Partial<TemplateEvent>, cur: TemplateEvent | undefined): Promise<TemplateEvent> => {
    const now = deps.now();
    const version = (cur?.version ?? 0) + 1;
    const t: TemplateEvent = {
      eventId: deterministicId('sicantik.event', 'TemplateEvent', code, version, now.toISOString()), occurredAt: now.getTime(),
      correlationId: `admin-${code}`, causationId: cur?.eventId ?? null,
      code, version, active: true, body: cur?.body ?? '', variables: cur?.variables ?? [],
      ...templateMappingFields(cur ? providerTemplatesOf(cur) : defaultProviderTemplates(code)),
      language: cur?.language ?? 'id', category: cur?.category ?? 'UTILITY', ...patch,
    };
    await deps.publish(t);
    deps.store.apply(t);
    return t;
  };
  /** A template as the API shows it: the event, plus metaLanguage, the deprecated alias of language, for clients of the older API. */
  const present = (t: TemplateEvent) => ({ ...t, metaLanguage: t.language });
  const send = (res: express.Response, status: number, t: TemplateEvent) => { res.status(status).set('ETag', etag(t)).json(present(t)); };

  r.get('/templates', analyst, (_req, res) => { res.json(deps.store.all().sort((a, b) => a.code.localeCompare(b.code)).map(present)); });
  r.get('/templates/:code', analyst, (req, res) => {
    const t = deps.store.get(req.params.code);
    if (!t) { res.status(404).json({ error: 'not_found' }); return; }
    send(res, 200, t);
  });
  r.put('/templates/:code', adminRole, async (req, res) => {
    const p = putBody.safeParse(req.body);
    if (!p.success) { res.status(400).json({ error: 'validation_failed', issues: zodIssues(p.error) }); return; }
    const code = req.params.code;
    await serial(code, async () => {
      const cur = deps.store.get(code);
      if (stale(req, res, cur)) return;
      try {
        // What the edit names (the deprecated metaTemplateName folded in), over what the template had.
        const named = providerTemplatesOf({ providerTemplates: p.data.providerTemplates ?? null, metaTemplateName: p.data.metaTemplateName ?? null });
        const { variables } = validateTemplate(code, { body: p.data.body, ...(p.data.variables ? { variables: p.data.variables } : {}), providerTemplates: named }, cur);
        const mapping = Object.keys(named).length ? templateMappingFields({ ...(cur ? providerTemplatesOf(cur) : defaultProviderTemplates(code)), ...named }) : {};
        const language = p.data.language ?? p.data.metaLanguage;
        const t = await save(code, { body: p.data.body, variables, ...mapping, ...(language ? { language } : {}), ...(p.data.category ? { category: p.data.category } : {}) }, cur);
        send(res, cur ? 200 : 201, t);
      } catch (e) {
        if (e instanceof ValidationError) { res.status(400).json({ error: 'validation_failed', message: e.message, issues: e.issues }); return; }
        throw e;
      }
    });
  });
  r.post('/templates/:code/deactivate', adminRole, async (req, res) => {
    await serial(req.params.code, async () => {
      const cur = deps.store.get(req.params.code);
      if (!cur) { res.status(404).json({ error: 'not_found' }); return; }
      if (!stale(req, res, cur)) send(res, 200, await save(cur.code, { active: false }, cur));
    });
  });
  r.post('/templates/:code/activate', adminRole, async (req, res) => {
    await serial(req.params.code, async () => {
      const cur = deps.store.get(req.params.code);
      if (!cur) { res.status(404).json({ error: 'not_found' }); return; }
      if (!stale(req, res, cur)) send(res, 200, await save(cur.code, { active: true }, cur));
    });
  });
  r.post('/templates/:code/preview', analyst, (req, res) => {
    const cur = deps.store.get(req.params.code);
    if (!cur) { res.status(404).json({ error: 'not_found' }); return; }
    const p = previewBody.safeParse(req.body ?? {});
    if (!p.success) { res.status(400).json({ error: 'validation_failed', issues: zodIssues(p.error) }); return; }
    const lists = templateVariables(cur.body).filter((v) => v.list).map((v) => v.name);
    const vars = { ...Object.fromEntries(cur.variables.filter((v) => !lists.includes(v)).map((v) => [v, SAMPLE[v] ?? SAMPLE[GENERIC_PARAMETERS[v] ?? ''] ?? `<${v}>`])), ...p.data.variables };
    const items = p.data.items ?? (lists.length ? [SAMPLE_ROW] : []);
    try {
      const out = render(cur, vars, items);
      res.json({ code: cur.code, version: cur.version, text: out.text, providerTemplates: cur.providerTemplates, metaTemplateName: cur.metaTemplateName, parameters: out.parameters, providerParameters: allProviderParameters(out.parameters) });
    } catch (e) {
      res.status(400).json({ error: 'render_failed', message: (e as Error).message });
    }
  });
  return app;
}
