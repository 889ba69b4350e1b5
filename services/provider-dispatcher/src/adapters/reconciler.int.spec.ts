import { messageRefFn } from './messageRefs';
import { Kafka, logLevel } from 'kafkajs';
import { EventProducer, ensureTopics } from '@sicantik/kafka';
import { createMetrics } from '@sicantik/observability';
import { configuredProviders, type ProviderName } from '@sicantik/providers';
import { SchemaCodec, type DeliveryStatusReported, type NotificationDispatchRecorded } from '@sicantik/schemas';
import { SECRETS, startHarness, type Harness } from '../../../../tools/provider-simulator/src/testHarness';
import { readDecoded, silentLogger, stack, uniq, waitFor } from '../../../../test/support';
import { fetchExecutor } from './http/executor';
import { ProviderGateway } from './providers/gateway';
import { gatewayLookups } from './reconcileLookups';
import { RECONCILER_TOPICS, startReconciler } from './reconciler';

const KEY = Buffer.alloc(32, 7);

////////// The reconciler with a real broker and registry and the provider simulator over
// real HTTP. The simulator's webhooks are refused (the receiver answers 503, one attempt),
// so its messages move on (sent, delivered) without any report reaching Kafka. A Twilio
// message without a report gets its status from Twilio's status API; a Fonnte one (no
// status API) gets NO_REPORT; one whose report arrived (before or after its acceptance)
// gets nothing. A second instance joins, the first stops: the entries it held are
// resolved by the second, each once.

const AFTER_MS = 4000;
let sim: Harness;
beforeAll(async () => {
  sim = await startHarness({ statuses: ['sent', 'delivered'], webhookDelayMs: 20, webhookAttempts: 1 });
  sim.setReceiverStatus(503);
});
afterAll(async () => { await sim.close(); });

const env = () => ({
  TWILIO_ACCOUNT_SID: SECRETS.twilioAccountSid, TWILIO_AUTH_TOKEN: SECRETS.twilioAuthToken, TWILIO_WHATSAPP_FROM: '+14155238886', TWILIO_BASE_URL: `${sim.url}/twilio`,
  FONNTE_TOKEN: SECRETS.fonnteToken, FONNTE_BASE_URL: `${sim.url}/fonnte`,
});

it('looks up what has no report, says NO_REPORT where it cannot, leaves reported messages alone, and resumes after a handover without duplicates', async () => {
  const prefix = `${uniq('it-rec-')}.`;
  const kafka = new Kafka({ brokers: stack.brokers, clientId: uniq('it-rec-'), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, { prefix, partitions: 3, replicationFactor: 1 }, RECONCILER_TOPICS);
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
  await codec.register(RECONCILER_TOPICS);
  const producer = EventProducer.create(kafka, codec);
  await producer.connect();
  const gateway = new ProviderGateway({ providers: configuredProviders(env(), { roles: ['send'] }), executor: fetchExecutor, timeoutMs: 5000, breaker: { errorPercent: 50, volume: 1000, windowMs: 10_000, resetMs: 60_000 } });
  const looks = gatewayLookups(gateway);
  const metrics = [createMetrics('it-rec-1'), createMetrics('it-rec-2')];
  const reconciler = (i: number) => startReconciler({
    kafka, admin, codec, producer, logger: silentLogger(), metrics: metrics[i - 1]!, lookup: looks.lookup, now: Date.now, messageRef: messageRefFn(KEY),
    settings: { afterMs: AFTER_MS, giveUpMs: 60_000, lookupBackoffMs: 300, rememberMs: 86_400_000, canLookup: looks.canLookup },
    groupId: `${prefix}reconcile`, readerGroupPrefix: uniq(`${prefix}reader-`), tickMs: 100, lookupConcurrency: 4, maxWaitMs: 100,
  });
  const statuses: DeliveryStatusReported[] = [];
  const reader = await readDecoded({ kafka, codec, groupPrefix: prefix, topic: 'delivery.status', onValue: (v) => statuses.push(v) });

  /** Sends one message through the simulator; returns its ACCEPTED dispatch record. */
  let n = 0;
  const accept = async (provider: ProviderName): Promise<NotificationDispatchRecorded> => {
    const i = ++n;
    const r = await gateway.send(provider, { notificationId: `${prefix}n-${i}`, toE164: `+6281277700${String(i).padStart(3, '0')}`, text: 'Perizinan Anda telah selesai diproses.', templateCode: 'permit_ready', parameters: [], language: 'id' });
    if (r.kind !== 'accepted') throw new Error(`${provider} did not accept: ${JSON.stringify(r)}`);
    return {
      eventId: `${prefix}d-${i}`, occurredAt: Date.now(), correlationId: `${prefix}c-${i}`, causationId: null, notificationId: `${prefix}n-${i}`, pendaftaran_id: `REG-${i}`,
      scenario: 'permit_ready', templateCode: 'permit_ready', recipientKind: 'APPLICANT', provider, status: 'ACCEPTED', providerMessageId: r.providerMessageId, attempt: 1, errorCode: null, reason: null,
    };
  };
  const dispatch = (rs: NotificationDispatchRecorded[]) => producer.send(rs.map((value) => ({ topic: 'notification.dispatch' as const, key: value.pendaftaran_id, value })));
  const refOf = (d: NotificationDispatchRecorded) => messageRefFn(KEY)(d.provider, d.providerMessageId!);
  /** A webhook's report as the tracker's receiver writes it (the id's ref in providerMessageId too), or as it wrote it before the ref (`older`: the id in plain, no ref). */
  const webhookReport = (d: NotificationDispatchRecorded, status: 'SENT' | 'DELIVERED', older = false): DeliveryStatusReported => ({
    eventId: `${d.eventId}-hook-${status}`, occurredAt: Date.now(), correlationId: older ? d.providerMessageId! : refOf(d), causationId: null, provider: d.provider,
    ...(older ? { providerMessageId: d.providerMessageId! } : { providerMessageId: refOf(d), providerMessageRef: refOf(d) }),
    status, providerTimestamp: null, receivedAt: Date.now(), errorCode: null, errorTitle: null,
  });
  const report = (rs: DeliveryStatusReported[]) => producer.send(rs.map((value) => ({ topic: 'delivery.status' as const, key: value.providerMessageRef ?? messageRefFn(KEY)(value.provider, value.providerMessageId), value })));
  const statusRef = (s: DeliveryStatusReported) => s.providerMessageRef ?? messageRefFn(KEY)(s.provider, s.providerMessageId);
  const of = (d: NotificationDispatchRecorded) => statuses.filter((s) => statusRef(s) === refOf(d)).map((s) => [s.status, s.source]);

  const first = await reconciler(1);
  let second: Awaited<ReturnType<typeof reconciler>> | undefined;
  try {
    // Wave 1: Twilio without a report; Twilio reported (webhook, SENT then DELIVERED); Fonnte without a report; Twilio reported before its acceptance (a record written before the ref).
    const [lookedUp, reported, noReport, early] = [await accept('twilio'), await accept('twilio'), await accept('fonnte'), await accept('twilio')];
    await report([webhookReport(early, 'DELIVERED', true)]);
    await dispatch([lookedUp, reported, noReport, early]);
    await report([webhookReport(reported, 'SENT'), webhookReport(reported, 'DELIVERED')]);
    await waitFor(async () => of(lookedUp).length === 1 && of(noReport).length === 1, { timeoutMs: 30_000, what: 'the reconciler\'s events of wave 1' });
    expect(Date.now() - lookedUp.occurredAt).toBeGreaterThanOrEqual(AFTER_MS);
    expect(of(lookedUp)).toEqual([['DELIVERED', 'LOOKUP']]);
    expect(of(noReport)).toEqual([['NO_REPORT', 'RECONCILER']]);
    expect(statuses.find((s) => s.providerMessageRef === refOf(noReport))).toMatchObject({
      provider: 'fonnte', errorCode: 'NO_REPORT', errorTitle: `no status report within ${AFTER_MS / 1000} s of the acceptance; the provider has no status API`,
      occurredAt: noReport.occurredAt + AFTER_MS, receivedAt: noReport.occurredAt + AFTER_MS, providerTimestamp: null, correlationId: refOf(noReport), providerMessageRef: refOf(noReport), providerMessageId: refOf(noReport),
    });
    // The reconciler's events name the message by its ref only, never by the id (a delivery status names no subject: the id would be in plain).
    expect(statuses.filter((s) => s.source !== 'WEBHOOK').map((s) => s.providerMessageId === s.providerMessageRef && s.correlationId === s.providerMessageRef)).toEqual([true, true]);
    // Nothing from the reconciler for the reported ones, and nothing more for the others, well past the time.
    await new Promise((r) => setTimeout(r, AFTER_MS + 1000));
    expect(of(reported)).toEqual([['SENT', 'WEBHOOK'], ['DELIVERED', 'WEBHOOK']]);
    expect(of(early)).toEqual([['DELIVERED', 'WEBHOOK']]);
    expect(of(lookedUp)).toHaveLength(1);
    expect(of(noReport)).toHaveLength(1);
    // Entries are keyed by the message's ref (an entry made by a report before the acceptance keeps no id).
    const idOfRef = new Map([lookedUp, reported, noReport, early].map((d) => [refOf(d), d.providerMessageId!]));
    const outcomes = first.state.entries().filter((e) => idOfRef.has(e.providerMessageRef!)).map((e) => [idOfRef.get(e.providerMessageRef!)!, e.outcome]).sort();
    // (A resolved entry is not written again for an acceptance read after its report: it may not name its notification.)
    expect(outcomes).toEqual([[noReport.providerMessageId, 'no_report'], [lookedUp.providerMessageId, 'looked_up'], [early.providerMessageId, 'reported'], [reported.providerMessageId, 'reported']].sort());

    // Wave 2, held by the first instance, which stops before the entries are due; a new instance takes over.
    const wave2 = [await accept('twilio'), await accept('fonnte'), await accept('twilio'), await accept('fonnte')];
    await dispatch(wave2);
    await waitFor(async () => wave2.every((d) => first.state.entries().some((e) => e.providerMessageId === d.providerMessageId && e.acceptedAt !== null)), { what: 'wave 2 awaiting in the first instance' });
    await first.stop();
    second = await reconciler(2);
    await waitFor(async () => wave2.every((d) => of(d).length === 1), { timeoutMs: 30_000, what: 'the second instance\'s events of wave 2' });
    await new Promise((r) => setTimeout(r, AFTER_MS));
    await reader.untilCaughtUp();
    expect(wave2.map(of)).toEqual([[['DELIVERED', 'LOOKUP']], [['NO_REPORT', 'RECONCILER']], [['DELIVERED', 'LOOKUP']], [['NO_REPORT', 'RECONCILER']]]);
    // The second instance restored wave 1 as resolved: still one event each, none for the reported ones.
    for (const d of [lookedUp, noReport, early]) expect(of(d)).toHaveLength(1);
    expect(of(reported)).toHaveLength(2);
    expect(second.state.entries().filter((e) => e.acceptedAt !== null && e.outcome === null)).toEqual([]);
    expect(new Set(statuses.map((s) => s.eventId)).size).toBe(statuses.length);
    // The new instance did wave 2's work (restored from dispatch.reconcile), and counted it.
    const counted = (await metrics[1]!.registry.getSingleMetric('sicantik_reconcile_total')!.get()).values.map((v) => [v.labels.provider, v.labels.outcome, v.value]).sort();
    expect(counted).toEqual([['fonnte', 'no_report', 2], ['twilio', 'looked_up', 2]]);
  } finally {
    await second?.stop();
    await first.stop().catch(() => undefined);
    gateway.close();
    await reader.consumer.disconnect();
    await producer.disconnect();
    await admin.disconnect();
  }
});
