import express from 'express';
import { ValidationError } from '@sicantik/core';
import { bearerAuth, type Logger } from '@sicantik/observability';
import type { PermitEvent } from '@sicantik/schemas';
import { toPermitEvent } from '../domain/validate';

////////// HTTP edge: POST /v1/permit-events (see openapi.yaml)

export interface IngestDeps {
  /** Publishes the event unless its event_id was (or is being) accepted elsewhere: see EventIdLedger. */
  acceptOnce(ev: PermitEvent): Promise<'accepted' | 'duplicate'>;
  logger: Logger;
  apiToken: string;
  ops: express.Router;
}

export function createApp(deps: IngestDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(deps.ops);
  app.post('/v1/permit-events', bearerAuth(deps.apiToken), express.json({ limit: '256kb' }), async (req, res) => {
    let ev: PermitEvent;
    try {
      ev = toPermitEvent(req.body);
    } catch (e) {
      if (e instanceof ValidationError) {
        res.status(400).json({ error: 'validation_failed', message: e.message, issues: e.issues });
        return;
      }
      throw e;
    }
    try {
      if ((await deps.acceptOnce(ev)) === 'duplicate') {
        res.status(200).json({ status: 'duplicate', event_id: ev.eventId });
        return;
      }
      deps.logger.info({ eventId: ev.eventId, type: ev.payload.type, pendaftaranId: ev.pendaftaran_id }, 'permit event accepted');
      res.status(202).json({ status: 'accepted', event_id: ev.eventId });
    } catch (e) {
      deps.logger.error({ eventId: ev.eventId, err: (e as Error).message }, 'could not accept permit event');
      res.status(503).set('Retry-After', '5').json({ error: 'unavailable', message: 'event not stored; retry later with the same event_id' });
    }
  });
  // JSON parse errors and anything unexpected
  app.use((err: Error & { status?: number; type?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (err.type === 'entity.parse.failed') {
      res.status(400).json({ error: 'validation_failed', message: 'body is not valid JSON', issues: [{ path: '(body)', message: err.message }] });
      return;
    }
    if (err.type === 'entity.too.large') { res.status(413).json({ error: 'too_large', message: err.message }); return; }
    deps.logger.error({ err: err.message }, 'unhandled error');
    res.status(500).json({ error: 'internal' });
  });
  return app;
}
