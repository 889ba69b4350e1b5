import { messageRefFn } from './messageRefs';
import { Kafka, logLevel } from 'kafkajs';
import { EventProducer, ensureTopics } from '@sicantik/kafka';
import { createMetrics } from '@sicantik/observability';
import { SchemaCodec, type ContactEvent, type NotificationDispatchRecorded, type NotificationRendered } from '@sicantik/schemas';
import type { OutboundMessage, ProviderName } from '@sicantik/providers';
import { silentLogger, stack, uniq, waitFor } from '../../../../test/support';
import type { ContactChange, SendResult } from '../domain/decide';
import type { Sender } from './batchExecutor';
import { DISPATCHER_OUTPUTS, DISPATCHER_TOPICS, startDispatcher, type ContactFeed, type RunningDispatcher } from './consumer';

////////// Issue 16's waits against a real broker and registry: a DEFERRED notification and a
// HELD one survive a restart (restored from dispatch.ledger), the deferred one is sent once at
// its time, the held one once after the contact's opt-in; MESSAGE_SENT goes to contact.events.

const rendered = (id: string, phone: string, over: Partial<NotificationRendered> = {}): NotificationRendered => ({
  eventId: `r-${id}`, occurredAt: 0, correlationId: `c-${id}`, causationId: null, notificationId: id, scenario: 'permit_ready', templateCode: 'permit_ready',
  templateVersion: 1, pendaftaran_id: `REG-${id}`, recipient: { kind: 'APPLICANT', id: `REG-${id}`, name: 'Budi', phone },
  outcome: 'RENDERED', text: 'x', parameters: [], language: 'id', failureReason: null, ...over,
});

class CountingProvider implements Sender {
  readonly calls = new Map<string, number>();
  async send(_p: ProviderName, n: OutboundMessage): Promise<SendResult> {
    this.calls.set(n.notificationId, (this.calls.get(n.notificationId) ?? 0) + 1);
    return { kind: 'accepted', providerMessageId: `wamid.${n.notificationId}`, latencyMs: 1 };
  }
  openCircuits() { return new Map(); }
}

describe('provider-dispatcher: deferred and held notifications on Kafka', () => {
  const prefix = `${uniq('it-waits-')}.`;
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'it-waits', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
  const producer = EventProducer.create(kafka, codec);
  const running: RunningDispatcher[] = [];
  const dispatched: NotificationDispatchRecorded[] = [];
  const contactEvents: ContactEvent[] = [];
  const stops: (() => Promise<void>)[] = [];
  /** The contact changes seen so far, handed to every dispatcher started (as contact.events would be). */
  const changes: ContactChange[] = [];
  const appliers = new Set<(c: ContactChange) => void>();
  const feed: ContactFeed = async (apply) => { for (const c of changes) apply(c); appliers.add(apply); return { stop: async () => { appliers.delete(apply); } }; };
  const change = (c: ContactChange) => { changes.push(c); for (const a of appliers) a(c); };

  const start = async (sender: Sender) => {
    const d = await startDispatcher({
      kafka, admin, codec, producer, logger: silentLogger(), metrics: createMetrics('it'), sender, messageRef: messageRefFn(Buffer.alloc(32, 7)), groupId: `${prefix}dispatcher`,
      routing: { chain: ['meta'], optInRequired: new Set(['meta']) }, contactChanges: feed,
      pacing: { rates: new Map(), pairRates: new Map(), quotas: new Map() },
      retry: { maxAttempts: 3, delayMs: 10, backoff: 2, jitter: 0, tiers: 3 },
      readerGroupPrefix: uniq(`${prefix}reader-`), holdSweepMs: 200, maxPauseMs: 200,
    });
    running.push(d);
    return d;
  };
  const stop = async (d: RunningDispatcher) => { await d.stop(); running.splice(running.indexOf(d), 1); };
  const statusesOf = (id: string) => dispatched.filter((e) => e.notificationId === id).map((e) => e.status);

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(admin, { prefix, partitions: 3, replicationFactor: 1 }, [...DISPATCHER_TOPICS, ...DISPATCHER_OUTPUTS]);
    await codec.register([...DISPATCHER_TOPICS, ...DISPATCHER_OUTPUTS]);
    await producer.connect();
    for (const [topic, into] of [['notification.dispatch', dispatched], ['contact.events', contactEvents]] as const) {
      const consumer = kafka.consumer({ groupId: uniq(`${prefix}watch-`), maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic: codec.topic(topic), fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => { (into as unknown[]).push(await codec.decode(topic, message.value!)); } });
      stops.push(() => consumer.disconnect());
    }
  });
  afterAll(async () => {
    for (const d of [...running]) await d.stop();
    for (const s of stops) await s();
    await producer.disconnect(); await admin.disconnect();
  });

  it('a DEFERRED and a HELD notification survive a restart; the deferred one is sent once at its time, the held one once after the opt-in', async () => {
    const opted = '+6281211110001'; const never = '+6281211110002';
    change({ phone: opted, kind: 'OPTED_IN', occurredAt: Date.now() });
    const first = new CountingProvider();
    const d1 = await start(first);
    const later = Date.now() + 6000;
    const deferred = rendered('deferred', opted, { notBefore: later, deferReason: 'QUIET_HOURS' });
    const held = rendered('held', never);
    await producer.send([deferred, held].map((value) => ({ topic: 'notification.rendered' as const, key: value.pendaftaran_id, value })));
    await waitFor(async () => statusesOf('deferred').includes('DEFERRED') && statusesOf('held').includes('HELD'), { timeoutMs: 30_000, what: 'DEFERRED and HELD' });
    expect(dispatched.find((e) => e.notificationId === 'deferred')).toMatchObject({ provider: 'meta', notBefore: later, routeReason: 'QUIET_HOURS' });
    expect(dispatched.find((e) => e.notificationId === 'held')).toMatchObject({ provider: 'meta', routeReason: 'AWAITING_OPT_IN' });
    await stop(d1);

    const second = new CountingProvider();
    const d2 = await start(second);
    await waitFor(async () => statusesOf('deferred').includes('ACCEPTED'), { timeoutMs: 30_000, what: 'the deferred one sent at its time' });
    expect(dispatched.find((e) => e.notificationId === 'deferred' && e.status === 'SENDING')!.occurredAt).toBeGreaterThanOrEqual(later);
    expect(statusesOf('held')).toEqual(['HELD']);
    // The held one is found by the contact's opt-in in the restored ledger.
    await waitFor(async () => d2.ledger.loaded().size === 3 && [...d2.ledger.loaded().values()].some((l) => l.held.has('held')), { timeoutMs: 30_000, what: 'the held one restored' });
    change({ phone: never, kind: 'OPTED_IN', occurredAt: Date.now() });
    await waitFor(async () => statusesOf('held').includes('ACCEPTED'), { timeoutMs: 30_000, what: 'the held one sent after the opt-in' });
    await new Promise((r) => setTimeout(r, 1000));
    expect([first.calls.size, [...second.calls]]).toEqual([0, [['deferred', 1], ['held', 1]]]);
    expect(statusesOf('held')).toEqual(['HELD', 'SENDING', 'ACCEPTED']);
    await waitFor(async () => contactEvents.filter((e) => e.kind === 'MESSAGE_SENT').length === 2, { timeoutMs: 10_000, what: 'MESSAGE_SENT twice' });
    expect(contactEvents.map((e) => [e.kind, e.notificationId, e.providerMessageId]).sort()).toEqual([['MESSAGE_SENT', 'deferred', 'wamid.deferred'], ['MESSAGE_SENT', 'held', 'wamid.held']]);
  }, 90_000);
});
