import type { PermitEvent } from '@sicantik/schemas';
import { REASON, decideOnEvent, wrongNumberKey, type Contacts, type Decision, type DirectoryEntry, type PlannerSettings } from './decide';
import { initialState } from './state';

////////// BUKAN SAYA (WRONG_NUMBER from the consent classifier): that permit's applicant messages skip that person

const settings: PlannerSettings = { linkDashboard: 'https://sicantik.test/dashboard', linkPerpanjangan: 'https://sicantik.test/perpanjangan', kontakDpmptsp: '0628-20000', reminderAfterHours: 24 };
const dir: DirectoryEntry[] = [{ id: 'staff-1', role: 'STAFF', name: 'Rina', phone: '0813-1111-2222', jenisIzin: ['*'], active: true }];
const state = (reg: string) => ({ ...initialState(reg), nama_pemohon: 'Budi', telepon_pemohon: '081234567890', jenis_izin: 'PBG', status: 'A' });
const changed = (reg: string): PermitEvent => ({
  eventId: `e-${reg}`, occurredAt: Date.parse('2026-11-22T02:00:00Z'), correlationId: 'c', causationId: null, source: 'test', pendaftaran_id: reg,
  payload: { type: 'PermitStatusChanged', status_lama: 'A', status_baru: 'B', changedAt: 0, link_detail: null },
} as unknown as PermitEvent);
const of = (ds: Decision[]) => ds.map((d) => (d.kind === 'planned' ? ['planned', d.request.recipient.id] : [d.kind, d.recipientId, d.code, d.reason]));

describe('wrong number', () => {
  const contacts: Contacts = { optedOut: new Set(), wrongNumber: new Set([wrongNumberKey('REG-1', '+6281234567890')]) };
  it('the permit the person refused: the applicant message is skipped as WRONG_NUMBER, the staff still get theirs', () => {
    expect(of(decideOnEvent(state('REG-1'), changed('REG-1'), dir, settings, contacts).decisions)).toEqual([
      ['skipped', 'REG-1', 'WRONG_NUMBER', REASON.wrongNumber], ['planned', 'staff-1'],
    ]);
  });
  it('another permit with the same number is not affected', () => {
    expect(of(decideOnEvent(state('REG-2'), changed('REG-2'), dir, settings, contacts).decisions)).toEqual([['planned', 'REG-2'], ['planned', 'staff-1']]);
  });
});
