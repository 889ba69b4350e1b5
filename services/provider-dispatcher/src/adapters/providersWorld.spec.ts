import { messageRefFn } from './messageRefs';
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

////////// The provider-dispatcher against the provider simulator: the shared world of
// providers.int.spec.ts and providers.limits.int.spec.ts (a real broker, registry and
// simulator; what reached the providers is read from the simulator's recordings).

export interface SimRequest { provider: string; kind: string; recipient?: string; atMs: number; responseStatus: number; messageId?: string; body: Record<string, unknown>; fault?: { kind: string } }
const FINAL = new Set(['ACCEPTED', 'FAILED', 'IN_DOUBT', 'SKIPPED']);

let sim: Harness;
/** Starts the simulator for the calling test file (its beforeAll/afterAll); returns it. */
export function useSimulator(): () => Harness {
  beforeAll(async () => { sim = await startHarness({ statuses: [] }); });
  afterAll(async () => { await sim.close(); });
  return () => sim;
}

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

export async function world(o: WorldOptions) {
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
      kafka, admin, codec, producer, logger: silentLogger(), metrics: createMetrics(`it${i}`), sender: gateway, messageRef: messageRefFn(Buffer.alloc(32, 7)), groupId: `${prefix}dispatcher`,
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
export type World = Awaited<ReturnType<typeof world>>;

export const phone = (block: number, i: number) => `+62812${String(block).padStart(3, '0')}${String(i).padStart(5, '0')}`;
/** Accepted requests per recipient (the simulator gave a message id). */
export const acceptedPer = (reqs: SimRequest[]) => { const m = new Map<string, number>(); for (const r of reqs) if (r.messageId) m.set(r.recipient!, (m.get(r.recipient!) ?? 0) + 1); return m; };
export const finalsOf = async (w: World, ids: string[], timeoutMs = 60_000) => waitFor(async () => { const f = w.finals(ids); return f.every(Boolean) ? f as NotificationDispatchRecorded[] : undefined; }, { timeoutMs, what: `final outcomes of ${ids.length}` });
