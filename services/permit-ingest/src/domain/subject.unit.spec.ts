import type { PermitEvent } from '@sicantik/schemas';
import { applicantSubjectPhone } from './subject';

const ev = (payload: Record<string, unknown>): PermitEvent => ({ eventId: 'e1', occurredAt: 0, correlationId: 'e1', causationId: null, source: 'sicantik', pendaftaran_id: 'REG-1', payload } as never);

describe('the number that names the applicant\'s subject', () => {
  it('E.164 for a usable number in any form, the text as written for another, none without a number', () => {
    expect([
      ev({ type: 'PermitRegistered', jenis_izin: 'PBG', nama_pemohon: 'Budi', telepon_pemohon: '0812-3456-7890', status: 'baru' }),
      ev({ type: 'PermitIssued', telepon_pemohon: '+62 812 3456 7890' }),
      ev({ type: 'ApplicantContactChanged', nama_pemohon: null, telepon_pemohon: ' 021 1234 5678 ' }),
      ev({ type: 'PermitRegistered', telepon_pemohon: '   ' }),
      ev({ type: 'PermitIssued', telepon_pemohon: null }),
      ev({ type: 'PermitStatusChanged', status_lama: 'a', status_baru: 'b' }),
    ].map(applicantSubjectPhone)).toEqual(['+6281234567890', '+6281234567890', '021 1234 5678', null, null, null]);
  });
});
