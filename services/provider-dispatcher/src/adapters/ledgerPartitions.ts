import { TransientError, errorMessage } from '@sicantik/core';
import type { Logger } from '@sicantik/observability';
import type { NotificationDispatchRecorded } from '@sicantik/schemas';
import { PartitionLedger } from '../domain/ledger';

////////// The ledger partitions this instance owns, in memory, restored from the changelog
// Partition p of dispatch.ledger holds the ledger of partition p of notification.rendered
// (the same partition number, written explicitly). On an assignment, the partitions
// this instance no longer owns are dropped and the new ones restored: read from the
// beginning to the end offset taken then (all new partitions by one reader). Every
// batch runs under its partition's lock, after checking that the changelog's end
// offset is where this instance's own writes left it; if another writer (an earlier
// owner, a second consumer group) wrote meanwhile, the partition is read again first.
// Restores and batches of one partition never overlap.

export interface ChangelogReader {
  /** End offsets (offset after the last record) of the changelog's partitions. */
  endOffsets(partitions: number[]): Promise<Map<number, bigint>>;
  /** Reads the partitions from their beginning up to `ends`, in order per partition. */
  read(partitions: number[], ends: Map<number, bigint>, onRecord: (partition: number, r: NotificationDispatchRecorded) => void): Promise<number>;
}

export interface RestoreStats { partitions: number[]; records: number; ms: number; reason: 'assigned' | 'not loaded' | 'written elsewhere' }

export class LedgerPartitions {
  private readonly parts = new Map<number, PartitionLedger>();
  private readonly locks = new Map<number, Mutex>();
  private owned = new Set<number>();
  /** Partitions being restored now (readiness). */
  restoring = 0;

  constructor(private readonly reader: ChangelogReader, private readonly logger: Logger, private readonly onRestore: (s: RestoreStats) => void = () => undefined) {}

  /**
   * Told the partitions of the input topic this instance owns after a rebalance. Runs
   * synchronously in the rebalance callback, before the first fetch, so its drops and
   * restores queue on the partitions' locks ahead of any batch of the new generation.
   */
  assign(partitions: number[]): void {
    const next = new Set(partitions);
    for (const p of this.owned) {
      if (next.has(p)) continue;
      void this.lock(p).then((release) => { this.parts.delete(p); release(); });
    }
    const added = partitions.filter((p) => !this.owned.has(p)).sort((a, b) => a - b);
    this.owned = next;
    if (added.length === 0) return;
    const releases = added.map((p) => this.lock(p));
    this.restoring += added.length;
    void (async () => {
      const held = await Promise.all(releases);
      try {
        await this.restore(added, 'assigned');
      } catch (e) {
        // Left unloaded: the partition's first batch restores it (and retries until it can).
        this.logger.warn({ partitions: added, err: errorMessage(e) }, 'ledger restore failed; retried by the first batch');
      } finally {
        this.restoring -= added.length;
        for (const release of held) release();
      }
    })();
  }

  /** Runs fn with partition p's ledger, up to date with the changelog, under p's lock. */
  async withPartition<T>(p: number, heartbeat: () => Promise<void>, fn: (ledger: PartitionLedger) => Promise<T>): Promise<T> {
    const release = await keepAlive(this.lock(p), heartbeat);
    try {
      let ledger = this.parts.get(p);
      if (!ledger) {
        await keepAlive(this.restore([p], 'not loaded'), heartbeat);
      } else {
        const end = await this.endOf(p);
        if (!ledger.upToDate(end)) await keepAlive(this.restore([p], 'written elsewhere'), heartbeat);
      }
      ledger = this.parts.get(p)!;
      return await fn(ledger);
    } finally {
      release();
    }
  }

  /**
   * The latest record of every notification in the whole changelog (every partition, up
   * to its end now), for operators: e.g. the in-doubt ones, whoever owns them.
   */
  async readAll(partitions: number): Promise<Map<string, NotificationDispatchRecorded>> {
    const all = Array.from({ length: partitions }, (_, p) => p);
    const ends = await this.reader.endOffsets(all);
    const latest = new Map<string, NotificationDispatchRecorded>();
    await this.reader.read(all, ends, (_p, r) => { if (r.status !== 'DUPLICATE_SUPPRESSED') latest.set(r.notificationId, r); });
    return latest;
  }

  /** Whether this instance owns partition p now (held releases run only there). */
  owns(p: number): boolean { return this.owned.has(p); }

  /** The ledgers of the partitions loaded now (read-only use: budgets, metrics). */
  loaded(): ReadonlyMap<number, PartitionLedger> { return this.parts; }

  /** Entries in memory (for metrics and tests). */
  size(): number { let n = 0; for (const l of this.parts.values()) n += l.entries.size; return n; }
  partitions(): number[] { return [...this.parts.keys()].sort((a, b) => a - b); }

  private async endOf(p: number): Promise<bigint> {
    const end = (await this.reader.endOffsets([p]).catch((e: unknown) => { throw new TransientError(`ledger end offset: ${errorMessage(e)}`, e); })).get(p);
    if (end === undefined) throw new TransientError(`ledger partition ${p} does not exist`);
    return end;
  }

  /** Reads partitions from the changelog into fresh ledgers; callers hold their locks. */
  private async restore(partitions: number[], reason: RestoreStats['reason']): Promise<void> {
    const started = Date.now();
    for (const p of partitions) this.parts.delete(p);
    let ends: Map<number, bigint>;
    const fresh = new Map(partitions.map((p) => [p, new PartitionLedger()]));
    let records = 0;
    try {
      ends = await this.reader.endOffsets(partitions);
      records = await this.reader.read(partitions, ends, (p, r) => fresh.get(p)?.restore(r));
    } catch (e) {
      throw new TransientError(`ledger restore of partitions ${partitions.join(',')}: ${errorMessage(e)}`, e);
    }
    for (const [p, ledger] of fresh) {
      ledger.synced(ends.get(p) ?? 0n);
      this.parts.set(p, ledger);
    }
    const stats: RestoreStats = { partitions, records, ms: Date.now() - started, reason };
    this.logger.info({ ...stats, entries: [...fresh.values()].reduce((n, l) => n + l.entries.size, 0) }, 'ledger restored from the changelog');
    this.onRestore(stats);
  }

  private lock(p: number): Promise<() => void> {
    let m = this.locks.get(p);
    if (!m) { m = new Mutex(); this.locks.set(p, m); }
    return m.lock();
  }
}

/** A FIFO lock: lock() queues at once (synchronously) and resolves with the release. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  lock(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const prev = this.tail;
    this.tail = prev.then(() => held);
    return prev.then(() => release);
  }
}

/** Awaits a promise, heartbeating the consumer group every 3 s meanwhile. */
async function keepAlive<T>(p: Promise<T>, heartbeat: () => Promise<void>): Promise<T> {
  const timer = setInterval(() => { heartbeat().catch(() => undefined); }, 3000);
  try { return await p; } finally { clearInterval(timer); }
}
