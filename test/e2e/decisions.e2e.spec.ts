import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import axios from 'axios';
import { uniq, waitFor } from '../support';
import type { PermitEvent, PlannerStateRecord } from '@sicantik/schemas';
import { evolve, initialState, type PermitState } from '../../services/notification-planner/src/domain/state';
import { AUTH, readTopics, startSystem, type System } from '../support/system';

////////// "Why did X (not) get Y", end to end: opt-out by a WhatsApp reply, skip and
// cancel decisions visible in the statistics API, and two planner instances
// running the same schedule at once without a second message.

interface SimRequest { body: { to: string; template: { name: string; components: { parameters: { text: string }[] }[] } } }
interface DecisionView { pendaftaran_id: string; decision: string; scenario: string; recipientKind: string | null; recipientId: string | null; reason: string | null; notificationId: string | null; message: { status: string; provider: string | null; routeReason: string | null; routeDetail: string | null } | null }

describe('planner decisions, opt-out and concurrent planners', () => {
  let sys: System;
  const http = axios.create({ validateStatus: () => true });
  const { ingest, admin, stats } = AUTH;
  const run = uniq('');
  const D = `REG-D-${run}`, E = `REG-E-${run}`;
  const applicantPhone = '+6285277778888';
  let n = 0;
  const post = async (pendaftaran_id: string, type: string, data: object, occurred_at = '2024-11-20T08:00:00+07:00') => {
    const r = await http.post(`${sys.ingestUrl}/v1/permit-events`, { event_id: `${pendaftaran_id}-${++n}`, type, occurred_at, pendaftaran_id, data }, { headers: ingest });
    expect(r.status).toBe(202);
  };
  const sentTo = async (phone: string, template?: string) => (await http.get<SimRequest[]>(`${sys.simUrl}/_sim/requests`)).data
    .filter((r) => r.body.to === phone.replace('+', '') || r.body.to === phone)
    .filter((r) => !template || r.body.template.name === template);
  const decisionsOf = async (q: Record<string, string>) => {
    const r = await http.get<{ decisions: DecisionView[] }>(`${sys.trackerUrl}/v1/stats/decisions`, { params: q, headers: stats });
    expect(r.status).toBe(200);
    return r.data.decisions;
  };
  const reply = async (text: string, id: string) => {
    const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: 'WABA', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp', metadata: { phone_number_id: '100000000000001' }, contacts: [{ wa_id: applicantPhone.slice(1), profile: { name: 'Sari' } }],
      messages: [{ from: applicantPhone.slice(1), id, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }] } }] }] });
    const sig = `sha256=${createHmac('sha256', 'e2e-meta-app-secret').update(body).digest('hex')}`;
    const r = await http.post(`${sys.trackerUrl}/webhooks/meta`, body, { headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': sig } });
    expect([r.status, r.data.inbound]).toEqual([200, 1]); // one MESSAGE_RECEIVED; the planner's consent classifier records the opt-out
  };
  const optedOut = async () => (await http.get(`${sys.plannerUrl}/v1/admin/contacts/${encodeURIComponent(applicantPhone)}`, { headers: admin })).data.optedOut as boolean;

  beforeAll(async () => {
    sys = await startSystem();
    const r = await http.put(`${sys.plannerUrl}/v1/admin/directory/staff-pbg`, { role: 'STAFF', name: 'Rina Ginting', phone: '0813-1111-2222', jenisIzin: ['PBG'] }, { headers: admin });
    expect(r.status).toBe(200);
  });
  afterAll(async () => { await sys?.stop(); });

  it('the decisions query needs the stats token and a filter', async () => {
    expect((await http.get(`${sys.trackerUrl}/v1/stats/decisions`, { params: { pendaftaran_id: D } })).status).toBe(401);
    const bad = await http.get(`${sys.trackerUrl}/v1/stats/decisions`, { headers: stats });
    expect([bad.status, bad.data.issues[0].message]).toEqual([400, 'give pendaftaran_id, recipientId, notificationId or reasonCode']);
  });

  it('an applicant who replies BERHENTI gets nothing more; the skip and its reason are queryable; MULAI turns messages back on', async () => {
    await post(D, 'PermitRegistered', { jenis_izin: 'PBG', nama_pemohon: 'Sari Br Karo', telepon_pemohon: '0852-7777-8888', status: 'Baru' });
    await post(D, 'PermitIssued', { no_surat: '503/11/2026', jenis_izin: 'PBG', nama_pemohon: 'Sari Br Karo', tanggal_terbit: '2024-11-20', link_download: 'https://sicantik.test/d.pdf', tanggal_berakhir: '2025-03-01' });
    await waitFor(async () => (await sentTo(applicantPhone, 'sicantik_permit_ready')).length === 1, { timeoutMs: 60_000, what: 'permit_ready sent' });

    await reply('Berhenti', `wamid.stop-${run}`);
    expect(await waitFor(optedOut, { timeoutMs: 30_000, what: 'opt-out reaches the planner' })).toBe(true);
    await post(D, 'PermitStatusChanged', { status_lama: 'Terbit', status_baru: 'Diserahkan', changed_at: '2024-11-21T09:00:00+07:00' }, '2024-11-21T09:00:00+07:00');
    await waitFor(async () => (await sentTo('+6281311112222', 'sicantik_status_update')).length === 1, { timeoutMs: 60_000, what: 'staff status update' });

    // The staff message is also DEFERRED (issue 16): status updates wait 10 minutes for further changes (coalescing).
    const ds = await waitFor(async () => { const x = await decisionsOf({ pendaftaran_id: D, scenario: 'status_update' }); return x.length === 3 && x; }, { what: 'three status_update decisions' });
    expect(ds.map((d) => [d.decision, d.recipientKind, d.decision === 'DEFERRED' ? null : d.reason])).toEqual(expect.arrayContaining([['SKIPPED', 'APPLICANT', 'recipient opted out of WhatsApp notifications'], ['PLANNED', 'STAFF', null], ['DEFERRED', 'STAFF', null]]));
    expect(await sentTo(applicantPhone, 'sicantik_status_update')).toEqual([]);
    // The planned permit_ready shows how far the message got.
    const ready = await waitFor(async () => { const x = await decisionsOf({ pendaftaran_id: D, scenario: 'permit_ready' }); return x[0]?.message?.status === 'delivered' && x; }, { timeoutMs: 30_000, what: 'permit_ready delivered' });
    expect(ready.map((d) => [d.decision, d.recipientKind, d.message?.status])).toEqual([['PLANNED', 'APPLICANT', 'delivered']]);
    // And why it went through that provider: this system configures Meta only, so Meta serves every contact.
    expect(ready[0]!.message).toMatchObject({ provider: 'meta', routeReason: 'NO_OPT_IN_GATEWAY' });
    expect(ready[0]!.message!.routeDetail).toContain('no gateway without opt-in is configured');

    // The expiry date moves: the old date's four pending warnings are cancelled, with the reason.
    await post(D, 'PermitExpiryDateSet', { no_surat: '503/11/2026', tanggal_berakhir: '2025-06-30' }, '2024-11-22T08:00:00+07:00');
    const cancelled = await waitFor(async () => { const x = await decisionsOf({ pendaftaran_id: D, decision: 'CANCELLED' }); return x.length === 4 && x; }, { what: 'four cancellations' });
    expect(cancelled.map((d) => d.reason).sort()).toEqual([30, 60, 7, 90].map((t) => `${t}-day warning for 2025-03-01 cancelled: expiry date changed from 2025-03-01 to 2025-06-30`).sort());

    // Opted out on the new date's 90-day run: skipped; back in with MULAI, the 60-day warning goes out.
    const r90 = await http.post(`${sys.plannerUrl}/v1/admin/schedules/daily/run`, { date: '2025-04-01' }, { headers: admin });
    expect(r90.data).toMatchObject({ planned: 0, skipped: 1 });
    // The simulator plays the citizen's reply as Meta would deliver it (signed inbound webhook).
    const mulai = await http.post(`${sys.simUrl}/_sim/inbound`, { from: applicantPhone, text: 'MULAI' });
    expect([mulai.status, mulai.data.webhookStatus]).toEqual([200, 200]);
    await waitFor(async () => !(await optedOut()), { timeoutMs: 30_000, what: 'opt-in reaches the planner' });
    const r60 = await http.post(`${sys.plannerUrl}/v1/admin/schedules/daily/run`, { date: '2025-05-01' }, { headers: admin });
    expect(r60.data).toMatchObject({ planned: 1, skipped: 0 });
    const warnings = await waitFor(async () => { const x = await sentTo(applicantPhone, 'sicantik_permit_expiry_warning'); return x.length === 1 && x; }, { timeoutMs: 60_000, what: '60-day warning' });
    expect(warnings[0]!.body.template.components[0]!.parameters.map((p) => p.text)).toContain('60');
    // The decisions projection folds planner.decisions on its own time: wait for the PLANNED one.
    const expiry = await waitFor(async () => { const x = await decisionsOf({ pendaftaran_id: D, scenario: 'permit_expiry_warning' }); return x.some((d) => d.decision === 'PLANNED') && x; }, { what: 'the PLANNED 60-day decision in the projection' });
    expect(expiry.filter((d) => d.decision !== 'CANCELLED').map((d) => [d.decision, d.reason])).toEqual([['SKIPPED', 'recipient opted out of WhatsApp notifications'], ['PLANNED', null]]);
    // Analysts count the reasons: this system has seen only permit D so far.
    const summary = await waitFor(async () => {
      const r = await http.get(`${sys.trackerUrl}/v1/stats/decisions/summary`, { headers: stats });
      return r.data.counts.some((c: { scenario: string; decision: string }) => c.scenario === 'permit_expiry_warning' && c.decision === 'PLANNED') && r.data.counts;
    }, { what: 'decision summary' });
    const optOutSkips = await decisionsOf({ reasonCode: 'OPTED_OUT' });
    expect(optOutSkips.map((d) => [d.pendaftaran_id, d.scenario])).toEqual([[D, 'status_update'], [D, 'permit_expiry_warning']]);
    expect(summary).toEqual(expect.arrayContaining([
      { scenario: 'permit_expiry_warning', decision: 'CANCELLED', reasonCode: 'EXPIRY_DATE_CHANGED', count: 4 },
      { scenario: 'permit_expiry_warning', decision: 'SKIPPED', reasonCode: 'OPTED_OUT', count: 1 },
      { scenario: 'status_update', decision: 'SKIPPED', reasonCode: 'OPTED_OUT', count: 1 },
      { scenario: 'permit_ready', decision: 'PLANNED', reasonCode: null, count: 1 },
    ]));

    // Renewed after the 60-day warning went out: only the warnings still ahead (30 and 7 days) are cancelled;
    // the sent 60-day warning and the decided 90-day one keep their one final decision.
    await post(D, 'PermitRenewalApproved', { no_surat_baru: '503/11/2025', tanggal_mulai: '2025-06-30', tanggal_berakhir: '2028-06-30', masa_berlaku_tahun: 3, link_download: 'https://sicantik.test/d2.pdf' }, '2025-05-02T08:00:00+07:00');
    await waitFor(async () => (await sentTo(applicantPhone, 'sicantik_permit_renewal_approved')).length === 1, { timeoutMs: 60_000, what: 'renewal sent' });
    const cancelledFor = async (date: string) => (await decisionsOf({ pendaftaran_id: D, decision: 'CANCELLED' })).filter((d) => d.reason?.includes(`for ${date}`));
    await waitFor(async () => (await cancelledFor('2025-06-30')).length >= 2, { what: 'renewal cancellations' });
    await new Promise((r) => setTimeout(r, 1000)); // a wrong cancellation of the sent warnings would have arrived by now
    const renewed = await cancelledFor('2025-06-30');
    expect(renewed.map((d) => d.reason).sort()).toEqual([30, 7].map((t) => `${t}-day warning for 2025-06-30 cancelled: permit renewed: new expiry date 2028-06-30`).sort());
  });

  it('two planner instances running the same date at the same moment send one message', async () => {
    const second = await sys.addInstance('notification-planner');
    await post(E, 'PermitIssued', { no_surat: '503/12/2026', jenis_izin: 'PBG', nama_pemohon: 'Ucok Tarigan', telepon_pemohon: '0853-1234-5678', tanggal_terbit: '2024-11-20', link_download: 'https://sicantik.test/e.pdf', tanggal_berakhir: '2025-02-18' });
    await waitFor(async () => (await sentTo('+6285312345678', 'sicantik_permit_ready')).length === 1, { timeoutMs: 60_000, what: 'permit_ready for E' });
    const runs = await Promise.all([sys.plannerUrl, second, sys.plannerUrl, second].map((u) => http.post(`${u}/v1/admin/schedules/daily/run`, { date: '2024-11-20' }, { headers: admin })));
    expect(runs.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    // One run plans it; each other run either finds the claim (a duplicate) or, later, the threshold already marked.
    expect(runs.map((r) => r.data.planned).sort()).toEqual([0, 0, 0, 1]);
    await waitFor(async () => (await sentTo('+6285312345678', 'sicantik_permit_expiry_warning')).length === 1, { timeoutMs: 60_000, what: 'E warning' });
    await new Promise((r) => setTimeout(r, 2000)); // a second message would have arrived by now
    expect(await sentTo('+6285312345678', 'sicantik_permit_expiry_warning')).toHaveLength(1);
    const dup = await decisionsOf({ pendaftaran_id: E, scenario: 'permit_expiry_warning' });
    expect(dup.filter((d) => d.decision === 'PLANNED')).toHaveLength(1);
    expect(dup.filter((d) => d.decision !== 'PLANNED').map((d) => d.reason)).toEqual(runs.some((r) => r.data.duplicates > 0) ? ['duplicate: already planned by an earlier run'] : []);
  });

  it('planners killed with SIGKILL restore their state from Kafka alone: it equals a rebuild from permit.events, and nothing is sent again', async () => {
    const simBefore = (await http.get<SimRequest[]>(`${sys.simUrl}/_sim/requests`)).data.length;
    for (const name of sys.instances('notification-planner')) await sys.kill(name, 'SIGKILL');
    await sys.restart('notification-planner');
    await waitFor(async () => (await fetch(`${sys.plannerUrl}/readyz`).catch(() => ({ ok: false }))).ok, { timeoutMs: 90_000, what: 'restarted planner ready' });
    // The live state is the changelog's latest record per permit; the rebuild folds permit.events with the same evolve.
    const changelog = new Map<string, { state: PermitState }>();
    const events: PermitEvent[] = [];
    const stop = await readTopics(sys, ['planner.state', 'permit.events'], (topic, v) => {
      if (topic === 'permit.events') events.push(v as PermitEvent);
      else if ((v as PlannerStateRecord).kind === 'PERMIT') changelog.set((v as PlannerStateRecord).key, JSON.parse((v as PlannerStateRecord).body));
    });
    try {
      await waitFor(async () => changelog.has(D) && changelog.has(E) && events.filter((e) => e.pendaftaran_id === E).length > 0, { what: 'changelog and events read' });
      await new Promise((r) => setTimeout(r, 1500)); // the rest of both topics
      // Marks of what was decided (expiry thresholds, open coalescing windows) are no facts of permit.events.
      const strip = ({ expiryPlanned: _m, coalescing: _c, ...rest }: PermitState) => rest;
      for (const reg of [D, E]) {
        const rebuilt = events.filter((e) => e.pendaftaran_id === reg).reduce(evolve, initialState(reg));
        expect(strip(changelog.get(reg)!.state)).toEqual(strip(rebuilt));
      }
      // The restored marks and claims keep the runs from planning E's 90-day warning or D's 60-day warning again.
      const again = await http.post(`${sys.plannerUrl}/v1/admin/schedules/daily/run`, { date: '2024-11-20' }, { headers: admin });
      expect([again.status, again.data]).toMatchObject([200, { planned: 0, duplicates: 0 }]);
      const later = await http.post(`${sys.plannerUrl}/v1/admin/schedules/daily/run`, { date: '2025-05-01' }, { headers: admin });
      expect([later.status, later.data]).toMatchObject([200, { planned: 0 }]);
      // The opt-in state and the directory came back from their topics too.
      expect((await http.get(`${sys.plannerUrl}/v1/admin/directory`, { headers: admin })).data).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 3000));
      expect((await http.get<SimRequest[]>(`${sys.simUrl}/_sim/requests`)).data.length).toBe(simBefore);
    } finally {
      await stop();
    }
  });

  it('a dispatcher with a new group (no committed offsets) replays every rendered notification and sends none again: its ledger comes from Kafka', async () => {
    const simBefore = (await http.get<SimRequest[]>(`${sys.simUrl}/_sim/requests`)).data.length;
    expect(simBefore).toBeGreaterThan(0);
    await sys.addInstance('provider-dispatcher', { CONSUMER_GROUP: `${sys.prefix}dispatcher-rebuild` });
    const log = () => fs.readFileSync(sys.logs[Object.keys(sys.logs).find((k) => k.startsWith('provider-dispatcher-'))!]!, 'utf8');
    // Each outcome is re-emitted from the ledger (logged as such, not counted again in the metrics).
    await waitFor(async () => (log().match(/"status":"ACCEPTED","provider":"[a-z]+","reemitted":true/g) ?? []).length >= simBefore, { timeoutMs: 60_000, what: 'the new dispatcher replayed every rendered notification' });
    await new Promise((r) => setTimeout(r, 2000));
    expect((await http.get<SimRequest[]>(`${sys.simUrl}/_sim/requests`)).data.length).toBe(simBefore);
  });
});
