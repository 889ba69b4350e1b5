import axios from 'axios';
import { DateTime } from 'luxon';
import type { NotificationRendered, PlannerDecisionRecorded } from '@sicantik/schemas';
import { defaultMetaTemplates } from '../../services/provider-dispatcher/src/domain/outbound';
import { fillSeed, seedTemplate, uniq, waitFor } from '../support';
import { AUTH, readTopics, startSystem, type System } from '../support/system';

////////// Every seed-000 scenario through the five services on the real stack:
// the exact texts that reach the provider, digests, schedules run for given dates.
// Dates are in the past (a daily run for a future date is refused); the reminder
// digest is sent only by the run for today, so its document waits relative to now.

const today = () => DateTime.now().setZone('Asia/Jakarta').toISODate()!;
const daysFromToday = (n: number) => DateTime.now().setZone('Asia/Jakarta').plus({ days: n }).toISODate()!;
/** DOC-1 has waited 2 days 1 hour and a half when the test starts: its reminder says "2 hari 1 jam" for the next half hour. */
const docSince = DateTime.fromMillis(Math.floor((Date.now() - (49 * 60 + 30) * 60_000) / 60_000) * 60_000, { zone: 'Asia/Jakarta' });

interface SimRequest { body: { to: string; template: { name: string; components: { parameters: { text: string }[] }[] } } }

describe('every notification scenario end to end', () => {
  let sys: System;
  const http = axios.create({ validateStatus: () => true });
  const { ingest, admin } = AUTH;
  const run = uniq('');
  const A = `REG-A-${run}`, B = `REG-B-${run}`, C = `REG-C-${run}`;
  const rendered: NotificationRendered[] = [];
  const decisions: PlannerDecisionRecorded[] = [];
  let stopReader: () => Promise<void> = async () => undefined;
  let n = 0;
  const post = async (pendaftaran_id: string, type: string, data: object, occurred_at = '2024-11-20T08:00:00+07:00') => {
    const r = await http.post(`${sys.ingestUrl}/v1/permit-events`, { event_id: `${pendaftaran_id}-${++n}`, type, occurred_at, pendaftaran_id, data }, { headers: ingest });
    expect(r.status).toBe(202);
  };
  const sent = async () => (await http.get<SimRequest[]>(`${sys.simUrl}/_sim/requests`)).data;
  const textsFor = (scenario: string, to?: string) => rendered.filter((r) => r.scenario === scenario && (!to || r.recipient.phone === to)).map((r) => r.text);

  beforeAll(async () => {
    sys = await startSystem();
    stopReader = await readTopics(sys, ['notification.rendered', 'planner.decisions'], (topic, value) => {
      if (topic === 'notification.rendered') rendered.push(value as NotificationRendered);
      else decisions.push(value as PlannerDecisionRecorded);
    });
    for (const [id, body] of [
      ['staff-ium', { role: 'STAFF', name: 'Rina Ginting', phone: '0813-1111-2222', jenisIzin: ['Izin Usaha Mikro'] }],
      ['kadis', { role: 'OFFICIAL', name: 'Drs. Kepala Dinas', phone: '0812-9999-0000', jenisIzin: ['*'] }],
    ] as const) {
      const r = await http.put(`${sys.plannerUrl}/v1/admin/directory/${id}`, body, { headers: admin });
      expect(r.status).toBe(200);
    }
  });
  afterAll(async () => { await stopReader(); await sys?.stop(); });

  it('rejects a bad directory entry naming the field, and requires the admin token', async () => {
    const bad = await http.put(`${sys.plannerUrl}/v1/admin/directory/x`, { role: 'STAFF', name: 'X', phone: '021 1234 5678', jenisIzin: ['*'] }, { headers: admin });
    expect([bad.status, bad.data.issues[0].path]).toEqual([400, 'phone']);
    const abc = await http.put(`${sys.plannerUrl}/v1/admin/directory/x`, { role: 'STAFF', name: 'X', phone: 'abc', jenisIzin: ['*'] }, { headers: admin });
    expect([abc.status, abc.data.issues]).toEqual([400, [{ path: 'phone', message: 'not a valid phone number: (no digits)' }]]);
    const abroad = await http.put(`${sys.plannerUrl}/v1/admin/directory/x`, { role: 'STAFF', name: 'X', phone: '+1 415 523 8886', jenisIzin: ['*'] }, { headers: admin });
    expect([abroad.status, abroad.data.issues[0].message]).toEqual([400, 'country not allowed: +1 (US); allowed: ID']);
    expect((await http.get(`${sys.plannerUrl}/v1/admin/directory`)).status).toBe(401);
  });

  it('permit facts reach the right people with the seed texts', async () => {
    await post(A, 'PermitRegistered', { jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi Sembiring', telepon_pemohon: '0812-3456-7890', status: 'Baru' });
    await post(A, 'DocumentPendingSignature', { document_id: 'DOC-1', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi Sembiring', pending_since: docSince.toISO()! });
    await post(A, 'ApprovalRequested', { jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi Sembiring', no_surat: '503/7/2026', link_approval: 'https://sicantik.test/approve/7', pejabat_id: 'kadis' });
    await post(A, 'PermitStatusChanged', { status_lama: 'Verifikasi', status_baru: 'Menunggu Tanda Tangan', changed_at: '2024-11-20T10:15:00+07:00' });
    await post(A, 'PermitStatusChanged', { status_lama: 'Proses', status_baru: 'Proses', changed_at: '2024-11-20T10:16:00+07:00' });
    await post(C, 'PermitRegistered', { jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Tanpa Nomor', telepon_pemohon: null, status: 'Baru' });
    await post(C, 'PermitIssued', { no_surat: '503/9/2026', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Tanpa Nomor', tanggal_terbit: '2024-11-20', link_download: 'https://sicantik.test/c.pdf' });

    await waitFor(async () => rendered.length >= 3, { timeoutMs: 60_000, what: 'three rendered notifications' });
    expect(textsFor('approval_required')).toEqual([fillSeed(seedTemplate('approval_required'), {
      nama_pejabat: 'Drs. Kepala Dinas', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi Sembiring', no_surat: '503/7/2026', link_approval: 'https://sicantik.test/approve/7',
    })]);
    const statusText = fillSeed(seedTemplate('status_update'), { pendaftaran_id: A, status_lama: 'Verifikasi', status_baru: 'Menunggu Tanda Tangan', timestamp: '20 November 2024 10.15 WIB', link_detail: `https://sicantik.test/dashboard/${A}` });
    expect(textsFor('status_update', '+6281234567890')).toEqual([statusText]);
    expect(textsFor('status_update', '+6281311112222')).toEqual([statusText]);
    // unchanged status and the applicant without a phone: recorded as skipped, with reasons
    await waitFor(async () => decisions.filter((d) => d.decision === 'SKIPPED').length >= 2, { what: 'skip decisions' });
    expect(decisions.filter((d) => d.decision === 'SKIPPED').map((d) => [d.pendaftaran_id, d.scenario, d.reason]).sort()).toEqual([
      [A, 'status_update', 'status unchanged (Proses)'],
      [C, 'permit_ready', 'applicant has no phone number'],
    ].sort());
  });

  it('the document digest and the daily reminder list the waiting document for the staff member', async () => {
    const hour = docSince.startOf('hour');
    const digest = await http.post(`${sys.plannerUrl}/v1/admin/schedules/document-digest/run`, { from: hour.toISO(), to: hour.plus({ hours: 1 }).toISO() }, { headers: admin });
    expect(digest.data).toEqual({ planned: 1, skipped: 0, duplicates: 0, cancelled: 0, deferred: 0, coalesced: 0 });
    // A digest for a window that has not closed yet is refused: documents may still arrive in it.
    const open = await http.post(`${sys.plannerUrl}/v1/admin/schedules/document-digest/run`, { from: DateTime.now().toISO(), to: DateTime.now().plus({ hours: 1 }).toISO() }, { headers: admin });
    expect([open.status, open.data.issues[0].path]).toEqual([400, 'to']);
    const daily = await http.post(`${sys.plannerUrl}/v1/admin/schedules/daily/run`, { date: today() }, { headers: admin });
    expect(daily.data).toMatchObject({ planned: 1, duplicates: 0 });
    await waitFor(async () => textsFor('reminder').length === 1 && textsFor('document_pending').length === 1, { timeoutMs: 60_000, what: 'digests' });
    expect(textsFor('document_pending')).toEqual([fillSeed(seedTemplate('document_pending'), { jumlah: '1', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi Sembiring', pendaftaran_id: A, link_dashboard: 'https://sicantik.test/dashboard' })]);
    expect(textsFor('reminder')).toEqual([fillSeed(seedTemplate('reminder'), { jumlah: '1', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi Sembiring', waktu_pending: '2 hari 1 jam', link_dashboard: 'https://sicantik.test/dashboard' })]);
    // running the same date again sends nothing more
    const again = await http.post(`${sys.plannerUrl}/v1/admin/schedules/daily/run`, { date: today() }, { headers: admin });
    expect(again.data).toMatchObject({ planned: 0, duplicates: 1 });
  });

  it('a backfill of past dates sends staff no reminder (recorded as BACKFILL); a future date is refused', async () => {
    // As the integrator did: three old dates in a row. Before, each sent a reminder with an age relative to its date.
    const runs = [];
    for (const date of ['2020-01-16', '2020-01-17', '2020-01-18', daysFromToday(-1)]) runs.push((await http.post(`${sys.plannerUrl}/v1/admin/schedules/daily/run`, { date }, { headers: admin })).data);
    expect(runs.map((r) => [r.planned, r.skipped])).toEqual([[0, 1], [0, 1], [0, 1], [0, 1]]);
    const backfill = await waitFor(async () => { const x = decisions.filter((d) => d.scenario === 'reminder' && d.reasonCode === 'BACKFILL'); return x.length === 4 && x; }, { what: 'four BACKFILL decisions' });
    expect(backfill.map((d) => [d.recipientId, d.reason])).toContainEqual(['staff-ium', `reminders are sent only by the run for the current day (${today()}, Asia/Jakarta); the run for 2020-01-16 is a backfill`]);
    const future = await http.post(`${sys.plannerUrl}/v1/admin/schedules/daily/run`, { date: daysFromToday(1) }, { headers: admin });
    expect([future.status, future.data.error, future.data.issues[0].path]).toEqual([400, 'validation_failed', 'date']);
    expect(future.data.issues[0].message).toContain(`is after today (${today()}, Asia/Jakarta)`);
  });

  it('permit issued, expiry warnings over a sequence of dates (once each, missed days caught up, superseded never sent), then renewal', async () => {
    await post(B, 'PermitIssued', { no_surat: '503/8/2026', jenis_izin: 'PBG', nama_pemohon: 'Sari Br Karo', telepon_pemohon: '+62 821-5555-6666', tanggal_terbit: '2024-03-01', link_download: 'https://sicantik.test/b.pdf', tanggal_berakhir: '2025-03-01' });
    await waitFor(async () => textsFor('permit_ready').length === 1, { timeoutMs: 60_000, what: 'permit_ready' });
    expect(textsFor('permit_ready')).toEqual([fillSeed(seedTemplate('permit_ready'), { nama_pemohon: 'Sari Br Karo', jenis_izin: 'PBG', no_surat: '503/8/2026', tanggal_terbit: '1 Maret 2024', link_download: 'https://sicantik.test/b.pdf' })]);
    // 90 days before = 2024-12-01; the scheduler was down that day and ran on 12-03 (88 days left); 60 days =
    // 12-31 missed entirely, caught up on 01-02 (58 days left); 30 days = 01-30 on time, then twice the same day; 7 days = 02-22.
    const dates = ['2024-11-30', '2024-12-03', '2024-12-04', '2025-01-02', '2025-01-30', '2025-01-30', '2025-02-22', '2025-02-28', '2025-03-01', '2025-03-05'];
    for (const date of dates) {
      const r = await http.post(`${sys.plannerUrl}/v1/admin/schedules/daily/run`, { date }, { headers: admin });
      expect(r.status).toBe(200);
    }
    await waitFor(async () => textsFor('permit_expiry_warning').length === 4, { timeoutMs: 60_000, what: 'four expiry warnings' });
    const warn = (sisa: string) => fillSeed(seedTemplate('permit_expiry_warning'), { nama_pemohon: 'Sari Br Karo', jenis_izin: 'PBG', no_surat: '503/8/2026', tanggal_berakhir: '1 Maret 2025', sisa_hari: sisa, link_perpanjangan: `https://sicantik.test/perpanjangan?pendaftaran_id=${B}`, kontak_dpmptsp: '(0628) 20655' });
    expect(textsFor('permit_expiry_warning')).toEqual([warn('88'), warn('58'), warn('30'), warn('7')]);
    // One run, one date: every decision of the 2024-12-03 run (the 88-day warning, the skipped reminder) carries that run's time.
    const run1203 = await waitFor(async () => { const x = decisions.filter((d) => d.causationId === 'schedule:daily:2024-12-03'); return x.length === 2 && x; }, { what: 'the decisions of the 2024-12-03 run' });
    expect(run1203.map((d) => [d.decision, d.scenario, new Date(d.occurredAt).toISOString()]).sort()).toEqual([
      ['PLANNED', 'permit_expiry_warning', '2024-12-03T02:00:00.000Z'], ['SKIPPED', 'reminder', '2024-12-03T02:00:00.000Z'],
    ]);
    // The same permit issued again by upstream (a new event id, the same no_surat): recorded as a duplicate, not a second PLANNED.
    const reissue = await http.post(`${sys.ingestUrl}/v1/permit-events`, { event_id: `${B}-reissued`, type: 'PermitIssued', occurred_at: '2024-12-05T08:00:00+07:00', pendaftaran_id: B,
      data: { no_surat: '503/8/2026', jenis_izin: 'PBG', nama_pemohon: 'Sari Br Karo', telepon_pemohon: '+62 821-5555-6666', tanggal_terbit: '2024-03-01', link_download: 'https://sicantik.test/b.pdf', tanggal_berakhir: '2025-03-01' } }, { headers: ingest });
    expect(reissue.status).toBe(202);
    const ready = await waitFor(async () => { const x = decisions.filter((d) => d.pendaftaran_id === B && d.scenario === 'permit_ready'); return x.length === 2 && x; }, { what: 'the re-issued permit decided' });
    expect(ready.map((d) => [d.decision, d.reasonCode, d.reason, d.causationId])).toEqual([
      ['PLANNED', null, null, ready[0]!.causationId], ['SKIPPED', 'DUPLICATE', `duplicate: already planned for event ${ready[0]!.causationId}`, `${B}-reissued`],
    ]);

    await post(B, 'PermitRenewalApproved', { no_surat_baru: '503/8/2027', tanggal_mulai: '2025-03-01', tanggal_berakhir: '2028-03-01', masa_berlaku_tahun: 3, link_download: 'https://sicantik.test/b2.pdf' });
    await waitFor(async () => textsFor('permit_renewal_approved').length === 1, { timeoutMs: 60_000, what: 'renewal' });
    expect(textsFor('permit_renewal_approved')).toEqual([fillSeed(seedTemplate('permit_renewal_approved'), { nama_pemohon: 'Sari Br Karo', jenis_izin: 'PBG', no_surat_baru: '503/8/2027', tanggal_mulai: '1 Maret 2025', tanggal_berakhir: '1 Maret 2028', masa_berlaku: '3', link_download: 'https://sicantik.test/b2.pdf' })]);
  });

  it('every rendered message reached the provider exactly once, with its exact parameters, and nothing else did', async () => {
    await waitFor(async () => (await sent()).length === rendered.length, { timeoutMs: 60_000, what: 'all sends' });
    const reqs = await sent();
    const byTemplate: Record<string, number> = {};
    for (const r of reqs) byTemplate[r.body.template.name] = (byTemplate[r.body.template.name] ?? 0) + 1;
    expect(byTemplate).toEqual({
      // DOC-1 is never signed: one reminder, today's; the runs for past dates sent none
      sicantik_approval_required: 1, sicantik_status_update: 2, sicantik_document_pending: 1, sicantik_reminder: 1,
      sicantik_permit_ready: 1, sicantik_permit_expiry_warning: 4, sicantik_permit_renewal_approved: 1,
    });
    expect(new Set(rendered.map((r) => r.notificationId)).size).toBe(rendered.length);
    // What reached the provider is what was rendered: for every rendered text, exactly one
    // request to that number with the Meta template of its code (the dispatcher's template
    // mapping: META_TEMPLATES, here the built-in default) and exactly those parameters, in order.
    const metaTemplates = JSON.parse(defaultMetaTemplates()) as Record<string, { name: string; language: string }>;
    for (const r of rendered) {
      const values = r.parameters.map((p) => p.value);
      const matching = reqs.filter((q) => q.body.to === r.recipient.phone && q.body.template.name === metaTemplates[r.templateCode]!.name
        && JSON.stringify(q.body.template.components[0]!.parameters.map((p) => p.text)) === JSON.stringify(values));
      expect([r.scenario, matching.length]).toEqual([r.scenario, 1]);
    }
  });

  it('the CLI triggers the daily run for a range of dates; a second run of the same dates plans nothing', async () => {
    const { execFileSync } = await import('node:child_process');
    const path = await import('node:path');
    const cli = (args: string[]) => execFileSync(process.execPath, [path.resolve(__dirname, '../../services/notification-planner/dist/cli.js'), ...args], {
      env: { ...process.env, PLANNER_URL: sys.plannerUrl, ADMIN_API_TOKEN: 'e2e-admin-token-0000001' }, encoding: 'utf8',
    }).trim().split('\n').map((l) => JSON.parse(l) as { date: string; planned: number; skipped: number; duplicates: number });
    // Past dates: nothing is due any more, and DOC-1's reminders are backfills (skipped); a second run is the same.
    const first = cli(['run-daily', '--from', '2025-04-01', '--to', '2025-04-03']);
    expect(first.map((r) => [r.date, r.planned, r.skipped, r.duplicates])).toEqual([['2025-04-01', 0, 1, 0], ['2025-04-02', 0, 1, 0], ['2025-04-03', 0, 1, 0]]);
    const second = cli(['run-daily', '--from', '2025-04-01', '--to', '2025-04-03']);
    expect(second.map((r) => [r.planned, r.skipped, r.duplicates])).toEqual([[0, 1, 0], [0, 1, 0], [0, 1, 0]]);
    expect(() => cli(['run-daily', '--from', today(), '--to', daysFromToday(1)])).toThrow(/400 .*is after today/);
  });
});
