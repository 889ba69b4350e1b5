import type { DirectoryEntryUpdated, PermitEvent } from '@sicantik/schemas';
import { contactFacts, directoryFacts, permitEventFacts, permitFact, validityEnd } from './retention';
import { evolve, initialState } from './state';

const Z = 'Asia/Jakarta';
const at = (iso: string) => Date.parse(iso);
const ev = (eventId: string, occurredAt: number, payload: PermitEvent['payload'], subjectId: string | null = 'subj-1'): PermitEvent =>
  ({ eventId, occurredAt, correlationId: eventId, causationId: null, pendaftaran_id: 'REG-1', payload, subjectId } as PermitEvent);

describe('retention facts of permits', () => {
  const registered = ev('e1', at('2026-01-10T02:00:00Z'), { type: 'PermitRegistered', jenis_izin: 'IMB', nama_pemohon: 'Budi', telepon_pemohon: '+6281234567890', status: 'diproses' } as PermitEvent['payload']);
  const issued = ev('e2', at('2026-02-01T03:00:00Z'), { type: 'PermitIssued', no_surat: '503/1', jenis_izin: 'IMB', nama_pemohon: 'Budi', tanggal_berakhir: '2031-01-31', telepon_pemohon: null } as PermitEvent['payload']);

  it('a validity ends at the end of its expiry date in the office zone', () => {
    expect(validityEnd('2031-01-31', Z)).toBe(at('2031-01-31T16:59:59.999Z'));
    expect(validityEnd(null, Z)).toBeNull();
  });
  it('a permit in process holds its applicant from its last event', () => {
    const s = evolve(initialState('REG-1'), registered);
    expect(permitEventFacts(initialState('REG-1'), s, registered.occurredAt, Z)).toEqual([{ subjectId: 'subj-1', source: 'permit:REG-1', factUntil: registered.occurredAt, updatedAt: registered.occurredAt }]);
  });
  it('an issued permit holds its applicant until the later of its validity end and its last event', () => {
    const s1 = evolve(initialState('REG-1'), registered);
    const s2 = evolve(s1, issued);
    expect(permitEventFacts(s1, s2, issued.occurredAt, Z)).toEqual([{ subjectId: 'subj-1', source: 'permit:REG-1', factUntil: at('2031-01-31T16:59:59.999Z'), updatedAt: issued.occurredAt }]);
  });
  it('a cancelled permit holds its applicant only from its last event', () => {
    const s2 = evolve(evolve(initialState('REG-1'), registered), issued);
    const cancel = ev('e3', at('2026-03-01T00:00:00Z'), { type: 'PermitStatusChanged', status_lama: 'terbit', status_baru: 'dicabut', changedAt: at('2026-03-01T00:00:00Z') } as PermitEvent['payload']);
    expect(permitEventFacts(s2, evolve(s2, cancel), cancel.occurredAt, Z)).toEqual([{ subjectId: 'subj-1', source: 'permit:REG-1', factUntil: cancel.occurredAt, updatedAt: cancel.occurredAt }]);
  });
  it('a new applicant number: the former subject stops being held by the permit at that event', () => {
    const s2 = evolve(evolve(initialState('REG-1'), registered), issued);
    const changed = ev('e4', at('2026-04-01T00:00:00Z'), { type: 'ApplicantContactChanged', nama_pemohon: null, telepon_pemohon: '+6281111111111' } as PermitEvent['payload'], 'subj-2');
    expect(permitEventFacts(s2, evolve(s2, changed), changed.occurredAt, Z)).toEqual([
      { subjectId: 'subj-1', source: 'permit:REG-1', factUntil: changed.occurredAt, updatedAt: changed.occurredAt },
      { subjectId: 'subj-2', source: 'permit:REG-1', factUntil: at('2031-01-31T16:59:59.999Z'), updatedAt: changed.occurredAt },
    ]);
  });
  it('no subject, no fact; a state from before lastEventAt counts from the times it holds', () => {
    expect(permitFact(evolve(initialState('REG-1'), { ...registered, subjectId: null }), Z)).toBeNull();
    const legacy = { ...initialState('REG-1'), subjectId: 'subj-1', tanggal_berakhir: '2026-05-01', expirySetAt: at('2026-01-01T00:00:00Z') };
    expect(permitFact(legacy, Z)).toEqual({ subjectId: 'subj-1', source: 'permit:REG-1', factUntil: at('2026-05-01T16:59:59.999Z'), updatedAt: at('2026-05-01T16:59:59.999Z') });
  });
});

describe('retention facts of the directory and contacts', () => {
  const entry = (active: boolean, subjectId: string | null, occurredAt: number) => ({ eventId: 'd', occurredAt, correlationId: 'd', causationId: null, entryId: 'staff-1', role: 'STAFF', name: 'Sari', phone: '+6281234500000', jenisIzin: ['*'], active, subjectId } as DirectoryEntryUpdated);
  it('a current entry holds with no end; an inactive one until its update; a former number stops at the change', () => {
    expect(directoryFacts(null, entry(true, 'st-1', 1000))).toEqual([{ subjectId: 'st-1', source: 'directory:staff-1', factUntil: null, updatedAt: 1000 }]);
    expect(directoryFacts('st-1', entry(false, 'st-1', 2000))).toEqual([{ subjectId: 'st-1', source: 'directory:staff-1', factUntil: 2000, updatedAt: 2000 }]);
    expect(directoryFacts('st-1', entry(true, 'st-2', 3000))).toEqual([
      { subjectId: 'st-1', source: 'directory:staff-1', factUntil: 3000, updatedAt: 3000 },
      { subjectId: 'st-2', source: 'directory:staff-1', factUntil: null, updatedAt: 3000 },
    ]);
  });
  it('a batch of contact events gives each subject its latest', () => {
    expect(contactFacts([{ subjectId: 'a', occurredAt: 5 }, { subjectId: 'b', occurredAt: 3 }, { subjectId: 'a', occurredAt: 2 }, { subjectId: null, occurredAt: 9 }])).toEqual([
      { subjectId: 'a', source: 'contact', factUntil: 5, updatedAt: 5 },
      { subjectId: 'b', source: 'contact', factUntil: 3, updatedAt: 3 },
    ]);
  });
});
