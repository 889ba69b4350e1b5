import axios from 'axios';
import type { TopicValues } from '@sicantik/schemas';
import { uniq, waitFor } from '../support';
import { AUTH, readTopics, startSystem, type System } from '../support/system';

////////// permit-ingest at its edge: a bad phone never loses the permit event, unknown
// fields are rejected, and one event id is accepted and published exactly once, also
// when many copies arrive at once at one or two ingest instances.

type PermitEvent = TopicValues['permit.events'];
interface DecisionView { pendaftaran_id: string; decision: string; scenario: string; recipientKind: string | null; reason: string | null; reasonCode: string | null }

describe('permit-ingest', () => {
  let sys: System;
  let second: string;
  let stopReading: (() => Promise<void>) | undefined;
  const published: PermitEvent[] = [];
  const http = axios.create({ validateStatus: () => true });
  const { ingest, admin, stats } = AUTH;
  const run = uniq('');
  const issued = (pendaftaran_id: string, event_id: string, telepon_pemohon: unknown) => ({
    event_id, type: 'PermitIssued', occurred_at: '2024-11-20T08:00:00+07:00', pendaftaran_id,
    data: { no_surat: `503/${pendaftaran_id}`, jenis_izin: 'PBG', nama_pemohon: 'Sari Br Karo', telepon_pemohon, tanggal_terbit: '2024-11-20', link_download: 'https://sicantik.test/p.pdf', tanggal_berakhir: '2025-03-01' },
  });
  const post = (url: string, body: object) => http.post(`${url}/v1/permit-events`, body, { headers: ingest });
  const decisionsOf = async (q: Record<string, string>) => {
    const r = await http.get<{ decisions: DecisionView[] }>(`${sys.trackerUrl}/v1/stats/decisions`, { params: q, headers: stats });
    expect(r.status).toBe(200);
    return r.data.decisions;
  };
  const publishedIds = () => published.map((e) => e.eventId);

  beforeAll(async () => {
    sys = await startSystem();
    second = await sys.addInstance('permit-ingest');
    stopReading = await readTopics(sys, ['permit.events'], (_topic, value) => { published.push(value as PermitEvent); });
  });
  afterAll(async () => { await stopReading?.(); await sys?.stop(); });

  it('an unusable or missing phone keeps the event: the permit is tracked, the message SKIPPED with the reason', async () => {
    const cases = [['abc', 'PHONE_UNUSABLE'], ['08123', 'PHONE_UNUSABLE'], ['', 'NO_PHONE'], ['   ', 'NO_PHONE']] as const;
    const regs = cases.map((_, i) => `REG-PH${i}-${run}`);
    for (const [i, [phone]] of cases.entries()) {
      const r = await post(sys.ingestUrl, issued(regs[i]!, `${regs[i]}-issued`, phone));
      expect([r.status, r.data]).toEqual([202, { status: 'accepted', event_id: `${regs[i]}-issued` }]);
    }
    for (const [i, [, code]] of cases.entries()) {
      const ds = await waitFor(async () => { const x = await decisionsOf({ pendaftaran_id: regs[i]!, scenario: 'permit_ready' }); return x.length > 0 && x; }, { timeoutMs: 60_000, what: `permit_ready decision for ${regs[i]}` });
      expect(ds.map((d) => [d.decision, d.recipientKind, d.reasonCode])).toEqual([['SKIPPED', 'APPLICANT', code]]);
      expect(ds[0]!.reason).toMatch(code === 'NO_PHONE' ? /no phone/ : /^applicant phone unusable: /);
    }
    // The expiry date of the same event was kept: the 90-day run decides each permit's warning.
    const daily = await http.post(`${sys.plannerUrl}/v1/admin/schedules/daily/run`, { date: '2024-12-01' }, { headers: admin });
    expect(daily.status).toBe(200);
    for (const [i, [, code]] of cases.entries()) {
      const ds = await waitFor(async () => { const x = await decisionsOf({ pendaftaran_id: regs[i]!, scenario: 'permit_expiry_warning' }); return x.length > 0 && x; }, { what: `expiry decision for ${regs[i]}` });
      expect(ds.map((d) => [d.decision, d.reasonCode])).toEqual([['SKIPPED', code]]);
    }
  });

  it('answers 400 with an accurate message for a phone that is not a string or too long, and for unknown top-level fields; nothing is published', async () => {
    const reg = `REG-BAD-${run}`;
    const number = await post(sys.ingestUrl, issued(reg, `${reg}-number`, 81234567890));
    expect([number.status, number.data.issues]).toEqual([400, [{ path: 'data.telepon_pemohon', message: 'must be a string or null' }]]);
    const long = await post(sys.ingestUrl, issued(reg, `${reg}-long`, '0'.repeat(65)));
    expect([long.status, long.data.issues]).toEqual([400, [{ path: 'data.telepon_pemohon', message: 'is too long (at most 64 characters)' }]]);
    const extra = await post(sys.ingestUrl, { ...issued(reg, `${reg}-extra`, '0812-3456-7890'), foo: 1 });
    expect(extra.status).toBe(400);
    expect(extra.data.issues).toEqual([{ path: '(body)', message: expect.stringContaining('"foo"') }]);
    for (const r of [number, long, extra]) expect(JSON.stringify(r.data)).not.toMatch(/too short/);
    // A later good event for the same permit is on the topic; the rejected ones before it are not.
    expect((await post(sys.ingestUrl, issued(reg, `${reg}-good`, '0812-3456-7890'))).status).toBe(202);
    await waitFor(async () => publishedIds().includes(`${reg}-good`), { what: 'good event published' });
    expect(publishedIds().filter((id) => id.startsWith(`${reg}-`))).toEqual([`${reg}-good`]);
  });

  it('accepts and publishes one event id exactly once when copies arrive at once, at one instance or split over two', async () => {
    const reg = `REG-RACE-${run}`;
    const bursts = [
      { id: `${reg}-one`, urls: Array.from({ length: 8 }, () => sys.ingestUrl) },
      { id: `${reg}-two`, urls: Array.from({ length: 10 }, (_, i) => (i % 2 ? second : sys.ingestUrl)) },
      { id: `${reg}-other`, urls: Array.from({ length: 8 }, () => second) },
    ];
    for (const b of bursts) {
      const rs = await Promise.all(b.urls.map((u) => post(u, issued(reg, b.id, '0812-3456-7890'))));
      const answers = rs.map((r) => `${r.status} ${r.data.status}`).sort();
      expect(answers).toEqual(['202 accepted', ...Array.from({ length: b.urls.length - 1 }, () => '200 duplicate')].sort());
    }
    // A repeat long after is still a duplicate, at either instance.
    for (const u of [sys.ingestUrl, second]) expect((await post(u, issued(reg, `${reg}-one`, '0812-3456-7890'))).data.status).toBe('duplicate');
    // Every copy that was published is on the permit's partition before this later event.
    expect((await post(sys.ingestUrl, issued(reg, `${reg}-last`, '0812-3456-7890'))).status).toBe(202);
    await waitFor(async () => publishedIds().includes(`${reg}-last`), { what: 'last event published' });
    expect(publishedIds().filter((id) => id.startsWith(`${reg}-`))).toEqual([`${reg}-one`, `${reg}-two`, `${reg}-other`, `${reg}-last`]);
  });
});
