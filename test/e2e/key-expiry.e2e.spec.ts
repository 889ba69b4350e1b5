import axios from 'axios';
import { DateTime } from 'luxon';
import type { PermitEvent, PlannerDecisionRecorded, PrivacyRequestRecorded, SubjectRetentionFact } from '@sicantik/schemas';
import { testClock, uniq, waitFor } from '../support';
import { AUTH, readTopics, startSystem, type System } from '../support/system';

////////// Subject keys expire when their retention ends (issue 16), through the whole
// system with every service's clock moved (SICANTIK_TEST_CLOCK_FILE): two citizens get
// their permits on 2026-12-08; one permit is valid until 2027-01-31, the other until 2031.
// On 2028-04-01 WIB (more than RETENTION_DAYS = 400 after the first permit's end and after
// both citizens' last messages), the tracker's key-expiry job erases the first citizen's
// key (recorded ERASURE with reason RETENTION): that permit's next notification is
// SUBJECT_ERASED, and a new permit with the number starts a new subject. The citizen with
// the valid permit is untouched: their next notification is delivered.

const wib = (t: string) => DateTime.fromISO(t, { zone: 'Asia/Jakarta' });

describe('subject keys expire when their retention ends', () => {
  let sys: System;
  const http = axios.create({ validateStatus: () => true });
  const run = uniq('');
  const clock = testClock('expiry');
  /** Moves every service's clock to `t` (it runs on from there). */
  const setClock = (t: DateTime) => clock.set(t.toMillis());
  const digits = String(Date.now()).slice(-6);
  /** OLD: a permit valid until 2027-01-31; VALID: until 2031-01-31. */
  const OLD = `+6285277${digits}`, VALID = `+6285288${digits}`;
  const REG_OLD = `REG-XO-${run}`, REG_VALID = `REG-XV-${run}`, REG_NEW = `REG-XN-${run}`;

  const permits: PermitEvent[] = [];
  const decisions: PlannerDecisionRecorded[] = [];
  const facts: SubjectRetentionFact[] = [];
  const requests: PrivacyRequestRecorded[] = [];
  let stopReader: () => Promise<void> = async () => undefined;

  const post = async (reg: string, event_id: string, type: string, data: object, at: DateTime) => {
    const r = await http.post(`${sys.ingestUrl}/v1/permit-events`, { event_id, type, occurred_at: at.toISO(), pendaftaran_id: reg, data }, { headers: AUTH.ingest });
    expect(r.status).toBe(202);
  };
  const issue = (reg: string, phone: string, until: string, at: DateTime) => post(reg, `${reg}-issued`, 'PermitIssued', {
    no_surat: `503/${reg}`, jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Lina Br Sembiring', telepon_pemohon: phone, tanggal_terbit: at.toISODate(), tanggal_berakhir: until, link_download: 'https://sicantik.test/x.pdf',
  }, at);
  const change = (reg: string, id: string, at: DateTime) => post(reg, id, 'PermitStatusChanged', { status_lama: 'terbit', status_baru: 'diarsipkan', changed_at: at.toISO(), link_detail: null }, at);
  /** The tracker's view of a permit's decisions and their messages. */
  const tracked = async (reg: string) => (await http.get<{ decisions: { decision: string; reasonCode: string | null; scenario: string; message: { status: string } | null }[] }>(`${sys.trackerUrl}/v1/stats/decisions?pendaftaran_id=${reg}`, { headers: AUTH.stats })).data.decisions;
  const subjectOf = (reg: string) => permits.find((p) => p.pendaftaran_id === reg && p.subjectId)?.subjectId ?? undefined;

  beforeAll(async () => {
    setClock(wib('2026-12-08T09:00:00'));
    // The job every 1.2 s (minutes in the setting), RETENTION_DAYS at its default (400).
    // Status updates go at once (not coalesced: held 10 minutes after the last change).
    sys = await startSystem({ SICANTIK_TEST_CLOCK_FILE: clock.file, KEY_EXPIRY_MINUTES: '0.02', STATUS_COALESCE_AFTER_MS: '0' });
    stopReader = await readTopics(sys, ['permit.events', 'planner.decisions', 'subject.retention', 'privacy.requests'], (topic, v) => {
      if (topic === 'permit.events') permits.push(v as PermitEvent);
      else if (topic === 'planner.decisions') decisions.push(v as PlannerDecisionRecorded);
      else if (topic === 'subject.retention') facts.push(v as SubjectRetentionFact);
      else requests.push(v as PrivacyRequestRecorded);
    });
  }, 300_000);
  afterAll(async () => { await stopReader(); await sys?.stop(); clock.remove(); });

  it('expires the key of the citizen whose permit ended more than 400 days ago (SUBJECT_ERASED after, a new subject for a new permit) and keeps the one whose permit is valid', async () => {
    // 2026-12-08: both permits issued; each citizen's permit_ready is delivered.
    const t0 = wib('2026-12-08T09:00:00');
    await issue(REG_OLD, OLD, '2027-01-31', t0);
    await issue(REG_VALID, VALID, '2031-01-31', t0);
    for (const reg of [REG_OLD, REG_VALID]) {
      await waitFor(async () => (await tracked(reg)).some((d) => d.scenario === 'permit_ready' && d.message?.status === 'delivered'), { timeoutMs: 90_000, intervalMs: 500, what: `${reg} permit_ready delivered` });
    }
    const oldSubject = subjectOf(REG_OLD)!, validSubject = subjectOf(REG_VALID)!;
    expect([typeof oldSubject, typeof validSubject, oldSubject === validSubject]).toEqual(['string', 'string', false]);
    // The planner's facts: each permit's validity end; the messages sent (contact events) at 2026-12-08.
    const endOf = (d: string) => wib(d).endOf('day').toMillis();
    await waitFor(async () => facts.some((f) => f.subjectId === oldSubject && f.source === `permit:${REG_OLD}` && f.factUntil === endOf('2027-01-31'))
      && facts.some((f) => f.subjectId === validSubject && f.source === `permit:${REG_VALID}` && f.factUntil === endOf('2031-01-31'))
      && [oldSubject, validSubject].every((s) => facts.some((f) => f.subjectId === s && f.source === 'contact')), { timeoutMs: 60_000, what: 'retention facts' });
    // Nothing expires while inside the retention period (the job runs every 1.2 s).
    expect(requests.filter((r) => r.reason === 'RETENTION')).toEqual([]);

    // 2028-04-01: OLD's permit ended 2027-01-31 (kept until 2028-03-06), its last message was 2026-12-08; VALID's permit runs to 2031.
    setClock(wib('2028-04-01T09:00:00'));
    const done = await waitFor(async () => requests.find((r) => r.reason === 'RETENTION' && r.status === 'DONE'), { timeoutMs: 60_000, what: 'the expiry of OLD\'s key' });
    expect({ kind: done.kind, subjectId: done.subjectId, detail: done.detail }).toEqual({
      kind: 'ERASURE', subjectId: oldSubject,
      detail: `retention ended ${new Date(endOf('2027-01-31') + 400 * 86_400_000).toISOString()} (400 days after the latest of 2 fact(s) (permits, directory entry, contact events)): subject key and blind-index entry tombstoned; projections scrubbed by the tracker`,
    });
    // The operator's list counts it (its follower of privacy.requests may be a moment behind this reader).
    const counts = async () => (await http.get<{ counts: Record<string, number> }>(`${sys.trackerUrl}/v1/privacy/requests`, { headers: AUTH.admin })).data.counts;
    await waitFor(async () => (await counts())['ERASURE.RETENTION.DONE'] === 1, { timeoutMs: 30_000, what: 'the expiry counted' });
    expect(await counts()).toEqual({ 'ERASURE.RETENTION.DONE': 1 });

    // Later notifications: OLD's is SUBJECT_ERASED (not sent), VALID's is delivered.
    const t1 = wib('2028-04-01T09:05:00');
    await change(REG_OLD, `${REG_OLD}-archived`, t1);
    await change(REG_VALID, `${REG_VALID}-archived`, t1);
    await waitFor(async () => decisions.some((d) => d.pendaftaran_id === REG_OLD && d.decision === 'SKIPPED' && d.reasonCode === 'SUBJECT_ERASED'), { timeoutMs: 60_000, what: 'OLD: SKIPPED SUBJECT_ERASED' });
    await waitFor(async () => (await tracked(REG_VALID)).some((d) => d.scenario === 'status_update' && d.message?.status === 'delivered'), { timeoutMs: 90_000, intervalMs: 500, what: 'VALID: status_update delivered' });
    expect(decisions.filter((d) => d.reasonCode === 'SUBJECT_ERASED').map((d) => d.pendaftaran_id)).toEqual([REG_OLD]);
    // The job kept VALID's key all along: one expiry only.
    expect(requests.filter((r) => r.reason === 'RETENTION' && r.subjectId === validSubject)).toEqual([]);

    // A new permit with OLD's number starts a new subject.
    await issue(REG_NEW, OLD, '2033-03-31', wib('2028-04-01T09:10:00'));
    const fresh = await waitFor(async () => subjectOf(REG_NEW), { timeoutMs: 60_000, what: 'the new permit event' });
    expect(fresh).not.toBe(oldSubject);
    await waitFor(async () => (await tracked(REG_NEW)).some((d) => d.scenario === 'permit_ready' && d.message?.status === 'delivered'), { timeoutMs: 90_000, intervalMs: 500, what: 'the new permit_ready delivered' });
  }, 400_000);
});
