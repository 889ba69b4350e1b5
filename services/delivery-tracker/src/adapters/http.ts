import express from 'express';
import { bearerAuth, errorHandler, safeEqual, type Logger } from '@sicantik/observability';
import { z } from 'zod';
import { zodIssues } from '@sicantik/config';
import type { ContactEvent, DeliveryStatusReported } from '@sicantik/schemas';
import { metaContactEvents } from '../domain/inbound';
import { metaStatusEvents, verifyMetaSignature } from '../domain/metaWebhook';
import type { DecisionProjection } from '../projections/decisions';
import type { NotificationProjection } from '../projections/store';

////////// HTTP edge: provider webhooks and the statistics API

export interface TrackerDeps {
  logger: Logger;
  ops: express.Router;
  projection: NotificationProjection;
  decisions: DecisionProjection;
  publish(events: DeliveryStatusReported[]): Promise<void>;
  publishContacts(events: ContactEvent[]): Promise<void>;
  now(): Date;
  metaAppSecret: string;
  metaVerifyToken: string;
  statsApiToken: string;
  onRejectedSignature(provider: string): void;
}

export function createApp(deps: TrackerDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(deps.ops);

  // Meta subscription check: echo the challenge when our verify token matches.
  app.get('/webhooks/meta', (req, res) => {
    const mode = String(req.query['hub.mode'] ?? '');
    const token = String(req.query['hub.verify_token'] ?? '');
    const challenge = String(req.query['hub.challenge'] ?? '');
    if (mode === 'subscribe' && safeEqual(token, deps.metaVerifyToken)) { res.status(200).type('text/plain').send(challenge); return; }
    res.status(403).json({ error: 'forbidden' });
  });

  // Signature is checked over the raw bytes (Meta escapes non-ASCII; re-serialised JSON would not match).
  app.post('/webhooks/meta', express.raw({ type: '*/*', limit: '1mb' }), async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!verifyMetaSignature(raw, req.get('x-hub-signature-256'), deps.metaAppSecret)) {
      deps.onRejectedSignature('meta');
      deps.logger.warn({ provider: 'meta' }, 'webhook rejected: bad or missing signature');
      res.status(401).json({ error: 'invalid_signature' });
      return;
    }
    let payload: unknown;
    try { payload = JSON.parse(raw.toString('utf8')); } catch {
      res.status(400).json({ error: 'invalid_json' });
      return;
    }
    const { events, ignored } = metaStatusEvents(payload, deps.now());
    const contacts = metaContactEvents(payload, deps.now());
    try {
      await deps.publish(events);
      await deps.publishContacts(contacts);
    } catch (e) {
      deps.logger.error({ err: (e as Error).message }, 'could not store webhook events; provider will retry');
      res.status(503).json({ error: 'unavailable' });
      return;
    }
    res.status(200).json({ accepted: events.length, ignored, inbound: contacts.length });
  });

  const stats = express.Router();
  stats.use(bearerAuth(deps.statsApiToken));
  const day = /^\d{4}-\d{2}-\d{2}$/;
  stats.get('/summary', async (req, res) => {
    const from = req.query.from as string | undefined; const to = req.query.to as string | undefined;
    for (const [k, v] of [['from', from], ['to', to]] as const) {
      if (v !== undefined && !day.test(v)) { res.status(400).json({ error: 'validation_failed', issues: [{ path: k, message: 'must be a date yyyy-MM-dd' }] }); return; }
    }
    res.json(await deps.projection.summary(from, to));
  });
  stats.get('/notifications/:id', async (req, res) => {
    const doc = await deps.projection.get(req.params.id);
    if (!doc) { res.status(404).json({ error: 'not_found' }); return; }
    res.json(doc);
  });
  const decisionQuery = z.object({
    pendaftaran_id: z.string().min(1).optional(), recipientId: z.string().min(1).optional(), scenario: z.string().min(1).optional(),
    notificationId: z.string().min(1).optional(), decision: z.enum(['PLANNED', 'SKIPPED', 'CANCELLED']).optional(),
    reasonCode: z.string().regex(/^[A-Z_]{3,40}$/, 'must be a reason code such as OPTED_OUT').optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  }).strict().refine((q) => q.pendaftaran_id || q.recipientId || q.notificationId || q.reasonCode, { message: 'give pendaftaran_id, recipientId, notificationId or reasonCode', path: ['(query)'] });
  // How many were planned per scenario, and why the others were not (counts by reason code).
  stats.get('/decisions/summary', async (req, res) => {
    const from = req.query.from as string | undefined; const to = req.query.to as string | undefined;
    for (const [k, v] of [['from', from], ['to', to]] as const) {
      if (v !== undefined && !day.test(v)) { res.status(400).json({ error: 'validation_failed', issues: [{ path: k, message: 'must be a date yyyy-MM-dd' }] }); return; }
    }
    res.json({ from: from ?? null, to: to ?? null, counts: await deps.decisions.summary(from, to) });
  });
  // Why did X (not) get Y: every planner decision for a permit, recipient or notification, with its reason and delivery status.
  stats.get('/decisions', async (req, res) => {
    const q = decisionQuery.safeParse(req.query);
    if (!q.success) { res.status(400).json({ error: 'validation_failed', issues: zodIssues(q.error, '(query)') }); return; }
    res.json({ decisions: await deps.decisions.find(q.data) });
  });
  app.use('/v1/stats', stats);
  app.use(errorHandler(deps.logger));
  return app;
}
