import axios from 'axios';
import { AUTH, readTopics, startSystem, type System } from '../support/system';
import { uniq, waitFor } from '../support';

////////// The planner killed with SIGKILL in the middle of a burst: it restores its state
// from Kafka (changelog, no database), neither loses nor repeats a message. Whatever
// it had produced before the kill but not yet recorded in its changelog is decided
// again with the same ids, which the dispatcher's ledger absorbs.

interface SimRequest { body: { to: string; template?: { name: string; components: { parameters: { text: string }[] }[] } } }

describe('planner crash mid-batch', () => {
  let sys: System;
  const http = axios.create({ validateStatus: () => true });
  const run = uniq('');
  const N = 600;
  const regs = Array.from({ length: N }, (_, i) => `REG-X${i}-${run}`);
  beforeAll(async () => { sys = await startSystem(); });
  afterAll(async () => { await sys?.stop(); });

  it(`${N} permits issued, the planner killed (SIGKILL) while deciding them and restarted: each applicant gets exactly one message`, async () => {
    let requested = 0;
    const stopReading = await readTopics(sys, ['notification.requests'], () => { requested++; });
    try {
      const post = (reg: string, i: number) => http.post(`${sys.ingestUrl}/v1/permit-events`, {
        event_id: `${reg}-issued`, type: 'PermitIssued', occurred_at: '2026-11-20T09:00:00+07:00', pendaftaran_id: reg,
        data: { no_surat: `503/${i}/2026`, jenis_izin: 'PBG', nama_pemohon: `Pemohon ${i}`, telepon_pemohon: `+62812${String(20_000_000 + i)}`, tanggal_terbit: '2026-11-20', link_download: 'https://sicantik.test/x.pdf' },
      }, { headers: AUTH.ingest });
      // Post in the background, 16 at a time; kill the planner once its first requests are out.
      const posting = (async () => {
        for (let i = 0; i < N; i += 16) {
          const rs = await Promise.all(regs.slice(i, i + 16).map((r, j) => post(r, i + j)));
          for (const r of rs) expect(r.status).toBe(202);
        }
      })();
      await waitFor(async () => requested > 0, { timeoutMs: 60_000, intervalMs: 5, what: 'first requests' });
      const atKill = requested;
      await sys.kill('notification-planner', 'SIGKILL');
      await posting;
      expect(atKill).toBeLessThan(N); // killed in the middle, not after
      await sys.restart('notification-planner');
      const sent = await waitFor(async () => {
        const reqs = (await http.get<SimRequest[]>(`${sys.simUrl}/_sim/requests`)).data;
        return reqs.length >= N && reqs;
      }, { timeoutMs: 150_000, what: `${N} messages at the provider` });
      await new Promise((r) => setTimeout(r, 3000)); // a repeat would arrive by now
      const final = (await http.get<SimRequest[]>(`${sys.simUrl}/_sim/requests`)).data;
      expect(final.length).toBe(N);
      const perPhone = new Map<string, number>();
      for (const r of final) perPhone.set(r.body.to, (perPhone.get(r.body.to) ?? 0) + 1);
      expect(perPhone.size).toBe(N);
      expect([...perPhone.values()].every((c) => c === 1)).toBe(true);
      expect(sent.length).toBe(N);
      process.stdout.write(`planner killed after ${atKill} of ${N} requests; ${requested} request records in total (repeats carry the same ids)\n`);
    } finally {
      await stopReading();
    }
  });
});
