import type { PlannerStateRecord } from '@sicantik/schemas';
import { PlannerMemory, type PermitRecord } from './memory';

////////// The planner's memory and erased permits (issue 16): a permit's changelog body is
// encrypted with its applicant's key; once erased it reads as the erased marker.

const permit = (reg: string): PermitRecord => ({ state: { pendaftaran_id: reg, nama_pemohon: 'Budi', telepon_pemohon: '+6281234567890', jenis_izin: 'PBG', no_surat: null, status: null, tanggal_berakhir: null, cancelled: false, pendingDocuments: [], expiryPlanned: {}, subjectId: 's-1' }, claims: { n1: 'e1' }, decided: ['e1'] });
const rec = (key: string, body: string, partition = 0): PlannerStateRecord => ({ key, kind: 'PERMIT', partition, body, updatedAt: 1, subjectId: 's-1' });

describe('planner memory: erased permits', () => {
  it('a permit whose record reads erased is forgotten (its earlier record too); a readable one is kept; the offset advances either way', () => {
    const m = new PlannerMemory();
    m.applyChangelog(rec('REG-1', JSON.stringify(permit('REG-1'))), '0');
    m.applyChangelog(rec('REG-2', JSON.stringify(permit('REG-2'))), '1');
    m.applyChangelog(rec('REG-1', '[erased]'), '2');
    expect([[...m.permits.keys()], m.record('REG-1').claims, m.record('REG-2').state.subjectId, m.appliedOffset(0)]).toEqual([['REG-2'], {}, 's-1', 2n]);
  });
});
