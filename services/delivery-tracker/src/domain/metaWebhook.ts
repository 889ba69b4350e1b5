import { createHmac, timingSafeEqual } from 'node:crypto';
import { deterministicId } from '@sicantik/core';
import type { DeliveryStatus, DeliveryStatusReported } from '@sicantik/schemas';

////////// Meta webhooks (pure): signature check and payload -> status events

/** X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(app secret, raw body bytes). */
export function verifyMetaSignature(rawBody: Buffer, header: string | undefined, appSecret: string): boolean {
  if (!header || !header.startsWith('sha256=')) return false;
  const got = Buffer.from(header.slice(7), 'hex');
  const want = createHmac('sha256', appSecret).update(rawBody).digest();
  return got.length === want.length && timingSafeEqual(got, want);
}

const STATUS: Record<string, DeliveryStatus> = { sent: 'SENT', delivered: 'DELIVERED', read: 'READ', failed: 'FAILED' };

interface MetaStatus { id?: string; status?: string; timestamp?: string; errors?: { code?: number; title?: string; message?: string }[] }
interface MetaPayload { object?: string; entry?: { changes?: { field?: string; value?: { statuses?: MetaStatus[] } }[] }[] }

export function metaStatusEvents(payload: unknown, receivedAt: Date): { events: DeliveryStatusReported[]; ignored: number } {
  const p = payload as MetaPayload;
  const events: DeliveryStatusReported[] = [];
  let ignored = 0;
  if (p?.object !== 'whatsapp_business_account') return { events, ignored: 1 };
  for (const entry of p.entry ?? []) {
    for (const change of entry.changes ?? []) {
      for (const s of change.value?.statuses ?? []) {
        const status = s.status ? STATUS[s.status] : undefined;
        if (!s.id || !status) { ignored++; continue; }
        const ts = s.timestamp && /^\d+$/.test(s.timestamp) ? Number(s.timestamp) * 1000 : null;
        const err = s.errors?.[0];
        events.push({
          // Same provider message + status = same event: duplicated webhooks collapse downstream.
          eventId: deterministicId('sicantik.event', 'DeliveryStatusReported', 'meta', s.id, status),
          occurredAt: ts ?? receivedAt.getTime(),
          correlationId: s.id,
          causationId: null,
          provider: 'meta',
          providerMessageId: s.id,
          status,
          providerTimestamp: ts,
          receivedAt: receivedAt.getTime(),
          errorCode: err?.code !== undefined ? `meta:${err.code}` : null,
          errorTitle: err?.title ?? err?.message ?? null,
        });
      }
    }
  }
  return { events, ignored };
}
