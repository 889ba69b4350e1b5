import { inspect } from 'node:util';
import { maskPhone } from '@sicantik/core';
import type { Disposition, HttpRequest, HttpResponse } from '../types';

////////// Building requests, reading responses

export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

export const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

export const basicAuth = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

/** application/x-www-form-urlencoded in the given order (URLSearchParams rules: space as '+'). */
export const formBody = (pairs: readonly (readonly [string, string])[]): string => new URLSearchParams(pairs.map(([k, v]): [string, string] => [k, v])).toString();

/**
 * Attaches a redacting toJSON and util.inspect view to a request that carries
 * credentials, so a request that ends up in a log shows no secret. The request
 * itself (what is sent) is unchanged.
 */
export function withRedaction(req: HttpRequest, secrets: readonly string[]): HttpRequest {
  const hide = (s: string) => secrets.filter((x) => x.length >= 4).reduce((acc, x) => acc.split(x).join('[redacted]'), s);
  const safe = () => ({
    method: req.method,
    url: hide(req.url),
    headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, k.toLowerCase() === 'authorization' ? '[redacted]' : hide(v)])),
    body: hide(req.body),
  });
  Object.defineProperty(req, 'toJSON', { value: safe, enumerable: false });
  Object.defineProperty(req, inspect.custom, { value: () => safe(), enumerable: false });
  return req;
}

/** Retry-After in delta-seconds (the form these providers use), as milliseconds. */
export function retryAfterMs(res: HttpResponse): number | undefined {
  const v = res.headers['retry-after'];
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v.trim()) * 1000;
}

/** When a provider gives no code of its own, the HTTP status is all there is. */
export function dispositionFromHttpStatus(status: number): Disposition {
  if (status === 429 || status === 408 || status >= 500) return 'retry';
  // Credentials or account of this provider (401/402/403) or a wrong id in our config (404): another provider can serve it.
  if (status === 401 || status === 402 || status === 403 || status === 404) return 'fallback';
  return 'permanent';
}

export const is2xx = (status: number): boolean => status >= 200 && status < 300;

/**
 * Short, log-safe excerpt of a provider's reason text: providers sometimes echo
 * the recipient, so anything shaped like a phone number is masked, and a Meta message id
 * (base64 of bytes holding the recipient's digits) is cut to its prefix.
 */
export const reasonText = (v: unknown, fallback: string): string => {
  const s = (typeof v === 'string' && v.trim() ? v.trim() : fallback).replace(/wamid\.[A-Za-z0-9+/_=-]+/g, 'wamid.…').replace(/\+?\d{8,15}/g, (n) => maskPhone(n));
  return s.length > 300 ? `${s.slice(0, 297)}...` : s;
};

/** Looks an untrusted key up in a constant table (own properties only: "constructor" is not a status). */
export const own = <V>(table: Readonly<Record<string, V>>, key: string | undefined): V | undefined =>
  key !== undefined && Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
