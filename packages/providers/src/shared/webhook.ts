import type { WebhookDescriptor, WebhookRejection, WebhookReply, WebhookRequest } from '../types';
import { safeEqual } from './crypto';

////////// How a webhook endpoint answers (each provider's WebhookDescriptor)

/** Unverified: 401. Verified, but the body is not in the provider's format: 400 (sending it again will not help). */
const REJECTION_STATUS: Readonly<Record<WebhookRejection, number>> = { missing: 401, signature: 401, stale: 401, malformed: 401, unparseable: 400 };

/** A provider's descriptor: the common answers, with its own exceptions. */
export function webhookDescriptor(o: { urlSecretSegment?: boolean; rejectionStatus?: Partial<Record<WebhookRejection, number>>; successReply?: WebhookReply } = {}): WebhookDescriptor {
  return {
    urlSecretSegment: o.urlSecretSegment ?? false,
    rejectionStatus: { ...REJECTION_STATUS, ...o.rejectionStatus },
    ...(o.successReply ? { successReply: o.successReply } : {}),
  };
}

////////// Reading webhook requests

export const header = (req: WebhookRequest, name: string): string | undefined => {
  const v = req.headers[name.toLowerCase()];
  return v === undefined || v === '' ? undefined : v;
};

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The raw body as text, or undefined when it is not valid UTF-8 (every provider here sends UTF-8). */
export function bodyText(raw: Buffer): string | undefined {
  try {
    return utf8.decode(raw);
  } catch {
    return undefined;
  }
}

/** The raw body parsed as a JSON object, or undefined. */
export function jsonObjectBody(raw: Buffer): Record<string, unknown> | undefined {
  const text = bodyText(raw);
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/**
 * For providers that sign nothing (Fonnte, Watzap): the webhook URL carries a
 * secret, as ?token=<secret> or as the last path segment (/webhooks/fonnte/<secret>).
 * Compared in constant time. Callers must not log the URL.
 */
export function urlTokenCheck(req: WebhookRequest, expected: string): 'ok' | 'missing' | 'signature' {
  let candidate = first(req.query.token);
  if (candidate === undefined) {
    try {
      const segments = new URL(req.url).pathname.split('/').filter(Boolean);
      const last = segments.length >= 3 ? segments[segments.length - 1] : undefined; // /webhooks/<provider>/<token>
      candidate = last === undefined ? undefined : decodeURIComponent(last);
    } catch {
      candidate = undefined;
    }
  }
  if (!candidate) return 'missing';
  return safeEqual(candidate, expected) ? 'ok' : 'signature';
}

/** Unix seconds (number or digit string) to a Date. */
export function fromEpochSeconds(v: unknown): Date | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? new Date(n * 1000) : undefined;
}

export function fromIso(v: unknown): Date | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : new Date(t);
}
