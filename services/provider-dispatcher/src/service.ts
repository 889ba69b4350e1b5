import type { Admin, Kafka } from 'kafkajs';
import { maskPhone, systemClock } from '@sicantik/core';
import { coPartitionedAssigner, runBatchConsumer, untilAvailable, type EventProducer, type RunningBatchConsumer } from '@sicantik/kafka';
import type { Logger, Metrics } from '@sicantik/observability';
import type { SchemaCodec } from '@sicantik/schemas';
import { kafkaChangelog } from './adapters/kafkaChangelog';
import type { Provider } from './domain/provider';
import { dispatchBatch } from './dispatch';
import { LedgerPartitions, type RestoreStats } from './ledgerPartitions';

////////// The dispatcher's consumer: batch-first, co-partitioned, ledger in memory and on dispatch.ledger

export interface DispatcherOptions {
  kafka: Kafka;
  admin: Admin;
  codec: SchemaCodec;
  producer: EventProducer;
  logger: Logger;
  metrics: Metrics;
  provider: Provider;
  groupId: string;
  /** Names the throw-away groups that read the changelog (unique per process). */
  readerGroupPrefix: string;
  maxAttempts: number;
  retryDelayMs: number;
  /** Provider calls in flight per batch (default 16). */
  sendConcurrency?: number;
  maxBatch?: number;
  onRestore?(s: RestoreStats): void;
}

export interface RunningDispatcher { ledger: LedgerPartitions; consumer: RunningBatchConsumer; stop(): Promise<void> }

export async function startDispatcher(o: DispatcherOptions): Promise<RunningDispatcher> {
  const { logger, metrics, provider, producer } = o;
  const rendered = o.codec.topic('notification.rendered');
  await checkCoPartitioned(o.admin, rendered, o.codec.topic('dispatch.ledger'));
  const outcomes = new metrics.client.Counter({ name: 'sicantik_dispatch_outcomes_total', help: 'Dispatch outcomes by provider and status', labelNames: ['provider', 'status'], registers: [metrics.registry] });
  const restores = new metrics.client.Histogram({ name: 'sicantik_dispatch_ledger_restore_seconds', help: 'Ledger restores from dispatch.ledger, by reason', labelNames: ['reason'], buckets: [0.05, 0.1, 0.5, 1, 5, 15, 60, 300], registers: [metrics.registry] });
  let readers = 0;
  const ledger = new LedgerPartitions(
    kafkaChangelog({ kafka: o.kafka, admin: o.admin, codec: o.codec, readerGroup: () => `${o.readerGroupPrefix}-${Date.now()}-${readers++}` }),
    logger,
    (s) => { restores.observe({ reason: s.reason }, s.ms / 1000); o.onRestore?.(s); },
  );
  new metrics.client.Gauge({ name: 'sicantik_dispatch_ledger_entries', help: 'Ledger entries in memory (the partitions this instance owns)', registers: [metrics.registry], collect() { this.set(ledger.size()); } });

  const consumer = await runBatchConsumer({
    kafka: o.kafka, codec: o.codec, groupId: o.groupId, producer, logger, metrics, ...(o.maxBatch ? { maxBatch: o.maxBatch } : {}),
    partitionAssigners: [coPartitionedAssigner],
    onAssignment: (assignment) => {
      const partitions = assignment[rendered] ?? [];
      logger.info({ partitions }, 'partitions assigned');
      ledger.assign(partitions);
    },
    handlers: {
      'notification.rendered': async ({ partition, records, heartbeat }) => {
        const results = await ledger.withPartition(partition, heartbeat, (l) => dispatchBatch(partition, records.map((r) => r.value), l, {
          provider, maxAttempts: o.maxAttempts, retryDelayMs: o.retryDelayMs, concurrency: o.sendConcurrency ?? 16,
          now: () => systemClock.now(),
          produce: (messages) => producer.send(messages),
          wait: async (ms) => {
            const until = Date.now() + ms;
            while (Date.now() < until) {
              await new Promise((r) => setTimeout(r, Math.min(3000, until - Date.now())));
              await heartbeat().catch(() => undefined);
            }
          },
        }));
        const byId = new Map(records.map((r) => [r.value.notificationId, r.value]));
        for (const r of results) {
          if (r.status === 'SKIPPED_NOT_RENDERED' || r.status === 'SKIPPED_REPEATED_IN_BATCH') continue;
          outcomes.inc({ provider: provider.name, status: r.status });
          logger.info({ notificationId: r.notificationId, to: maskPhone(byId.get(r.notificationId)?.recipient.phone), status: r.status, sent: r.sent }, 'dispatch recorded');
        }
      },
    },
  });
  return { ledger, consumer, stop: () => consumer.stop() };
}

/** The ledger must have the input's partition count: partition p of one is the state of partition p of the other. */
async function checkCoPartitioned(admin: Admin, input: string, changelog: string): Promise<void> {
  const meta = await untilAvailable(() => admin.fetchTopicMetadata({ topics: [input, changelog] }));
  const count = (t: string) => meta.topics.find((x) => x.name === t)?.partitions.length ?? 0;
  if (count(input) !== count(changelog)) {
    throw new Error(`${changelog} has ${count(changelog)} partitions and ${input} ${count(input)}: the ledger must be co-partitioned with its input`);
  }
}
