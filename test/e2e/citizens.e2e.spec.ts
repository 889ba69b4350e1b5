import * as fs from 'node:fs';
import axios from 'axios';
import { DateTime } from 'luxon';
import { notificationId } from '@sicantik/core';
import type { ContactEvent, NotificationDispatchRecorded, NotificationRendered, PlannerDecisionRecorded } from '@sicantik/schemas';
import { testClock, uniq, waitFor } from '../support';
import { AUTH, readTopics, startSystem, type System } from '../support/system';

////////// Issue 16's "Done when" for citizens, through the whole pipeline: permit-ingest
// (HTTP) -> planner -> renderer -> dispatcher -> provider simulator (Meta alone, the
// default hold for contacts who never opted in); citizens' replies go through real signed
// Meta webhooks (the simulator) to the tracker's receiver and the planner's consent
// classifier. Every service's clock is moved with SICANTIK_TEST_CLOCK_FILE, forward only:
//   (1) 2026-12-08 10:00 WIB: three status changes in five minutes -> one message after the delay;
//   (2, 3) 22:00: deferred to 07:00 across a dispatcher crash; an urgent one at 23:00 goes at once;
//   (4) 2026-12-10 and 2027-01-09: a never-asked citizen's messages are HELD; the 60-day
//       warning is DROPPED when the 30-day one is due; after MULAI the rest is sent once.

const wib = (t: string) => DateTime.fromISO(t, { zone: 'Asia/Jakarta' });
interface SimRequest { body: { to?: string; template?: { name: string } } }

describe('citizens end to end: coalescing, quiet hours, urgency and the consent hold', () => {
  let sys: System;
  const http = axios.create({ validateStatus: () => true });
  const run = uniq('');
  const clock = testClock('citizens');
  /** Moves every service's clock to `t` (it runs on from there). */
  const setClock = (t: DateTime) => clock.set(t.toMillis());
  const digits = String(Date.now()).slice(-6);
  /** Citizens of this run: B (coalescing), A (night), C (urgent), D (never asked, Meta's hold). */
  const B = `+6285233${digits}`, A = `+6285244${digits}`, C = `+6285255${digits}`, D = `+6285266${digits}`;
  const REG_B = `REG-CB-${run}`, REG_A = `REG-CA-${run}`, REG_C = `REG-CC-${run}`, REG_D = `REG-CD-${run}`;

  const dispatched: NotificationDispatchRecorded[] = [];
  const decisions: PlannerDecisionRecorded[] = [];
  const rendered: NotificationRendered[] = [];
  const contacts: ContactEvent[] = [];
  let stopReader: () => Promise<void> = async () => undefined;
  const seen = new Set<string>();

  /** The records of a notification's dispatch, in order (a record produced again counts once). */
  const statusesOf = (nid: string) => dispatched.filter((e) => e.notificationId === nid).map((e) => e.status);
  const dispatchOf = (nid: string, status: string) => dispatched.find((e) => e.notificationId === nid && e.status === status);
  const decisionsOf = (reg: string, decision: PlannerDecisionRecorded['decision'], scenario?: string) =>
    decisions.filter((d) => d.pendaftaran_id === reg && d.decision === decision && (!scenario || d.scenario === scenario));
  /** What reached the simulator for a citizen (a template name: only those). */
  const atSim = async (phone: string, template?: string) => (await http.get<SimRequest[]>(`${sys.simUrl}/_sim/requests`)).data
    .filter((r) => (r.body.to ?? '').replace(/\D/g, '') === phone.slice(1) && (!template || r.body.template?.name === template));
  const quietly = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const post = async (reg: string, event_id: string, type: string, data: object, at: DateTime) => {
    const r = await http.post(`${sys.ingestUrl}/v1/permit-events`, { event_id, type, occurred_at: at.toISO(), pendaftaran_id: reg, data }, { headers: AUTH.ingest });
    expect(r.status).toBe(202);
  };
  const register = (reg: string, phone: string, at: DateTime) =>
    post(reg, `${reg}-reg`, 'PermitRegistered', { jenis_izin: 'PBG', nama_pemohon: 'Rina Br Ginting', telepon_pemohon: phone, status: 'Baru' }, at);
  const change = (reg: string, id: string, lama: string, baru: string, at: DateTime) =>
    post(reg, id, 'PermitStatusChanged', { status_lama: lama, status_baru: baru, changed_at: at.toISO() }, at);
  /** A citizen's reply through a signed Meta webhook; resolves with the contact event the planner's classifier makes of it. */
  const reply = async (phone: string, text: string, kind: ContactEvent['kind']) => {
    const r = await http.post<{ id: string; webhookStatus: number }>(`${sys.simUrl}/_sim/inbound`, { provider: 'meta', from: phone, text });
    expect([r.status, r.data.webhookStatus]).toEqual([200, 200]);
    return waitFor(async () => contacts.find((e) => e.kind === kind && e.phone === phone && e.providerMessageId === r.data.id), { timeoutMs: 60_000, what: `${kind} of ${text}` });
  };
  const dailyRun = async (date: string) => {
    const r = await http.post(`${sys.plannerUrl}/v1/admin/schedules/daily/run`, { date }, { headers: AUTH.admin });
    expect(r.status).toBe(200);
    return r.data as Record<string, number>;
  };
  const dispatcherStarts = () => fs.readFileSync(sys.logs['provider-dispatcher']!, 'utf8').split('\n').filter((l) => l.includes('provider-dispatcher running')).length;

  beforeAll(async () => {
    setClock(wib('2026-12-08T09:00:00'));
    sys = await startSystem({
      SICANTIK_TEST_CLOCK_FILE: clock.file,
      QUIET_HOURS: '21:00-07:00', WORKING_HOURS: 'Mon-Fri 08:00-16:00',
      // Meta alone (startSystem configures no gateway) with the default: hold for contacts who never opted in.
      UNCONSENTED_OPT_IN_PROVIDERS: 'hold',
      // (3): a permit ready at night is urgent here (by default only the answers to a citizen's own message are).
      URGENCY: 'permit_ready=URGENT',
      // (4) moves the clock 30 days on: the held permit_ready must not expire meanwhile.
      HOLD_EXPIRES_AFTER_MS: String(90 * 86_400_000),
      // The clock jumps: a waiting partition is looked at again within half a second, holds as often.
      WAIT_RECHECK_MS: '500', HOLD_SWEEP_MS: '500',
    });
    stopReader = await readTopics(sys, ['notification.dispatch', 'planner.decisions', 'notification.rendered', 'contact.events'], (topic, v) => {
      if (seen.has(v.eventId)) return; // a record produced again is the same fact
      seen.add(v.eventId);
      if (topic === 'notification.dispatch') dispatched.push(v as NotificationDispatchRecorded);
      else if (topic === 'planner.decisions') decisions.push(v as PlannerDecisionRecorded);
      else if (topic === 'notification.rendered') rendered.push(v as NotificationRendered);
      else contacts.push(v as ContactEvent);
    });
    // B, A and C opt in (MULAI through Meta's webhook) at 09:00; each gets its one confirmation at once.
    for (const p of [B, A, C]) await reply(p, 'MULAI', 'OPTED_IN');
    await waitFor(async () => (await Promise.all([B, A, C].map((p) => atSim(p, 'sicantik_consent_opted_in')))).every((x) => x.length === 1), { timeoutMs: 60_000, what: 'three confirmations' });
  }, 300_000);
  afterAll(async () => { await stopReader(); await sys?.stop(); clock.remove(); });

  it('(1) three status changes within five minutes: one message after the coalescing delay, with the first old and the latest new status; two COALESCED decisions', async () => {
    const t0 = wib('2026-12-08T10:00:00');
    setClock(t0.minus({ minutes: 30 }));
    await register(REG_B, B, t0.minus({ minutes: 30 }));
    const steps: [string, string, DateTime][] = [['Verifikasi', 'Survey Lapangan', t0], ['Survey Lapangan', 'Rapat Teknis', t0.plus({ minutes: 2 })], ['Rapat Teknis', 'Disetujui', t0.plus({ minutes: 4 })]];
    const ids = steps.map((_, i) => notificationId('status_update', REG_B, `${REG_B}-${i + 1}:applicant`));
    for (const [i, [lama, baru, at]] of steps.entries()) {
      setClock(at);
      await change(REG_B, `${REG_B}-${i + 1}`, lama, baru, at);
      // Each change reaches the dispatcher (waiting for its send time) before the next one.
      await waitFor(async () => statusesOf(ids[i]!).includes('DEFERRED'), { timeoutMs: 60_000, what: `status update ${i + 1} DEFERRED` });
    }
    const coalesced = await waitFor(async () => { const x = decisionsOf(REG_B, 'COALESCED'); return x.length === 2 && x; }, { timeoutMs: 60_000, what: 'two COALESCED decisions' });
    expect(coalesced.map((d) => [d.notificationId, d.carriedBy, d.reasonCode])).toEqual([[ids[0], ids[1], 'COALESCED'], [ids[1], ids[2], 'COALESCED']]);
    await waitFor(async () => statusesOf(ids[0]!).includes('DROPPED') && statusesOf(ids[1]!).includes('DROPPED'), { timeoutMs: 30_000, what: 'the carried ones DROPPED' });
    const sendAt = t0.plus({ minutes: 14 }).toMillis();
    expect(dispatchOf(ids[2]!, 'DEFERRED')).toMatchObject({ routeReason: 'COALESCING', notBefore: sendAt });
    await quietly(1500);
    expect(await atSim(B, 'sicantik_status_update')).toEqual([]); // nothing before the delay

    setClock(t0.plus({ minutes: 14, seconds: 30 }));
    await waitFor(async () => statusesOf(ids[2]!).includes('ACCEPTED'), { timeoutMs: 60_000, what: 'the carrying message accepted' });
    await quietly(2000);
    const sent = await atSim(B, 'sicantik_status_update');
    expect(sent).toHaveLength(1);
    const body = JSON.stringify(sent[0]!.body);
    expect([body.includes('Verifikasi'), body.includes('Disetujui'), body.includes('Survey Lapangan'), body.includes('Rapat Teknis')]).toEqual([true, true, false, false]);
    expect(dispatchOf(ids[2]!, 'SENDING')!.occurredAt).toBeGreaterThanOrEqual(sendAt);
    expect(statusesOf(ids[0]!)).toEqual(['DEFERRED', 'DROPPED']);
    expect(statusesOf(ids[1]!)).toEqual(['DEFERRED', 'DROPPED']);
    expect(statusesOf(ids[2]!)).toEqual(['DEFERRED', 'SENDING', 'ACCEPTED']);
    expect([dispatchOf(ids[0]!, 'DROPPED'), dispatchOf(ids[1]!, 'DROPPED')].map((e) => [e!.routeReason, e!.supersededBy])).toEqual([['SUPERSEDED', ids[1]], ['SUPERSEDED', ids[2]]]);
    expect(decisionsOf(REG_B, 'PLANNED', 'status_update').map((d) => d.notificationId)).toEqual(ids);
  }, 300_000);

  it('(2, 3) a status change at 22:00 WIB waits for 07:00 across a dispatcher crash and is sent once; an urgent message at 23:00 goes at once', async () => {
    const t22 = wib('2026-12-08T22:00:00');
    setClock(t22.minus({ hours: 1 }));
    await register(REG_A, A, t22.minus({ hours: 1 }));
    setClock(t22);
    await change(REG_A, `${REG_A}-1`, 'Verifikasi', 'Survey Lapangan', t22);
    const night = notificationId('status_update', REG_A, `${REG_A}-1:applicant`);
    const t07 = wib('2026-12-09T07:00:00').toMillis();
    const deferred = await waitFor(async () => dispatchOf(night, 'DEFERRED'), { timeoutMs: 60_000, what: 'the night message DEFERRED' });
    // Quiet hours from 22:00 (judged at 22:10, the end of its coalescing delay): 07:00 the next morning.
    expect(deferred).toMatchObject({ routeReason: 'QUIET_HOURS', notBefore: t07, provider: 'meta' });
    expect(decisionsOf(REG_A, 'DEFERRED').map((d) => [d.notificationId, d.reasonCode, d.notBefore])).toEqual([[night, 'QUIET_HOURS', t07]]);

    // The dispatcher crashes while it waits and starts again (restoring its ledger and the wait).
    const starts = dispatcherStarts();
    await sys.kill('provider-dispatcher', 'SIGKILL');
    await sys.restart('provider-dispatcher');
    await waitFor(async () => dispatcherStarts() === starts + 1, { timeoutMs: 90_000, what: 'provider-dispatcher running again' });

    // (3) 23:00: C's permit is ready (urgent here): sent at once, while the night message still waits.
    const t23 = wib('2026-12-08T23:00:00');
    setClock(t23);
    await post(REG_C, `${REG_C}-issued`, 'PermitIssued', { no_surat: `503/${digits}/2026`, jenis_izin: 'PBG', nama_pemohon: 'Rina Br Ginting', telepon_pemohon: C, tanggal_terbit: '2026-12-08', link_download: 'https://sicantik.test/c.pdf' }, t23);
    const ready = await waitFor(async () => decisionsOf(REG_C, 'PLANNED', 'permit_ready')[0]?.notificationId, { timeoutMs: 60_000, what: 'permit_ready planned' });
    await waitFor(async () => statusesOf(ready).includes('ACCEPTED'), { timeoutMs: 60_000, what: 'the urgent message accepted at 23:00' });
    expect(statusesOf(ready)).toEqual(['SENDING', 'ACCEPTED']);
    expect(rendered.find((r) => r.notificationId === ready)).toMatchObject({ notBefore: null });
    // At once: within the minute the clock says 23:00 (it runs on in real time), not at 07:00.
    expect(dispatchOf(ready, 'SENDING')!.occurredAt - t23.toMillis()).toBeGreaterThanOrEqual(0);
    expect(dispatchOf(ready, 'SENDING')!.occurredAt - t23.toMillis()).toBeLessThan(60_000);
    expect(await atSim(C, 'sicantik_permit_ready')).toHaveLength(1);
    expect(decisionsOf(REG_C, 'DEFERRED')).toEqual([]);
    await quietly(2000);
    expect(await atSim(A, 'sicantik_status_update')).toEqual([]);
    expect(statusesOf(night).filter((s) => s !== 'DEFERRED')).toEqual([]);

    // 07:00 the next morning: sent, exactly once.
    setClock(DateTime.fromMillis(t07, { zone: 'Asia/Jakarta' }));
    await waitFor(async () => statusesOf(night).includes('ACCEPTED'), { timeoutMs: 60_000, what: 'the night message accepted at 07:00' });
    await quietly(3000);
    expect(await atSim(A, 'sicantik_status_update')).toHaveLength(1);
    expect(statusesOf(night).filter((s) => s !== 'DEFERRED')).toEqual(['SENDING', 'ACCEPTED']);
    expect(dispatchOf(night, 'SENDING')!.occurredAt).toBeGreaterThanOrEqual(t07);
    expect(contacts.filter((c) => c.kind === 'MESSAGE_SENT' && c.notificationId === night)).toHaveLength(1);
  }, 300_000);

  it('(4) Meta alone: a never-asked citizen\'s messages are HELD; the held 60-day warning is DROPPED when the 30-day one is due; after MULAI the permit_ready and the 30-day warning are sent once each, with one confirmation', async () => {
    const issued = wib('2026-12-10T09:30:00');
    setClock(issued);
    await post(REG_D, `${REG_D}-issued`, 'PermitIssued', { no_surat: `503/${digits}/2027`, jenis_izin: 'PBG', nama_pemohon: 'Rina Br Ginting', telepon_pemohon: D, tanggal_terbit: '2026-12-10', link_download: 'https://sicantik.test/d.pdf', tanggal_berakhir: '2027-02-08' }, issued);
    const ready = await waitFor(async () => decisionsOf(REG_D, 'PLANNED', 'permit_ready')[0]?.notificationId, { timeoutMs: 60_000, what: 'permit_ready planned' });
    await waitFor(async () => dispatchOf(ready, 'HELD'), { timeoutMs: 60_000, what: 'permit_ready HELD' });
    expect(dispatchOf(ready, 'HELD')).toMatchObject({ routeReason: 'AWAITING_OPT_IN', provider: 'meta' });

    // The daily run of 2026-12-10: 60 days before the expiry.
    expect(await dailyRun('2026-12-10')).toMatchObject({ planned: 1 });
    const w60 = await waitFor(async () => decisionsOf(REG_D, 'PLANNED', 'permit_expiry_warning').find((d) => d.causationId === 'schedule:daily:2026-12-10')?.notificationId, { timeoutMs: 60_000, what: 'the 60-day warning planned' });
    await waitFor(async () => dispatchOf(w60!, 'HELD'), { timeoutMs: 60_000, what: 'the 60-day warning HELD' });
    await quietly(1500);
    expect(await atSim(D)).toEqual([]);

    // 30 days before the expiry: the daily run of 2027-01-09 plans the 30-day warning; the held 60-day one is dropped.
    setClock(wib('2027-01-09T09:30:00'));
    expect(await dailyRun('2027-01-09')).toMatchObject({ planned: 1 });
    const w30 = await waitFor(async () => decisionsOf(REG_D, 'PLANNED', 'permit_expiry_warning').find((d) => d.causationId === 'schedule:daily:2027-01-09')?.notificationId, { timeoutMs: 60_000, what: 'the 30-day warning planned' });
    await waitFor(async () => dispatchOf(w60!, 'DROPPED') && dispatchOf(w30!, 'HELD'), { timeoutMs: 60_000, what: 'the 60-day warning DROPPED, the 30-day one HELD' });
    const key = rendered.find((r) => r.notificationId === w30)!.supersedeKey;
    expect(rendered.find((r) => r.notificationId === w60)!.supersedeKey).toBe(key);
    expect(dispatchOf(w60!, 'DROPPED')).toMatchObject({ routeReason: 'SUPERSEDED', supersededBy: w30, supersedeKey: key });
    await quietly(1500);
    expect(await atSim(D)).toEqual([]);

    // D replies MULAI: opted in, confirmed once; the held ones are sent once each, the dropped one never.
    await reply(D, 'MULAI', 'OPTED_IN');
    await waitFor(async () => statusesOf(ready).includes('ACCEPTED') && statusesOf(w30!).includes('ACCEPTED'), { timeoutMs: 60_000, what: 'the held ones accepted after the opt-in' });
    await waitFor(async () => (await atSim(D, 'sicantik_consent_opted_in')).length === 1, { timeoutMs: 60_000, what: 'the confirmation at the simulator' });
    await quietly(3000);
    const names = (await atSim(D)).map((r) => r.body.template?.name).sort();
    expect(names).toEqual(['sicantik_consent_opted_in', 'sicantik_permit_expiry_warning', 'sicantik_permit_ready']);
    expect(statusesOf(ready)).toEqual(['HELD', 'SENDING', 'ACCEPTED']);
    expect(statusesOf(w30!)).toEqual(['HELD', 'SENDING', 'ACCEPTED']);
    expect(statusesOf(w60!)).toEqual(['HELD', 'DROPPED']);
    expect(JSON.stringify((await atSim(D, 'sicantik_permit_expiry_warning'))[0]!.body)).toContain('"30"');
  }, 300_000);
});
