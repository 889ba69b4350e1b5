import type { PermitEvent } from '@sicantik/schemas';
import { NAME_LEFT_OUT, applicantSubjectPhone, permitSubjectUpdate, subjectSource, withApplicantSubject } from './subject';

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

describe('the subject an event is published with', () => {
  const dps = ev({ type: 'DocumentPendingSignature', document_id: 'D1', jenis_izin: 'PBG', nama_pemohon: 'Budi', pendingSince: 5 });
  const approval = ev({ type: 'ApprovalRequested', jenis_izin: 'PBG', nama_pemohon: 'Budi', no_surat: null, link_approval: 'https://x.test/a', pejabat_id: null });
  const registered = ev({ type: 'PermitRegistered', jenis_izin: 'PBG', nama_pemohon: 'Budi', telepon_pemohon: '0812-3456-7890', status: 'baru' });
  const registeredNoNumber = ev({ type: 'PermitRegistered', jenis_izin: 'PBG', nama_pemohon: 'Budi', telepon_pemohon: null, status: 'baru' });
  const contactNameOnly = ev({ type: 'ApplicantContactChanged', nama_pemohon: 'Budi S.', telepon_pemohon: null });
  const contactNumberOnly = ev({ type: 'ApplicantContactChanged', nama_pemohon: null, telepon_pemohon: '0813 1111 2222' });
  const status = ev({ type: 'PermitStatusChanged', status_lama: 'a', status_baru: 'b', changedAt: 1, link_detail: null });
  const expiry = ev({ type: 'PermitExpiryDateSet', no_surat: 'N1', tanggal_berakhir: '2027-01-01' });

  it('comes from its own number, else from the permit when it carries the name, else from nowhere', () => {
    expect([registered, contactNumberOnly, dps, approval, registeredNoNumber, contactNameOnly, status, expiry].map(subjectSource)).toEqual([
      { from: 'number', phone: '+6281234567890' }, { from: 'number', phone: '+6281311112222' },
      { from: 'permit' }, { from: 'permit' }, { from: 'permit' }, { from: 'permit' }, { from: 'none' }, { from: 'none' },
    ]);
  });

  it('with a subject: the event names it, its fields unchanged (the codec encrypts them)', () => {
    expect(withApplicantSubject(dps, 'S1')).toEqual({ ...dps, subjectId: 'S1' });
    expect(withApplicantSubject(registered, 'S1')).toEqual({ ...registered, subjectId: 'S1' });
  });

  it('without one: a name that only repeats the applicant\'s is left out; any other event as it came', () => {
    expect(withApplicantSubject(dps, null)).toEqual({ ...dps, subjectId: null, payload: { ...dps.payload, nama_pemohon: NAME_LEFT_OUT } });
    expect(withApplicantSubject(approval, null)).toEqual({ ...approval, subjectId: null, payload: { ...approval.payload, nama_pemohon: '' } });
    expect(withApplicantSubject(registeredNoNumber, null)).toEqual({ ...registeredNoNumber, subjectId: null });
    expect(withApplicantSubject(contactNameOnly, null)).toEqual({ ...contactNameOnly, subjectId: null });
    expect(withApplicantSubject(status, null)).toEqual({ ...status, subjectId: null });
    expect(dps.payload).toEqual({ type: 'DocumentPendingSignature', document_id: 'D1', jenis_izin: 'PBG', nama_pemohon: 'Budi', pendingSince: 5 }); // not changed in place
  });

  it('the permit records a subject only from a number; a contact change replaces it', () => {
    expect(permitSubjectUpdate(registered, subjectSource(registered), 'S1')).toEqual({ subjectId: 'S1', replace: false });
    expect(permitSubjectUpdate(contactNumberOnly, subjectSource(contactNumberOnly), 'S2')).toEqual({ subjectId: 'S2', replace: true });
    expect(permitSubjectUpdate(dps, subjectSource(dps), 'S1')).toBeNull();
    expect(permitSubjectUpdate(registeredNoNumber, subjectSource(registeredNoNumber), null)).toBeNull();
  });
});
