import fc from 'fast-check';
import type { PermitEvent, PermitIssued } from '@sicantik/schemas';
import { plan } from './plan';

const issued = (over: Partial<PermitIssued> = {}, env: Partial<PermitEvent> = {}): PermitEvent => ({
  eventId: 'evt-issued-1', occurredAt: Date.parse('2026-11-22T02:00:00Z'), correlationId: 'corr-1', causationId: null,
  source: 'sicantik', pendaftaran_id: 'REG-1',
  payload: { type: 'PermitIssued', no_surat: '503/1/2026', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', telepon_pemohon: '0812-3456-7890', tanggal_terbit: '2026-11-22', link_download: 'https://x.test/a.pdf', tanggal_berakhir: null, ...over },
  ...env,
});
const now = new Date('2026-11-22T03:00:00Z');

describe('planner: permit_ready', () => {
  it('given a permit issued with a PDF, when planned, then the applicant gets permit_ready with every variable', () => {
    const [d] = plan(issued(), { now });
    expect(d).toMatchObject({ kind: 'planned', request: {
      scenario: 'permit_ready', templateCode: 'permit_ready', pendaftaran_id: 'REG-1', causationId: 'evt-issued-1', correlationId: 'corr-1',
      recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi', phone: '+6281234567890' },
      variables: { nama_pemohon: 'Budi', jenis_izin: 'Izin Usaha Mikro', no_surat: '503/1/2026', tanggal_terbit: '2026-11-22', link_download: 'https://x.test/a.pdf' },
    } });
  });
  it('given no phone number, then it is skipped with the reason', () => {
    expect(plan(issued({ telepon_pemohon: null }), { now })).toEqual([{ kind: 'skipped', scenario: 'permit_ready', pendaftaran_id: 'REG-1', reason: 'applicant has no phone number' }]);
  });
  it('given a landline, then it is skipped as not a mobile number', () => {
    const [d] = plan(issued({ telepon_pemohon: '021 1234 5678' }), { now });
    expect(d).toMatchObject({ kind: 'skipped', reason: expect.stringMatching(/not a mobile number/) });
  });
  it('property: the same permit fact redelivered (other event id, other time) plans the same notification id', () => {
    fc.assert(fc.property(fc.uuid(), fc.uuid(), fc.date({ noInvalidDate: true }), (e1, e2, t) => {
      const a = plan(issued({}, { eventId: e1 }), { now });
      const b = plan(issued({}, { eventId: e2 }), { now: t });
      expect(a[0]!.kind === 'planned' && b[0]!.kind === 'planned' && a[0]!.request.notificationId === b[0]!.request.notificationId).toBe(true);
    }));
  });
  it('property: replaying an event yields an identical request (same event id too)', () => {
    fc.assert(fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (reg, surat) => {
      const ev = issued({ no_surat: surat }, { pendaftaran_id: reg });
      expect(plan(ev, { now })).toEqual(plan(ev, { now: new Date(0) }));
    }));
  });
  it('other permit facts plan nothing yet', () => {
    expect(plan({ ...issued(), payload: { type: 'PermitExpiryDateSet', no_surat: 'x', tanggal_berakhir: '2027-01-01' } }, { now })).toEqual([]);
  });
});
