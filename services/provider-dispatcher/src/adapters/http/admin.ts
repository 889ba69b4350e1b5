import type express from 'express';
import { z, zodIssues } from '@sicantik/config';
import { authenticatedApp, logPersonalRead, requireRole, type ApiKey, type Logger } from '@sicantik/observability';
import { checkProvider, inDoubtReport, providersReport, testSend, type OperatorDeps } from '../operators';

////////// Admin API (API keys with roles, README "Roles and API keys") on the ops port: providers,
// connection checks, test send, in-doubt sends. Providers: analyst; the rest: operator.

interface AdminAppDeps { operators: OperatorDeps; keys: readonly ApiKey[]; logger: Logger; ops: express.Router }

const testSendBody = z.object({
  to: z.string().trim().min(1, 'must not be empty').max(64, 'is too long (at most 64 characters)'),
  text: z.string().min(1).max(4096).optional(),
  provider: z.string().trim().toLowerCase().optional(),
  dryRun: z.boolean().optional(),
}).strict();

export function createAdminApp(deps: AdminAppDeps): express.Express {
  const { app, router } = authenticatedApp({ ops: deps.ops, mount: '/v1/admin', keys: deps.keys, logger: deps.logger });
  const analyst = requireRole('analyst');
  const operator = requireRole('operator');
  router.get('/providers', analyst, (_req, res) => { res.json(providersReport(deps.operators)); });
  router.post('/providers/:name/check', operator, async (req, res) => { res.json(await checkProvider(deps.operators, req.params.name)); });
  router.post('/test-send', operator, async (req, res) => {
    const p = testSendBody.safeParse(req.body ?? {});
    if (!p.success) { res.status(400).json({ error: 'validation_failed', issues: zodIssues(p.error) }); return; }
    const out = await testSend(deps.operators, p.data);
    deps.logger.info({ to: out.to, provider: out.decision.provider, reason: out.decision.reason, accepted: out.accepted, dryRun: p.data.dryRun ?? false }, 'test send');
    res.json(out);
  });
  router.get('/in-doubt', operator, async (req, res) => {
    const limit = z.coerce.number().int().min(1).max(10_000).default(500).safeParse(req.query.limit);
    if (!limit.success) { res.status(400).json({ error: 'validation_failed', issues: zodIssues(limit.error, 'limit') }); return; }
    const report = await inDoubtReport(deps.operators, limit.data);
    // Provider message ids (Meta's encode the number) and the providers' reasons, unmasked: logged with the key's name.
    logPersonalRead(deps.logger, req, report.items.length);
    res.json(report);
  });
  return app;
}
