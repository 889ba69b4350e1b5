import { messageRefFn } from './messageRefs';
import { Kafka, logLevel } from 'kafkajs';
import { EventProducer, ensureTopics } from '@sicantik/kafka';
import { createMetrics } from '@sicantik/observability';
import { SchemaCodec, type NotificationDispatchRecorded, type NotificationRendered } from '@sicantik/schemas';
import { silentLogger, stack, uniq, waitFor } from '../../../../test/support';
import { dispatchRecord } from '../domain/ledger';
import type { OutboundMessage, ProviderName } from '@sicantik/providers';
import type { SendResult } from '../domain/decide';
import type { Sender } from './batchExecutor';
import { kafkaChangelog } from './kafkaChangelog';
import type { RestoreStats } from './ledgerPartitions';
import { DISPATCHER_OUTPUTS, DISPATCHER_TOPICS, startDispatcher, type RunningDispatcher } from './consumer';

////////// The dispatcher against a real broker and registry: the ledger survives a
// restart through dispatch.ledger alone (no database), and a replay sends nothing.

const rendered = (i: number): NotificationRendered => ({
  eventId: `r-${i}`, occurredAt: 0, correlationId: `c-${i}`, causationId: null, notificationId: `n-${i}`, scenario: 'permit_ready', templateCode: 'permit_ready',
  templateVersion: 1, pendaftaran_id: `REG-${i}`, recipient: { kind: 'APPLICANT', id: `REG-${i}`, name: 'Budi', phone: '+6281234567890' },
  outcome: 'RENDERED', text: 'x', parameters: [], language: 'id', failureReason: null,
});

class CountingProvider implements Sender {
  readonly calls = new Map<string, number>();
  async send(_p: ProviderName, n: OutboundMessage): Promise<SendResult> {
    this.calls.set(n.notificationId, (this.calls.get(n.notificationId) ?? 0) + 1);
    return { kind: 'accepted', providerMessageId: `wamid.${n.notificationId}`, latencyMs: 1 };
  }
  openCircuits() { return new Map(); }
  get total() { return [...this.calls.values()].reduce((a, b) => a + b, 0); }
}

describe('provider-dispatcher with its ledger on Kafka', () => {
  const prefix = `${uniq('it-dispatch-')}.`;
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'it-dispatch', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
  const producer = EventProducer.create(kafka, codec);
  const running: RunningDispatcher[] = [];
  const dispatched: NotificationDispatchRecorded[] = [];
  let stopReader: () => Promise<void> = async () => undefined;

  const start = async (group: string, sender: Sender, restores: RestoreStats[] = []) => {
    const d = await startDispatcher({
      kafka, admin, codec, producer, logger: silentLogger(), metrics: createMetrics('it'), sender, messageRef: messageRefFn(Buffer.alloc(32, 7)), groupId: `${prefix}${group}`,
      routing: { chain: ['meta'], optInRequired: new Set(['meta']), unconsented: 'send' }, contactChanges: async () => ({ stop: async () => undefined }),
      pacing: { rates: new Map(), pairRates: new Map(), quotas: new Map() },
      retry: { maxAttempts: 3, delayMs: 10, backoff: 2, jitter: 0, tiers: 3 },
      readerGroupPrefix: uniq(`${prefix}reader-`), onRestore: (s) => restores.push(s),
    });
    running.push(d);
    return d;
  };
  const stop = async (d: RunningDispatcher) => { await d.stop(); running.splice(running.indexOf(d), 1); };

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(admin, { prefix, partitions: 3, replicationFactor: 1 }, [...DISPATCHER_TOPICS, ...DISPATCHER_OUTPUTS]);
    await codec.register([...DISPATCHER_TOPICS, ...DISPATCHER_OUTPUTS]);
    await producer.connect();
    const consumer = kafka.consumer({ groupId: uniq(`${prefix}watch-`), maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: codec.topic('notification.dispatch'), fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => { dispatched.push(await codec.decode('notification.dispatch', message.value!)); } });
    stopReader = () => consumer.disconnect();
  });
  afterAll(async () => {
    for (const d of [...running]) await d.stop();
    await stopReader();
    await producer.disconnect(); await admin.disconnect();
  });

  it('creates the ledger compacted and co-partitioned with its input', async () => {
    const meta = await admin.fetchTopicMetadata({ topics: [codec.topic('notification.rendered'), codec.topic('dispatch.ledger')] });
    expect(meta.topics.map((t) => t.partitions.length)).toEqual([3, 3]);
    const cfg = await admin.describeConfigs({ resources: [{ type: 2, name: codec.topic('dispatch.ledger'), configNames: ['cleanup.policy'] }], includeSynonyms: false });
    expect(cfg.resources[0]!.configEntries[0]!.configValue).toBe('compact');
  });

  it('after a restart (and even with a new consumer group replaying every record) the ledger is restored from the changelog and nothing is sent again', async () => {
    const N = 60;
    await producer.send(Array.from({ length: N }, (_, i) => ({ topic: 'notification.rendered' as const, key: `REG-${i}`, value: rendered(i) })));
    const provider = new CountingProvider();
    const first = await start('dispatcher', provider);
    await waitFor(async () => dispatched.filter((e) => e.status === 'ACCEPTED').length === N, { what: `${N} accepted` });
    expect(provider.total).toBe(N);

    // Each ledger record sits on the partition of its input record.
    const ledgerPartitionOf = new Map<string, number>();
    const renderedPartitionOf = new Map<string, number>();
    for (const [topic, into] of [['dispatch.ledger', ledgerPartitionOf], ['notification.rendered', renderedPartitionOf]] as const) {
      const c = kafka.consumer({ groupId: uniq(`${prefix}check-`), maxWaitTimeInMs: 100 });
      await c.connect(); await c.subscribe({ topic: codec.topic(topic), fromBeginning: true });
      await c.run({ eachMessage: async ({ partition, message }) => { into.set((await codec.decode(topic, message.value!)).notificationId, partition); } });
      await waitFor(async () => into.size === N, { what: `${topic} read` });
      await c.disconnect();
    }
    expect(ledgerPartitionOf).toEqual(renderedPartitionOf);
    expect(new Set(renderedPartitionOf.values()).size).toBe(3);
    await stop(first);

    // Restart in the same group: nothing left to consume. A new group replays all N.
    const restores: RestoreStats[] = [];
    const again = new CountingProvider();
    const replay = await start('dispatcher-rebuild', again, restores);
    await waitFor(async () => dispatched.filter((e) => e.status === 'ACCEPTED').length === 2 * N, { what: 'every outcome emitted again' });
    expect(again.total).toBe(0);
    expect(restores.reduce((n, s) => n + s.records, 0)).toBe(2 * N); // SENDING + ACCEPTED per notification (not compacted yet)
    expect(replay.ledger.size()).toBe(N);
    // The re-emitted outcomes are the same events (same ids).
    const ids = dispatched.filter((e) => e.status === 'ACCEPTED').map((e) => e.eventId);
    expect(new Set(ids).size).toBe(N);
    await stop(replay);
  });

  it('a restore reads only the partitions asked for, up to the end offsets given', async () => {
    const reader = kafkaChangelog({ kafka, admin, codec, readerGroup: () => uniq(`${prefix}reader-`) });
    const ends = await reader.endOffsets([0, 1, 2]);
    expect([...ends.values()].every((e) => e > 0n)).toBe(true);
    const seen: number[] = [];
    const n = await reader.read([1], new Map([[1, ends.get(1)! - 1n]]), (p) => { seen.push(p); });
    expect(n).toBe(Number(ends.get(1)!) - 1);
    expect(new Set(seen)).toEqual(new Set([1]));
  });

  it('a claim without an outcome in the changelog (a process killed mid-call) is reported IN_DOUBT after the restart and never sent', async () => {
    const n = rendered(1000);
    // What a killed process left: the claim on the ledger partition of the rendered record (partition 1 here).
    const claim = dispatchRecord(n, 'SENDING', 1, 'meta', Date.now());
    await producer.send([
      { topic: 'dispatch.ledger', key: n.notificationId, value: claim, partition: 1 },
      { topic: 'notification.rendered', key: n.pendaftaran_id, value: n, partition: 1 },
    ]);
    const provider = new CountingProvider();
    const d = await start('dispatcher', provider);
    await waitFor(async () => dispatched.find((e) => e.notificationId === n.notificationId && e.status === 'IN_DOUBT'), { what: 'IN_DOUBT' });
    expect(provider.total).toBe(0);
    await stop(d);
  });
});
