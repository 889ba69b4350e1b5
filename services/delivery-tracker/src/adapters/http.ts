import express from 'express';
import { apiKeyAuth, errorHandler, logPersonalRead, maskerOf, requireRole, type ApiKey, type Masker } from '@sicantik/observability';
import { z } from 'zod';
import { zodIssues } from '@sicantik/config';
import { DECISIONS } from '../domain/model';
import type { LagMonitor } from './lag';
import type { DecisionProjection } from './projections/decisions';
import type { NotificationProjection } from './projections/store';
import { privacyRouter, type PrivacyDeps } from './privacy';
import { webhookRouter, type WebhookDeps } from './webhooks';

////////// HTTP edge: provider webhooks, the statistics API and the privacy admin API
// Which of them a process serves follows its role (config.ts TRACKER_ROLE): the
// receiver only the webhooks, the projection the statistics and privacy APIs (the
// latter when ADMIN_API_TOKEN is set), `all` every one. The ops routes (health,
// readiness, metrics) are in every role.
//
// Roles (API keys, @sicantik/observability roles.ts; table in the README): every
// statistics route needs analyst; an analyst gets the provider message id (Meta's encode
// the number) hidden and phone numbers in free text masked; an operator or admin gets the
// document as stored, and that read is logged with the key's name. The privacy API needs admin.

interface StatsDeps {
  logger: WebhookDeps['logger'];
  projection: NotificationProjection;
  decisions: DecisionProjection;
  /** The keys the APIs accept (config.ts: API_KEYS and the legacy tokens). */
  keys: readonly ApiKey[];
  /** The privacy admin API (privacy.ts), served where the statistics are when set. */
  privacy?: PrivacyDeps;
  /** Consumer lag of the deployment (lag.ts), for the dashboard: GET /v1/ops/lag. */
  lag?: LagMonitor;
}
type Ops = { ops: express.Router };
export type TrackerDeps =
  | (Ops & WebhookDeps & StatsDeps & { role?: 'all' })
  | (Ops & WebhookDeps & { role: 'receiver' })
  | (Ops & StatsDeps & { role: 'projection' });

export function createApp(deps: TrackerDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(deps.ops);
  if (deps.role !== 'projection') app.use('/webhooks', webhookRouter(deps));
  if (deps.role !== 'receiver') app.use('/v1/stats', statsRouter(deps));
  if (deps.role !== 'receiver' && deps.privacy) app.use('/v1/privacy', privacyRouter(deps.privacy));
  if (deps.role !== 'receiver' && deps.lag) app.use('/v1/ops', lagRouter(deps.keys, deps.lag));
  app.use(errorHandler(deps.logger));
  return app;
}

function statsRouter(deps: StatsDeps): express.Router {
  const stats = express.Router();
  stats.use(apiKeyAuth(deps.keys));
  const analyst = requireRole('analyst');
  const day = /^\d{4}-\d{2}-\d{2}$/;
  stats.get('/summary', analyst, async (req, res) => {
    const from = req.query.from as string | undefined; const to = req.query.to as string | undefined;
    for (const [k, v] of [['from', from], ['to', to]] as const) {
      if (v !== undefined && !day.test(v)) { res.status(400).json({ error: 'validation_failed', issues: [{ path: k, message: 'must be a date yyyy-MM-dd' }] }); return; }
    }
    res.json(await deps.projection.summary(from, to));
  });
  stats.get('/notifications/:id', analyst, async (req, res) => {
    const doc = await deps.projection.get(req.params.id);
    if (!doc) { res.status(404).json({ error: 'not_found' }); return; }
    const m = maskerOf(req);
    logPersonalRead(deps.logger, req, 1);
    res.json(m.unmasked ? doc : maskedNotification(doc, m));
  });
  const decisionQuery = z.object({
    pendaftaran_id: z.string().min(1).optional(), recipientId: z.string().min(1).optional(), scenario: z.string().min(1).optional(),
    notificationId: z.string().min(1).optional(), decision: z.enum(DECISIONS).optional(),
    reasonCode: z.string().regex(/^[A-Z_]{3,40}$/, 'must be a reason code such as OPTED_OUT').optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  }).strict().refine((q) => q.pendaftaran_id || q.recipientId || q.notificationId || q.reasonCode, { message: 'give pendaftaran_id, recipientId, notificationId or reasonCode', path: ['(query)'] });
  // How many were planned per scenario, and why the others were not (counts by reason code).
  stats.get('/decisions/summary', analyst, async (req, res) => {
    const from = req.query.from as string | undefined; const to = req.query.to as string | undefined;
    for (const [k, v] of [['from', from], ['to', to]] as const) {
      if (v !== undefined && !day.test(v)) { res.status(400).json({ error: 'validation_failed', issues: [{ path: k, message: 'must be a date yyyy-MM-dd' }] }); return; }
    }
    res.json({ from: from ?? null, to: to ?? null, counts: await deps.decisions.summary(from, to) });
  });
  // Why did X (not) get Y: every planner decision for a permit, recipient or notification, with its reason and delivery status.
  stats.get('/decisions', analyst, async (req, res) => {
    const q = decisionQuery.safeParse(req.query);
    if (!q.success) { res.status(400).json({ error: 'validation_failed', issues: zodIssues(q.error, '(query)') }); return; }
    const m = maskerOf(req);
    const decisions = await deps.decisions.find(q.data);
    // Decisions hold no personal data (decisions.ts; reasons carry masked numbers already): masked again for analysts all the same.
    res.json({ decisions: m.unmasked ? decisions : decisions.map((d) => ({ ...d, reason: m.text(d.reason) ?? null })) });
  });
  return stats;
}

/** Consumer lag: no personal data, so any key (analyst) reads it. */
function lagRouter(keys: readonly ApiKey[], lag: LagMonitor): express.Router {
  const r = express.Router();
  r.use(apiKeyAuth(keys));
  r.get('/lag', requireRole('analyst'), async (_req, res) => { res.json(await lag.report()); });
  return r;
}

/** A notification as an analyst sees it: the provider message id hidden, numbers in its free text masked. */
function maskedNotification<D extends { providerMessageId?: string }>(doc: D, m: Masker): D {
  const out: Record<string, unknown> = { ...doc };
  if (out.providerMessageId !== undefined) out.providerMessageId = m.opaque(doc.providerMessageId);
  for (const k of ['failureReason', 'skipReason', 'routeDetail', 'dropReason', 'deferReason'] as const) {
    if (typeof out[k] === 'string') out[k] = m.text(out[k] as string);
  }
  return out as D;
}
