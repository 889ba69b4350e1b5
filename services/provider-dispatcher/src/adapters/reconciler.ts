import { errorMessage } from '@sicantik/core';
import { isErased } from '@sicantik/privacy';
import { coPartitionedAssigner, runBatchConsumer, type OutMessage, type RecordBatch } from '@sicantik/kafka';
import type { TopicName } from '@sicantik/schemas';
import { awaitingOf, caughtUpPartitions, decide, isDue, isExpired, type Decision, type Entry, type LookupAnswer, type ReconcileInput, type ReconcileSettings } from '../domain/reconcile';
import { pool } from './reconcileLookups';
import { ReconcilePartitions, reconcileChangelog } from './reconcileState';
import type { KafkaDeps } from '@sicantik/kafka';
import { checkCoPartitioned } from './consumer';
import type { MessageRefFn } from './messageRefs';

////////// Reconciliation at the edge (the rules: domain/reconcile.ts; how to run it: RECONCILE.md)
// Stage 1 (group <group>-accepted): every ACCEPTED record of notification.dispatch is
// re-keyed by its provider message ref (providerMessageRef, a keyed hash of the id; records
// without one: the ref of their plaintext id) onto dispatch.awaiting-report, then its offset
// committed. delivery.status is keyed by the same ref (the tracker's webhooks), so the two
// stay co-partitioned; the id itself is in the values only, encrypted with the subject key
// in dispatch.awaiting-report and dispatch.reconcile (needed for the status lookups).
// Stage 2 (group <group>, co-partitioned): delivery.status and dispatch.awaiting-report,
// partition p of both to one instance, with the entries of partition p of the
// dispatch.reconcile changelog. A batch's decisions are produced (changelog records,
// events) under the partition's lock before its memory changes and before its offset is
// committed. A timer looks at the due entries of the owned partitions: lookups run
// outside the lock, their answers are decided under it against the entry as it is then.

export const RECONCILER_TOPICS: readonly TopicName[] = ['notification.dispatch', 'delivery.status', 'dispatch.awaiting-report', 'dispatch.reconcile'];

interface ReconcilerOptions extends KafkaDeps {
  settings: ReconcileSettings;
  /** The reference of a provider message id (messageRefs.ts): the key of delivery.status, dispatch.awaiting-report and dispatch.reconcile. */
  messageRef: MessageRefFn;
  lookup(provider: string, providerMessageId: string): Promise<LookupAnswer>;
  groupId: string;
  readerGroupPrefix: string;
  /** How often due entries are looked for. */
  tickMs: number;
  /** Status lookups in flight at once (per instance). */
  lookupConcurrency: number;
  now(): number;
  maxWaitMs?: number;
}

interface RunningReconciler { state: ReconcilePartitions; stop(): Promise<void> }

export async function startReconciler(o: ReconcilerOptions): Promise<RunningReconciler> {
  const log = o.logger.child({ component: 'reconciler' });
  // A report and its acceptance meet only on the same partition number of each topic.
  await checkCoPartitioned(o.admin, o.codec.topic('delivery.status'), [o.codec.topic('dispatch.awaiting-report'), o.codec.topic('dispatch.reconcile')]);
  const outcomes = new o.metrics.client.Counter({ name: 'sicantik_reconcile_total', help: 'Accepted messages the reconciler resolved, by provider and outcome (reported, looked_up, sent_only, no_report)', labelNames: ['provider', 'outcome'], registers: [o.metrics.registry] });
  const lookups = new o.metrics.client.Counter({ name: 'sicantik_reconcile_lookups_total', help: 'Status lookups by the reconciler, by provider and answer', labelNames: ['provider', 'answer'], registers: [o.metrics.registry] });
  let readers = 0;
  /** A record with its providerMessageRef (records written before it: the ref of their plaintext id). */
  const withRef = <T extends { provider: string; providerMessageId: string; providerMessageRef?: string | null }>(v: T): T & { providerMessageRef: string } =>
    (v.providerMessageRef ? v : { ...v, providerMessageRef: o.messageRef(v.provider, v.providerMessageId) }) as T & { providerMessageRef: string };
  const readChangelog = reconcileChangelog({ kafka: o.kafka, admin: o.admin, codec: o.codec, readerGroup: () => `${o.readerGroupPrefix}-${Date.now()}-${readers++}` });
  const state = new ReconcilePartitions({
    read: (partitions, onEntry) => readChangelog(partitions, (p, e) => onEntry(p, e.providerMessageRef || isErased(e.providerMessageId) ? e : withRef(e))),
    keep: (e) => !isExpired(e, o.now(), o.settings), logger: log,
  });
  new o.metrics.client.Gauge({
    name: 'sicantik_reconcile_awaiting', help: 'Accepted messages awaiting a final status report (owned partitions)', registers: [o.metrics.registry],
    collect() { this.set(state.entries().filter((e) => e.acceptedAt !== null && e.outcome === null).length); },
  });

  /** Produces the decisions' changelog records and events, then applies them to memory. */
  const commit = async (p: number, entries: Map<string, Entry>, decided: Decision[]) => {
    const out: OutMessage<TopicName>[] = [];
    const latest = new Map<string, Entry>();
    for (const d of decided) {
      if (d.event) out.push({ topic: 'delivery.status', key: d.event.providerMessageRef ?? d.event.providerMessageId, value: d.event });
      if (d.changed && d.entry) latest.set(d.entry.providerMessageRef ?? d.entry.providerMessageId, d.entry);
    }
    for (const [id, e] of latest) out.push({ topic: 'dispatch.reconcile', key: id, value: e, partition: p });
    await o.producer.send(out);
    for (const [id, e] of latest) entries.set(id, e);
    for (const d of decided) {
      if (!d.outcome || !d.entry) continue;
      outcomes.inc({ provider: d.entry.provider, outcome: d.outcome });
      if (d.outcome !== 'reported') log.info({ provider: d.entry.provider, providerMessageRef: d.entry.providerMessageRef, notificationId: d.entry.notificationId, outcome: d.outcome, status: d.event?.status, lookups: d.entry.lookups }, 'reconciled');
    }
  };

  const rekey = await runBatchConsumer({
    kafka: o.kafka, codec: o.codec, groupId: `${o.groupId}-accepted`, producer: o.producer, logger: o.logger, metrics: o.metrics, maxWaitMs: o.maxWaitMs,
    handlers: {
      'notification.dispatch': async (b) => ({
        out: b.records.flatMap((r) => {
          const a = r.value.providerMessageId ? awaitingOf(r.value.providerMessageRef || isErased(r.value.providerMessageId) ? r.value : withRef({ ...r.value, providerMessageId: r.value.providerMessageId })) : undefined;
          return a ? [{ topic: 'dispatch.awaiting-report' as const, key: a.providerMessageRef ?? a.providerMessageId, value: a }] : [];
        }),
      }),
    },
  });

  const onBatch = async (b: RecordBatch<'delivery.status'> | RecordBatch<'dispatch.awaiting-report'>) => {
    await state.with(b.partition, async (entries) => {
      const now = o.now();
      const working = new Map<string, Entry | undefined>();
      const decided: Decision[] = [];
      for (const r of b.records) {
        const v = r.value.providerMessageRef || isErased(r.value.providerMessageId) ? r.value : withRef(r.value);
        const input: ReconcileInput = b.topic === 'delivery.status' ? { kind: 'report', record: v as never } : { kind: 'accepted', record: v as never };
        const id = v.providerMessageRef ?? v.providerMessageId;
        const d = decide(working.has(id) ? working.get(id) : entries.get(id), input, now, o.settings);
        working.set(id, d.entry);
        decided.push(d);
      }
      await commit(b.partition, entries, decided);
    }, { heartbeat: b.heartbeat, claim: true });
  };
  const reconcile = await runBatchConsumer({
    kafka: o.kafka, codec: o.codec, groupId: o.groupId, producer: o.producer, logger: o.logger, metrics: o.metrics, maxWaitMs: o.maxWaitMs,
    partitionAssigners: [coPartitionedAssigner],
    onAssignment: (a) => state.assign(a[o.codec.topic('delivery.status')] ?? []),
    handlers: { 'delivery.status': onBatch, 'dispatch.awaiting-report': onBatch },
  });

  const inFlight = new Set<string>();
  /** One look at partition p: due entries decided; their lookups made outside the lock; the answers decided under it. */
  const tickPartition = async (p: number) => {
    const asks: Entry[] = [];
    await state.with(p, async (entries) => {
      const now = o.now();
      const decided: Decision[] = [];
      for (const [id, e] of entries) {
        if (isExpired(e, now, o.settings)) { entries.delete(id); continue; }
        if (!isDue(e, now) || inFlight.has(id)) continue;
        const d = decide(e, { kind: 'tick' }, now, o.settings);
        if (d.lookup) { if (inFlight.size + asks.length < o.lookupConcurrency * 4) asks.push(e); } else decided.push(d);
      }
      if (decided.length) await commit(p, entries, decided);
    });
    const keyOf = (e: Entry) => e.providerMessageRef ?? e.providerMessageId;
    for (const e of asks) inFlight.add(keyOf(e));
    try {
      const answers = await pool(asks, o.lookupConcurrency, async (e) => {
        // An erased subject's id is gone: nothing to ask (concluded as without a status API).
        const a = isErased(e.providerMessageId) ? { kind: 'unsupported' as const }
          : await o.lookup(e.provider, e.providerMessageId).catch((err: unknown): LookupAnswer => ({ kind: 'error', reason: errorMessage(err) }));
        lookups.inc({ provider: e.provider, answer: a.kind === 'found' ? a.status : a.kind });
        return [keyOf(e), a] as const;
      });
      if (answers.length === 0) return;
      await state.with(p, async (entries) => {
        const now = o.now();
        const decided = answers.map(([id, answer]) => decide(entries.get(id), { kind: 'lookup', answer }, now, o.settings));
        await commit(p, entries, decided);
      });
    } finally {
      for (const e of asks) inFlight.delete(keyOf(e));
    }
  };

  // Only partitions whose delivery.status records written before the previous look have
  // all been read (committed) are looked at: a report still unread in the topic (a
  // consumer catching up after a restart or a first start) is not taken for a missing one.
  let endsBefore = new Map<number, bigint>();
  const caughtUp = async (): Promise<Set<number>> => {
    const topic = o.codec.topic('delivery.status');
    const [ends, committed] = await Promise.all([o.admin.fetchTopicOffsets(topic), o.admin.fetchOffsets({ groupId: o.groupId, topics: [topic] })]);
    const now = ends.map((e) => ({ partition: e.partition, low: BigInt(e.low), high: BigInt(e.high) }));
    const ready = caughtUpPartitions(endsBefore, now, new Map((committed[0]?.partitions ?? []).map((x) => [x.partition, BigInt(x.offset)])));
    endsBefore = new Map(now.map((e) => [e.partition, e.high]));
    return ready;
  };

  let stopping = false;
  let ticking: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (stopping || ticking) return; // a slow look is not overtaken by the next
    ticking = (async () => {
      const ready = await caughtUp();
      await Promise.all(state.ownedPartitions().filter((p) => ready.has(p)).map((p) => tickPartition(p).catch((e: unknown) => {
        log.warn({ partition: p, err: errorMessage(e) }, 'reconcile tick failed; tried again at the next');
      })));
    })().catch((e: unknown) => log.warn({ err: errorMessage(e) }, 'reconcile tick: offsets unavailable; tried again at the next')).then(() => { ticking = undefined; });
  }, o.tickMs);

  return {
    state,
    stop: async () => {
      stopping = true;
      clearInterval(timer);
      await ticking;
      await Promise.all([rekey.stop(), reconcile.stop()] satisfies Promise<void>[]);
    },
  };
}
