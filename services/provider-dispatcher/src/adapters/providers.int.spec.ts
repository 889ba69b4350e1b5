import { Kafka, logLevel } from 'kafkajs';
import { EventProducer, ensureTopics } from '@sicantik/kafka';
import { createMetrics } from '@sicantik/observability';
import { configuredProviders, type ProviderName } from '@sicantik/providers';
import { SchemaCodec, type DispatchDeadLettered, type NotificationDispatchRecorded, type NotificationRendered } from '@sicantik/schemas';
import { SECRETS, startHarness, type Harness } from '../../../../tools/provider-simulator/src/testHarness';
import { silentLogger, stack, uniq, waitFor } from '../../../../test/support';
import { fetchExecutor } from './http/executor';
import { ProviderGateway, type BreakerOptions } from './providers/gateway';
import { defaultMetaTemplates } from '../domain/outbound';
import { parseQuotas, parseRates } from '../domain/pacing';
import type { RetryPolicy } from '../domain/retry';
import { DISPATCHER_OUTPUTS, DISPATCHER_TOPICS, startDispatcher, type ContactFeed, type RunningDispatcher } from './consumer';

////////// The dispatcher against the provider simulator over real HTTP, with a real broker
// and registry: routing by opt-in state, fallback on an outage (the breaker opens), on
// Meta's "try another provider" and on a spent daily quota, rate limits held by two
// instances together, retries that do not hold anything else back, dead letters. What
// reached the providers is read from the simulator's own recordings.

interface SimRequest { provider: string; kind: string; recipient?: string; atMs: number; responseStatus: number; messageId?: string; body: Record<string, unknown>; fault?: { kind: string } }
const FINAL = new Set(['ACCEPTED', 'FAILED', 'IN_DOUBT', 'SKIPPED']);

let sim: Harness;
beforeAll(async () => { sim = await startHarness({ statuses: [] }); });
afterAll(async () => { await sim.close(); });

const env = () => ({
  META_ACCESS_TOKEN: SECRETS.metaAccessToken, META_PHONE_NUMBER_ID: '100000000000001', META_BASE_URL: `${sim.url}/meta`, META_TEMPLATES: defaultMetaTemplates(),
  FONNTE_TOKEN: SECRETS.fonnteToken, FONNTE_BASE_URL: `${sim.url}/fonnte`,
  WATZAP_API_KEY: SECRETS.watzapApiKey, WATZAP_NUMBER_KEY: SECRETS.watzapNumberKey, WATZAP_BASE_URL: `${sim.url}/watzap/v1`,
});

interface WorldOptions {
  chain: ProviderName[];
  optedIn?: string[];
  optedOut?: string[];
  rates?: string;
  quotas?: string;
  pairRates?: string;
  retry?: Partial<RetryPolicy>;
  breaker?: Partial<BreakerOptions>;
  timeoutMs?: number;
  instances?: number;
  partitions?: number;
}

async function world(o: WorldOptions) {
  const prefix = `${uniq('it-prov-')}.`;
  const partitions = o.partitions ?? 3;
  const kafka = new Kafka({ brokers: stack.brokers, clientId: uniq('it-prov-'), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topics = [...DISPATCHER_TOPICS, ...DISPATCHER_OUTPUTS];
  await ensureTopics(admin, { prefix, partitions, replicationFactor: 1 }, topics);
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
  await codec.register(topics);
  const producer = EventProducer.create(kafka, codec);
  await producer.connect();
  // contact.events as a feed: these changes, then nothing more.
  const contactChanges: ContactFeed = async (apply) => {
    for (const phone of o.optedIn ?? []) apply({ phone, kind: 'OPTED_IN', occurredAt: 1 });
    for (const phone of o.optedOut ?? []) apply({ phone, kind: 'OPTED_OUT', occurredAt: 1 });
    return { stop: async () => undefined };
  };
  const gateways: ProviderGateway[] = [];
  const running: RunningDispatcher[] = [];
  const retry: RetryPolicy = { maxAttempts: 3, delayMs: 1000, backoff: 2, jitter: 0.1, tiers: 3, ...o.retry };
  for (let i = 0; i < (o.instances ?? 1); i++) {
    const gateway = new ProviderGateway({
      providers: configuredProviders(env(), { roles: ['send'] }), executor: fetchExecutor, timeoutMs: o.timeoutMs ?? 5000,
      breaker: { errorPercent: 50, volume: 1000, windowMs: 10_000, resetMs: 60_000, ...o.breaker },
    });
    gateways.push(gateway);
    running.push(await startDispatcher({
      kafka, admin, codec, producer, logger: silentLogger(), metrics: createMetrics(`it${i}`), sender: gateway, groupId: `${prefix}dispatcher`,
      readerGroupPrefix: uniq(`${prefix}reader-`), routing: { chain: o.chain, optInRequired: new Set(['meta']) }, contactChanges,
      pacing: { rates: parseRates(o.rates ?? 'meta=off'), pairRates: parseRates(o.pairRates ?? ''), quotas: parseQuotas(o.quotas ?? '') },
      retry, optInLink: { url: 'https://wa.me/6281100000000?text=MULAI', text: 'Aktifkan WhatsApp resmi: {link}' }, maxWaitMs: 100,
    }));
  }
  // Every instance has its partitions before anything is produced.
  await waitFor(async () => running.reduce((n, d) => n + d.partitions.owned().length, 0) === partitions && running.every((d) => d.partitions.owned().length > 0), { what: 'partitions assigned' });
  const dispatched: NotificationDispatchRecorded[] = [];
  const dead: DispatchDeadLettered[] = [];
  const reader = kafka.consumer({ groupId: uniq(`${prefix}watch-`), maxWaitTimeInMs: 100 });
  await reader.connect();
  await reader.subscribe({ topics: [codec.topic('notification.dispatch'), codec.topic('dispatch.dead-letter')], fromBeginning: true });
  await reader.run({ eachMessage: async ({ topic, message }) => {
    if (topic === codec.topic('dispatch.dead-letter')) dead.push(await codec.decode('dispatch.dead-letter', message.value!));
    else dispatched.push(await codec.decode('notification.dispatch', message.value!));
  } });
  const since = Date.now();
  const run = prefix.slice(0, -1);
  return {
    prefix, running, gateways, dispatched, dead,
    rendered: (i: number, phone: string, over: Partial<NotificationRendered> = {}): NotificationRendered => ({
      eventId: `${run}-r-${i}`, occurredAt: Date.now(), correlationId: `${run}-c-${i}`, causationId: null, notificationId: `${run}-n-${i}`,
      scenario: 'permit_ready', templateCode: 'permit_ready', templateVersion: 1, pendaftaran_id: `${run}-REG-${i}`,
      recipient: { kind: 'APPLICANT', id: `REG-${i}`, name: 'Budi', phone },
      outcome: 'RENDERED', text: 'Yth. Bapak/Ibu Budi,\n\nPerizinan Anda telah selesai diproses.', failureReason: null,
      parameters: [{ name: 'nama_pemohon', value: 'Budi' }, { name: 'jenis_izin', value: 'PBG' }, { name: 'no_surat', value: '503/1' }, { name: 'tanggal_terbit', value: '22 November 2026' }, { name: 'link_download', value: 'https://x.test/a.pdf' }],
      language: 'id', ...over,
    }),
    send: (ns: NotificationRendered[]) => producer.send(ns.map((value) => ({ topic: 'notification.rendered' as const, key: value.pendaftaran_id, value }))),
    /** Send requests the simulator received for these numbers since the world started. */
    requests: async (phones: string[]) => {
      const all = await (await fetch(`${sim.url}/_sim/requests?kind=send&since=${since}`)).json() as SimRequest[];
      return all.filter((r) => r.recipient && phones.includes(r.recipient));
    },
    finals: (ids: string[]) => ids.map((id) => dispatched.find((e) => e.notificationId === id && FINAL.has(e.status))),
    stop: async () => {
      for (const d of running) await d.stop();
      for (const g of gateways) g.close();
      await reader.disconnect(); await producer.disconnect(); await admin.disconnect();
    },
  };
}
type World = Awaited<ReturnType<typeof world>>;

const phone = (block: number, i: number) => `+62812${String(block).padStart(3, '0')}${String(i).padStart(5, '0')}`;
/** Accepted requests per recipient (the simulator gave a message id). */
const acceptedPer = (reqs: SimRequest[]) => { const m = new Map<string, number>(); for (const r of reqs) if (r.messageId) m.set(r.recipient!, (m.get(r.recipient!) ?? 0) + 1); return m; };
const finalsOf = async (w: World, ids: string[], timeoutMs = 60_000) => waitFor(async () => { const f = w.finals(ids); return f.every(Boolean) ? f as NotificationDispatchRecorded[] : undefined; }, { timeoutMs, what: `final outcomes of ${ids.length}` });

describe('provider-dispatcher against the provider simulator', () => {
  beforeEach(async () => { await sim.admin('DELETE', '/faults'); await sim.admin('DELETE', '/rate-limits'); });

  it('routes by opt-in: opted in → the Meta template; not opted in → the gateway with the opt-in link; opted out → nothing, a recorded skip', async () => {
    const [pIn, pNot, pOut] = [phone(101, 1), phone(101, 2), phone(101, 3)];
    const w = await world({ chain: ['meta', 'fonnte'], optedIn: [pIn], optedOut: [pOut] });
    try {
      const ns = [w.rendered(1, pIn), w.rendered(2, pNot), w.rendered(3, pOut)];
      await w.send(ns);
      const finals = await finalsOf(w, ns.map((n) => n.notificationId));
      expect(finals.map((e) => [e.status, e.provider, e.routeReason])).toEqual([['ACCEPTED', 'meta', 'OPTED_IN'], ['ACCEPTED', 'fonnte', 'NOT_OPTED_IN'], ['SKIPPED', 'none', 'OPTED_OUT']]);
      const why = 'recipient opted out of WhatsApp notifications; nothing sent';
      expect(finals[2]).toMatchObject({ attempt: 0, errorCode: null, disposition: null, providerMessageId: null, reason: why, routeDetail: why });
      const reqs = await w.requests([pIn, pNot, pOut]);
      expect(reqs.map((r) => [r.provider, r.recipient]).sort()).toEqual([['fonnte', pNot], ['meta', pIn]]);
      const meta = reqs.find((r) => r.provider === 'meta')!;
      expect(meta.body).toMatchObject({ to: pIn, type: 'template', template: { name: 'sicantik_permit_ready', language: { code: 'id', policy: 'deterministic' } } });
      const fonnte = reqs.find((r) => r.provider === 'fonnte')!;
      expect(fonnte.body).toMatchObject({ target: pNot.slice(1), message: 'Yth. Bapak/Ibu Budi,\n\nPerizinan Anda telah selesai diproses.\n\nAktifkan WhatsApp resmi: https://wa.me/6281100000000?text=MULAI' });
      expect(finals[1]).toMatchObject({ optInLink: true, providerMessageId: fonnte.messageId });
      expect(w.dead).toHaveLength(0);
    } finally { await w.stop(); }
  });

  it('falls back on an outage: Meta answers 5xx, the breaker opens, the rest (and the retries) go through the gateway; every number gets exactly one accepted message', async () => {
    const phones = Array.from({ length: 24 }, (_, i) => phone(102, i));
    await sim.admin('POST', '/faults', { provider: 'meta', kind: 'server_error', httpStatus: 503 });
    const w = await world({ chain: ['meta', 'fonnte'], optedIn: phones, breaker: { volume: 4, errorPercent: 50 }, retry: { delayMs: 1500, maxAttempts: 3 } });
    try {
      const ns = phones.map((p, i) => w.rendered(i, p));
      // A first wave meets the outage (retryable 5xx) and opens the circuit; the second finds it open.
      await w.send(ns.slice(0, 6));
      await waitFor(async () => w.gateways[0]!.circuit('meta')!.state === 'open', { what: 'meta circuit open' });
      await w.send(ns.slice(6));
      const finals = await finalsOf(w, ns.map((n) => n.notificationId));
      expect(finals.map((e) => `${e.status}@${e.provider}`)).toEqual(phones.map(() => 'ACCEPTED@fonnte'));
      const reqs = await w.requests(phones);
      expect([...acceptedPer(reqs).values()]).toEqual(phones.map(() => 1));
      // Meta was called only for the first wave (once each), never while its circuit was open.
      const metaCalls = reqs.filter((r) => r.provider === 'meta');
      expect(metaCalls.map((r) => r.responseStatus)).toEqual(Array(6).fill(503));
      expect(new Set(metaCalls.map((r) => r.recipient))).toEqual(new Set(phones.slice(0, 6)));
      // The first wave's retries passed the open circuit over; the second wave was routed around it at once.
      expect(finals.slice(0, 6).every((e) => e.attempt === 2 && e.routeReason === 'CIRCUIT_OPEN')).toBe(true);
      expect(finals.slice(6).every((e) => e.attempt === 1 && e.routeReason === 'CIRCUIT_OPEN' && e.routeDetail === 'fonnte because meta circuit open')).toBe(true);
    } finally { await w.stop(); }
  });

  it('an outage that times out: the sends that may have gone out are IN_DOUBT and never sent again; the breaker opens and the rest goes through the gateway', async () => {
    const phones = Array.from({ length: 12 }, (_, i) => phone(103, i));
    await sim.admin('POST', '/faults', { provider: 'meta', kind: 'timeout' });
    const w = await world({ chain: ['meta', 'fonnte'], optedIn: phones, timeoutMs: 400, breaker: { volume: 3, errorPercent: 50 } });
    try {
      const ns = phones.map((p, i) => w.rendered(i, p));
      await w.send(ns.slice(0, 4));
      await finalsOf(w, ns.slice(0, 4).map((n) => n.notificationId));
      expect(w.gateways[0]!.circuit('meta')!.state).toBe('open');
      await w.send(ns.slice(4));
      const finals = await finalsOf(w, ns.map((n) => n.notificationId));
      expect(finals.slice(0, 4).map((e) => [e.status, e.provider, e.errorCode, e.disposition])).toEqual(Array(4).fill(['IN_DOUBT', 'meta', 'TIMEOUT', 'in_doubt']));
      expect(finals.slice(4).map((e) => `${e.status}@${e.provider}`)).toEqual(Array(8).fill('ACCEPTED@fonnte'));
      const reqs = await w.requests(phones);
      // An in-doubt number reached Meta once and nobody else; every other number got exactly one accepted message.
      for (const p of phones.slice(0, 4)) expect(reqs.filter((r) => r.recipient === p).map((r) => r.provider)).toEqual(['meta']);
      expect([...acceptedPer(reqs)].sort()).toEqual(phones.slice(4).map((p) => [p, 1]).sort());
      await sim.admin('DELETE', '/held');
    } finally { await w.stop(); }
  });

  it('Meta 131047 ("try another provider") falls back to the gateway at once, recorded as a second attempt with its provider; no second copy', async () => {
    const [x, y] = [phone(104, 1), phone(104, 2)];
    await sim.admin('POST', '/faults', { provider: 'meta', to: x, kind: 'permanent', code: 131047 });
    const w = await world({ chain: ['meta', 'fonnte'], optedIn: [x, y] });
    try {
      const ns = [w.rendered(1, x), w.rendered(2, y)];
      await w.send(ns);
      const finals = await finalsOf(w, ns.map((n) => n.notificationId));
      expect(finals.map((e) => [e.status, e.provider, e.attempt])).toEqual([['ACCEPTED', 'fonnte', 2], ['ACCEPTED', 'meta', 1]]);
      expect(finals[0]).toMatchObject({ routeReason: 'FALLBACK', fallbackFrom: 'meta', excludedProviders: ['meta'] });
      expect(finals[0]!.routeDetail).toMatch(/^fallback from meta because meta:131047: /);
      const attempts = w.dispatched.filter((e) => e.notificationId === ns[0]!.notificationId).map((e) => `${e.status}${e.attempt}@${e.provider}`);
      expect([...new Set(attempts)]).toEqual(['SENDING1@meta', 'RETRY_SCHEDULED1@meta', 'SENDING2@fonnte', 'ACCEPTED2@fonnte']);
      const reqs = await w.requests([x, y]);
      expect(reqs.filter((r) => r.recipient === x).map((r) => [r.provider, !!r.messageId])).toEqual([['meta', false], ['fonnte', true]]);
      expect([...acceptedPer(reqs).values()]).toEqual([1, 1]);
    } finally { await w.stop(); }
  });

  it('a spent daily quota sends the overflow through the next provider (each partition spends its part); no second copy', async () => {
    const phones = Array.from({ length: 12 }, (_, i) => phone(105, i));
    const w = await world({ chain: ['fonnte', 'watzap'], quotas: 'fonnte=3' });
    try {
      const ns = phones.map((p, i) => w.rendered(i, p));
      await w.send(ns);
      const finals = await finalsOf(w, ns.map((n) => n.notificationId));
      const byProvider = (p: string) => finals.filter((e) => e.status === 'ACCEPTED' && e.provider === p);
      expect(byProvider('fonnte').length).toBeLessThanOrEqual(3);
      expect(byProvider('fonnte').length + byProvider('watzap').length).toBe(phones.length);
      expect(byProvider('watzap').every((e) => e.routeReason === 'QUOTA_EXHAUSTED' && e.routeDetail === 'watzap because fonnte daily quota exhausted')).toBe(true);
      const reqs = await w.requests(phones);
      expect(reqs.filter((r) => r.provider === 'fonnte').length).toBe(byProvider('fonnte').length);
      expect([...acceptedPer(reqs).values()]).toEqual(phones.map(() => 1));
      // The quota is counted from the ledger, so a restarted instance (a fresh restore) knows it is spent.
      const used = w.running[0]!;
      expect([0, 1, 2].reduce((n, p) => n + (used.ledger.loaded().get(p)?.usedToday('fonnte', Date.now()) ?? 0), 0)).toBe(byProvider('fonnte').length);
    } finally { await w.stop(); }
  });

  it('a retry does not hold back other notifications (same partition); after the last attempt: FAILED and a dead letter with the reason', async () => {
    const stuck = phone(106, 0);
    const others = Array.from({ length: 8 }, (_, i) => phone(106, i + 1));
    await sim.admin('POST', '/faults', { provider: 'meta', to: stuck, kind: 'server_error', httpStatus: 500 });
    const w = await world({ chain: ['meta'], optedIn: [stuck, ...others], retry: { delayMs: 3000, backoff: 1, maxAttempts: 2, jitter: 0 } });
    try {
      // One key: one partition, the failing one first.
      const ns = [stuck, ...others].map((p, i) => w.rendered(i, p, { pendaftaran_id: `${w.prefix}REG-same` }));
      await w.send(ns);
      const started = Date.now();
      await finalsOf(w, ns.slice(1).map((n) => n.notificationId));
      const othersDone = Date.now() - started;
      expect(othersDone).toBeLessThan(3000); // not behind the 3 s retry
      const [last] = await finalsOf(w, [ns[0]!.notificationId], 30_000);
      expect(last).toMatchObject({ status: 'FAILED', provider: 'meta', attempt: 2, errorCode: 'NO_PROVIDER' });
      const reqs = await w.requests([stuck, ...others]);
      const stuckCalls = reqs.filter((r) => r.recipient === stuck);
      expect(stuckCalls).toHaveLength(2);
      expect(stuckCalls[1]!.atMs - stuckCalls[0]!.atMs).toBeGreaterThanOrEqual(2900);
      // Every other number reached the provider before the retry.
      expect(Math.max(...reqs.filter((r) => r.recipient !== stuck).map((r) => r.atMs))).toBeLessThan(stuckCalls[1]!.atMs);
      const sched = w.dispatched.find((e) => e.notificationId === ns[0]!.notificationId && e.status === 'RETRY_SCHEDULED' && e.attempt === 1)!;
      expect(sched).toMatchObject({ errorCode: 'meta:131000', disposition: 'retry', nextProvider: 'meta' });
      await waitFor(async () => w.dead.length === 1, { what: 'the dead letter' });
      expect(w.dead[0]).toMatchObject({ notificationId: ns[0]!.notificationId, attempts: 2, providers: ['meta'], lastProvider: 'meta', errorCode: 'NO_PROVIDER' });
      expect(w.dead[0]!.reason).toMatch(/every eligible provider was ruled out \(meta\)/);
      expect(w.dead[0]!.notification.recipient.phone).toBe(stuck);
    } finally { await w.stop(); }
  });

  it('two instances together hold a rate limit (measured from the simulator\'s timestamps), each spending the share of the partitions it owns', async () => {
    const phones = Array.from({ length: 50 }, (_, i) => phone(107, i));
    const w = await world({ chain: ['fonnte'], rates: 'fonnte=10/s', instances: 2, partitions: 3 });
    try {
      expect(w.running.map((d) => d.partitions.owned().length).sort()).toEqual([1, 2]);
      const ns = phones.map((p, i) => w.rendered(i, p));
      await w.send(ns);
      await finalsOf(w, ns.map((n) => n.notificationId), 60_000);
      const reqs = (await w.requests(phones)).filter((r) => r.provider === 'fonnte');
      expect(reqs).toHaveLength(phones.length);
      const times = reqs.map((r) => r.atMs).sort((a, b) => a - b);
      let worst = 0;
      for (let i = 0; i < times.length; i++) worst = Math.max(worst, times.filter((t) => t > times[i]! - 1000 && t <= times[i]!).length);
      expect(worst).toBeLessThanOrEqual(10);
      // Both instances sent (each from the partitions it owns), together close to the limit: 6 + 3 per second (floors of 10 x 2/3 and 10 x 1/3).
      const acceptedBy = w.running.map((d) => [...d.ledger.loaded().values()].reduce((n, l) => n + [...l.entries.values()].filter((e) => e.status === 'ACCEPTED').length, 0));
      expect(acceptedBy.every((n) => n > 0)).toBe(true);
      expect(acceptedBy.reduce((a, b) => a + b, 0)).toBe(phones.length);
      const seconds = (times.at(-1)! - times[0]!) / 1000;
      expect(phones.length / seconds).toBeGreaterThan(6);
    } finally { await w.stop(); }
  });
});
