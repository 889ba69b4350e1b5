import { deterministicId, normalizePhone, notificationId } from '@sicantik/core';
import type { NotificationRequested, PermitEvent } from '@sicantik/schemas';

////////// Planner decisions (pure): permit facts -> notification requests
// Every request's id is derived from its cause, so a replayed or duplicated
// permit event yields the same request and never a second message.

export type Decision =
  | { kind: 'planned'; request: NotificationRequested }
  | { kind: 'skipped'; scenario: string; pendaftaran_id: string; reason: string };

export interface PlanContext { now: Date }

export function plan(ev: PermitEvent, ctx: PlanContext): Decision[] {
  const p = ev.payload;
  switch (p.type) {
    case 'PermitIssued': {
      const scenario = 'permit_ready';
      const phone = p.telepon_pemohon ? normalizePhone(p.telepon_pemohon) : { ok: false as const, reason: 'applicant has no phone number' };
      if (!phone.ok) return [{ kind: 'skipped', scenario, pendaftaran_id: ev.pendaftaran_id, reason: phone.reason }];
      const id = notificationId(scenario, ev.pendaftaran_id, p.no_surat);
      return [{
        kind: 'planned',
        request: {
          eventId: deterministicId('sicantik.event', 'NotificationRequested', id),
          occurredAt: ev.occurredAt, // from the cause, so a replay yields an identical event
          correlationId: ev.correlationId,
          causationId: ev.eventId,
          notificationId: id,
          scenario,
          templateCode: 'permit_ready',
          pendaftaran_id: ev.pendaftaran_id,
          recipient: { kind: 'APPLICANT', id: ev.pendaftaran_id, name: p.nama_pemohon, phone: phone.e164 },
          variables: {
            nama_pemohon: p.nama_pemohon,
            jenis_izin: p.jenis_izin,
            no_surat: p.no_surat,
            tanggal_terbit: p.tanggal_terbit,
            link_download: p.link_download,
          },
          locale: 'id',
        },
      }];
    }
    // The other scenarios are planned in their own issue; nothing to send yet.
    case 'PermitRegistered':
    case 'PermitStatusChanged':
    case 'DocumentPendingSignature':
    case 'ApprovalRequested':
    case 'PermitExpiryDateSet':
    case 'PermitRenewalApproved':
    case 'ApplicantContactChanged':
      return [];
    default: {
      const _never: never = p;
      return _never;
    }
  }
}
