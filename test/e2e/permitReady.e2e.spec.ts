import axios from 'axios';
import { createHmac } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { NotificationRendered } from '@sicantik/schemas';
import { fillSeed, seedTemplate, stack, uniq, waitFor } from '../support';
import { AUTH, startSystem, systemCodec, type System } from '../support/system';

////////// permit_ready through all five services, as separate processes, on the real stack

interface SimRequest { path: string; body: { to: string; template: { name: string; language: { code: string; policy: string }; components: { type: string; parameters: { type: string; text: string }[] }[] } }; messageId?: string; responseStatus: number }

describe('permit_ready end to end', () => {
  let sys: System;
  const http = axios.create({ validateStatus: () => true });
  const { ingest: ingestAuth, stats: statsAuth } = AUTH;
  const reg = uniq('REG-');
  const data = {
    no_surat: '503/123/DPMPTSP/2026', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi Sembiring', telepon_pemohon: '0812-3456-7890',
    tanggal_terbit: '2026-11-22', link_download: `https://sicantik.karokab.go.id/izin/${reg}.pdf`,
  };
  const event = { event_id: `${reg}-issued`, type: 'PermitIssued', occurred_at: '2026-11-22T09:00:00+07:00', pendaftaran_id: reg, data };
  const expectedText = fillSeed(seedTemplate('permit_ready'), { ...data, tanggal_terbit: '22 November 2026' });
  const simRequests = async () => (await http.get<SimRequest[]>(`${sys.simUrl}/_sim/requests`)).data;

  beforeAll(async () => { sys = await startSystem(); });
  const afterCleanup: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const c of afterCleanup) await c(); await sys?.stop(); });

  it('accepts the permit event once and reports a duplicate event id as duplicate', async () => {
    const first = await http.post(`${sys.ingestUrl}/v1/permit-events`, event, { headers: ingestAuth });
    expect(first.status).toBe(202);
    expect(first.data).toEqual({ status: 'accepted', event_id: event.event_id });
    const again = await http.post(`${sys.ingestUrl}/v1/permit-events`, event, { headers: ingestAuth });
    expect(again.status).toBe(200);
    expect(again.data).toEqual({ status: 'duplicate', event_id: event.event_id });
  });

  it('rejects bad input naming the field, and a missing token', async () => {
    const bad = await http.post(`${sys.ingestUrl}/v1/permit-events`, { ...event, event_id: `${reg}-bad`, data: { ...data, tanggal_terbit: '22-11-2026' } }, { headers: ingestAuth });
    expect(bad.status).toBe(400);
    expect(bad.data.issues).toEqual([{ path: 'data.tanggal_terbit', message: 'must be a date yyyy-MM-dd' }]);
    expect((await http.post(`${sys.ingestUrl}/v1/permit-events`, event)).status).toBe(401);
  });

  it('sends the Meta template message with the seed parameters, exactly once', async () => {
    const reqs = await waitFor(async () => { const r = await simRequests(); return r.length >= 1 ? r : undefined; }, { timeoutMs: 60_000, what: 'a send at the simulator' });
    expect(reqs).toHaveLength(1);
    const r = reqs[0]!;
    expect(r.path).toBe('/meta/v23.0/100000000000001/messages');
    expect(r.responseStatus).toBe(200);
    expect(r.body).toEqual({
      messaging_product: 'whatsapp', recipient_type: 'individual', to: '+6281234567890', type: 'template',
      template: { name: 'sicantik_permit_ready', language: { code: 'id', policy: 'deterministic' }, components: [{ type: 'body', parameters: [
        { type: 'text', text: 'Budi Sembiring' }, { type: 'text', text: 'Izin Usaha Mikro' }, { type: 'text', text: '503/123/DPMPTSP/2026' },
        { type: 'text', text: '22 November 2026' }, { type: 'text', text: data.link_download },
      ] }] },
    });
    // The Meta twin of the seed text ({{1}}..{{5}} in first-use order) with these parameters is the seed text.
    const order = ['nama_pemohon', 'jenis_izin', 'no_surat', 'tanggal_terbit', 'link_download'];
    const metaBody = seedTemplate('permit_ready').replace(/\{(\w+)\}/g, (_, k: string) => `{{${order.indexOf(k) + 1}}}`);
    const params = r.body.template.components[0]!.parameters.map((p) => p.text);
    expect(metaBody.replace(/\{\{(\d+)\}\}/g, (_, n: string) => params[Number(n) - 1]!)).toBe(expectedText);
  });

  it('renders the exact seed text onto the rendered topic, and every record is Confluent wire format', async () => {
    const kafka = new Kafka({ brokers: stack.brokers, clientId: 'e2e-reader', logLevel: logLevel.NOTHING });
    const { codec, close } = await systemCodec(sys);
    afterCleanup.push(close);
    const consumer = kafka.consumer({ groupId: uniq('e2e-reader-') });
    const raw: { topic: string; value: Buffer }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [`${sys.prefix}permit.events`, `${sys.prefix}notification.rendered`], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ topic, message }) => { raw.push({ topic, value: message.value! }); } });
    await waitFor(async () => raw.some((m) => m.topic.endsWith('notification.rendered')) && raw.some((m) => m.topic.endsWith('permit.events')), { what: 'records on both topics' });
    await consumer.disconnect();

    const permitRecord = raw.find((m) => m.topic.endsWith('permit.events'))!.value;
    expect(permitRecord[0]).toBe(0);
    const schemaId = permitRecord.readInt32BE(1);
    const resolved = await http.get(`${stack.registryUrl}/schemas/ids/${schemaId}`);
    expect(resolved.status).toBe(200);
    expect(JSON.parse(resolved.data.schema).name).toBe('PermitEvent');

    const rendered = (await codec.decode('notification.rendered', raw.find((m) => m.topic.endsWith('notification.rendered'))!.value)) as NotificationRendered;
    expect(rendered.outcome).toBe('RENDERED');
    expect(rendered.text).toBe(expectedText);
    expect(rendered.recipient).toEqual({ kind: 'APPLICANT', id: reg, name: 'Budi Sembiring', phone: '+6281234567890', subjectId: expect.any(String) });
    // On the wire the personal fields are encrypted with the applicant's key (issue 16): no name, number or text in the bytes.
    for (const m of raw) expect([m.topic, /Budi|81234567890|Izin Anda/.test(m.value.toString('latin1'))]).toEqual([m.topic, false]);
  });

  it('tracks the signed status webhooks: the statistics count the message sent and delivered', async () => {
    const summary = await waitFor(async () => {
      const s = await http.get(`${sys.trackerUrl}/v1/stats/summary`, { headers: statsAuth });
      return s.data.delivered === 1 ? s.data : undefined;
    }, { timeoutMs: 60_000, what: 'delivered in statistics' });
    expect(summary).toMatchObject({ total: 1, sent: 1, delivered: 1, read: 0, failed: 0, inDoubt: 0, deliveryRate: 1, byStatus: { delivered: 1 } });
    expect((await http.get(`${sys.trackerUrl}/v1/stats/summary`)).status).toBe(401);
  });

  it('rejects a webhook with a bad signature and accepts a correctly signed one', async () => {
    const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: 'W', changes: [{ field: 'messages', value: { statuses: [{ id: 'wamid.unknown', status: 'read', timestamp: '1763780000' }] } }] }] });
    const bad = await http.post(`${sys.trackerUrl}/webhooks/meta`, body, { headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': 'sha256=' + '0'.repeat(64) } });
    expect(bad.status).toBe(401);
    const sig = `sha256=${createHmac('sha256', 'e2e-meta-app-secret').update(body).digest('hex')}`;
    const good = await http.post(`${sys.trackerUrl}/webhooks/meta`, body, { headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': sig } });
    expect(good.status).toBe(200);
    expect(good.data).toEqual({ accepted: 1, ignored: 0, inbound: 0 });
    const verify = await http.get(`${sys.trackerUrl}/webhooks/meta`, { params: { 'hub.mode': 'subscribe', 'hub.verify_token': 'e2e-meta-verify-token', 'hub.challenge': '1158201444' } });
    expect([verify.status, verify.data]).toEqual([200, 1158201444]);
  });

  it('a restarted dispatcher and planner do not send again', async () => {
    await sys.restart('provider-dispatcher');
    await sys.restart('notification-planner');
    const again = await http.post(`${sys.ingestUrl}/v1/permit-events`, { ...event, event_id: `${reg}-issued-resent` }, { headers: ingestAuth });
    expect(again.status).toBe(202); // a new upstream event for the same permit fact
    // The restarted planner knows the notification id is claimed by the first event: a DUPLICATE decision, no second request.
    const dup = await waitFor(async () => {
      const r = await http.get(`${sys.trackerUrl}/v1/stats/decisions`, { params: { pendaftaran_id: reg, scenario: 'permit_ready' }, headers: statsAuth });
      return r.data.decisions?.length === 2 && r.data.decisions;
    }, { timeoutMs: 60_000, what: 'the re-sent issue decided' });
    expect(dup.map((d: { decision: string; reasonCode: string | null }) => [d.decision, d.reasonCode]).sort()).toEqual([['PLANNED', null], ['SKIPPED', 'DUPLICATE']]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await simRequests()).toHaveLength(1);
  });
});
