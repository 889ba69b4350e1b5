import axios from 'axios';
import { DateTime } from 'luxon';
import { notificationId } from '@sicantik/core';
import type { NotificationRendered, PlannerDecisionRecorded } from '@sicantik/schemas';
import { testClock, uniq, waitFor } from '../support';
import { AUTH, readTopics, startSystem, type System } from '../support/system';

////////// Issue 16, the planner and renderer side: quiet hours and coalesced status
// updates through permit-ingest -> planner -> renderer on the real stack. The services'
// clock is moved with SICANTIK_TEST_CLOCK_FILE to the time the permit events happen
// (the planner decides from the events' own times, so a replay decides the same).
// Whether the dispatcher then sends at 07:00 is the dispatcher's test.

const wib = (t: string) => DateTime.fromISO(t, { zone: 'Asia/Jakarta' });

describe('quiet hours and coalesced status updates, end to end', () => {
  let sys: System;
  const http = axios.create({ validateStatus: () => true });
  const run = uniq('');
  const NIGHT = `REG-N-${run}`, BURST = `REG-B-${run}`;
  const clock = testClock('timing');
  /** Moves every service's clock to `t` (Asia/Jakarta). */
  const setClock = (t: DateTime) => clock.set(t.toMillis());
  const rendered: NotificationRendered[] = [];
  const decisions: PlannerDecisionRecorded[] = [];
  let stopReader: () => Promise<void> = async () => undefined;
  const post = async (pendaftaran_id: string, event_id: string, type: string, data: object, at: DateTime) => {
    const r = await http.post(`${sys.ingestUrl}/v1/permit-events`, { event_id, type, occurred_at: at.toISO(), pendaftaran_id, data }, { headers: AUTH.ingest });
    expect(r.status).toBe(202);
  };
  const change = (reg: string, id: string, lama: string, baru: string, at: DateTime) =>
    post(reg, id, 'PermitStatusChanged', { status_lama: lama, status_baru: baru, changed_at: at.toISO() }, at);
  const register = (reg: string, at: DateTime) =>
    post(reg, `${reg}-reg`, 'PermitRegistered', { jenis_izin: 'PBG', nama_pemohon: 'Sari Br Karo', telepon_pemohon: '0852-7777-8888', status: 'Baru' }, at);
  const renderedFor = (id: string) => rendered.find((r) => r.notificationId === id);

  beforeAll(async () => {
    sys = await startSystem({ SICANTIK_TEST_CLOCK_FILE: clock.file, QUIET_HOURS: '21:00-07:00', WORKING_HOURS: 'Mon-Fri 08:00-16:00' });
    stopReader = await readTopics(sys, ['notification.rendered', 'planner.decisions'], (topic, value) => {
      if (topic === 'notification.rendered') rendered.push(value as NotificationRendered);
      else if (!decisions.some((d) => d.eventId === value.eventId)) decisions.push(value as PlannerDecisionRecorded); // a record produced again is the same decision
    });
  });
  afterAll(async () => { await stopReader(); await sys?.stop(); clock.remove(); });

  it('a status change at 22:00 WIB reaches notification.rendered with notBefore 07:00 the next morning, and a DEFERRED decision says why', async () => {
    const at = wib('2026-12-08T22:00:00');
    setClock(at);
    await register(NIGHT, at.minus({ hours: 1 }));
    await change(NIGHT, `${NIGHT}-1`, 'Verifikasi', 'Survey Lapangan', at);
    const id = notificationId('status_update', NIGHT, `${NIGHT}-1:applicant`);
    const r = await waitFor(async () => renderedFor(id), { timeoutMs: 60_000, what: 'the rendered status update' });
    expect(r).toMatchObject({
      outcome: 'RENDERED', notBefore: wib('2026-12-09T07:00:00').toMillis(), deferReason: 'QUIET_HOURS',
      supersedeKey: `status:${NIGHT}:APPLICANT:${NIGHT}:${at.toMillis()}`, staleAfter: null,
    });
    const deferred = await waitFor(async () => decisions.find((d) => d.notificationId === id && d.decision === 'DEFERRED'), { what: 'the DEFERRED decision' });
    expect(deferred).toMatchObject({ reasonCode: 'QUIET_HOURS', notBefore: wib('2026-12-09T07:00:00').toMillis(), reason: 'quiet hours 21:00-07:00 Asia/Jakarta: not before 2026-12-09 07:00 Asia/Jakarta' });
    expect(decisions.filter((d) => d.notificationId === id).map((d) => d.decision).sort()).toEqual(['DEFERRED', 'PLANNED']);
  });

  it('three status changes in five minutes give one carried message and two COALESCED decisions, across a planner restart', async () => {
    const t0 = wib('2026-12-09T10:00:00');
    setClock(t0);
    await register(BURST, t0.minus({ hours: 1 }));
    const times = [t0, t0.plus({ minutes: 2 }), t0.plus({ minutes: 5 })];
    const ids = [1, 2, 3].map((i) => notificationId('status_update', BURST, `${BURST}-${i}:applicant`));
    await change(BURST, `${BURST}-1`, 'Verifikasi', 'Survey Lapangan', times[0]!);
    setClock(times[1]!);
    await change(BURST, `${BURST}-2`, 'Survey Lapangan', 'Rapat Teknis', times[1]!);
    await waitFor(async () => decisions.find((d) => d.decision === 'COALESCED' && d.notificationId === ids[0]), { timeoutMs: 60_000, what: 'the first COALESCED decision' });

    // The open window is in planner.state: a restarted planner carries on with it.
    await sys.restart('notification-planner', { running: true });
    setClock(times[2]!);
    await change(BURST, `${BURST}-3`, 'Rapat Teknis', 'Disetujui', times[2]!);

    const coalesced = await waitFor(async () => { const x = decisions.filter((d) => d.pendaftaran_id === BURST && d.decision === 'COALESCED'); return x.length === 2 && x; }, { timeoutMs: 90_000, what: 'two COALESCED decisions' });
    expect(coalesced.map((d) => [d.notificationId, d.carriedBy, d.reasonCode])).toEqual([[ids[0], ids[1], 'COALESCED'], [ids[1], ids[2], 'COALESCED']]);
    const last = await waitFor(async () => renderedFor(ids[2]!), { timeoutMs: 60_000, what: 'the carrying message rendered' });
    expect(last).toMatchObject({ notBefore: t0.plus({ minutes: 15 }).toMillis(), deferReason: 'COALESCING', supersedeKey: `status:${BURST}:APPLICANT:${BURST}:${t0.toMillis()}` });
    expect(last.text).toContain('Verifikasi');
    expect(last.text).toContain('Disetujui');
    expect(last.text).not.toContain('Rapat Teknis');
    // One message is left to send: every other one of the window is carried, and each carrier exists.
    const window = rendered.filter((r) => r.pendaftaran_id === BURST && r.scenario === 'status_update');
    expect(new Set(window.map((r) => r.supersedeKey))).toEqual(new Set([`status:${BURST}:APPLICANT:${BURST}:${t0.toMillis()}`]));
    expect(window.map((r) => r.notificationId).filter((id) => !coalesced.some((c) => c.notificationId === id))).toEqual([ids[2]]);
    // The restart decided nothing twice: one PLANNED per change.
    expect(decisions.filter((d) => d.pendaftaran_id === BURST && d.decision === 'PLANNED').map((d) => d.notificationId)).toEqual(ids);
  });
});
