import axios from 'axios';
import { notificationId } from '@sicantik/core';
import type { NotificationRendered } from '@sicantik/schemas';
import { fillSeed, seedTemplate, uniq, waitFor } from '../support';
import { AUTH, readTopics, startSystem, type System } from '../support/system';

////////// Template admin API on the running system: edits are events, versioned, validated;
// a request whose template is deactivated becomes a failed notification with the reason.

describe('template admin API end to end', () => {
  let sys: System;
  const http = axios.create({ validateStatus: () => true });
  const { admin, ingest, stats } = AUTH;
  const rendered: NotificationRendered[] = [];
  let stopReader: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    sys = await startSystem();
    stopReader = await readTopics(sys, ['notification.rendered'], (_t, v) => { rendered.push(v); });
  });
  afterAll(async () => { await stopReader(); await sys?.stop(); });

  it('lists the seven seed-000, three seed-004 and four consent templates, and needs the admin token', async () => {
    const list = await http.get(`${sys.rendererUrl}/v1/admin/templates`, { headers: admin });
    expect(list.data.map((t: { code: string }) => t.code)).toEqual(['approval_required', 'consent_help', 'consent_opted_in', 'consent_opted_out', 'consent_wrong_number_staff', 'document_pending', 'meta_opt_in_request', 'permit_expiry_warning', 'permit_ready', 'permit_reminder', 'permit_renewal_approved', 'reminder', 'renewal_approved', 'status_update']);
    expect((await http.get(`${sys.rendererUrl}/v1/admin/templates`)).status).toBe(401);
  });

  it('a template\'s provider mapping: seeded with Meta\'s twin, shown with the deprecated aliases; an edit through an alias or providerTemplates changes it', async () => {
    const t = await http.get(`${sys.rendererUrl}/v1/admin/templates/permit_expiry_warning`, { headers: admin });
    expect(t.data).toMatchObject({ providerTemplates: { meta: 'sicantik_permit_expiry_warning' }, metaTemplateName: 'sicantik_permit_expiry_warning', language: 'id', metaLanguage: 'id' });
    const body = t.data.body as string;
    const viaAlias = await http.put(`${sys.rendererUrl}/v1/admin/templates/permit_expiry_warning`, { body, metaTemplateName: 'sicantik_permit_expiry_warning_v2' }, { headers: admin });
    expect([viaAlias.status, viaAlias.data.providerTemplates, viaAlias.data.metaTemplateName]).toEqual([200, { meta: 'sicantik_permit_expiry_warning_v2' }, 'sicantik_permit_expiry_warning_v2']);
    const generic = await http.put(`${sys.rendererUrl}/v1/admin/templates/permit_expiry_warning`, { body, providerTemplates: { twilio: 'HX0123456789abcdef0123456789abcdef' }, language: 'id' }, { headers: admin });
    expect([generic.status, generic.data.providerTemplates]).toEqual([200, { meta: 'sicantik_permit_expiry_warning_v2', twilio: 'HX0123456789abcdef0123456789abcdef' }]);
    const refused = await http.put(`${sys.rendererUrl}/v1/admin/templates/permit_expiry_warning`, { body, providerTemplates: { meta: 'Status Update' } }, { headers: admin });
    expect([refused.status, refused.data.issues]).toEqual([400, [{ path: 'providerTemplates.meta', message: 'Meta template names are lower-case letters, digits and _' }]]);
  });

  it('previews with sample or given data', async () => {
    const p = await http.post(`${sys.rendererUrl}/v1/admin/templates/permit_ready/preview`, { variables: { nama_pemohon: 'Sari' } }, { headers: admin });
    expect(p.status).toBe(200);
    expect(p.data.text).toBe(fillSeed(seedTemplate('permit_ready'), { nama_pemohon: 'Sari', jenis_izin: 'Izin Usaha Mikro', no_surat: '503/123/DPMPTSP/2026', tanggal_terbit: '22 November 2026', link_download: 'https://sicantik.karokab.go.id/izin/REG-2026-000123.pdf' }));
  });

  it('previews a seed-004 universal template: generic names filled from the sample SICANTIK data, with its provider formats', async () => {
    const p = await http.post(`${sys.rendererUrl}/v1/admin/templates/permit_reminder/preview`, {}, { headers: admin });
    expect(p.status).toBe(200);
    expect(p.data.parameters.map((x: { name: string; value: string }) => [x.name, x.value])).toEqual([
      ['partner_name', 'Budi Sembiring'], ['permit_type', 'Izin Usaha Mikro'], ['permit_number', '503/123/DPMPTSP/2026'], ['expiry_date', '20 Februari 2027'],
      ['days_remaining', '90'], ['renewal_link', 'https://sicantik.karokab.go.id/perpanjangan'], ['office_contact', '(0628) 20655'],
    ]);
    expect(p.data.providerParameters.fonnte).toMatchObject({ var1: 'Budi Sembiring', var4: '20 Februari 2027' });
  });

  it('rejects an edit with an unknown variable, naming it; accepts a rewording as version 2 that renders from then on', async () => {
    const bad = await http.put(`${sys.rendererUrl}/v1/admin/templates/permit_ready`, { body: 'Halo {{nama_pemohon}} {{nik}} {{jenis_izin}} {{no_surat}} {{tanggal_terbit}} {{link_download}}' }, { headers: admin });
    expect(bad.status).toBe(400);
    expect(bad.data.issues[0].message).toMatch(/^unknown variable\(s\): nik/);
    const ok = await http.put(`${sys.rendererUrl}/v1/admin/templates/permit_ready`, { body: 'Izin {{jenis_izin}} No. {{no_surat}} untuk {{nama_pemohon}} terbit {{tanggal_terbit}}: {{link_download}}' }, { headers: admin });
    expect([ok.status, ok.data.version, ok.data.variables]).toEqual([200, 2, ['jenis_izin', 'no_surat', 'nama_pemohon', 'tanggal_terbit', 'link_download']]);
    const reg = uniq('REG-T-');
    await http.post(`${sys.ingestUrl}/v1/permit-events`, { event_id: `${reg}-1`, type: 'PermitIssued', occurred_at: '2026-11-22T09:00:00+07:00', pendaftaran_id: reg, data: { no_surat: '503/1', jenis_izin: 'PBG', nama_pemohon: 'Sari', telepon_pemohon: '0812-3456-7890', tanggal_terbit: '2026-11-22', link_download: 'https://x.test/a.pdf' } }, { headers: ingest });
    const r = await waitFor(async () => rendered.find((x) => x.pendaftaran_id === reg), { timeoutMs: 60_000, what: 'rendered permit_ready' });
    expect([r.templateVersion, r.text]).toEqual([2, 'Izin PBG No. 503/1 untuk Sari terbit 22 November 2026: https://x.test/a.pdf']);
    expect(r.parameters.map((p) => p.name)).toEqual(['jenis_izin', 'no_surat', 'nama_pemohon', 'tanggal_terbit', 'link_download']);
  });

  it('concurrent edits: If-Match guards against overwriting an edit you have not seen; simultaneous saves get distinct versions', async () => {
    const url = `${sys.rendererUrl}/v1/admin/templates/approval_required`;
    const seen = await http.get(url, { headers: admin });
    expect(seen.headers.etag).toBe(`"v${seen.data.version}"`);
    const body = (w: string) => ({ body: `${w} {{nama_pejabat}}: {{jenis_izin}} / {{nama_pemohon}} / {{no_surat}} {{link_approval}}` });
    const first = await http.put(url, body('Mohon persetujuan'), { headers: { ...admin, 'If-Match': seen.headers.etag } });
    expect([first.status, first.data.version]).toEqual([200, seen.data.version + 1]);
    const late = await http.put(url, body('Persetujuan diperlukan'), { headers: { ...admin, 'If-Match': seen.headers.etag } });
    expect([late.status, late.data.error, late.data.currentVersion]).toEqual([412, 'version_conflict', first.data.version]);
    const both = await Promise.all(['A', 'B', 'C'].map((w) => http.put(url, body(w), { headers: admin })));
    expect(both.map((r) => r.data.version).sort()).toEqual([first.data.version + 1, first.data.version + 2, first.data.version + 3]);
  });

  it('a deactivated template turns its requests into failed notifications with the reason, visible in the statistics', async () => {
    const d = await http.post(`${sys.rendererUrl}/v1/admin/templates/status_update/deactivate`, {}, { headers: admin });
    expect([d.status, d.data.active]).toEqual([200, false]);
    const reg = uniq('REG-D-');
    const eventId = `${reg}-status`;
    await http.post(`${sys.ingestUrl}/v1/permit-events`, { event_id: `${reg}-reg`, type: 'PermitRegistered', occurred_at: '2026-11-22T09:00:00+07:00', pendaftaran_id: reg, data: { jenis_izin: 'PBG', nama_pemohon: 'Sari', telepon_pemohon: '0812-3456-7890', status: 'Baru' } }, { headers: ingest });
    await http.post(`${sys.ingestUrl}/v1/permit-events`, { event_id: eventId, type: 'PermitStatusChanged', occurred_at: '2026-11-22T09:05:00+07:00', pendaftaran_id: reg, data: { status_lama: 'Baru', status_baru: 'Verifikasi', changed_at: '2026-11-22T09:05:00+07:00' } }, { headers: ingest });
    const id = notificationId('status_update', reg, `${eventId}:applicant`);
    const doc = await waitFor(async () => { const s = await http.get(`${sys.trackerUrl}/v1/stats/notifications/${id}`, { headers: stats }); return s.data.status === 'failed' ? s.data : undefined; }, { timeoutMs: 60_000, what: 'failed notification' });
    expect(doc).toMatchObject({ scenario: 'status_update', errorCode: 'RENDER_FAILED', failureReason: 'template status_update is deactivated' });
  });
});
