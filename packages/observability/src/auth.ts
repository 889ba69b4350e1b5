import type express from 'express';
import { timingSafeEqual } from 'node:crypto';

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
