// Shared fixtures for the unit specs (no tests here; jest runs *.unit.spec.ts only).
import type { HttpResponse, OutboundMessage, ProviderRole, ReadSecretFile, WebhookRequest } from './types';

export const BOTH: ReadonlySet<ProviderRole> = new Set<ProviderRole>(['send', 'receive']);

export const NOW = new Date('2026-11-24T03:00:00.000Z');

export const MESSAGE: OutboundMessage = {
  notificationId: '8f14e45f-ceea-5e67-a5b2-1c2a2f3e9d10',
  toE164: '+6281234567890',
  text: 'Yth. Budi, izin 503/1 Anda berakhir pada 1 Maret 2027.',
  templateCode: 'PERMIT_EXPIRY_REMINDER',
  parameters: [
    { name: 'partner_name', value: 'Budi' },
    { name: 'permit_number', value: '503/1' },
    { name: 'expiry_date', value: '1 Maret 2027' },
  ],
  language: 'id',
};

export const noSecretFiles: ReadSecretFile = () => {
  throw new Error('no secret files in this test');
};

export function response(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

export function webhookRequest(p: { url: string; body: string | Buffer; headers?: Record<string, string>; method?: string }): WebhookRequest {
  const u = new URL(p.url);
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of u.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return {
    url: p.url, method: p.method ?? 'POST',
    headers: Object.fromEntries(Object.entries(p.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    rawBody: Buffer.isBuffer(p.body) ? p.body : Buffer.from(p.body, 'utf8'),
    query,
  };
}

/** Form body as Twilio sends it (and as URLSearchParams reads it back). */
export const formToObject = (body: string): Record<string, string> => Object.fromEntries(new URLSearchParams(body));
