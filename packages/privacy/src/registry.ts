import { randomUUID } from 'node:crypto';
import { Partitioners, type Admin, type Kafka, type Producer } from 'kafkajs';
import { groupCommit, TransientError } from '@sicantik/core';
import { followTopic, NUDGE_KEY, untilAvailable, type Followed } from '@sicantik/kafka';
import type { Logger } from '@sicantik/observability';
import type { SchemaCodec, SubjectIndexEntry, SubjectKey } from '@sicantik/schemas';
import { blindIndex, newDataKeyBytes, wrapKey } from './crypto';
import { waitForOffsets, type KeyRing } from './keyring';
import type { PrivacySettings } from './settings';

////////// Subject registry: phone number -> subject, one subject per number
// subject.index (compacted, keyed by the blind index, one partition per blind-index
// partition) is followed in memory. A number seen for the first time is allocated by the
// single writer of its blind index's partition: a transactional producer whose
// transactional.id is `<prefix>subject-allocator-<partition>`, the same in every instance.
//   1. The first transaction of a new producer initialises it (InitProducerId), which fences
//      every other producer of that id: from then on their writes and commits fail, and
//      their unfinished transaction is aborted.
//   2. Then it reads the partition to its end (read_committed, after the fence: everything
//      any earlier writer committed), and only then decides: the number already has a
//      subject, or a new random subject id and data key are made: the wrapped key is
//      written (acknowledged by every replica) before the index entry's transaction.
//   Keys are written outside transactions, by a plain idempotent producer: a read_committed
//   reader reads no further than the first record of a transaction still open on a
//   partition, so keys written inside the allocators' transactions (one writer per index
//   partition, all writing to subject.keys) hid a key one allocator had committed behind
//   another's open transaction, and a key ring catching up then read a subject just made
//   as erased. With no transaction on subject.keys, its end offset is the end of what was
//   acknowledged, and a catch-up after a record that names a subject finds its key. A key
//   whose index transaction then fails names no one: the next attempt, once it has read
//   the partition, tombstones it unless the index names it after all (a commit that
//   succeeded unanswered). Should the process stop first, the key expires with its
//   retention like any key no fact refers to.
//   3. While no one fences it, this producer is the partition's only writer and its own
//      commits are applied to memory at once, so later decisions need no read. A producer
//      that was fenced fails at its next send or commit: it is dropped, and a new one goes
//      back to 1 (and reads what the other writer committed).
// So two instances allocating the same number at once give one subject: whichever commits
// second either was fenced (its commit fails; it re-reads and finds the first one's entry)
// or fenced the first one before reading (and so reads its commit, if it committed).
// Erasure goes through the same writer: the key's tombstone first (from then on the
// subject's data reads ERASED everywhere), then the index entry's in a transaction. Should
// the second step never happen, the entry names an erased subject: an allocation then
// makes a new subject for the number, as after a whole erasure.

export interface SubjectRegistryOptions {
  kafka: Kafka;
  admin: Admin;
  codec: SchemaCodec;
  ring: KeyRing;
  settings: PrivacySettings;
  /** TOPIC_PREFIX: the allocators' transactional ids are `<prefix>subject-allocator-<partition>`. */
  topicPrefix: string;
  /** Unique per reader, e.g. `<prefix>subjects-<service>-<instance>-<pid>-<time>`. */
  groupId: string;
  now?: () => number;
  newSubjectId?: () => string;
  logger?: Logger;
  catchUpTimeoutMs?: number;
}

/**
 * `erased`: the subject an erasure found on an earlier attempt (whose commit may have succeeded unanswered).
 * `subjectId` (erasure of one subject, key expiry): erase only that subject; with no index entry (blindIndex ''), its key alone.
 */
type Op = {
  kind: 'allocate' | 'erase'; blindIndex: string; erased?: string; subjectId?: string;
  /** Erasure by subject id (key expiry): not carried out when the entry was seen after this time; `kept` says so. */
  notSeenSince?: number; kept?: boolean;
};

/**
 * An entry handed out from memory must have been seen (written with lastSeenAt) within this
 * time; else the number's writer writes the entry again with lastSeenAt = now before handing
 * it out. The key-expiry job's erasure goes through the same writer and keeps a subject seen
 * within the retention period, so a subject handed out just before its expiry keeps its key.
 */
export const TOUCH_AFTER_MS = 24 * 3600_000;

const partitioner = Partitioners.DefaultPartitioner();

export class SubjectRegistry {
  private readonly index = new Map<string, string>();
  /** By blind index: the entry's createdAt and when it was last seen (lastSeenAt, else createdAt). */
  private readonly seen = new Map<string, { createdAt: number; at: number }>();
  private readonly applied = new Map<number, bigint>();
  private waiters: (() => void)[] = [];
  private followed: Followed | null = null;
  private partitions = 0;
  private readonly allocators = new Map<number, Allocator>();
  private readonly inflight = new Map<string, Promise<string>>();
  private keysProducer: Promise<Producer> | null = null;
  /** Allocations and erasures this instance committed; transactions it retried (fenced by another writer, or a broker error). */
  readonly stats = { allocated: 0, erased: 0, retried: 0 };

  private constructor(readonly o: SubjectRegistryOptions) {}

  static async start(o: SubjectRegistryOptions): Promise<SubjectRegistry> {
    const r = new SubjectRegistry(o);
    const topic = o.codec.topic('subject.index');
    r.partitions = (await untilAvailable(() => o.admin.fetchTopicOffsets(topic))).length;
    r.followed = await followTopic({
      kafka: o.kafka, admin: o.admin, codec: o.codec, topic: 'subject.index', groupId: o.groupId, keepFollowing: true,
      onMessage: (v) => { r.index.set(v.blindIndex, v.subjectId); r.seen.set(v.blindIndex, { createdAt: v.createdAt, at: v.lastSeenAt ?? v.createdAt }); },
      onTombstone: (key) => { if (key && key !== NUDGE_KEY) { r.index.delete(key); r.seen.delete(key); } },
      onProgress: (p, offset) => r.progress(p, offset),
    });
    o.logger?.info({ subjects: r.index.size, partitions: r.partitions }, 'subject index loaded');
    return r;
  }

  /** The blind index of an E.164 number (keyed hash: the number is not stored). */
  blindIndexOf(e164: string): string { return blindIndex(this.o.settings.indexKey, e164); }

  /** The partition of subject.index a blind index belongs to (as the default partitioner places its key). */
  partitionOf(bi: string): number {
    return partitioner({ topic: this.o.codec.topic('subject.index'), partitionMetadata: Array.from({ length: this.partitions }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 })), message: { key: bi, value: null } });
  }

  /** The subject of a number from memory, without allocating (null: none known here). */
  lookup(e164: string): string | null { return this.index.get(this.blindIndexOf(e164)) ?? null; }

  /** The subject of an E.164 number: from memory, else the partition's writer finds or allocates it. */
  subjectFor(e164: string): Promise<string> {
    const bi = this.blindIndexOf(e164);
    const known = this.index.get(bi);
    // An entry whose key ring already read the erasure (the index's tombstone is on its way), or
    // not seen for a day (see TOUCH_AFTER_MS): ask the writer.
    if (known && this.o.ring.state(known) !== 'erased' && this.now() - (this.seen.get(bi)?.at ?? 0) < TOUCH_AFTER_MS) return Promise.resolve(known);
    let p = this.inflight.get(bi);
    if (!p) {
      p = this.allocator(this.partitionOf(bi)).run({ kind: 'allocate', blindIndex: bi }).then((s) => s!).finally(() => this.inflight.delete(bi));
      this.inflight.set(bi, p);
    }
    return p;
  }

  /**
   * Erases the number's subject: tombstones its key (subject.keys) and its index entry
   * (subject.index). Returns the erased subject id, or null when the number has none.
   * The next subjectFor() of the number allocates a new subject.
   */
  async erase(e164: string): Promise<string | null> {
    const bi = this.blindIndexOf(e164);
    return this.allocator(this.partitionOf(bi)).run({ kind: 'erase', blindIndex: bi });
  }

  /**
   * Erases subjects by their id (the key-expiry job): each one's blind-index entry, found
   * in memory (one scan for all), and its key, through the writer of the entry's partition,
   * only while the entry still names that subject; a subject without an entry has its key
   * tombstoned alone. With `notSeenSince`, a subject whose entry was seen after that time
   * (handed out again: see TOUCH_AFTER_MS) is KEPT. For each: ERASED (tombstones written),
   * KEPT, or GONE (erased already).
   */
  async eraseSubjects(subjectIds: readonly string[], o: { notSeenSince?: number } = {}): Promise<('ERASED' | 'KEPT' | 'GONE')[]> {
    const wanted = new Set(subjectIds);
    const find = () => { const m = new Map<string, string>(); for (const [b, s] of this.index) if (wanted.has(s)) m.set(s, b); return m; };
    let found = find();
    // Some not in memory: read every partition to its end before concluding that they have no entry.
    if (found.size < wanted.size) { await Promise.all(Array.from({ length: this.partitions }, (_, p) => this.readPartitionToEnd(p))); found = find(); }
    return Promise.all(subjectIds.map(async (subjectId) => {
      const bi = found.get(subjectId) ?? '';
      const op: Op = { kind: 'erase', blindIndex: bi, subjectId, notSeenSince: o.notSeenSince };
      const r = await this.allocator(this.partitionOf(bi || subjectId)).run(op);
      return op.kept ? 'KEPT' : r === subjectId ? 'ERASED' : 'GONE';
    }));
  }

  /** When each of `subjectIds` was last seen (its index entry's lastSeenAt, else createdAt), from memory (one scan); absent: no entry. */
  lastSeen(subjectIds: Iterable<string>): Map<string, number> {
    const wanted = new Set(subjectIds);
    const out = new Map<string, number>();
    if (wanted.size === 0) return out;
    for (const [bi, s] of this.index) if (wanted.has(s)) out.set(s, this.seen.get(bi)?.at ?? 0);
    return out;
  }

  async stop(): Promise<void> {
    const f = this.followed;
    this.followed = null;
    for (const a of this.allocators.values()) await a.close();
    this.allocators.clear();
    const kp = this.keysProducer;
    this.keysProducer = null;
    if (kp) await kp.then((p) => p.disconnect()).catch(() => undefined);
    if (f) await f.stop();
  }

  // For the allocators.
  /** @internal */ current(bi: string): string | undefined { return this.index.get(bi); }
  /** @internal */ seenOf(bi: string): { createdAt: number; at: number } | undefined { return this.seen.get(bi); }
  /** @internal */ now(): number { return this.o.now?.() ?? Date.now(); }
  /** @internal */ applyLocal(bi: string, subjectId: string | null, seen?: { createdAt: number; at: number }): void {
    if (subjectId) { this.index.set(bi, subjectId); if (seen) this.seen.set(bi, seen); } else { this.index.delete(bi); this.seen.delete(bi); }
  }
  /** @internal Writes records to subject.keys outside any transaction (see the top of this file), acknowledged by every replica. */
  async writeKeys(messages: { key: string; value: Buffer | null }[]): Promise<void> {
    if (!this.keysProducer) {
      const p = this.o.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      this.keysProducer = p.connect().then(() => p);
      this.keysProducer.catch(() => { this.keysProducer = null; });
    }
    const producer = await this.keysProducer;
    await producer.send({ topic: this.o.codec.topic('subject.keys'), acks: -1, messages });
  }
  /** @internal Reads one partition of subject.index to its current (last stable) end. */
  async readPartitionToEnd(partition: number): Promise<void> {
    const ends = (await untilAvailable(() => this.o.admin.fetchTopicOffsets(this.o.codec.topic('subject.index')))).filter((e) => e.partition === partition);
    await waitForOffsets(ends, this.applied, (w) => this.waiters.push(w), this.o.catchUpTimeoutMs ?? 30_000, `subject.index partition ${partition}`);
  }

  private allocator(partition: number): Allocator {
    let a = this.allocators.get(partition);
    if (!a) { a = new Allocator(this, partition); this.allocators.set(partition, a); }
    return a;
  }

  private progress(partition: number, offset: string): void {
    this.applied.set(partition, BigInt(offset));
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** The single writer of one subject.index partition (in this instance; fencing makes it one across instances). */
class Allocator {
  private producer: Producer | null = null;
  private fresh = true;
  /** Subjects whose keys a failed attempt wrote: tombstoned by the next attempt, after its read, unless the index names them (a commit that succeeded unanswered). */
  private orphans: string[] = [];
  readonly run: (op: Op) => Promise<string | null>;

  constructor(private readonly r: SubjectRegistry, private readonly partition: number) {
    // Operations arriving while a transaction runs go together into the next one.
    this.run = groupCommit((ops: Op[]) => this.transact(ops));
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = null;
    if (p) await p.disconnect().catch(() => undefined);
  }

  private async transact(ops: Op[]): Promise<(string | null)[]> {
    const o = this.r.o;
    for (let attempt = 0; ; attempt++) {
      let tx: Awaited<ReturnType<Producer['transaction']>> | undefined;
      let written: string[] = [];
      try {
        if (!this.producer) {
          this.producer = o.kafka.producer({ transactionalId: `${o.topicPrefix}subject-allocator-${this.partition}`, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, transactionTimeout: 30_000 });
          await this.producer.connect();
          this.fresh = true;
        }
        tx = await this.producer.transaction(); // a new producer's first one fences every other writer of this id
        // An erasure reads the partition to its end first even while this producer is the writer:
        // "this number has no subject" must not come from a memory a few milliseconds behind another
        // instance's allocation (an allocation may return an entry from memory: it is never wrong).
        // So does an allocation that finds an entry of an erased subject in memory.
        const stale = (op: Op) => op.kind === 'erase' || o.ring.state(this.r.current(op.blindIndex) ?? '') === 'erased';
        if (this.fresh || ops.some(stale)) { await this.r.readPartitionToEnd(this.partition); this.fresh = false; }
        if (this.orphans.length) {
          const named = this.r.lastSeen(this.orphans); // the ones some index entry names
          const gone = this.orphans.filter((id) => !named.has(id));
          if (gone.length) { await this.r.writeKeys(gone.map((id) => ({ key: id, value: null }))); for (const id of gone) o.ring.forget(id); }
          this.orphans = [];
        }
        const now = o.now?.() ?? Date.now();
        const results: (string | null)[] = [];
        const index: { key: string; value: Buffer | null; partition: number }[] = [];
        const keys: { key: string; value: Buffer | null }[] = [];
        const local: (() => void)[] = [];
        const decided = new Map<string, string | null>();
        for (const op of ops) {
          const found = decided.has(op.blindIndex) ? decided.get(op.blindIndex)! : (this.r.current(op.blindIndex) ?? null);
          // An entry whose key is erased (its index tombstone was never written): the number has no subject.
          const cur = found && o.ring.state(found) === 'erased' ? null : found;
          if (op.kind === 'allocate') {
            if (cur) {
              results.push(cur);
              const seen = this.r.seenOf(op.blindIndex);
              if (!decided.has(op.blindIndex) && now - (seen?.at ?? 0) >= TOUCH_AFTER_MS) {
                // Seen again after a pause: the entry is written again with lastSeenAt (in this transaction, before the subject is handed out).
                const createdAt = seen?.createdAt ?? now;
                const entry: SubjectIndexEntry = { blindIndex: op.blindIndex, subjectId: cur, createdAt, lastSeenAt: now };
                index.push({ key: op.blindIndex, value: o.codec.encode('subject.index', entry), partition: this.partition });
                local.push(() => this.r.applyLocal(op.blindIndex, cur, { createdAt, at: now }));
                decided.set(op.blindIndex, cur);
              }
              continue;
            }
            const subjectId = o.newSubjectId?.() ?? randomUUID();
            const raw = newDataKeyBytes();
            const master = o.settings.masterKeys[0]!;
            const keyRec: SubjectKey = { subjectId, wrappedKey: wrapKey(master, subjectId, raw), masterKeyId: master.id, createdAt: now };
            const entry: SubjectIndexEntry = { blindIndex: op.blindIndex, subjectId, createdAt: now, lastSeenAt: now };
            keys.push({ key: subjectId, value: o.codec.encode('subject.keys', keyRec) });
            index.push({ key: op.blindIndex, value: o.codec.encode('subject.index', entry), partition: this.partition });
            local.push(() => { o.ring.addLocal(keyRec, raw); this.r.applyLocal(op.blindIndex, subjectId, { createdAt: now, at: now }); this.r.stats.allocated++; });
            decided.set(op.blindIndex, subjectId);
            results.push(subjectId);
          } else if (op.subjectId && (!op.blindIndex || found !== op.subjectId)) {
            // One subject: its entry names another (or it has none): its key alone, unless erased already.
            const subjectId = op.subjectId;
            const gone = o.ring.state(subjectId) === 'erased';
            results.push(gone && op.erased !== subjectId ? null : subjectId);
            if (gone) continue;
            op.erased = subjectId;
            keys.push({ key: subjectId, value: null });
            local.push(() => { o.ring.forget(subjectId); this.r.stats.erased++; });
          } else if (op.subjectId && op.notSeenSince !== undefined && (this.r.seenOf(op.blindIndex)?.at ?? 0) > op.notSeenSince) {
            // Key expiry of a subject handed out again since (its entry was seen within the retention period): kept.
            op.kept = true;
            results.push(null);
          } else {
            // An entry naming an erased subject answers with that subject: the caller (an erasure
            // request retried after a stop between the two steps) still scrubs what it names.
            results.push(cur ?? op.erased ?? found ?? null);
            if (!cur) {
              // Only the index entry of an erased subject left: its tombstone completes the erasure.
              if (found) { index.push({ key: op.blindIndex, value: null, partition: this.partition }); local.push(() => this.r.applyLocal(op.blindIndex, null)); decided.set(op.blindIndex, null); }
              continue;
            }
            op.erased = cur;
            keys.push({ key: cur, value: null });
            index.push({ key: op.blindIndex, value: null, partition: this.partition });
            local.push(() => { o.ring.forget(cur); this.r.applyLocal(op.blindIndex, null); this.r.stats.erased++; });
            decided.set(op.blindIndex, null);
          }
        }
        if (index.length === 0 && keys.length === 0) { await tx.abort(); return results; }
        // The keys (or their tombstones) first, outside the transaction; then the index entries.
        if (keys.length) {
          written = keys.filter((k) => k.value !== null).map((k) => k.key);
          await this.r.writeKeys(keys);
        }
        if (index.length === 0) { await tx.abort(); for (const f of local) f(); return results; }
        await tx.sendBatch({ acks: -1, topicMessages: [{ topic: o.codec.topic('subject.index'), messages: index }] });
        await tx.commit();
        for (const f of local) f();
        return results;
      } catch (e) {
        // Fenced by another instance's writer, or the broker failed: drop this producer; a new one fences, re-reads and decides again.
        this.r.stats.retried++;
        this.orphans.push(...written);
        if (tx?.isActive()) await tx.abort().catch(() => undefined);
        await this.close();
        if (attempt >= 20) throw new TransientError(`subject allocation on subject.index partition ${this.partition} failed ${attempt + 1} times: ${(e as Error).message}`, e);
        o.logger?.warn({ partition: this.partition, attempt, err: (e as Error).message }, 'subject allocator lost its transaction; re-initialising');
        await new Promise((res) => setTimeout(res, 20 + Math.random() * 100 * Math.min(attempt + 1, 5)));
      }
    }
  }
}
