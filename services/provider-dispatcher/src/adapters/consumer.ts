import type { Admin, Kafka } from 'kafkajs';
import { maskPhone } from '@sicantik/core';
import { coPartitionedAssigner, runBatchConsumer, untilAvailable, type BatchOutcome, type KafkaDeps, type RecordBatch, type RunningBatchConsumer } from '@sicantik/kafka';
import type { Logger, Metrics } from '@sicantik/observability';
import { DISPATCH_RETRY_TOPICS, type DispatchRetryScheduled, type DispatchRetryTopic, type NotificationRendered, type SchemaCodec, type TopicName } from '@sicantik/schemas';
import { PROVIDER_NAMES, type ProviderName } from '@sicantik/providers';
import { ContactBook } from '../domain/contacts';
import { decide, initialState, type ContactChange, type DispatchResult } from '../domain/decide';
import type { OptInLink } from '../domain/outbound';
import { Pacer, type Rates } from '../domain/pacing';
import type { RetryPolicy } from '../domain/retry';
import type { RoutingPolicy } from '../domain/routing';
import { runBatch, type ExecutorIO, type Sender } from './batchExecutor';
import { withMessageRefs, type MessageRefFn } from './messageRefs';
import { startHolds } from './holds';
import { kafkaChangelog } from './kafkaChangelog';
import { LedgerPartitions, type RestoreStats } from './ledgerPartitions';

////////// The dispatcher's consumer: batch-first, co-partitioned, ledger in memory and on dispatch.ledger
// One consumer group reads notification.rendered and the retry topics; partition p of
// each goes to the same instance (co-partitioned assignor), which owns partition p of
// the ledger. Batches of one partition, from whichever topic, run one at a time under
// the partition's lock. A batch that has to wait (a pacing token, a retry's time, an
// open circuit) defers its partition through the consumer loop: no handler waits.
// What a batch does is the core's (domain/decide.ts), run by the executor (batchExecutor.ts).
// The opt-in state is the core's too: every change from the contact feed goes through its
// `contact` input; the feed is caught up before the consumer starts, then followed.

export const DISPATCHER_TOPICS: readonly TopicName[] = ['notification.rendered', ...DISPATCH_RETRY_TOPICS];
export const DISPATCHER_OUTPUTS: readonly TopicName[] = ['notification.dispatch', 'dispatch.ledger', 'dispatch.dead-letter', 'contact.events'];

/**
 * The opt-in changes (contact.events) from the first on: hands each to `apply`, resolves
 * once caught up with the topic, and goes on following until stopped.
 */
export type ContactFeed = (apply: (change: ContactChange) => void) => Promise<{ stop(): Promise<void> }>;

interface DispatcherOptions extends KafkaDeps {
  sender: Sender;
  /** The reference of a provider message id, written as providerMessageRef on dispatch records (messageRefs.ts). */
  messageRef: MessageRefFn;
  routing: RoutingPolicy;
  /** The opt-in changes, each applied through the core's `contact` input; caught up before the first batch. */
  contactChanges: ContactFeed;
  pacing: { rates: Rates; pairRates: Rates; quotas: ReadonlyMap<ProviderName, number> };
  retry: RetryPolicy;
  quotaExhausted?: 'fallback' | 'wait';
  inDoubtPolicy?: 'hold' | 'lookup';
  lookupDelayMs?: number;
  optInLink?: OptInLink | undefined;
  /** A HELD notification is dropped this long after it was held (default 30 days); held ones are swept every `holdSweepMs` (default 60 s). */
  holdExpiresAfterMs?: number;
  holdSweepMs?: number;
  /** A partition waiting for a later time is read again after at most this long (default 60 s): waits survive a moved test clock. */
  maxPauseMs?: number;
  groupId: string;
  /** Names the throw-away groups that read the changelog (unique per process). */
  readerGroupPrefix: string;
  /** Provider calls in flight per batch (default 16). */
  sendConcurrency?: number;
  maxBatch?: number;
  /** Topic-partitions handled at once (default 4). */
  partitionConcurrency?: number;
  /** Longest fetch wait (default 250 ms): how soon a deferred partition is read again after its time. */
  maxWaitMs?: number;
  now?: () => number;
  onRestore?(s: RestoreStats): void;
}

export interface RunningDispatcher {
  ledger: LedgerPartitions;
  pacer: Pacer;
  /** A number's opt-in state, as routing sees it now. */
  contact: ContactBook['of'];
  consumer: RunningBatchConsumer;
  /** Partitions of notification.rendered, and the ones this instance owns now. */
  partitions: { total: number; owned(): number[] };
  stop(): Promise<void>;
}

export async function startDispatcher(o: DispatcherOptions): Promise<RunningDispatcher> {
  const { logger, metrics, producer } = o;
  const now = o.now ?? Date.now;
  const rendered = o.codec.topic('notification.rendered');
  const total = await checkCoPartitioned(o.admin, rendered, [o.codec.topic('dispatch.ledger'), ...DISPATCH_RETRY_TOPICS.map((t) => o.codec.topic(t))]);
  const outcomes = new metrics.client.Counter({ name: 'sicantik_dispatch_outcomes_total', help: 'Dispatch outcomes by provider and status', labelNames: ['provider', 'status'], registers: [metrics.registry] });
  const routes = new metrics.client.Counter({ name: 'sicantik_dispatch_routes_total', help: 'Routing decisions recorded, by reason', labelNames: ['reason'], registers: [metrics.registry] });
  const waits = new metrics.client.Counter({ name: 'sicantik_dispatch_deferrals_total', help: 'Partitions deferred (pacing, retry time, open circuit), by topic', labelNames: ['topic'], registers: [metrics.registry] });
  const restores = new metrics.client.Histogram({ name: 'sicantik_dispatch_ledger_restore_seconds', help: 'Ledger restores from dispatch.ledger, by reason', labelNames: ['reason'], buckets: [0.05, 0.1, 0.5, 1, 5, 15, 60, 300], registers: [metrics.registry] });
  let readers = 0;
  const ledger = new LedgerPartitions(
    kafkaChangelog({ kafka: o.kafka, admin: o.admin, codec: o.codec, readerGroup: () => `${o.readerGroupPrefix}-${Date.now()}-${readers++}` }),
    logger,
    (s) => { restores.observe({ reason: s.reason }, s.ms / 1000); o.onRestore?.(s); },
  );
  new metrics.client.Gauge({ name: 'sicantik_dispatch_held', help: 'HELD notifications (waiting for an opt-in) of the partitions this instance owns', registers: [metrics.registry], collect() { let n = 0; for (const l of ledger.loaded().values()) n += l.held.size; this.set(n); } });
  new metrics.client.Gauge({ name: 'sicantik_dispatch_ledger_entries', help: 'Ledger entries in memory (the partitions this instance owns)', registers: [metrics.registry], collect() { this.set(ledger.size()); } });
  const pacer = new Pacer({ ...o.pacing, partitions: total });
  const contacts = new ContactBook();
  const state = initialState({
    routing: o.routing, retry: o.retry, quotaExhausted: o.quotaExhausted ?? 'fallback', inDoubtPolicy: o.inDoubtPolicy ?? 'hold', lookupDelayMs: o.lookupDelayMs ?? 60_000,
    lookupProviders: new Set(PROVIDER_NAMES.filter((p) => o.sender.canLookup?.(p))), optInLink: o.optInLink, sendRules: [], holdExpiresAfterMs: o.holdExpiresAfterMs ?? 30 * 86_400_000,
  }, pacer, contacts);
  const io: ExecutorIO = { sender: o.sender, now, concurrency: o.sendConcurrency ?? 16, produce: (messages) => producer.send(withMessageRefs(messages, o.messageRef)) };
  const report = (topic: string, results: DispatchResult[], phones: ReadonlyMap<string, string>) => {
    for (const x of results) {
      if (x.status.startsWith('SKIPPED_') || x.status === 'WAITING' || x.reemitted) continue;
      outcomes.inc({ provider: x.provider ?? 'none', status: x.status });
      if (x.routeReason) routes.inc({ reason: x.routeReason });
    }
    if (!logger.isLevelEnabled('info')) return;
    for (const x of results) {
      if (x.status.startsWith('SKIPPED_') || x.status === 'WAITING') continue;
      if (x.reemitted) logger.info({ notificationId: x.notificationId, status: x.status, provider: x.provider, reemitted: true, topic }, 'dispatch outcome re-emitted from the ledger (recorded before; nothing sent)');
      else logger.info({ notificationId: x.notificationId, to: maskPhone(phones.get(x.notificationId)), status: x.status, provider: x.provider, route: x.routeReason, sent: x.sent, topic }, 'dispatch recorded');
    }
  };
  const holds = startHolds({ state, io, ledger, logger, sweepMs: o.holdSweepMs ?? 60_000, report: (results, phones) => report('held', results, phones) });
  let changes = 0;
  const feed = await o.contactChanges((change) => { changes++; decide(state, { kind: 'contact', change }); holds.release(change); });
  logger.info({ contacts: contacts.size, records: changes }, 'opt-in state read from contact.events');

  type Batch = { kind: 'rendered'; notifications: NotificationRendered[] } | { kind: 'retries'; records: DispatchRetryScheduled[] };
  const handle = async (topic: string, partition: number, batch: Batch, heartbeat: () => Promise<void>): Promise<BatchOutcome | void> => {
    const r = await ledger.withPartition(partition, heartbeat, (l) => {
      const at = now();
      const seen = { partition, ledger: l, at, openCircuits: o.sender.openCircuits(at) };
      return runBatch(state, io, batch.kind === 'rendered' ? { ...seen, ...batch } : { ...seen, ...batch });
    });
    const notifications = batch.kind === 'rendered' ? batch.notifications : batch.records.map((x) => x.notification);
    report(topic, r.results, new Map(notifications.map((n) => [n.notificationId, n.recipient.phone])));
    if (!r.defer) return undefined;
    waits.inc({ topic });
    logger.debug({ topic, partition, from: r.defer.from, of: notifications.length, until: new Date(r.defer.until).toISOString() }, 'partition deferred');
    // The consumer pauses by the system clock: the wait in this process's time, at most maxPauseMs (the clock may move: tests).
    return { defer: { from: r.defer.from, until: Date.now() + Math.min(Math.max(0, r.defer.until - now()), o.maxPauseMs ?? 60_000) } };
  };
  const retryHandler = (topic: DispatchRetryTopic) => async (b: RecordBatch<DispatchRetryTopic>) =>
    handle(topic, b.partition, { kind: 'retries', records: b.records.map((r) => r.value) }, b.heartbeat);

  const consumer = await runBatchConsumer({
    kafka: o.kafka, codec: o.codec, groupId: o.groupId, producer, logger, metrics,
    ...(o.maxBatch ? { maxBatch: o.maxBatch } : {}),
    concurrency: o.partitionConcurrency ?? 4,
    maxWaitMs: o.maxWaitMs ?? 250,
    partitionAssigners: [coPartitionedAssigner],
    onAssignment: (assignment) => {
      decide(state, { kind: 'assigned', owned: assignment[rendered] ?? [] });
      logger.info({ partitions: state.owned, of: total }, 'partitions assigned');
      ledger.assign([...state.owned]);
    },
    handlers: {
      'notification.rendered': async (b) => handle('notification.rendered', b.partition, { kind: 'rendered', notifications: b.records.map((r) => r.value) }, b.heartbeat),
      'dispatch.retry.1': retryHandler('dispatch.retry.1'),
      'dispatch.retry.2': retryHandler('dispatch.retry.2'),
      'dispatch.retry.3': retryHandler('dispatch.retry.3'),
    },
  }).catch(async (e: unknown) => { await feed.stop(); throw e; });
  return {
    ledger, pacer, consumer, contact: (phone) => contacts.of(phone), partitions: { total, owned: () => [...state.owned] },
    stop: async () => { holds.stop(); await consumer.stop(); await feed.stop(); },
  };
}

/** The ledger and retry topics (the reconciler's too) must have the input's partition count: partition p of each belongs to partition p of the input. */
export async function checkCoPartitioned(admin: Admin, input: string, others: string[]): Promise<number> {
  const meta = await untilAvailable(() => admin.fetchTopicMetadata({ topics: [input, ...others] }));
  const count = (t: string) => meta.topics.find((x) => x.name === t)?.partitions.length ?? 0;
  for (const t of others) {
    if (count(input) !== count(t)) throw new Error(`${t} has ${count(t)} partitions and ${input} ${count(input)}: it must be co-partitioned with its input`);
  }
  return count(input);
}
