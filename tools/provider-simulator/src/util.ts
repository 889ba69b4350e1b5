import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';

////////// Small helpers shared by the provider modules: clock, ids, phone numbers,
// body parsing (JSON, form, multipart) and redaction.

/** Wall-clock time in ms with sub-millisecond precision (monotonic within the process). */
export const nowMs = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** A deterministic PRNG (mulberry32) so percentage faults can be replayed with a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

////////// Phone numbers

/**
 * Any provider's wire format (`+62…`, `62…`, `whatsapp:+62…`, `0812…`, `0062…`) to E.164
 * (`+62…`). A leading national 0 takes `countryCode` (Fonnte's rule; 62 by default).
 */
export function toE164(raw: string, countryCode = '62'): string {
  let s = raw.trim().replace(/^whatsapp:/i, '').replace(/@c\.us$/, '');
  const plus = s.startsWith('+');
  s = s.replace(/\D/g, '');
  if (plus) return `+${s}`;
  if (s.startsWith('00')) return `+${s.slice(2)}`;
  if (s.startsWith('0')) return `+${countryCode}${s.slice(1)}`;
  return `+${s}`;
}

export const digits = (e164: string) => e164.replace(/^\+/, '');

/** For logs: never a full number. */
export const maskPhone = (p: string) => (p.length > 7 ? `${p.slice(0, 5)}…${p.slice(-2)}` : '…');

/** For recorded webhook URLs: secret tokens in the query or path are replaced. */
export function maskUrl(url: string, secrets: string[]): string {
  let out = url;
  for (const s of secrets) if (s) out = out.split(encodeURIComponent(s)).join('***').split(s).join('***');
  return out;
}

////////// Bodies

const MAX_BODY = 1024 * 1024;

/** Reads the raw body unless an upstream parser already did (then its result is used). */
export async function readBody(req: IncomingMessage & { body?: unknown; _body?: boolean }): Promise<{ raw: string | null; body: unknown }> {
  if (req._body || req.body !== undefined) return { raw: null, body: req.body };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(c as Buffer);
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  const type = String(req.headers['content-type'] ?? '').toLowerCase();
  let body: unknown = raw;
  if (type.includes('json')) {
    try { body = raw ? JSON.parse(raw) : {}; } catch { body = undefined; }
  } else if (type.includes('application/x-www-form-urlencoded')) {
    body = parseForm(raw);
  } else if (type.includes('multipart/form-data')) {
    // the boundary is case-sensitive: read it from the header as sent
    const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(String(req.headers['content-type']));
    body = m ? parseMultipart(raw, (m[1] ?? m[2] ?? '').trim()) : {};
  }
  req.body = body;
  req._body = true;
  return { raw, body };
}

/** application/x-www-form-urlencoded → object; a repeated key becomes an array (as Twilio's MediaUrl). */
export function parseForm(raw: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** Text fields of a multipart/form-data body (files are kept as their text; the gateways' sends carry none). */
export function parseMultipart(raw: string, boundary: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of raw.split(`--${boundary}`)) {
    const sep = part.indexOf('\r\n\r\n');
    if (sep < 0) continue;
    const head = part.slice(0, sep);
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    if (name === undefined) continue;
    out[name] = part.slice(sep + 4).replace(/\r\n$/, '');
  }
  return out;
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Headers as recorded: credentials reduced to their scheme. */
export function redactHeaders(h: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    const val = Array.isArray(v) ? v.join(', ') : v;
    if (k === 'authorization' || k === 'proxy-authorization') {
      const scheme = /^(\S+)\s+\S/.exec(val)?.[1];
      out[k] = scheme ? `${scheme} [redacted]` : '[redacted]';
    } else if (k === 'cookie' || k === 'x-api-key' || k.includes('token') || k.includes('secret')) {
      out[k] = '[redacted]';
    } else {
      out[k] = val;
    }
  }
  return out;
}
