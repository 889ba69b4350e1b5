import axios from 'axios';
import type { NotificationRendered } from '@sicantik/schemas';
import { uniq, waitFor } from '../support';
import { AUTH, readTopics, startSystem, type System } from '../support/system';

////////// Seed 004 end to end: the universal template set chosen per scenario, the
// opt-in request, and each provider's parameter format on notification.rendered.

interface SimRequest { body: { to: string; template: { name: string; language: { code: string }; components: { parameters: { text: string }[] }[] } } }

describe('seed 004: universal templates end to end', () => {
  let sys: System;
  const http = axios.create({ validateStatus: () => true });
  const { ingest, admin } = AUTH;
  const U = `REG-U-${uniq('')}`;
  const rendered: NotificationRendered[] = [];
  let stopReader: () => Promise<void> = async () => undefined;
  let n = 0;
  const post = async (type: string, data: object) => {
    const r = await http.post(`${sys.ingestUrl}/v1/permit-events`, { event_id: `${U}-${++n}`, type, occurred_at: '2024-11-20T08:00:00+07:00', pendaftaran_id: U, data }, { headers: ingest });
    expect(r.status).toBe(202);
  };
  const sim = async (name: string) => (await http.get<SimRequest[]>(`${sys.simUrl}/_sim/requests`)).data.filter((r) => r.body.template.name === name);
  const one = async (scenario: string) => waitFor(async () => rendered.find((r) => r.scenario === scenario), { timeoutMs: 60_000, what: scenario });

  beforeAll(async () => {
    sys = await startSystem({
      SCENARIO_TEMPLATES: 'permit_expiry_warning=permit_reminder,permit_renewal_approved=renewal_approved',
      OPT_IN_REQUEST_ENABLED: 'true', LINK_OPT_IN: 'https://wa.me/6281100000000?text=MULAI',
    });
    stopReader = await readTopics(sys, ['notification.rendered'], (_t, v) => { rendered.push(v); });
  });
  afterAll(async () => { await stopReader(); await sys?.stop(); });

  it('a new applicant is asked once to opt in; the request carries Meta, Watzap and Fonnte parameter formats', async () => {
    await post('PermitRegistered', { jenis_izin: 'PBG', nama_pemohon: 'Sari Br Karo', telepon_pemohon: '0852-1111-3333', status: 'Baru' });
    const r = await one('meta_opt_in_request');
    expect(r.text).toBe(`📲 Notifikasi WhatsApp Resmi\n\nYth. Bapak/Ibu Sari Br Karo,\n\nDPMPTSP Kabupaten Karo mengirim kabar perizinan Anda (No. ${U}) melalui WhatsApp resmi. Agar tetap menerimanya, aktifkan dengan membuka tautan berikut lalu kirim pesan MULAI:\n🔗 https://wa.me/6281100000000?text=MULAI\n\nBalas BERHENTI kapan saja untuk berhenti menerima notifikasi.\n\nDPMPTSP Kabupaten Karo`);
    const values = ['Sari Br Karo', U, 'https://wa.me/6281100000000?text=MULAI'];
    expect(r.providerParameters?.meta).toEqual({ 1: values[0], 2: values[1], 3: values[2] });
    expect(r.providerParameters?.watzap).toEqual({ 1: values[0], 2: values[1], 3: values[2] });
    expect(r.providerParameters?.fonnte).toEqual({ var1: values[0], var2: values[1], var3: values[2] });
    expect(r.providerParameters?.bird).toEqual({ 1: values[0], 2: values[1], 3: values[2] }); // Bird's platform API: positional, like Meta
    const sent = await waitFor(async () => { const x = await sim('sicantik_meta_opt_in_request'); return x.length === 1 && x; }, { timeoutMs: 60_000, what: 'opt-in request sent' });
    expect([sent[0]!.body.template.language.code, sent[0]!.body.template.components[0]!.parameters.map((p) => p.text)]).toEqual(['id', values]);
  });

  it('expiry warning and renewal use the universal permit_reminder and renewal_approved texts', async () => {
    await post('PermitIssued', { no_surat: '503/21/2026', jenis_izin: 'PBG', nama_pemohon: 'Sari Br Karo', tanggal_terbit: '2024-11-20', link_download: 'https://sicantik.test/u.pdf', tanggal_berakhir: '2025-03-01' });
    await one('permit_ready'); // the planner has the expiry date now
    const run = await http.post(`${sys.plannerUrl}/v1/admin/schedules/daily/run`, { date: '2025-01-30' }, { headers: admin });
    expect(run.data).toMatchObject({ planned: 1 });
    const w = await one('permit_expiry_warning');
    // The event names no provider's template: the dispatcher maps permit_reminder to Meta's sicantik_permit_reminder (below).
    expect([w.templateCode, w.language, Object.keys(w).filter((k) => /meta/i.test(k))]).toEqual(['permit_reminder', 'id', []]);
    expect(w.text).toBe(`⚠️ Peringatan Masa Berlaku Izin\n\nYth. Bapak/Ibu Sari Br Karo,\n\nIzin PBG Anda dengan No. Surat 503/21/2026 berlaku sampai 1 Maret 2025 (sisa 30 hari).\n\nAjukan perpanjangan:\n🔗 https://sicantik.test/perpanjangan?pendaftaran_id=${U}\n\nHubungi kami:\n📞 (0628) 20655\n\nDPMPTSP Kabupaten Karo`);
    await post('PermitRenewalApproved', { no_surat_baru: '503/21/2027', tanggal_mulai: '2025-03-01', tanggal_berakhir: '2028-03-01', masa_berlaku_tahun: 3, link_download: 'https://sicantik.test/u2.pdf' });
    const a = await one('permit_renewal_approved');
    expect(a.templateCode).toBe('renewal_approved');
    expect(a.text).toBe('✅ Perpanjangan Izin Disetujui\n\nYth. Bapak/Ibu Sari Br Karo,\n\nPerpanjangan izin PBG Anda telah disetujui.\n📄 No. Surat Baru: 503/21/2027\n📅 Berlaku: 1 Maret 2025 s/d 1 Maret 2028 (3 tahun)\n\nDownload dokumen:\n🔗 https://sicantik.test/u2.pdf\n\nDPMPTSP Kabupaten Karo');
    expect(a.providerParameters?.fonnte).toEqual({ var1: 'Sari Br Karo', var2: 'PBG', var3: '503/21/2027', var4: '1 Maret 2025', var5: '1 Maret 2028', var6: '3', var7: 'https://sicantik.test/u2.pdf' });
    await waitFor(async () => (await sim('sicantik_permit_reminder')).length === 1 && (await sim('sicantik_renewal_approved')).length === 1, { timeoutMs: 60_000, what: 'both sent' });
  });
});
