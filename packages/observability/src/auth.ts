import express from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from './logger';
import { maskerFor, roleAtLeast, type ApiKey, type Masker, type Principal, type Role } from './roles';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Who called (apiKeyAuth): the key's name and role, never the key. */
      principal?: Principal;
    }
  }
}

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

////////// API keys with roles (roles.ts)

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * `Authorization: Bearer <key>` -> req.principal ({ name, role }). A missing or unknown
 * key: 401 with WWW-Authenticate. Every key is compared, in constant time (digests of
 * equal length), whatever matched before; the key is never logged or echoed.
 */
export function apiKeyAuth(keys: readonly ApiKey[]): express.RequestHandler {
  const ring = keys.map((k) => ({ principal: { name: k.name, role: k.role } as Principal, digest: digest(k.key) }));
  return (req, res, next) => {
    const m = /^Bearer (.+)$/.exec(req.get('authorization') ?? '');
    if (!m) { res.status(401).set('WWW-Authenticate', 'Bearer realm="sicantik"').json({ error: 'unauthorized', message: 'a valid Bearer key is required' }); return; }
    const given = digest(m[1]!);
    let found: Principal | undefined;
    for (const k of ring) if (timingSafeEqual(k.digest, given) && !found) found = k.principal;
    if (!found) { res.status(401).set('WWW-Authenticate', 'Bearer realm="sicantik", error="invalid_token"').json({ error: 'unauthorized', message: 'the Bearer key is not known' }); return; }
    req.principal = found;
    next();
  };
}

/**
 * After apiKeyAuth: 403 naming the role required when the key's role is lower. (Generic in
 * the route's parameters, so a handler after it keeps the parameter types of its path.)
 */
export function requireRole(role: Role): <P>(req: express.Request<P>, res: express.Response, next: express.NextFunction) => void {
  return (req, res, next) => {
    const p = req.principal;
    if (!p) { res.status(401).set('WWW-Authenticate', 'Bearer realm="sicantik"').json({ error: 'unauthorized', message: 'a valid Bearer key is required' }); return; }
    if (roleAtLeast(p.role, role)) return next();
    res.status(403).json({ error: 'forbidden', requiredRole: role, message: `this needs the role ${role} (or higher); the key ${p.name} has the role ${p.role}` });
  };
}

/** How the response to this request is shown (analysts masked). */
export function maskerOf(req: express.Request): Masker {
  return maskerFor(req.principal ?? { name: '(none)', role: 'analyst' });
}

/**
 * Logs an unmasked read of personal data (operator or admin) once for the request: the
 * key's name, route and number of records; nothing for analysts (masked) or no records.
 */
export function logPersonalRead(logger: Logger, req: express.Request, records: number): void {
  const p = req.principal;
  if (!p || !maskerFor(p).unmasked || records <= 0) return;
  // The route's pattern (/contacts/:phone), never the path itself (it may carry a number).
  const route = `${req.method} ${req.baseUrl}${(req.route as { path?: string } | undefined)?.path ?? '(route unknown)'}`;
  logger.info({ keyName: p.name, role: p.role, route, records }, 'unmasked personal data read');
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
 * needs the Bearer token (or one of the API keys, roles.ts) and parses JSON, then the error handler. Add the routes
 * to the router returned.
 */
export function authenticatedApp(o: { ops: express.Router; mount: string; logger: Logger; jsonLimit?: string } & ({ token: string } | { keys: readonly ApiKey[] })): { app: express.Express; router: express.Router } {
  const app = express();
  app.disable('x-powered-by');
  app.use(o.ops);
  const router = express.Router();
  // keys: each route adds requireRole (the lowest, analyst, needs no more than a known key).
  router.use('keys' in o ? apiKeyAuth(o.keys) : bearerAuth(o.token));
  router.use(express.json({ limit: o.jsonLimit ?? '64kb' }));
  app.use(o.mount, router);
  app.use(errorHandler(o.logger));
  return { app, router };
}
