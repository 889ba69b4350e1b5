import axios from 'axios';
import { createHmac } from 'node:crypto';
import { uniq, waitFor } from '../support';
import { AUTH, startSystem, type System } from '../support/system';

////////// Status precedence and value cleaning through all five services: delivery evidence
// wins over a failure report in either arrival order (the failure stays visible as an anomaly),
// and control/invisible characters in a name reach neither the provider nor the text.

interface SimRequest { messageId?: string; body: { template: { components: { parameters: { text: string }[] }[] } } }

describe('status precedence end to end', () => {
  let sys: System;
  const http = axios.create({ validateStatus: () => true });
  const stats = AUTH.stats;
  const permit = (reg: string, nama_pemohon: string, phone: string) => ({
    event_id: `${reg}-issued`, type: 'PermitIssued', occurred_at: '2026-11-22T09:00:00+07:00', pendaftaran_id: reg,
    data: { no_surat: `503/${reg}`, jenis_izin: 'PBG', nama_pemohon, telepon_pemohon: phone, tanggal_terbit: '2026-11-22', link_download: `https://d.test/${reg}.pdf` },
  });
  /** Posts a signed Meta status webhook, as Meta would. */
  const status = async (wamid: string, s: 'delivered' | 'read' | 'failed') => {
    const errors = s === 'failed' ? [{ code: 131026, title: 'Message undeliverable' }] : undefined;
    const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: 'W', changes: [{ field: 'messages', value: { statuses: [{ id: wamid, status: s, timestamp: '1763780000', errors }] } }] }] });
    const sig = `sha256=${createHmac('sha256', 'e2e-meta-app-secret').update(body).digest('hex')}`;
    expect((await http.post(`${sys.trackerUrl}/webhooks/meta`, body, { headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': sig } })).data).toMatchObject({ accepted: 1 });
  };
  const notificationOf = async (reg: string) => waitFor(async () => {
    const d = (await http.get(`${sys.trackerUrl}/v1/stats/decisions`, { params: { pendaftaran_id: reg }, headers: stats })).data.decisions?.[0];
    return d?.message?.status === 'sent' ? (d.notificationId as string) : undefined;
  }, { timeoutMs: 60_000, what: `${reg} sent` });
  const notification = (id: string) => http.get(`${sys.trackerUrl}/v1/stats/notifications/${id}`, { headers: stats }).then((r) => r.data);
  const untilStatus = (id: string, want: string) => waitFor(async () => { const n = await notification(id); return n.status === want ? n : undefined; }, { timeoutMs: 30_000, what: `${id} ${want}` });

  beforeAll(async () => { sys = await startSystem({ SIM_STATUSES: 'sent' }); });
  afterAll(async () => { await sys?.stop(); });

  const [regA, regB] = [uniq('REG-A-'), uniq('REG-B-')];

  it('a name with NUL, BOM, zero-width space, soft hyphen and RTL override reaches the provider cleaned', async () => {
    expect((await http.post(`${sys.ingestUrl}/v1/permit-events`, permit(regA, '\uFEFFBu\u0000di\u200B Sembi\u00ADring\u202E', '0812-3456-7890'), { headers: AUTH.ingest })).status).toBe(202);
    const sent = await waitFor(async () => { const r = (await http.get<SimRequest[]>(`${sys.simUrl}/_sim/requests`)).data; return r.length ? r : undefined; }, { timeoutMs: 60_000, what: 'a send' });
    expect(sent[0]!.body.template.components[0]!.parameters[0]!.text).toBe('Budi Sembiring');
  });

  it('failed before a read receipt ends read; failed after delivered stays delivered; counted once, anomalies shown', async () => {
    expect((await http.post(`${sys.ingestUrl}/v1/permit-events`, permit(regB, 'Sari Br Karo', '0812-1111-2222'), { headers: AUTH.ingest })).status).toBe(202);
    const [idA, idB] = [await notificationOf(regA), await notificationOf(regB)];
    const [wamidA, wamidB] = [(await notification(idA)).providerMessageId as string, (await notification(idB)).providerMessageId as string];

    await status(wamidA, 'failed');
    await untilStatus(idA, 'failed');
    await status(wamidA, 'read');
    expect(await untilStatus(idA, 'read')).toMatchObject({ failedAt: expect.any(String), failureReason: 'Message undeliverable', errorCode: 'meta:131026', anomalies: ['failed_but_delivered'] });

    await status(wamidB, 'delivered');
    await untilStatus(idB, 'delivered');
    await status(wamidB, 'failed');
    const b = await waitFor(async () => { const n = await notification(idB); return n.anomalies ? n : undefined; }, { timeoutMs: 30_000, what: 'the anomaly recorded' });
    expect(b).toMatchObject({ status: 'delivered', failedAt: expect.any(String), failureReason: 'Message undeliverable', anomalies: ['failed_but_delivered'] });

    const summary = (await http.get(`${sys.trackerUrl}/v1/stats/summary`, { headers: stats })).data;
    expect(summary).toMatchObject({ total: 2, sent: 2, delivered: 2, read: 1, failed: 0, deliveryRate: 1, byStatus: { read: 1, delivered: 1, failed: 0 }, anomalies: { failed_but_delivered: 2 } });
    expect((await http.get(`${sys.trackerUrl}/metrics`)).data).toMatch(/^sicantik_status_anomalies_total\{kind="failed_but_delivered"[^}]*\} 2$/m);
  });
});
