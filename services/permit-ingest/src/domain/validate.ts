import { z } from 'zod';
import { zodIssues } from '@sicantik/config';
import { ValidationError } from '@sicantik/core';
import type { PermitEvent, PermitPayload } from '@sicantik/schemas';

////////// Validation of upstream permit events (pure)
// The JSON an upstream system POSTs, in SICANTIK's own words (pendaftaran_id,
// no_surat, nama_pemohon, ...). Errors name the field path and the reason.

const isRealDate = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && new Date(`${s}T00:00:00Z`).toISOString().slice(0, 10) === s;
const isoDate = z.string().refine((s) => { try { return isRealDate(s); } catch { return false; } }, 'must be a date yyyy-MM-dd');
const text = z.string().trim().min(1, 'must not be empty').max(500);
const url = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
// A phone is data, not structure: any string is published as typed (trimmed; blank
// means none) and the planner records an unusable one as SKIPPED PHONE_UNUSABLE.
const PHONE_MAX = 64;
const phone = z.string({ error: 'must be a string or null' }).trim().max(PHONE_MAX, `is too long (at most ${PHONE_MAX} characters)`)
  .transform((s) => s || null).nullable().default(null);
const instant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time with offset' });

const payloads = {
  PermitRegistered: z.object({ jenis_izin: text, nama_pemohon: text, telepon_pemohon: phone, status: text }),
  PermitStatusChanged: z.object({ status_lama: text, status_baru: text, changed_at: instant, link_detail: url.nullable().default(null) }),
  DocumentPendingSignature: z.object({ document_id: text, jenis_izin: text, nama_pemohon: text, pending_since: instant }),
  ApprovalRequested: z.object({ jenis_izin: text, nama_pemohon: text, no_surat: text.nullable().default(null), link_approval: url, pejabat_id: text.nullable().default(null) }),
  PermitIssued: z.object({ no_surat: text, jenis_izin: text, nama_pemohon: text, telepon_pemohon: phone, tanggal_terbit: isoDate, link_download: url, tanggal_berakhir: isoDate.nullable().default(null) }),
  PermitExpiryDateSet: z.object({ no_surat: text, tanggal_berakhir: isoDate }),
  PermitRenewalApproved: z.object({ no_surat_baru: text, tanggal_mulai: isoDate, tanggal_berakhir: isoDate, masa_berlaku_tahun: z.number().int().min(1).max(100), link_download: url }),
  ApplicantContactChanged: z.object({ nama_pemohon: text.nullable().default(null), telepon_pemohon: phone }),
} as const;

const PERMIT_EVENT_TYPES = Object.keys(payloads) as (keyof typeof payloads)[];

const envelope = z.object({
  event_id: z.string().trim().min(8, 'must be at least 8 characters').max(128).regex(/^[A-Za-z0-9._:-]+$/, 'only letters, digits and . _ : -'),
  type: z.enum(PERMIT_EVENT_TYPES as [string, ...string[]], { error: `must be one of ${PERMIT_EVENT_TYPES.join(', ')}` }),
  occurred_at: instant,
  pendaftaran_id: z.string().trim().min(1, 'must not be empty').max(64),
  source: z.string().trim().min(1).max(64).default('sicantik'),
  correlation_id: z.string().trim().min(1).max(128).optional(),
  data: z.record(z.string(), z.unknown(), { error: 'must be an object' }),
}).strict(); // unknown fields are rejected here as in data (openapi: additionalProperties: false)

const issuesOf = (e: z.ZodError, prefix: (string | number)[] = []) => zodIssues(e, '(body)', prefix);

/** Validates the body and builds the event (pure: no clock, no I/O). */
export function toPermitEvent(body: unknown): PermitEvent {
  const env = envelope.safeParse(body);
  if (!env.success) throw new ValidationError('invalid permit event', issuesOf(env.error));
  const e = env.data;
  const type = e.type as keyof typeof payloads;
  const p = payloads[type].strict().safeParse(e.data);
  if (!p.success) throw new ValidationError('invalid permit event', issuesOf(p.error, ['data']));
  const d = p.data as Record<string, unknown>;
  let payload: PermitPayload;
  switch (type) {
    case 'PermitStatusChanged':
      payload = { type, status_lama: d.status_lama as string, status_baru: d.status_baru as string, changedAt: Date.parse(d.changed_at as string), link_detail: d.link_detail as string | null };
      break;
    case 'DocumentPendingSignature':
      payload = { type, document_id: d.document_id as string, jenis_izin: d.jenis_izin as string, nama_pemohon: d.nama_pemohon as string, pendingSince: Date.parse(d.pending_since as string) };
      break;
    default:
      payload = { type, ...d } as PermitPayload;
  }
  return {
    eventId: e.event_id,
    occurredAt: Date.parse(e.occurred_at),
    correlationId: e.correlation_id ?? e.event_id,
    causationId: null,
    source: e.source,
    pendaftaran_id: e.pendaftaran_id,
    payload,
  };
}
