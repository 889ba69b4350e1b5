import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import axios from 'axios';
import { MongoClient } from 'mongodb';
import { AUTH, readTopics, startSystem, type System } from '../support/system';
import { uniq, waitFor } from '../support';

////////// The delivery tracker killed (SIGKILL) in the middle of a burst, restarted: its
// projections neither lose nor double-count anything (the counters equal the documents).
// Then a second tracker with a new consumer group and a new database rebuilds the
// projections from the topics alone, and so does the rebuild command (dist/rebuild.js):
// every notification document and the summary equal the live ones.

type Summary = { total: number; sent: number; delivered: number; read: number; failed: number; inDoubt: number; byStatus: Record<string, number> };
type Doc = Record<string, unknown> & { _id: string; status: string };

describe('delivery tracker: crash mid-batch, then rebuild from the topics', () => {
  let sys: System;
  let mongo: MongoClient;
  const http = axios.create({ validateStatus: () => true });
  const run = uniq('');
  const N = 300;
  const regs = Array.from({ length: N }, (_, i) => `REG-T${i}-${run}`);
  beforeAll(async () => {
    // A provider retries a webhook for hours; the simulator retries for about 40 s here, longer than the tracker's restart.
    sys = await startSystem({ SIM_WEBHOOK_ATTEMPTS: '12' });
    mongo = await MongoClient.connect(sys.env.MONGO_URL!);
  });
  afterAll(async () => { await sys?.stop(); await mongo?.close(); });

  const summary = async (url: string) => {
    const r = await http.get<Summary>(`${url}/v1/stats/summary`, { headers: AUTH.stats });
    expect(r.status).toBe(200);
    return r.data;
  };
  /** Every notification document, without the two fields that record how it was written (_v: version, _batchDeltas: its batches' counter shares). */
  const docs = async (db: string) => {
    const all = (await mongo.db(db).collection<Doc>('notifications').find({}).toArray()) as Doc[];
    return new Map(all.map((d) => { const { _v, _batchDeltas, ...rest } = d as Doc & { _v?: unknown; _batchDeltas?: unknown }; void _v; void _batchDeltas; return [d._id, rest]; }));
  };
  /** The counters a fold of the documents gives: each notification once under its status. */
  const fold = (ds: Map<string, Doc>) => {
    const byStatus: Record<string, number> = {};
    for (const d of ds.values()) byStatus[d.status] = (byStatus[d.status] ?? 0) + 1;
    return byStatus;
  };
  const nonZero = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== 0));

  it(`${N} permits issued, the tracker killed (SIGKILL) while projecting them and restarted: counters equal the documents; a rebuild equals the live projections`, async () => {
    const ids = new Set<string>();
    const stopReading = await readTopics(sys, ['notification.requests'], (_t, v) => { ids.add((v as { notificationId: string }).notificationId); });
    try {
      const post = (reg: string, i: number) => http.post(`${sys.ingestUrl}/v1/permit-events`, {
        event_id: `${reg}-issued`, type: 'PermitIssued', occurred_at: '2026-11-20T09:00:00+07:00', pendaftaran_id: reg,
        data: { no_surat: `503/${i}/2026`, jenis_izin: 'PBG', nama_pemohon: `Pemohon ${i}`, telepon_pemohon: `+62813${String(30_000_000 + i)}`, tanggal_terbit: '2026-11-20', link_download: 'https://sicantik.test/x.pdf' },
      }, { headers: AUTH.ingest });
      const posting = (async () => {
        for (let i = 0; i < N; i += 16) {
          const rs = await Promise.all(regs.slice(i, i + 16).map((r, j) => post(r, i + j)));
          for (const r of rs) expect(r.status).toBe(202);
        }
      })();
      await waitFor(async () => (await summary(sys.trackerUrl)).total > 0, { timeoutMs: 60_000, intervalMs: 20, what: 'the tracker projecting' });
      const atKill = (await summary(sys.trackerUrl)).total;
      await sys.kill('delivery-tracker', 'SIGKILL');
      expect(atKill).toBeLessThan(N); // killed in the middle, not after
      await sys.restart('delivery-tracker');
      await waitFor(async () => (await fetch(`${sys.trackerUrl}/readyz`).catch(() => ({ ok: false }))).ok, { timeoutMs: 60_000, what: 'tracker ready again' });
      await posting;

      // Every notification projected and delivered (the simulator's signed webhooks), and nothing moving any more.
      let last = '';
      const live = await waitFor(async () => {
        const s = await summary(sys.trackerUrl);
        const key = JSON.stringify(s);
        const settled = s.total === N && ids.size === N && s.byStatus.delivered === N && key === last;
        last = key;
        return settled && s;
      }, { timeoutMs: 150_000, intervalMs: 2000, what: `${N} notifications projected and settled` });
      const liveDocs = await docs(sys.db('delivery-tracker'));
      expect(liveDocs.size).toBe(N);
      expect([...ids].every((id) => liveDocs.has(id))).toBe(true);
      // Nothing lost or counted twice across the crash: the counters are a fold of the documents.
      expect(nonZero(live.byStatus)).toEqual(fold(liveDocs));

      // A rebuild: a new group and a new database, from the topics alone.
      const rebuildDb = `${sys.db('delivery-tracker')}_rebuild`;
      const rebuildUrl = await sys.addInstance('delivery-tracker', { CONSUMER_GROUP: `${sys.prefix}tracker-rebuild`, MONGO_DB: rebuildDb });
      // Caught up when the documents are equal too: the summary of all days can be equal
      // before the last requests are applied (a request moves a notification's day and
      // queued time from the dispatch record's guess, which no all-days counter shows).
      await waitFor(async () => JSON.stringify(await summary(rebuildUrl)) === JSON.stringify(live) && isDeepStrictEqual(await docs(rebuildDb), liveDocs), { timeoutMs: 120_000, intervalMs: 500, what: 'the rebuild catching up' })
        .catch(() => undefined); // the assertions below show what differs
      expect(await summary(rebuildUrl)).toEqual(live);
      const rebuilt = await docs(rebuildDb);
      expect(rebuilt.size).toBe(N);
      for (const [id, d] of liveDocs) expect(rebuilt.get(id)).toEqual(d);

      // The rebuild command: the same documents, written once each, and a group that continues from the end.
      const cliDb = `${sys.db('delivery-tracker')}_cli`;
      const cliGroup = `${sys.prefix}tracker-cli-rebuild`;
      const r = spawnSync(process.execPath, ['dist/rebuild.js'], { cwd: path.join(__dirname, '../../services/delivery-tracker'), env: { ...sys.env, MONGO_DB: cliDb, CONSUMER_GROUP: cliGroup }, encoding: 'utf8', timeout: 120_000 });
      expect(r.stderr.split('\n').filter((l) => /rebuild failed/.test(l))).toEqual([]);
      expect(r.status).toBe(0);
      const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as { notifications: number; events: number };
      expect(report.notifications).toBe(N);
      const fromCli = await docs(cliDb);
      expect(fromCli.size).toBe(N);
      for (const [id, d] of liveDocs) expect(fromCli.get(id)).toEqual(d);
      const cliUrl = await sys.addInstance('delivery-tracker', { CONSUMER_GROUP: cliGroup, MONGO_DB: cliDb });
      expect(await summary(cliUrl)).toEqual(live);
      // The decisions and their counters too.
      const decisionSummary = async (url: string) => (await http.get(`${url}/v1/stats/decisions/summary`, { headers: AUTH.stats })).data;
      const liveDecisions = await decisionSummary(sys.trackerUrl);
      expect(JSON.stringify(liveDecisions)).toContain('PLANNED');
      expect(await decisionSummary(cliUrl)).toEqual(liveDecisions);
      expect(await mongo.db(cliDb).collection('planner_decisions').countDocuments()).toBe(await mongo.db(sys.db('delivery-tracker')).collection('planner_decisions').countDocuments());
      // A second run into the same database or group is refused.
      const again = spawnSync(process.execPath, ['dist/rebuild.js'], { cwd: path.join(__dirname, '../../services/delivery-tracker'), env: { ...sys.env, MONGO_DB: cliDb, CONSUMER_GROUP: `${cliGroup}-2` }, encoding: 'utf8', timeout: 120_000 });
      expect(again.status).toBe(1);
      expect(again.stderr).toContain(`database ${cliDb} is not empty`);
      process.stdout.write(`rebuild command: ${r.stdout.trim().split('\n').pop()}\n`);
      process.stdout.write(`tracker killed at ${atKill} of ${N} notifications projected; live and rebuilt: ${JSON.stringify(nonZero(live.byStatus))}\n`);
    } finally {
      await stopReading();
    }
  }, 420_000);
});
