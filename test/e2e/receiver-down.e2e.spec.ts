import axios from 'axios';
import { AUTH, readTopics, startSystem, type System } from '../support/system';
import { testMessageRef, uniq, waitFor } from '../support';

////////// Statuses that stay true when a part of the tracker is down (issue 15 §5)
// The tracker runs as two processes: the receiver role (webhooks only: verifies, writes
// delivery.status / contact.events, answers; no database) and the projection role
// (consumer, MongoDB, statistics API). The simulator follows each provider's real
// webhook retry policy, time-compressed: Meta sends a refused webhook again for up to
// 7 days (here about 2 minutes), Fonnte never. Contacts who opted in (half of them,
// by replying MULAI through the receiver) get Meta, the others Fonnte with the opt-in link.
//
// 1. The receiver SIGKILLed during a burst of PermitIssued and restarted once webhooks
//    of both providers were refused: Meta's come again and end `delivered`; Fonnte's
//    lost reports are made true by the dispatcher's reconciliation: Fonnte has no status
//    lookup, so a notification with no report recorded at all ends `no_report` (one whose
//    `sent` was recorded and `delivered` lost stays `sent`: what we know). Nothing stays
//    `sending` or `accepted`.
//    NEEDS the dispatcher's reconciler (RECONCILE_AFTER_MS) and the tracker's
//    `accepted` / `no_report` states, built in other branches: until they are merged the
//    final assertion fails for the Fonnte notifications whose reports were all lost.
// 2. The projection SIGKILLed during a burst and restarted: the receiver answered every
//    webhook (none refused, none retried) while it was down, and every notification ends
//    `delivered` once it is back. Passes without the reconciler.

const N = 150;
const HALF = N / 2;
const phone = (i: number) => `+62813${String(41_000_000 + i)}`;
const optedIn = (i: number) => i % 2 === 0;
const RECONCILE_AFTER_MS = 5_000;
const OPT_IN_LINK = 'https://wa.me/6281100000000?text=MULAI';

interface Hook { provider: string; kind: string; event: string; messageId?: string; status: number | null; attempt: number; atMs: number }
interface SimMessage { provider: string; id: string; statuses: { status: string }[] }
type Doc = { _id: string; status: string; provider?: string; providerMessageId?: string };

const http = axios.create({ validateStatus: () => true });

/** A system with the tracker's two roles, Meta and Fonnte at the dispatcher, real webhook retry policies (time-scaled). */
async function start(): Promise<{ sys: System; dispatcherOps: string }> {
  const sys = await startSystem({
    PROVIDER_CHAIN: 'meta,fonnte', OPT_IN_LINK, OPT_IN_TEXT: 'Aktifkan notifikasi resmi: {link}',
    FONNTE_TOKEN: 'e2e-fonnte-token-0001', FONNTE_WEBHOOK_TOKEN: 'e2e-fonnte-webhook-token-01',
    RATE_LIMITS: 'meta=off,fonnte=off',
    // The providers' own retry policies; Meta's 7 days in about 2 minutes (its waits at most 4.3 s).
    SIM_WEBHOOK_RETRY: 'real', SIM_WEBHOOK_TIME_SCALE: '0.0002',
    // The dispatcher's reconciliation (built in another branch; ignored until then).
    RECONCILE_AFTER_MS: String(RECONCILE_AFTER_MS),
    // MULAI is recorded (OPTED_IN) but not confirmed: the counts here are the burst's messages only.
    CONSENT_ANSWERS_ENABLED: 'false',
  }, {
    trackerRoles: true,
    envFor: ({ simUrl }) => ({ FONNTE_BASE_URL: `${simUrl}/fonnte` }),
    opsPorts: ['provider-dispatcher'], // its admin API: the routing of each contact
  });
  return { sys, dispatcherOps: sys.opsUrls['provider-dispatcher']! };
}

/** Half the contacts opt in by replying MULAI (through the receiver, as Meta delivers it); waits until the dispatcher routes by it. */
async function optIn(sys: System, dispatcherOps: string): Promise<void> {
  for (let i = 0; i < N; i++) {
    if (!optedIn(i)) continue;
    const r = await http.post(`${sys.simUrl}/_sim/inbound`, { provider: 'meta', from: phone(i), text: 'MULAI' });
    expect(r.status).toBe(200);
  }
  const route = async (i: number) => (await http.post(`${dispatcherOps}/v1/admin/test-send`, { to: phone(i), dryRun: true }, { headers: AUTH.admin })).data as { decision: { provider: string; reason: string } };
  for (let i = 0; i < N; i++) {
    const want = optedIn(i) ? ['meta', 'OPTED_IN'] : ['fonnte', 'NOT_OPTED_IN'];
    await waitFor(async () => { const d = (await route(i)).decision; return d.provider === want[0] && d.reason === want[1]; }, { timeoutMs: 60_000, what: `routing of contact ${i}: ${want.join(' ')}` });
  }
}

/** Posts PermitIssued for contacts [from, to) in chunks; every answer 202. */
async function burst(sys: System, regs: string[], from: number, to: number): Promise<void> {
  const one = (i: number) => http.post(`${sys.ingestUrl}/v1/permit-events`, {
    event_id: `${regs[i]}-issued`, type: 'PermitIssued', occurred_at: '2026-11-20T09:00:00+07:00', pendaftaran_id: regs[i],
    data: { no_surat: `503/${i}/2026`, jenis_izin: 'PBG', nama_pemohon: `Pemohon ${i}`, telepon_pemohon: phone(i), tanggal_terbit: '2026-11-20', link_download: 'https://sicantik.test/x.pdf' },
  }, { headers: AUTH.ingest });
  for (let i = from; i < to; i += 15) {
    const rs = await Promise.all(Array.from({ length: Math.min(15, to - i) }, (_, j) => one(i + j)));
    expect(rs.map((r) => r.status)).toEqual(rs.map(() => 202));
  }
}

const hooks = async (sys: System) => (await http.get<Hook[]>(`${sys.simUrl}/_sim/webhooks?kind=status`)).data;
const simMessages = async (sys: System) => (await http.get<SimMessage[]>(`${sys.simUrl}/_sim/messages`)).data;
const doc = async (sys: System, id: string) => {
  const r = await http.get<Doc>(`${sys.trackerUrl}/v1/stats/notifications/${encodeURIComponent(id)}`, { headers: AUTH.stats });
  return r.status === 200 ? r.data : undefined;
};

/** The notifications of this run's permits (ids from notification.requests), and the provider statuses recorded (delivery.status). */
async function follow(sys: System, regs: Set<string>) {
  const ids = new Set<string>();
  const reported = new Map<string, Set<string>>(); // provider message ref -> SENT, DELIVERED… as the receiver recorded them (the id itself is not on delivery.status)
  const stop = await readTopics(sys, ['notification.requests', 'delivery.status'], (topic, v) => {
    if (topic === 'notification.requests') {
      const r = v as { notificationId: string; pendaftaran_id: string };
      if (regs.has(r.pendaftaran_id)) ids.add(r.notificationId);
      return;
    }
    const d = v as { providerMessageRef: string; status: string };
    (reported.get(d.providerMessageRef) ?? reported.set(d.providerMessageRef, new Set()).get(d.providerMessageRef)!).add(d.status);
  });
  return { ids, reported, stop };
}

/**
 * What a notification's status must end as: the highest provider status the receiver
 * recorded (a webhook it wrote to Kafka; one that died before answering may have written
 * it too), or, with none recorded, no_report (reconciliation; Fonnte has no lookup).
 */
function trueStatus(reported: ReadonlySet<string> | undefined): string {
  const r = reported ?? new Set<string>();
  return r.has('READ') ? 'read' : r.has('DELIVERED') ? 'delivered' : r.has('SENT') ? 'sent' : 'no_report';
}
/** Whether the receiver took (answered 200) a status webhook of a message. */
const taken = (hs: Hook[], messageId: string, event: string) => hs.some((h) => h.messageId === messageId && h.event === event && h.status === 200);

describe('the tracker receiver role killed (SIGKILL) during a burst', () => {
  let sys: System;
  let dispatcherOps: string;
  const run = uniq('');
  const regs = Array.from({ length: N }, (_, i) => `REG-R${i}-${run}`);
  beforeAll(async () => { ({ sys, dispatcherOps } = await start()); await optIn(sys, dispatcherOps); });
  afterAll(async () => { await sys?.stop(); });

  it(`${N} permits issued, the receiver killed and restarted after webhooks of both providers were refused: every notification ends in a true state`, async () => {
    const { ids, reported, stop } = await follow(sys, new Set(regs));
    try {
      await burst(sys, regs, 0, HALF);
      // Killed once it has taken webhooks of both providers.
      await waitFor(async () => { const h = await hooks(sys); return ['meta', 'fonnte'].every((p) => h.some((x) => x.provider === p && x.status === 200)); }, { timeoutMs: 90_000, what: 'webhooks of both providers taken' });
      await sys.kill('delivery-tracker-receiver', 'SIGKILL');
      const killedAt = Date.now();
      // The rest of the burst while it is down; both providers' webhooks are refused (no answer).
      await burst(sys, regs, HALF, N);
      await waitFor(async () => { const h = await hooks(sys); return ['meta', 'fonnte'].every((p) => h.some((x) => x.provider === p && x.status === null && x.atMs > killedAt)); }, { timeoutMs: 90_000, what: 'webhooks of both providers refused while the receiver is down' });
      const atRestart = await simMessages(sys);
      expect(atRestart.length).toBeLessThanOrEqual(N); // (the kill came during the burst: the second half was posted after it)
      await sys.restart('delivery-tracker-receiver');
      await waitFor(async () => (await fetch(`${sys.receiverUrl}/readyz`).catch(() => ({ ok: false }))).ok, { timeoutMs: 60_000, what: 'receiver ready again' });

      // Every notification accepted by its provider, and every status webhook attempted as its policy says:
      // Meta's until taken (its retries outlast the outage), Fonnte's once.
      await waitFor(async () => ids.size === N || undefined, { timeoutMs: 120_000, what: `${N} notifications requested` });
      const settled = await waitFor(async () => {
        const ms = await simMessages(sys);
        if (ms.length !== N || !ms.every((m) => m.statuses.some((s) => s.status === 'delivered'))) return undefined;
        const h = await hooks(sys);
        const metaDone = ms.filter((m) => m.provider === 'meta').every((m) => taken(h, m.id, 'delivered'));
        const fonnteDone = ms.filter((m) => m.provider === 'fonnte').every((m) => h.some((x) => x.messageId === m.id && x.event === 'delivered'));
        return metaDone && fonnteDone && { ms, h };
      }, { timeoutMs: 180_000, intervalMs: 500, what: 'every status webhook attempted (Meta: taken)' });
      const byProvider = (p: string) => settled.ms.filter((m) => m.provider === p).length;
      expect([byProvider('meta'), byProvider('fonnte')]).toEqual([HALF, HALF]);
      // The outage was real for both: Meta retried some webhook, Fonnte lost some.
      expect(settled.h.some((x) => x.provider === 'meta' && x.attempt > 1 && x.status === 200)).toBe(true);
      expect(settled.ms.filter((m) => m.provider === 'fonnte' && !taken(settled.h, m.id, 'delivered')).length).toBeGreaterThan(0);

      // Every notification ends in its true state within the reconciliation time (plus the pipeline's own).
      const want = new Map<string, string>();
      /** Notifications not (yet) in their true state, as "provider: status → wanted". */
      const mismatches = async () => {
        const out = new Map<string, string>();
        for (const id of ids) {
          const d = await doc(sys, id);
          if (!d?.providerMessageId) { out.set(id, `${d?.status ?? 'not projected'} (no provider message id)`); continue; }
          const expected = d.provider === 'meta' ? 'delivered' : trueStatus(reported.get(testMessageRef(d.provider!, d.providerMessageId)));
          want.set(id, expected);
          if (d.status !== expected) out.set(id, `${d.provider}: ${d.status} → ${expected}`);
        }
        return out;
      };
      let last = new Map<string, string>();
      const tally = () => { const t: Record<string, number> = {}; for (const v of last.values()) t[v] = (t[v] ?? 0) + 1; return JSON.stringify(t); };
      // MERGE: the Fonnte notifications without any report reach no_report only with the reconciler.
      await waitFor(async () => { last = await mismatches(); return last.size === 0; }, { timeoutMs: RECONCILE_AFTER_MS + 90_000, intervalMs: 2000, what: 'every notification in its true state' })
        .catch((e: Error) => { throw new Error(`${e.message}: ${last.size} of ${ids.size} are not, ${tally()}; e.g. ${[...last.keys()].slice(0, 3).join(', ')}`); });
      const counts: Record<string, number> = {};
      for (const s of want.values()) counts[s] = (counts[s] ?? 0) + 1;
      expect(counts.sending ?? 0).toBe(0);
      expect(counts.accepted ?? 0).toBe(0);
      expect(counts.delivered).toBeGreaterThanOrEqual(HALF);
      process.stdout.write(`receiver killed during the burst: ${atRestart.length} of ${N} accepted by the providers at the restart; final ${JSON.stringify(counts)}\n`);
    } finally {
      await stop();
    }
  }, 600_000);
});

describe('the tracker projection role killed (SIGKILL) during a burst', () => {
  let sys: System;
  let dispatcherOps: string;
  const run = uniq('');
  const regs = Array.from({ length: N }, (_, i) => `REG-P${i}-${run}`);
  beforeAll(async () => { ({ sys, dispatcherOps } = await start()); await optIn(sys, dispatcherOps); });
  afterAll(async () => { await sys?.stop(); });

  const summary = async () => (await http.get<{ total: number; byStatus: Record<string, number> }>(`${sys.trackerUrl}/v1/stats/summary`, { headers: AUTH.stats })).data;

  it(`${N} permits issued, the projection killed while projecting and restarted: the receiver took every webhook meanwhile, and every notification ends delivered`, async () => {
    const { ids, stop } = await follow(sys, new Set(regs));
    try {
      await burst(sys, regs, 0, HALF);
      await waitFor(async () => (await summary()).total > 0, { timeoutMs: 90_000, intervalMs: 50, what: 'the projection projecting' });
      await sys.kill('delivery-tracker', 'SIGKILL');
      const killedAt = Date.now();
      await burst(sys, regs, HALF, N);
      // While the projection is down, the receiver takes every status webhook of the whole burst (both providers).
      const whileDown = await waitFor(async () => {
        const ms = await simMessages(sys);
        const h = await hooks(sys);
        return ms.length === N && ms.every((m) => taken(h, m.id, 'delivered')) && h;
      }, { timeoutMs: 180_000, intervalMs: 500, what: `the delivered webhooks of all ${N} messages taken while the projection is down` });
      expect(whileDown.some((x) => x.atMs > killedAt && x.status === 200)).toBe(true);
      // None refused, none sent twice: every webhook was taken at its first attempt.
      expect(whileDown.filter((x) => x.status !== 200 || x.attempt !== 1).map((x) => [x.provider, x.event, x.status, x.attempt])).toEqual([]);
      expect(await fetch(`${sys.trackerUrl}/readyz`).then((r) => r.ok, () => false)).toBe(false); // still down: the statistics API with it

      await sys.restart('delivery-tracker');
      await waitFor(async () => (await fetch(`${sys.trackerUrl}/readyz`).catch(() => ({ ok: false }))).ok, { timeoutMs: 60_000, what: 'projection ready again' });
      await waitFor(async () => ids.size === N || undefined, { timeoutMs: 60_000, what: `${N} notifications requested` });
      let last = '';
      const s = await waitFor(async () => { const x = await summary(); last = JSON.stringify(x); return x.total === N && x.byStatus.delivered === N && x; }, { timeoutMs: 120_000, intervalMs: 1000, what: `all ${N} delivered` })
        .catch((e: Error) => { throw new Error(`${e.message}: ${last}`); });
      expect(Object.entries(s.byStatus).filter(([k, v]) => k !== 'delivered' && v !== 0)).toEqual([]);
      const docs = await Promise.all([...ids].map((id) => doc(sys, id)));
      expect(docs.filter((d) => d?.status !== 'delivered').map((d) => d?._id)).toEqual([]);
      const providers: Record<string, number> = {};
      for (const d of docs) providers[d!.provider!] = (providers[d!.provider!] ?? 0) + 1;
      expect(providers).toEqual({ meta: HALF, fonnte: HALF });
    } finally {
      await stop();
    }
  }, 600_000);
});
