import type { Admin, Kafka } from 'kafkajs';
import { groupCommit, PermanentError, TransientError } from '@sicantik/core';
import { followTopic, NUDGE_KEY, untilAvailable, type Followed } from '@sicantik/kafka';
import type { Logger } from '@sicantik/observability';
import type { SchemaCodec, SubjectKey } from '@sicantik/schemas';
import { dataKeyOf, unwrapKey, type DataKey } from './crypto';
import type { MasterKey } from './settings';

////////// Key ring: every subject's data key, following subject.keys in memory
// Keys are kept wrapped and unwrapped on first use (then cached). keyOf() is synchronous;
// a miss means "not yet read" or "erased": catchUp() reads subject.keys to the end offsets
// it has when called, and a subject still unknown after that is erased (tombstoned, or
// compacted away after its tombstone). A record names a subject only after the subject's
// key was acknowledged (SubjectRegistry writes the key before the index entry, and outside
// any transaction, so no open transaction hides it from this read_committed reader: see
// registry.ts), so the catch-up that follows reading such a record always finds a live key.

export type SubjectState = 'live' | 'erased' | 'unknown';

/** How long resolve() waits for a missing subject's key to arrive before it reads subject.keys to its end. */
export const RESOLVE_GRACE_MS = 200;

interface Entry { wrapped: string; masterKeyId: string; createdAt: number; key?: DataKey }

export interface KeyRingOptions {
  kafka: Kafka;
  admin: Admin;
  codec: SchemaCodec;
  masterKeys: readonly MasterKey[];
  /** Unique per reader, e.g. `<prefix>keyring-<service>-<instance>-<pid>-<time>`. */
  groupId: string;
  logger?: Logger;
  /** How long catchUp() waits for the follower to reach the end offsets (default 30 s). */
  catchUpTimeoutMs?: number;
}

export class KeyRing {
  private readonly entries = new Map<string, Entry>();
  /** Tombstoned, or concluded erased after a catch-up: never live again (subject ids are never reused). */
  private readonly gone = new Set<string>();
  private readonly applied = new Map<number, bigint>();
  private waiters: (() => void)[] = [];
  /** resolve() callers waiting for a subject's key record to be applied. */
  private readonly awaited = new Map<string, (() => void)[]>();
  private followed: Followed | null = null;
  private readonly masters: Map<string, MasterKey>;
  /** Reads subject.keys to its end once per batch of concurrent callers. */
  readonly catchUp: () => Promise<void>;

  private constructor(private readonly o: KeyRingOptions) {
    this.masters = new Map(o.masterKeys.map((k) => [k.id, k]));
    const round = groupCommit(async (items: null[]) => { await this.readToEnd(); return items.map(() => undefined); });
    this.catchUp = () => round(null);
  }

  /** Reads subject.keys to its end, then keeps following it. Fails if a live key is wrapped by a master key not configured. */
  static async start(o: KeyRingOptions): Promise<KeyRing> {
    const ring = new KeyRing(o);
    ring.followed = await followTopic({
      kafka: o.kafka, admin: o.admin, codec: o.codec, topic: 'subject.keys', groupId: o.groupId, keepFollowing: true,
      onMessage: (v) => ring.apply(v),
      onTombstone: (key) => { if (key && key !== NUDGE_KEY) ring.forget(key); },
      onProgress: (p, offset) => ring.progress(p, offset),
    });
    const missing = new Set<string>();
    for (const e of ring.entries.values()) if (!ring.masters.has(e.masterKeyId)) missing.add(e.masterKeyId);
    if (missing.size) {
      await ring.stop();
      throw new PermanentError(`subject keys are wrapped by master key(s) ${[...missing].join(', ')}, not in PRIVACY_MASTER_KEYS (add it back after the current key, run \`sicantik-privacy rewrap\`, then remove it)`, 'MASTER_KEY_MISSING');
    }
    o.logger?.info({ subjects: ring.entries.size, erased: ring.gone.size }, 'key ring loaded');
    return ring;
  }

  /** A key record (from the topic, or written by this process). */
  apply(v: SubjectKey): void {
    if (this.gone.has(v.subjectId)) return;
    const prev = this.entries.get(v.subjectId);
    // A re-wrapped record of the same key keeps the unwrapped key.
    this.entries.set(v.subjectId, { wrapped: v.wrappedKey, masterKeyId: v.masterKeyId, createdAt: v.createdAt, key: prev?.key });
    const w = this.awaited.get(v.subjectId);
    if (w) { this.awaited.delete(v.subjectId); for (const f of w) f(); }
  }

  /** The subject was erased (a tombstone, or erase() in this process). */
  forget(subjectId: string): void {
    this.entries.delete(subjectId);
    this.gone.add(subjectId);
  }

  /** Adds a key this process created (allocation), with its raw bytes: no unwrap needed. */
  addLocal(v: SubjectKey, raw: Buffer): void {
    if (this.gone.has(v.subjectId)) return;
    this.entries.set(v.subjectId, { wrapped: v.wrappedKey, masterKeyId: v.masterKeyId, createdAt: v.createdAt, key: dataKeyOf(raw) });
  }

  /** The subject's data key; undefined when erased or not (yet) known: see state(). */
  keyOf(subjectId: string): DataKey | undefined {
    const e = this.entries.get(subjectId);
    if (!e) return undefined;
    if (!e.key) {
      const master = this.masters.get(e.masterKeyId);
      if (!master) throw new PermanentError(`subject key wrapped by master key ${e.masterKeyId}, not in PRIVACY_MASTER_KEYS`, 'MASTER_KEY_MISSING');
      e.key = dataKeyOf(unwrapKey(master, subjectId, e.wrapped));
    }
    return e.key;
  }

  state(subjectId: string): SubjectState {
    if (this.entries.has(subjectId)) return 'live';
    return this.gone.has(subjectId) ? 'erased' : 'unknown';
  }

  /**
   * The state after a catch-up when the subject is not in memory: 'unknown' becomes
   * 'erased' (remembered, so the next miss costs nothing).
   */
  async resolve(subjectId: string): Promise<Exclude<SubjectState, 'unknown'>> {
    if (this.entries.has(subjectId)) return 'live';
    if (this.gone.has(subjectId)) return 'erased';
    // A record names a subject only after its key was written, so the key is usually a few
    // milliseconds away in the follower: wait for it first (no request to the broker), and
    // only when it has not come within RESOLVE_GRACE_MS read the topic to its end (then a
    // subject still unknown is erased). At a steady flow of new people, every batch of every
    // service met a new subject, and a catch-up round trip per batch was the tracker's limit.
    let wake!: () => void;
    const arrived = new Promise<void>((r) => { wake = r; });
    const list = this.awaited.get(subjectId) ?? [];
    list.push(wake);
    this.awaited.set(subjectId, list);
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((r) => { timer = setTimeout(r, RESOLVE_GRACE_MS); });
    try {
      await Promise.race([arrived, graceOver]);
      if (this.entries.has(subjectId)) return 'live';
      await Promise.race([arrived, this.catchUp()]);
    } finally {
      clearTimeout(timer);
      const l = this.awaited.get(subjectId);
      if (l) { const rest = l.filter((f) => f !== wake); if (rest.length) this.awaited.set(subjectId, rest); else this.awaited.delete(subjectId); }
    }
    // Not arrived (its waiter wakes only when the key is applied): the catch-up read to the end.
    if (this.entries.has(subjectId)) return 'live';
    this.gone.add(subjectId);
    return 'erased';
  }

  /** Live subjects and the master key that wraps each (rotation). */
  *live(): IterableIterator<{ subjectId: string; masterKeyId: string }> {
    for (const [subjectId, e] of this.entries) yield { subjectId, masterKeyId: e.masterKeyId };
  }
  get size(): number { return this.entries.size; }

  /** The data key's raw bytes (re-wrapping). */
  rawKeyOf(subjectId: string): Buffer | undefined {
    const e = this.entries.get(subjectId);
    if (!e) return undefined;
    const master = this.masters.get(e.masterKeyId);
    if (!master) throw new PermanentError(`subject key wrapped by master key ${e.masterKeyId}, not in PRIVACY_MASTER_KEYS`, 'MASTER_KEY_MISSING');
    return unwrapKey(master, subjectId, e.wrapped);
  }

  async stop(): Promise<void> {
    const f = this.followed;
    this.followed = null;
    if (f) await f.stop();
  }

  private progress(partition: number, offset: string): void {
    const at = BigInt(offset);
    if (at > (this.applied.get(partition) ?? -1n)) this.applied.set(partition, at);
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  private async readToEnd(): Promise<void> {
    const topic = this.o.codec.topic('subject.keys');
    const ends = await untilAvailable(() => this.o.admin.fetchTopicOffsets(topic));
    await waitForOffsets(ends, this.applied, (r) => this.waiters.push(r), this.o.catchUpTimeoutMs ?? 30_000, 'subject.keys');
  }
}

/** Resolves once every partition's handled offset reaches its end offset (high - 1). */
export async function waitForOffsets(ends: { partition: number; high: string; low: string }[], applied: Map<number, bigint>, wait: (wake: () => void) => void, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const behind = () => ends.some((e) => BigInt(e.high) > BigInt(e.low) && (applied.get(e.partition) ?? -1n) + 1n < BigInt(e.high));
  while (behind()) {
    const left = deadline - Date.now();
    if (left <= 0) throw new TransientError(`timed out reading ${what} to its end`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.min(left, 500));
      wait(() => { clearTimeout(t); resolve(); });
    });
  }
}
