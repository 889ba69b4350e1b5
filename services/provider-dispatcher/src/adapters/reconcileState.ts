import type { Admin, Kafka } from 'kafkajs';
import { TransientError, errorMessage } from '@sicantik/core';
import { followTopic } from '@sicantik/kafka';
import type { Logger } from '@sicantik/observability';
import type { SchemaCodec } from '@sicantik/schemas';
import type { Entry } from '../domain/reconcile';
import { Mutex } from './ledgerPartitions';

////////// The reconciler's entries for the partitions this instance owns, in memory
// Partition p of dispatch.reconcile holds the entries of the messages whose
// delivery.status records are on partition p (written with that partition number). On
// an assignment the partitions no longer owned are dropped and the new ones restored
// from the changelog (read from the beginning to its end then; compacted, so one record
// per message). Every use of a partition runs under its lock, after its restore.

/** Reads partitions of dispatch.reconcile from the beginning to their end offsets now. */
export function reconcileChangelog(o: { kafka: Kafka; admin: Admin; codec: SchemaCodec; readerGroup: () => string }) {
  return async (partitions: number[], onEntry: (partition: number, e: Entry) => void): Promise<number> => {
    const followed = await followTopic({
      kafka: o.kafka, admin: o.admin, codec: o.codec, topic: 'dispatch.reconcile', partitions, groupId: o.readerGroup(),
      onMessage: (e, { partition }) => onEntry(partition, e),
    });
    return followed.records;
  };
}

export class ReconcilePartitions {
  private readonly parts = new Map<number, Map<string, Entry>>();
  private readonly locks = new Map<number, Mutex>();
  private owned = new Set<number>();
  /** Partitions being restored now (readiness). */
  restoring = 0;

  constructor(private readonly o: {
    read: (partitions: number[], onEntry: (partition: number, e: Entry) => void) => Promise<number>;
    /** Entries to keep when restored (expired ones are left out). */
    keep: (e: Entry) => boolean;
    logger: Logger;
  }) {}

  /** The partitions owned after a rebalance; queues drops and restores on the partitions' locks at once. */
  assign(partitions: number[]): void {
    const next = new Set(partitions);
    for (const p of this.owned) if (!next.has(p)) void this.lock(p).then((release) => { this.parts.delete(p); release(); });
    const added = partitions.filter((p) => !this.owned.has(p)).sort((a, b) => a - b);
    this.owned = next;
    if (added.length === 0) return;
    const held = added.map((p) => this.lock(p));
    this.restoring += added.length;
    void (async () => {
      const releases = await Promise.all(held);
      try {
        await this.restore(added);
      } catch (e) {
        this.o.logger.warn({ partitions: added, err: errorMessage(e) }, 'reconciler restore failed; retried at its first use');
      } finally {
        this.restoring -= added.length;
        for (const r of releases) r();
      }
    })();
  }

  ownedPartitions(): number[] { return [...this.owned].sort((a, b) => a - b); }

  /**
   * Runs fn with partition p's entries under its lock (restored first if need be),
   * heartbeating while it waits for the lock; undefined without running it when p is not
   * owned (any more), unless `claim`.
   */
  async with<T>(p: number, fn: (entries: Map<string, Entry>) => Promise<T>, o: { heartbeat?: () => Promise<void>; claim?: boolean } = {}): Promise<T | undefined> {
    const { heartbeat } = o;
    const timer = heartbeat ? setInterval(() => { heartbeat().catch(() => undefined); }, 3000) : undefined;
    let release: () => void;
    try { release = await this.lock(p); } finally { if (timer) clearInterval(timer); }
    try {
      // claim: the consumer handed this instance a batch of p, so it owns p (until the next assignment says otherwise).
      if (o.claim) this.owned.add(p);
      if (!this.owned.has(p)) return undefined;
      if (!this.parts.has(p)) await this.restore([p]);
      return await fn(this.parts.get(p)!);
    } finally {
      release();
    }
  }

  /** Entries in memory (metrics, tests). */
  entries(): Entry[] { return [...this.parts.values()].flatMap((m) => [...m.values()]); }

  private async restore(partitions: number[]): Promise<void> {
    const started = Date.now();
    const fresh = new Map(partitions.map((p) => [p, new Map<string, Entry>()]));
    let records: number;
    try {
      records = await this.o.read(partitions, (p, e) => {
        const m = fresh.get(p);
        if (!m) return;
        // Keyed by the message's ref (the reconciler's read puts it on entries written before it).
        const key = e.providerMessageRef ?? e.providerMessageId;
        if (this.o.keep(e)) m.set(key, e);
        else m.delete(key);
      });
    } catch (e) {
      throw new TransientError(`reconciler restore of partitions ${partitions.join(',')}: ${errorMessage(e)}`, e);
    }
    for (const [p, m] of fresh) this.parts.set(p, m);
    const entries = [...fresh.values()].reduce((n, m) => n + m.size, 0);
    this.o.logger.info({ partitions, records, entries, ms: Date.now() - started }, 'reconciler state restored from dispatch.reconcile');
  }

  private lock(p: number): Promise<() => void> {
    let m = this.locks.get(p);
    if (!m) { m = new Mutex(); this.locks.set(p, m); }
    return m.lock();
  }
}
