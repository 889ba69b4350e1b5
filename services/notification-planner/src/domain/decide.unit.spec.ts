import fc from 'fast-check';
import { DateTime } from 'luxon';
import { notificationId } from '@sicantik/core';
import type { PermitEvent, PermitPayload } from '@sicantik/schemas';
import { REASON, decideDaily, decideDocumentDigest, decideOnEvent, formatDurasi, formatWaktu, type Contacts, type Decision, type DirectoryEntry, type PlannerSettings } from './decide';
import { evolve, initialState, withExpiryPlanned, type PermitState } from './state';

const settings: PlannerSettings = { linkDashboard: 'https://sicantik.test/dashboard', linkPerpanjangan: 'https://sicantik.test/perpanjangan', kontakDpmptsp: '0628-20000', reminderAfterHours: 24 };
const dir: DirectoryEntry[] = [
  { id: 'staff-1', role: 'STAFF', name: 'Rina', phone: '0813-1111-2222', jenisIzin: ['Izin Usaha Mikro'], active: true },
  { id: 'staff-2', role: 'STAFF', name: 'Andi', phone: '0813-3333-4444', jenisIzin: ['*'], active: true },
  { id: 'staff-3', role: 'STAFF', name: 'Old', phone: '0813-5555-6666', jenisIzin: ['*'], active: false },
  { id: 'kadis', role: 'OFFICIAL', name: 'Drs. Kepala Dinas', phone: '0812-9999-0000', jenisIzin: ['*'], active: true },
];
let seq = 0;
const ev = (payload: PermitPayload, reg = 'REG-1', at = '2026-11-22T02:00:00Z'): PermitEvent => ({
  eventId: `evt-${++seq}`, occurredAt: Date.parse(at), correlationId: `corr-${seq}`, causationId: null, source: 'sicantik', pendaftaran_id: reg, payload,
});
const registered = (reg = 'REG-1', phone: string | null = '0812-3456-7890') => ev({ type: 'PermitRegistered', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', telepon_pemohon: phone, status: 'baru' }, reg);
const given = (...events: PermitEvent[]): PermitState => events.reduce((s, e) => evolve(s, e), initialState(events[0]?.pendaftaran_id ?? 'REG-1'));
const planned = (ds: Decision[]) => ds.flatMap((d) => (d.kind === 'planned' ? [d.request] : []));
const skipped = (ds: Decision[]) => ds.flatMap((d) => (d.kind === 'skipped' ? [d.reason] : []));

describe('on permit events', () => {
  it('permit_ready goes to the applicant with every variable', () => {
    const { decisions } = decideOnEvent(given(registered()), ev({ type: 'PermitIssued', no_surat: '503/1', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', telepon_pemohon: null, tanggal_terbit: '2026-11-22', link_download: 'https://x.test/a.pdf', tanggal_berakhir: '2027-11-22' }), dir, settings);
    expect(planned(decisions)).toEqual([expect.objectContaining({ scenario: 'permit_ready', recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi', phone: '+6281234567890', subjectId: null }, variables: { nama_pemohon: 'Budi', jenis_izin: 'Izin Usaha Mikro', no_surat: '503/1', tanggal_terbit: '2026-11-22', link_download: 'https://x.test/a.pdf' } })]);
  });
  it('the recipient carries the subject: the applicant\'s from the latest event naming one, a directory person\'s from the directory', () => {
    const withSubject = (e: PermitEvent, subjectId: string): PermitEvent => ({ ...e, subjectId });
    const issued = ev({ type: 'PermitIssued', no_surat: '503/1', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', telepon_pemohon: null, tanggal_terbit: '2026-11-22', link_download: 'https://x.test/a.pdf', tanggal_berakhir: null });
    const s = given(withSubject(registered(), 'subj-old'), withSubject(ev({ type: 'ApplicantContactChanged', nama_pemohon: null, telepon_pemohon: '0812-3456-7891' }), 'subj-new'));
    expect([s.subjectId, planned(decideOnEvent(s, issued, dir, settings).decisions).map((r) => r.recipient.subjectId)]).toEqual(['subj-new', ['subj-new']]);
    const named = decideOnEvent(given(registered()), ev({ type: 'ApprovalRequested', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', no_surat: '503/1', link_approval: 'https://a.test/1', pejabat_id: 'kadis' }), [{ ...dir[3]!, subjectId: 'subj-kadis' }], settings);
    expect(planned(named.decisions).map((r) => [r.recipient.id, r.recipient.subjectId])).toEqual([['kadis', 'subj-kadis']]);
  });
  it('an event with the name but no number names the permit\'s subject only to encrypt the name: the applicant\'s subject stays', () => {
    const withSubject = (e: PermitEvent, subjectId: string): PermitEvent => ({ ...e, subjectId });
    const s = given(withSubject(registered(), 'subj-1'), withSubject(ev({ type: 'PermitIssued', no_surat: '503/1', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', telepon_pemohon: '0812-3456-7891', tanggal_terbit: '2026-11-22', link_download: 'https://x.test/a.pdf', tanggal_berakhir: null }), 'subj-2'),
      withSubject(ev({ type: 'DocumentPendingSignature', document_id: 'D1', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', pendingSince: 0 }), 'subj-1'),
      withSubject(ev({ type: 'ApprovalRequested', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', no_surat: null, link_approval: 'https://a.test/1', pejabat_id: null }), 'subj-1'));
    expect(s.subjectId).toBe('subj-2');
  });
  it('a name left out by the ingest (empty: no subject to encrypt it with) is taken from the permit state', () => {
    const doc = ev({ type: 'DocumentPendingSignature', document_id: 'D1', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: '', pendingSince: 0 });
    const approval = ev({ type: 'ApprovalRequested', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: '', no_surat: '503/1', link_approval: 'https://a.test/1', pejabat_id: 'kadis' });
    const s = given(registered(), doc);
    expect([s.nama_pemohon, s.pendingDocuments.map((d) => d.nama_pemohon)]).toEqual(['Budi', ['Budi']]);
    const { after, decisions } = decideOnEvent(given(registered()), approval, dir, settings);
    expect([after.nama_pemohon, planned(decisions).map((r) => r.variables.nama_pemohon)]).toEqual(['Budi', ['Budi']]);
    // A permit the planner never saw registered: no name to take (empty), as the ingest documents.
    const unknown = given(doc);
    expect([unknown.nama_pemohon, unknown.pendingDocuments.map((d) => d.nama_pemohon)]).toEqual([null, ['']]);
    expect(planned(decideOnEvent(initialState('REG-1'), approval, dir, settings).decisions).map((r) => r.variables.nama_pemohon)).toEqual(['']);
  });
  it('no phone anywhere: skipped with the reason, never silently dropped', () => {
    const { decisions } = decideOnEvent(given(registered('REG-1', null)), ev({ type: 'PermitIssued', no_surat: '503/1', jenis_izin: 'IUM', nama_pemohon: 'Budi', telepon_pemohon: null, tanggal_terbit: '2026-11-22', link_download: 'https://x.test/a.pdf', tanggal_berakhir: null }), dir, settings);
    expect(decisions).toEqual([expect.objectContaining({ kind: 'skipped', scenario: 'permit_ready', reason: 'applicant has no phone number', recipientKind: 'APPLICANT', notificationId: expect.any(String) })]);
  });
  it('approval_required goes to the named official, or to officials handling the type', () => {
    const named = decideOnEvent(given(registered()), ev({ type: 'ApprovalRequested', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', no_surat: '503/1', link_approval: 'https://a.test/1', pejabat_id: 'kadis' }), dir, settings);
    expect(planned(named.decisions).map((r) => [r.recipient.id, r.variables.nama_pejabat, r.variables.link_approval])).toEqual([['kadis', 'Drs. Kepala Dinas', 'https://a.test/1']]);
    const unknown = decideOnEvent(given(registered()), ev({ type: 'ApprovalRequested', jenis_izin: 'IUM', nama_pemohon: 'Budi', no_surat: null, link_approval: 'https://a.test/1', pejabat_id: 'nobody' }), dir, settings);
    expect(skipped(unknown.decisions)).toEqual(['official nobody is not an active official in the directory']);
  });
  it('status_update goes to the applicant and every active staff member handling the type, with old -> new', () => {
    const { decisions } = decideOnEvent(given(registered()), ev({ type: 'PermitStatusChanged', status_lama: 'Verifikasi', status_baru: 'Survey Lapangan', changedAt: Date.parse('2026-11-22T02:30:00Z'), link_detail: null }), dir, settings);
    const reqs = planned(decisions);
    expect(reqs.map((r) => r.recipient.id)).toEqual(['REG-1', 'staff-1', 'staff-2']);
    expect(reqs[0]!.variables).toEqual({ pendaftaran_id: 'REG-1', status_lama: 'Verifikasi', status_baru: 'Survey Lapangan', timestamp: '22 November 2026 09.30 WIB', link_detail: 'https://sicantik.test/dashboard/REG-1' });
    expect(new Set(reqs.map((r) => r.notificationId)).size).toBe(3);
  });
  it('status_update is skipped only when the status really did not change', () => {
    const { decisions } = decideOnEvent(given(registered()), ev({ type: 'PermitStatusChanged', status_lama: 'Proses', status_baru: 'proses ', changedAt: 0, link_detail: null }), dir, settings);
    expect(skipped(decisions)).toEqual(['status unchanged (proses )']);
  });
  it('renewal approved: message with the validity in years, and the new expiry date re-plans warnings', () => {
    const s0 = withExpiryPlanned({ ...given(registered()), tanggal_berakhir: '2026-12-31' }, '2026-12-31', 60);
    const { after, decisions } = decideOnEvent(s0, ev({ type: 'PermitRenewalApproved', no_surat_baru: '503/2', tanggal_mulai: '2027-01-01', tanggal_berakhir: '2029-12-31', masa_berlaku_tahun: 3, link_download: 'https://x.test/b.pdf' }), dir, settings);
    expect(planned(decisions)[0]!.variables).toMatchObject({ no_surat_baru: '503/2', tanggal_mulai: '2027-01-01', tanggal_berakhir: '2029-12-31', masa_berlaku: '3' });
    expect(after.tanggal_berakhir).toBe('2029-12-31');
    expect(decideDaily([after], dir, '2026-12-31', settings).decisions).toEqual([]); // no warning for the old date
  });
  it('property: replaying the same event gives identical decisions', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ minLength: 1, maxLength: 20 }), (a, b) => {
      const e = ev({ type: 'PermitStatusChanged', status_lama: a, status_baru: b, changedAt: 0, link_detail: null });
      expect(decideOnEvent(given(registered()), e, dir, settings)).toEqual(decideOnEvent(given(registered()), e, dir, settings));
    }));
  });
});

describe('daily run: expiry warnings', () => {
  const permit = (expiry: string, extra: Partial<PermitState> = {}): PermitState => ({ ...given(registered()), no_surat: '503/1', tanggal_berakhir: expiry, ...extra });
  it('due threshold -> one warning with sisa_hari and links', () => {
    const { decisions, marks } = decideDaily([permit('2027-02-20')], dir, '2026-11-22', settings);
    expect(planned(decisions)).toEqual([expect.objectContaining({ scenario: 'permit_expiry_warning', variables: expect.objectContaining({ sisa_hari: '90', tanggal_berakhir: '2027-02-20', link_perpanjangan: 'https://sicantik.test/perpanjangan?pendaftaran_id=REG-1', kontak_dpmptsp: '0628-20000' }) })]);
    expect(marks).toEqual([{ pendaftaran_id: 'REG-1', expiry: '2027-02-20', threshold: 90 }]);
  });
  it('a missed 90-day run is superseded by the 60-day warning, recorded as skipped with the true cause', () => {
    // The expiry date was known on 2026-10-01 (112 days ahead): the 90-day warning was due on 2026-10-23 and no run decided it.
    const known = { expirySetAt: Date.parse('2026-10-01T02:00:00Z'), expiryChangedFrom: null };
    const { decisions } = decideDaily([permit('2027-01-21', known)], dir, '2026-11-22', settings);
    expect(planned(decisions).map((r) => r.variables.sisa_hari)).toEqual(['60']);
    expect(skipped(decisions)).toEqual(['90-day warning superseded by the 60-day warning: no daily run from 2026-10-23, when it was due, until 2026-11-22 (missed while the scheduler did not run)']);
  });
  it('a permit issued late, or an expiry date changed late, says so instead of blaming the scheduler', () => {
    const late = given(registered(), ev({ type: 'PermitIssued', no_surat: '503/1', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', telepon_pemohon: null, tanggal_terbit: '2026-11-21', link_download: 'https://x.test/a.pdf', tanggal_berakhir: '2027-01-21' }, 'REG-1', '2026-11-21T02:00:00Z'));
    expect(skipped(decideDaily([late], dir, '2026-11-22', settings).decisions)).toEqual(['90-day warning superseded by the 60-day warning: the expiry date 2027-01-21 became known on 2026-11-21, 61 days before it']);
    const moved = evolve(permit('2027-11-01'), ev({ type: 'PermitExpiryDateSet', no_surat: '503/1', tanggal_berakhir: '2027-01-10' }, 'REG-1', '2026-11-20T02:00:00Z'));
    expect(skipped(decideDaily([moved], dir, '2026-11-22', settings).decisions)).toEqual([
      '90-day warning superseded by the 60-day warning: the expiry date changed from 2027-11-01 to 2027-01-10 on 2026-11-20, 51 days before it',
    ]);
  });
  it('a superseded threshold is recorded once: not again when a later threshold comes due', () => {
    const s = withExpiryPlanned(permit('2027-01-21', { expirySetAt: Date.parse('2026-11-21T02:00:00Z') }), '2027-01-21', 60);
    const at30 = decideDaily([s], dir, '2026-12-22', settings).decisions;
    expect([planned(at30).map((r) => r.variables.sisa_hari), skipped(at30)]).toEqual([['30'], []]);
    // 7 days left, 30 missed: only 30 is superseded now (90 was superseded by 60 before).
    const at7 = decideDaily([s], dir, '2027-01-14', settings).decisions;
    expect(skipped(at7)).toEqual(['30-day warning superseded by the 7-day warning: no daily run from 2026-12-22, when it was due, until 2027-01-14 (missed while the scheduler did not run)']);
  });
  it('property: over any sequence of runs, each threshold gets at most one decision (planned or superseded)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), fc.uniqueArray(fc.integer({ min: 0, max: 220 }), { maxLength: 12 }), (ahead, offsets) => {
      const expiry = DateTime.fromISO('2027-06-01').toISODate()!;
      let s = permit(expiry, { expirySetAt: DateTime.fromISO(expiry).minus({ days: ahead }).toMillis() });
      const seen: string[] = [];
      for (const o of [...offsets].sort((a, b) => a - b)) {
        const asOf = DateTime.fromISO(expiry).minus({ days: ahead }).plus({ days: o }).toISODate()!;
        const { decisions, marks } = decideDaily([s], dir, asOf, settings);
        for (const d of decisions) if (d.kind === 'planned' || d.code === 'SUPERSEDED') seen.push(d.kind === 'planned' ? d.request.notificationId : d.notificationId!);
        for (const m of marks) s = withExpiryPlanned(s, m.expiry, m.threshold);
      }
      expect(new Set(seen).size).toBe(seen.length);
    }));
  });
  it('cancelled permits get none; expired permits get none', () => {
    expect(planned(decideDaily([permit('2027-01-21', { cancelled: true })], dir, '2026-11-22', settings).decisions)).toEqual([]);
    expect(planned(decideDaily([permit('2026-11-22')], dir, '2026-11-22', settings).decisions)).toEqual([]);
  });
  it('the same threshold is never planned twice for the same expiry date', () => {
    const p = withExpiryPlanned(permit('2027-02-20'), '2027-02-20', 90);
    expect(decideDaily([p], dir, '2026-11-23', settings).decisions).toEqual([]);
  });
});

describe('digests', () => {
  const doc = (reg: string, id: string, since: string) => ev({ type: 'DocumentPendingSignature', document_id: id, jenis_izin: 'Izin Usaha Mikro', nama_pemohon: `Pemohon ${reg}`, pendingSince: Date.parse(since) }, reg);
  const p1 = given(registered('REG-1'), doc('REG-1', 'D1', '2026-11-20T01:00:00Z'));
  const p2 = given(registered('REG-2'), doc('REG-2', 'D2', '2026-11-21T05:00:00Z'), doc('REG-2', 'D2', '2026-11-21T05:00:00Z'));
  const p3 = given(registered('REG-3'), doc('REG-3', 'D3', '2026-11-22T01:30:00Z'));

  it('reminder: one message per staff member listing documents pending over 24 h (REG-2 has waited only 21 h)', () => {
    const reqs = planned(decideDaily([p1, p2, p3], dir, '2026-11-22', settings).decisions);
    expect(reqs.map((r) => [r.scenario, r.recipient.id, r.variables.jumlah])).toEqual([['reminder', 'staff-1', '1'], ['reminder', 'staff-2', '1']]);
    expect(reqs[0]!.items).toEqual([{ jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Pemohon REG-1', pendaftaran_id: 'REG-1', waktu_pending: '2 hari 1 jam' }]);
    const nextDay = planned(decideDaily([p1, p2, p3], dir, '2026-11-23', settings).decisions);
    expect(nextDay[0]!.items.map((i) => i.pendaftaran_id)).toEqual(['REG-1', 'REG-2', 'REG-3']);
  });
  it('reminder: the run for the current day lists what waits now, with the true age at sending time', () => {
    const now = Date.parse('2026-11-22T05:30:00Z'); // 12.30 WIB, the run was triggered late
    const [r] = planned(decideDaily([p1, p2, p3], dir, '2026-11-22', settings, undefined, now).decisions);
    expect(r!.items.map((i) => [i.pendaftaran_id, i.waktu_pending])).toEqual([['REG-1', '2 hari 4 jam'], ['REG-2', '1 hari']]);
  });
  it('reminder: a backfill of past dates sends none (recorded as BACKFILL), expiry warnings still catch up', () => {
    const now = Date.parse('2026-11-25T02:00:00Z');
    const withExpiry = { ...p1, no_surat: '503/1', tanggal_berakhir: '2027-02-20' };
    const d = decideDaily([withExpiry], dir, '2026-11-22', settings, undefined, now).decisions;
    expect(planned(d).map((r) => r.scenario)).toEqual(['permit_expiry_warning']);
    expect(d.filter((x) => x.kind === 'skipped').map((x) => x.kind === 'skipped' && [x.scenario, x.recipientId, x.code, x.reason])).toEqual(['staff-1', 'staff-2'].map((id) => [
      'reminder', id, 'BACKFILL', 'reminders are sent only by the run for the current day (2026-11-25, Asia/Jakarta); the run for 2026-11-22 is a backfill',
    ]));
  });
  it('property: a sweep over any past and current dates sends each staff member at most one reminder, today\'s, with the true age', () => {
    const now = Date.parse('2026-11-30T03:00:00Z');
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 10 }), (back) => {
      const dates = back.map((b) => DateTime.fromMillis(now, { zone: 'Asia/Jakarta' }).minus({ days: b }).toISODate()!);
      const reqs = dates.flatMap((date) => planned(decideDaily([p1], dir, date, settings, undefined, now).decisions));
      expect(reqs.map((r) => r.recipient.id).sort()).toEqual(back.includes(0) ? ['staff-1', 'staff-2'] : []);
      for (const r of reqs) expect(r.items[0]!.waktu_pending).toBe(formatDurasi(now - Date.parse('2026-11-20T01:00:00Z')));
    }));
  });
  it('reminder: a missed day is not lost, the next run still lists the documents (new id per date)', () => {
    const d1 = planned(decideDaily([p1], dir, '2026-11-22', settings).decisions)[0]!;
    const d2 = planned(decideDaily([p1], dir, '2026-11-24', settings).decisions)[0]!;
    expect(d2.items.map((i) => i.pendaftaran_id)).toEqual(['REG-1']);
    expect(d2.notificationId).not.toBe(d1.notificationId);
  });
  it('signed documents leave the digests', () => {
    const signed = evolve(p1, ev({ type: 'PermitStatusChanged', status_lama: 'Menunggu TTD', status_baru: 'Ditandatangani', changedAt: 0, link_detail: null }));
    expect(planned(decideDaily([signed], dir, '2026-11-22', settings).decisions)).toEqual([]);
  });
  it('document_pending: documents that started waiting in the window, one digest per staff member', () => {
    const reqs = planned(decideDocumentDigest([p1, p2, p3], dir, Date.parse('2026-11-22T01:00:00Z'), Date.parse('2026-11-22T02:00:00Z'), settings));
    expect(reqs.map((r) => [r.recipient.id, r.items.map((i) => i.pendaftaran_id)])).toEqual([['staff-1', ['REG-3']], ['staff-2', ['REG-3']]]);
  });
  it('formats Indonesian times and durations', () => {
    expect(formatWaktu(Date.parse('2026-08-17T03:05:00Z'))).toBe('17 Agustus 2026 10.05 WIB');
    expect(formatDurasi(26 * 3600e3)).toBe('1 hari 2 jam');
    expect(formatDurasi(45 * 60e3)).toBe('45 menit');
  });
});

describe('every skip reason, and cancellations', () => {
  const issued = (reg = 'REG-1', expiry: string | null = '2027-11-22') => ev({ type: 'PermitIssued', no_surat: '503/1', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', telepon_pemohon: null, tanggal_terbit: '2026-11-22', link_download: 'https://x.test/a.pdf', tanggal_berakhir: expiry }, reg);
  const optedOut = (...phones: string[]): Contacts => ({ optedOut: new Set(phones) });
  const decisionsOf = (ds: Decision[]) => ds.map((d) => (d.kind === 'planned' ? ['planned', d.request.scenario, d.request.recipient.id] : [d.kind, d.scenario, d.recipientId, d.reason]));

  it('given an applicant who opted out, when the permit is issued, then permit_ready is skipped as opted out', () => {
    const { decisions } = decideOnEvent(given(registered()), issued(), dir, settings, optedOut('+6281234567890'));
    expect(decisionsOf(decisions)).toEqual([['skipped', 'permit_ready', 'REG-1', REASON.optedOut]]);
  });
  it('given a staff member who opted out, when the status changes, then the others still get it and the opt-out is recorded', () => {
    const { decisions } = decideOnEvent(given(registered()), ev({ type: 'PermitStatusChanged', status_lama: 'A', status_baru: 'B', changedAt: 0, link_detail: null }), dir, settings, optedOut('+6281311112222'));
    expect(decisionsOf(decisions)).toEqual([['planned', 'status_update', 'REG-1'], ['skipped', 'status_update', 'staff-1', REASON.optedOut], ['planned', 'status_update', 'staff-2']]);
  });
  it('given opted-out staff, then digests and daily warnings record the opt-out too', () => {
    const doc = ev({ type: 'DocumentPendingSignature', document_id: 'D1', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', pendingSince: Date.parse('2026-11-20T01:00:00Z') });
    const s = { ...given(registered(), doc), tanggal_berakhir: '2027-02-20' };
    const daily = decideDaily([s], dir, '2026-11-22', settings, optedOut('+6281234567890', '+6281311112222'));
    expect(decisionsOf(daily.decisions)).toEqual([
      ['skipped', 'permit_expiry_warning', 'REG-1', REASON.optedOut],
      ['skipped', 'reminder', 'staff-1', REASON.optedOut],
      ['planned', 'reminder', 'staff-2'],
    ]);
    expect(daily.marks).toEqual([{ pendaftaran_id: 'REG-1', expiry: '2027-02-20', threshold: 90 }]); // decided once, not retried daily
  });
  it('given an unusable phone number, then the reason names the problem', () => {
    const { decisions } = decideOnEvent(given(registered('REG-1', '12')), issued(), dir, settings);
    expect(decisions).toEqual([expect.objectContaining({ kind: 'skipped', reason: expect.stringMatching(/^applicant phone unusable: /) })]);
  });
  it('given no staff handles the permit type, then reminders and document digests record it', () => {
    const doc = ev({ type: 'DocumentPendingSignature', document_id: 'D1', jenis_izin: 'Izin Tambang', nama_pemohon: 'Budi', pendingSince: Date.parse('2026-11-20T01:00:00Z') });
    const s = evolve(initialState('REG-9'), { ...doc, pendaftaran_id: 'REG-9' });
    const onlyRina = dir.filter((e) => e.id === 'staff-1');
    expect(skipped(decideDaily([s], onlyRina, '2026-11-22', settings).decisions)).toEqual(['no staff in the directory handles Izin Tambang']);
    expect(skipped(decideDocumentDigest([s], onlyRina, Date.parse('2026-11-20T00:00:00Z'), Date.parse('2026-11-21T00:00:00Z'), settings))).toEqual(['no staff in the directory handles Izin Tambang']);
  });
  it('given a permit that expires today, then the run records it as expired and sends nothing', () => {
    const s = { ...given(registered()), tanggal_berakhir: '2026-11-22' };
    expect(decisionsOf(decideDaily([s], dir, '2026-11-22', settings).decisions)).toEqual([['skipped', 'permit_expiry_warning', null, REASON.expired]]);
  });
  it('given a cancelled permit with a due threshold, then it is skipped once as cancelled and marked', () => {
    const s = { ...given(registered()), tanggal_berakhir: '2027-02-20', cancelled: true };
    const d = decideDaily([s], dir, '2026-11-22', settings);
    expect(decisionsOf(d.decisions)).toEqual([['skipped', 'permit_expiry_warning', 'REG-1', REASON.cancelled]]);
    expect(d.marks).toHaveLength(1);
  });

  it('given warnings still ahead, when the expiry date changes, then each pending threshold of the old date is cancelled', () => {
    const s0 = withExpiryPlanned(given(registered(), issued('REG-1', '2027-02-20')), '2027-02-20', 90);
    const { decisions, after } = decideOnEvent(s0, ev({ type: 'PermitExpiryDateSet', no_surat: '503/1', tanggal_berakhir: '2027-06-30' }), dir, settings);
    expect(decisionsOf(decisions)).toEqual([60, 30, 7].map((t) => ['cancelled', 'permit_expiry_warning', 'REG-1', `${t}-day warning for 2027-02-20 cancelled: expiry date changed from 2027-02-20 to 2027-06-30`]));
    expect(new Set(decisions.map((d) => (d.kind === 'cancelled' ? d.notificationId : '')))).toEqual(new Set([60, 30, 7].map((t) => notificationId('permit_expiry_warning', 'REG-1', `2027-02-20:${t}`))));
    // The new date is planned from scratch: the 90-day warning for 2027-06-30 comes on 2027-04-01.
    expect(planned(decideDaily([after], dir, '2027-04-01', settings).decisions).map((r) => [r.variables.tanggal_berakhir, r.variables.sisa_hari])).toEqual([['2027-06-30', '90']]);
  });
  it('when a renewal is approved, then the old date\'s pending warnings are cancelled with the renewal as reason', () => {
    const s0 = withExpiryPlanned(given(registered(), issued('REG-1', '2026-12-31')), '2026-12-31', 60);
    const { decisions } = decideOnEvent(s0, ev({ type: 'PermitRenewalApproved', no_surat_baru: '503/2', tanggal_mulai: '2027-01-01', tanggal_berakhir: '2029-12-31', masa_berlaku_tahun: 3, link_download: 'https://x.test/b.pdf' }), dir, settings);
    expect(decisionsOf(decisions)).toEqual([
      ['planned', 'permit_renewal_approved', 'REG-1'],
      ['cancelled', 'permit_expiry_warning', 'REG-1', '30-day warning for 2026-12-31 cancelled: permit renewed: new expiry date 2029-12-31'],
      ['cancelled', 'permit_expiry_warning', 'REG-1', '7-day warning for 2026-12-31 cancelled: permit renewed: new expiry date 2029-12-31'],
    ]);
  });
  it('when the permit is cancelled, then its pending warnings are cancelled; the same expiry date set again cancels nothing', () => {
    const s0 = given(registered(), issued('REG-1', '2027-02-20'));
    const cancel = decideOnEvent(s0, ev({ type: 'PermitStatusChanged', status_lama: 'Terbit', status_baru: 'Dicabut', changedAt: 0, link_detail: null }), dir, settings);
    expect(cancel.decisions.filter((d) => d.kind === 'cancelled').map((d) => d.reason)).toEqual([90, 60, 30, 7].map((t) => `${t}-day warning for 2027-02-20 cancelled: permit cancelled (status Dicabut)`));
    expect(decideOnEvent(s0, ev({ type: 'PermitExpiryDateSet', no_surat: '503/1', tanggal_berakhir: '2027-02-20' }), dir, settings).decisions).toEqual([]);
  });
  it('when the old date has already passed, then there is nothing left to cancel', () => {
    const s0 = given(registered(), issued('REG-1', '2026-11-01'));
    expect(decideOnEvent(s0, ev({ type: 'PermitExpiryDateSet', no_surat: '503/1', tanggal_berakhir: '2027-11-01' }), dir, settings).decisions).toEqual([]);
  });

  it('leap years and month ends: each threshold is due on its calendar day', () => {
    const leap = { ...given(registered()), tanggal_berakhir: '2028-02-29' };
    const due = (asOf: string, s: PermitState) => planned(decideDaily([s], dir, asOf, settings).decisions).map((r) => r.variables.sisa_hari);
    expect(due('2027-11-30', leap)).toEqual([]);
    expect(due('2027-12-01', leap)).toEqual(['90']);
    expect(due('2028-02-22', withExpiryPlanned(withExpiryPlanned(withExpiryPlanned(leap, '2028-02-29', 90), '2028-02-29', 60), '2028-02-29', 30))).toEqual(['7']);
    const monthEnd = { ...given(registered()), tanggal_berakhir: '2027-03-31' };
    expect(due('2027-03-01', withExpiryPlanned(withExpiryPlanned(monthEnd, '2027-03-31', 90), '2027-03-31', 60))).toEqual(['30']);
    expect(due('2027-01-30', monthEnd)).toEqual(['60']); // 2027-01-30 + 60 days = 2027-03-31; the missed 90 is superseded
  });

  it('given a warning already decided (sent), when the date changes, then only the thresholds still ahead are cancelled', () => {
    const s0 = withExpiryPlanned(given(registered(), issued('REG-1', '2027-02-20')), '2027-02-20', 90);
    const out = decideOnEvent(s0, ev({ type: 'PermitExpiryDateSet', no_surat: '503/1', tanggal_berakhir: '2027-09-30' }, 'REG-1', '2026-12-20T02:00:00Z'), dir, settings).decisions;
    // 62 days left: the 60-day warning is next; 90 keeps its one final decision (sent).
    expect(out.map((d) => d.kind === 'cancelled' && Number(d.reason.split('-')[0]))).toEqual([60, 30, 7]);
  });
  it('given a threshold that a more urgent one already supersedes, then it is not cancelled (it would never have been sent)', () => {
    const s0 = given(registered(), issued('REG-1', '2027-01-01'));
    const out = decideOnEvent(s0, ev({ type: 'PermitExpiryDateSet', no_surat: '503/1', tanggal_berakhir: '2027-09-30' }, 'REG-1', '2026-12-20T02:00:00Z'), dir, settings).decisions;
    expect(out.map((d) => d.kind === 'cancelled' && Number(d.reason.split('-')[0]))).toEqual([30, 7]);
  });
  it('property: a cancelled threshold is never one that was already planned, and never for a passed date', () => {
    fc.assert(fc.property(fc.subarray([90, 60, 30, 7]), fc.integer({ min: -10, max: 200 }), (done, daysAhead) => {
      const expiry = DateTime.fromISO('2026-11-22').plus({ days: daysAhead }).toISODate()!;
      let s = given(registered(), issued('REG-1', expiry));
      for (const t of done) s = withExpiryPlanned(s, expiry, t);
      const out = decideOnEvent(s, ev({ type: 'PermitExpiryDateSet', no_surat: '503/1', tanggal_berakhir: '2030-01-01' }), dir, settings).decisions;
      const cancelled = out.map((d) => (d.kind === 'cancelled' ? Number(d.reason.split('-')[0]) : -1));
      if (daysAhead <= 0) expect(cancelled).toEqual([]);
      for (const t of cancelled) expect(done.some((p) => p <= t)).toBe(false);
      const urgent = [90, 60, 30, 7].filter((t) => daysAhead <= t).at(-1) ?? Infinity;
      expect(cancelled).toEqual([90, 60, 30, 7].filter((t) => daysAhead > 0 && t <= urgent && !done.some((p) => p <= t)));
    }));
  });
});

describe('seed 004: universal templates and the opt-in request', () => {
  const universal: PlannerSettings = { ...settings, templates: { permit_expiry_warning: 'permit_reminder', permit_renewal_approved: 'renewal_approved' }, optInRequest: { linkOptIn: 'https://wa.me/6281100000000?text=MULAI' } };
  it('given a scenario -> template mapping, then the request names the universal template and keeps its variables and id', () => {
    const s = { ...given(registered()), no_surat: '503/1', tanggal_berakhir: '2027-02-20' };
    const [seed] = planned(decideDaily([s], dir, '2026-11-22', settings).decisions);
    const [uni] = planned(decideDaily([s], dir, '2026-11-22', universal).decisions);
    expect([seed!.templateCode, uni!.templateCode]).toEqual(['permit_expiry_warning', 'permit_reminder']);
    expect({ ...uni, templateCode: 'permit_expiry_warning' }).toEqual(seed);
  });
  it('given opt-in requests are on, when an applicant registers, then meta_opt_in_request is planned once per number', () => {
    const { decisions, after } = decideOnEvent(initialState('REG-1'), registered(), dir, universal);
    expect(planned(decisions).map((r) => [r.scenario, r.templateCode, r.recipient.phone, r.variables])).toEqual([
      ['meta_opt_in_request', 'meta_opt_in_request', '+6281234567890', { nama_pemohon: 'Budi', pendaftaran_id: 'REG-1', link_opt_in: 'https://wa.me/6281100000000?text=MULAI' }],
    ]);
    const other = planned(decideOnEvent(initialState('REG-2'), registered('REG-2'), dir, universal).decisions);
    expect(other[0]!.notificationId).toBe(planned(decisions)[0]!.notificationId); // same number -> same id -> sent once
    const same = decideOnEvent(after, ev({ type: 'ApplicantContactChanged', nama_pemohon: null, telepon_pemohon: '0812-3456-7890' }), dir, universal);
    expect(same.decisions).toEqual([]);
    const changed = decideOnEvent(after, ev({ type: 'ApplicantContactChanged', nama_pemohon: null, telepon_pemohon: '0812-0000-1111' }), dir, universal);
    expect(planned(changed.decisions).map((r) => r.recipient.phone)).toEqual(['+6281200001111']);
  });
  it('given the number already opted in or out, or the feature off, then no opt-in request is sent', () => {
    expect(decisionsOfKind(decideOnEvent(initialState('REG-1'), registered(), dir, universal, { optedOut: new Set(), optedIn: new Set(['+6281234567890']) }).decisions)).toEqual([['skipped', 'recipient already opted in']]);
    expect(decisionsOfKind(decideOnEvent(initialState('REG-1'), registered(), dir, universal, { optedOut: new Set(['+6281234567890']) }).decisions)).toEqual([['skipped', REASON.optedOut]]);
    expect(decideOnEvent(initialState('REG-1'), registered(), dir, settings).decisions).toEqual([]);
  });
});
const decisionsOfKind = (ds: Decision[]) => ds.map((d) => [d.kind, d.kind === 'planned' ? null : d.reason]);

describe('reason codes', () => {
  it('every skip and cancellation carries the stable code of its reason', () => {
    const coded = (ds: Decision[]) => ds.flatMap((d) => (d.kind === 'planned' ? [] : [[d.code, d.reason.replace(/\d{4}-\d{2}-\d{2}/g, 'D')]]));
    const issued = ev({ type: 'PermitIssued', no_surat: '503/1', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', telepon_pemohon: null, tanggal_terbit: '2026-11-22', link_download: 'https://x.test/a.pdf', tanggal_berakhir: '2027-02-20' });
    expect(coded(decideOnEvent(given(registered('REG-1', null)), issued, dir, settings).decisions)).toEqual([['NO_PHONE', REASON.noPhone]]);
    for (const bad of ['12', 'abc', '08123', '0062 812 3456 7890', '021 1234 5678']) {
      expect([bad, coded(decideOnEvent(given(registered('REG-1', bad)), issued, dir, settings).decisions)[0]![0]]).toEqual([bad, 'PHONE_UNUSABLE']);
    }
    expect(coded(decideOnEvent(given(registered()), issued, dir, settings, { optedOut: new Set(['+6281234567890']) }).decisions)).toEqual([['OPTED_OUT', REASON.optedOut]]);
    expect(coded(decideOnEvent(given(registered()), ev({ type: 'PermitStatusChanged', status_lama: 'A', status_baru: 'a', changedAt: 0, link_detail: null }), dir, settings).decisions)).toEqual([['STATUS_UNCHANGED', 'status unchanged (a)']]);
    expect(coded(decideOnEvent(given(registered()), ev({ type: 'ApprovalRequested', jenis_izin: 'X', nama_pemohon: 'B', no_surat: null, link_approval: 'https://a.test', pejabat_id: 'nobody' }), dir, settings).decisions)[0]![0]).toBe('NO_OFFICIAL');
    const s = given(registered(), issued);
    expect(coded(decideOnEvent(s, ev({ type: 'PermitExpiryDateSet', no_surat: '503/1', tanggal_berakhir: '2027-06-30' }), dir, settings).decisions).map((c) => c[0])).toEqual(['EXPIRY_DATE_CHANGED', 'EXPIRY_DATE_CHANGED', 'EXPIRY_DATE_CHANGED', 'EXPIRY_DATE_CHANGED']);
    expect(coded(decideOnEvent(s, ev({ type: 'PermitRenewalApproved', no_surat_baru: '503/2', tanggal_mulai: '2027-02-21', tanggal_berakhir: '2030-02-20', masa_berlaku_tahun: 3, link_download: 'https://x.test/b.pdf' }), dir, settings).decisions).map((c) => c[0])).toEqual(['RENEWED', 'RENEWED', 'RENEWED', 'RENEWED']);
    expect(coded(decideOnEvent(s, ev({ type: 'PermitStatusChanged', status_lama: 'Terbit', status_baru: 'Dicabut', changedAt: 0, link_detail: null }), dir, settings).decisions).filter((c) => c[0] === 'PERMIT_CANCELLED')).toHaveLength(4);
    expect(coded(decideDaily([{ ...s, tanggal_berakhir: '2027-01-21', expirySetAt: Date.parse('2026-10-01T02:00:00Z') }], dir, '2026-11-22', settings).decisions)).toEqual([['SUPERSEDED', '90-day warning superseded by the 60-day warning: no daily run from D, when it was due, until D (missed while the scheduler did not run)']]);
    const waiting = given(registered(), ev({ type: 'DocumentPendingSignature', document_id: 'D1', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', pendingSince: Date.parse('2026-11-20T01:00:00Z') }));
    expect(coded(decideDaily([waiting], dir, '2026-11-24', settings, undefined, Date.parse('2026-11-25T02:00:00Z')).decisions).map((c) => c[0])).toEqual(['BACKFILL', 'BACKFILL']);
    const abroad = ev({ type: 'PermitIssued', no_surat: '503/1', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', telepon_pemohon: '+44 7911 123456', tanggal_terbit: '2026-11-22', link_download: 'https://x.test/a.pdf', tanggal_berakhir: null });
    expect(coded(decideOnEvent(given(registered('REG-1', null)), abroad, dir, settings).decisions)).toEqual([['COUNTRY_NOT_ALLOWED', 'applicant phone unusable: country not allowed: +44 (GG); allowed: ID']]);
    expect(coded(decideDaily([{ ...s, tanggal_berakhir: '2026-11-22' }], dir, '2026-11-22', settings).decisions)).toEqual([['PERMIT_EXPIRED', REASON.expired]]);
    expect(coded(decideDaily([{ ...s, cancelled: true }], dir, '2026-11-22', settings).decisions)).toEqual([['PERMIT_CANCELLED', REASON.cancelled]]);
  });
});

describe('foreign numbers', () => {
  const issuedTo = (phone: string) => ev({ type: 'PermitIssued', no_surat: '503/1', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', telepon_pemohon: phone, tanggal_terbit: '2026-11-22', link_download: 'https://x.test/a.pdf', tanggal_berakhir: null });
  it('by default only Indonesian numbers are messaged; a configured country is reached, mobile numbers only', () => {
    const kinds = (st: PlannerSettings, phone: string) => decideOnEvent(initialState('REG-1'), issuedTo(phone), dir, st).decisions.map((d) => (d.kind === 'planned' ? d.request.recipient.phone : d.code));
    expect(kinds(settings, '+1 415 523 8886')).toEqual(['COUNTRY_NOT_ALLOWED']);
    expect(kinds(settings, '+60 12-345 6789')).toEqual(['COUNTRY_NOT_ALLOWED']);
    expect(kinds({ ...settings, allowedCountries: ['ID', 'MY'] }, '+60 12-345 6789')).toEqual(['+60123456789']);
    expect(kinds({ ...settings, allowedCountries: ['ID', 'MY'] }, '+60 3-2345 6789')).toEqual(['PHONE_UNUSABLE']);
    // the same rule for directory entries
    const abroad: DirectoryEntry[] = [{ id: 'kadis', role: 'OFFICIAL', name: 'K', phone: '+1 415 523 8886', jenisIzin: ['*'], active: true }];
    const approval = decideOnEvent(given(registered()), ev({ type: 'ApprovalRequested', jenis_izin: 'X', nama_pemohon: 'B', no_surat: null, link_approval: 'https://a.test', pejabat_id: 'kadis' }), abroad, settings).decisions;
    expect(approval.map((d) => d.kind !== 'planned' && d.code)).toEqual(['COUNTRY_NOT_ALLOWED']);
  });
});
