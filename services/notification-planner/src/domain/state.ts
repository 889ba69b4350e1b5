import type { PermitEvent } from '@sicantik/schemas';
import type { CoalesceWindow } from './timing';

////////// Permit state kept by the planner (pure evolve)

export interface PendingDocument { document_id: string; jenis_izin: string; nama_pemohon: string; pendingSince: number }

export interface PermitState {
  pendaftaran_id: string;
  nama_pemohon: string | null;
  telepon_pemohon: string | null;
  jenis_izin: string | null;
  no_surat: string | null;
  status: string | null;
  tanggal_berakhir: string | null;
  cancelled: boolean;
  pendingDocuments: PendingDocument[];
  /** Expiry thresholds already decided (planned or skipped), per expiry date. */
  expiryPlanned: Record<string, number[]>;
  /** When the current expiry date became known (the event's time), and the date it replaced: the true cause of a superseded warning. */
  expirySetAt?: number | null;
  expiryChangedFrom?: string | null;
  /** Issue 16: the open status_update coalescing window per recipient ("<kind>:<id>"); absent = none. */
  coalescing?: Record<string, CoalesceWindow>;
  /** The applicant's subject (issue 16): from the latest permit event that carries a number and names one. */
  subjectId?: string | null;
  /** The time of the latest event of this permit (the subject's retention counts from it); absent in states written before it was kept. */
  lastEventAt?: number;
}

export const initialState = (pendaftaran_id: string): PermitState => ({
  pendaftaran_id, nama_pemohon: null, telepon_pemohon: null, jenis_izin: null, no_surat: null, status: null,
  tanggal_berakhir: null, cancelled: false, pendingDocuments: [], expiryPlanned: {}, expirySetAt: null, expiryChangedFrom: null,
});

/** Statuses after which a permit gets no more notifications (compared lower-case). */
const CANCELLED_STATUSES = ['dibatalkan', 'batal', 'cancelled', 'canceled', 'ditolak', 'rejected', 'dicabut', 'revoked'];
/** Statuses after which no document of the permit waits for a signature. */
const SIGNED_STATUSES = ['ditandatangani', 'signed', 'selesai', 'done', 'terbit', 'issued', ...CANCELLED_STATUSES];

/**
 * The state after a permit event; the subject of an event that carries the applicant's
 * number becomes the applicant's. An event with the name but no number (a
 * DocumentPendingSignature, an ApprovalRequested) names the permit's subject as the
 * ingest recorded it only to encrypt that name: it does not move the applicant's subject.
 */
export function evolve(s: PermitState, ev: PermitEvent): PermitState {
  const next = { ...evolveFacts(s, ev), lastEventAt: Math.max(s.lastEventAt ?? ev.occurredAt, ev.occurredAt) };
  return ev.subjectId && carriesNumber(ev) ? { ...next, subjectId: ev.subjectId } : next;
}

function carriesNumber(ev: PermitEvent): boolean {
  const phone = 'telepon_pemohon' in ev.payload ? ev.payload.telepon_pemohon : null;
  return typeof phone === 'string' && phone.trim() !== '';
}

/**
 * The applicant's name an event gives, or null when it has none: permit-ingest leaves the
 * name out (an empty string) of an event that only repeats it when it knows no subject to
 * encrypt it with; the permit state's name stands in for it then.
 */
const givenName = (name: string): string | null => (name === '' ? null : name);

function evolveFacts(s: PermitState, ev: PermitEvent): PermitState {
  const p = ev.payload;
  switch (p.type) {
    case 'PermitRegistered':
      return { ...s, jenis_izin: p.jenis_izin, nama_pemohon: p.nama_pemohon, telepon_pemohon: p.telepon_pemohon ?? s.telepon_pemohon, status: p.status };
    case 'PermitStatusChanged': {
      const st = p.status_baru.trim().toLowerCase();
      return {
        ...s, status: p.status_baru,
        cancelled: s.cancelled || CANCELLED_STATUSES.includes(st),
        pendingDocuments: SIGNED_STATUSES.includes(st) ? [] : s.pendingDocuments,
      };
    }
    case 'DocumentPendingSignature': {
      const others = s.pendingDocuments.filter((d) => d.document_id !== p.document_id);
      const existing = s.pendingDocuments.find((d) => d.document_id === p.document_id);
      const name = givenName(p.nama_pemohon);
      const doc = existing ?? { document_id: p.document_id, jenis_izin: p.jenis_izin, nama_pemohon: name ?? s.nama_pemohon ?? '', pendingSince: p.pendingSince };
      return { ...s, jenis_izin: s.jenis_izin ?? p.jenis_izin, nama_pemohon: s.nama_pemohon ?? name, pendingDocuments: [...others, doc].sort((a, b) => a.pendingSince - b.pendingSince || a.document_id.localeCompare(b.document_id)) };
    }
    case 'ApprovalRequested':
      return { ...s, jenis_izin: p.jenis_izin, nama_pemohon: givenName(p.nama_pemohon) ?? s.nama_pemohon, no_surat: p.no_surat ?? s.no_surat };
    case 'PermitIssued':
      return {
        ...withExpiryDate(s, p.tanggal_berakhir, ev.occurredAt), no_surat: p.no_surat, jenis_izin: p.jenis_izin, nama_pemohon: p.nama_pemohon,
        telepon_pemohon: p.telepon_pemohon ?? s.telepon_pemohon, pendingDocuments: [],
      };
    case 'PermitExpiryDateSet':
      return { ...withExpiryDate(s, p.tanggal_berakhir, ev.occurredAt), no_surat: p.no_surat };
    case 'PermitRenewalApproved':
      return { ...withExpiryDate(s, p.tanggal_berakhir, ev.occurredAt), no_surat: p.no_surat_baru, cancelled: false };
    case 'ApplicantContactChanged':
      return { ...s, nama_pemohon: p.nama_pemohon ?? s.nama_pemohon, telepon_pemohon: p.telepon_pemohon ?? s.telepon_pemohon };
    default: {
      const _never: never = p;
      return _never;
    }
  }
}

/** A new expiry date (a repeat of the current one, or none, changes nothing) and when it became known. */
function withExpiryDate(s: PermitState, date: string | null, at: number): PermitState {
  if (!date || date === s.tanggal_berakhir) return s;
  return { ...s, tanggal_berakhir: date, expirySetAt: at, expiryChangedFrom: s.tanggal_berakhir };
}

export function withExpiryPlanned(s: PermitState, expiry: string, threshold: number): PermitState {
  const cur = s.expiryPlanned[expiry] ?? [];
  if (cur.includes(threshold)) return s;
  return { ...s, expiryPlanned: { ...s.expiryPlanned, [expiry]: [...cur, threshold] } };
}
