import express from 'express';
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from './logger';

////////// Credentials on admin, statistics and ingest endpoints

/** Constant-time string comparison (length leaks, content does not). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Requires `Authorization: Bearer <token>`; answers 401 otherwise. */
export function bearerAuth(token: string): express.RequestHandler {
  const want = `Bearer ${token}`;
  return (req, res, next) => {
    if (safeEqual(req.get('authorization') ?? '', want)) return next();
    res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'unauthorized', message: 'a valid Bearer token is required' });
  };
}

/**
 * Last handler of an app: malformed JSON gets 400, a retriable failure 503 (try
 * again), anything else 500; every 5xx is logged with its message, never the body.
 */
export function errorHandler(logger: Logger): express.ErrorRequestHandler {
  return (err: Error & { status?: number; type?: string; retriable?: boolean }, req, res, _next) => {
    if (err.type === 'entity.parse.failed') { res.status(400).json({ error: 'invalid_json', message: 'the body is not valid JSON' }); return; }
    if (err.type === 'entity.too.large') { res.status(413).json({ error: 'too_large' }); return; }
    // A ValidationError (@sicantik/core) thrown by an application service: the caller's input, named.
    const v = err as { code?: unknown; issues?: unknown };
    if (v.code === 'VALIDATION' && Array.isArray(v.issues)) { res.status(400).json({ error: 'validation_failed', message: err.message, issues: v.issues }); return; }
    const retriable = err.retriable === true;
    logger.error({ err: err.message, code: (err as { code?: unknown }).code, method: req.method, path: req.path, retriable }, 'request failed');
    res.status(retriable ? 503 : 500).json({ error: retriable ? 'unavailable' : 'internal_error', message: retriable ? 'temporarily unavailable, try again' : 'the request failed; see the service log' });
  };
}

/**
 * An admin-style app: the ops routes, then `router` mounted at `mount`, which
 * needs the Bearer token and parses JSON, then the error handler. Add the routes
 * to the router returned.
 */
export function authenticatedApp(o: { ops: express.Router; mount: string; token: string; logger: Logger; jsonLimit?: string }): { app: express.Express; router: express.Router } {
  const app = express();
  app.disable('x-powered-by');
  app.use(o.ops);
  const router = express.Router();
  router.use(bearerAuth(o.token));
  router.use(express.json({ limit: o.jsonLimit ?? '64kb' }));
  app.use(o.mount, router);
  app.use(errorHandler(o.logger));
  return { app, router };
}
