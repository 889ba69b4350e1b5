import { followTopic, untilAvailable, type Followed, type Infra } from '@sicantik/kafka';
import type { Logger } from '@sicantik/observability';
import { waitForOffsets, type SubjectRegistry, type SubjectState } from '@sicantik/privacy';
import type { PrivacyRequestRecorded } from '@sicantik/schemas';
import { DAY_MS, applyRetentionFact, expiringSubjects, expiryDetail, removeRetentionFact, type KeyExpiry, type RetentionFacts } from '../domain/keyExpiry';
import { answeredRequest, receivedRequest, retentionRequestId } from '../domain/privacyRequests';

////////// The key-expiry job (issue 16): subject keys expire when their retention ends.
// Follows subject.retention (the facts about each person, written by their owners) and
// subject.keys (each live key's first createdAt; a re-wrapped record keeps it) from their
// beginning into memory; every KEY_EXPIRY_MINUTES it reads both to their end, decides
// (domain/keyExpiry.ts) and erases each expired subject through the same path as an
// erasure request: recorded on privacy.requests (ERASURE, reason RETENTION, the subject
// and why) as RECEIVED, the key and blind-index entry tombstoned by the subject registry,
// recorded again as DONE. The tracker scrubs the projections on that record, a later
// notification of the person is SUBJECT_ERASED, and a new permit with the number starts
// a new subject. A run that dies midway leaves an open RECEIVED record; the next run finds
// the key still live and does it again under the same request id.

export interface KeyExpiryDeps {
  infra: Pick<Infra, 'kafka' | 'admin' | 'codec'>;
  /** Unique per process: `<prefix>delivery-tracker-key-expiry-...`. */
  groupPrefix: string;
  registry: Pick<SubjectRegistry, 'eraseSubjects'>;
  ring: { state(subjectId: string): SubjectState };
  /** Writes records to privacy.requests (keyed by request id), one produce; resolves once the broker has them. */
  publish(records: PrivacyRequestRecorded[]): Promise<void>;
  now(): number;
  retentionDays: number;
  batch: number;
  logger: Logger;
  catchUpTimeoutMs?: number;
}

export interface KeyExpiryRun { expired: number; /** Live keys and subjects with facts seen by this run. */ keys: number; subjects: number }

export class KeyExpiryJob {
  readonly facts: RetentionFacts = new Map();
  /** Live keys: subject → its first createdAt. */
  readonly keys = new Map<string, number>();
  private readonly applied = { 'subject.retention': new Map<number, bigint>(), 'subject.keys': new Map<number, bigint>() };
  private waiters: (() => void)[] = [];
  private followed: Followed[] = [];
  private running: Promise<KeyExpiryRun> | null = null;

  private constructor(private readonly d: KeyExpiryDeps) {}

  static async start(d: KeyExpiryDeps): Promise<KeyExpiryJob> {
    const j = new KeyExpiryJob(d);
    const { kafka, admin, codec } = d.infra;
    const progress = (t: keyof KeyExpiryJob['applied']) => (p: number, offset: string) => { j.applied[t].set(p, BigInt(offset)); j.wake(); };
    try {
      j.followed.push(await followTopic({
        kafka, admin, codec, topic: 'subject.retention', keepFollowing: true, groupId: `${d.groupPrefix}retention-${process.pid}-${Date.now()}`,
        onMessage: (f) => applyRetentionFact(j.facts, f),
        onTombstone: (key) => { if (key) removeRetentionFact(j.facts, key); },
        onProgress: progress('subject.retention'),
      }));
      j.followed.push(await followTopic({
        kafka, admin, codec, topic: 'subject.keys', keepFollowing: true, groupId: `${d.groupPrefix}keys-${process.pid}-${Date.now()}`,
        onMessage: (k) => { const had = j.keys.get(k.subjectId); j.keys.set(k.subjectId, had === undefined ? k.createdAt : Math.min(had, k.createdAt)); },
        onTombstone: (key) => { if (key) j.keys.delete(key); },
        onProgress: progress('subject.keys'),
      }));
    } catch (e) { await j.stop(); throw e; }
    return j;
  }

  private wake(): void { const w = this.waiters; this.waiters = []; for (const f of w) f(); }

  /** Reads subject.retention and subject.keys to their current end. */
  private async catchUp(): Promise<void> {
    for (const t of ['subject.retention', 'subject.keys'] as const) {
      const ends = await untilAvailable(() => this.d.infra.admin.fetchTopicOffsets(this.d.infra.codec.topic(t)));
      await waitForOffsets(ends, this.applied[t], (w) => this.waiters.push(w), this.d.catchUpTimeoutMs ?? 30_000, t);
    }
  }

  private decide(now: number): KeyExpiry[] {
    const live = [...this.keys].filter(([s]) => this.d.ring.state(s) !== 'erased').map(([subjectId, createdAt]) => ({ subjectId, createdAt }));
    return expiringSubjects(live, this.facts, now, this.d.retentionDays * DAY_MS, this.d.batch);
  }

  /** One run (one at a time): erases the keys whose retention ended at the clock's now. */
  run(): Promise<KeyExpiryRun> {
    this.running ??= this.once().finally(() => { this.running = null; });
    return this.running;
  }

  private async once(): Promise<KeyExpiryRun> {
    const now = this.d.now();
    await this.catchUp();
    let due = this.decide(now);
    if (due.length) {
      // A fact written while deciding (a new permit of the person) must keep the key: read to the end again and decide again.
      await this.catchUp();
      const again = new Set(this.decide(now).map((e) => e.subjectId));
      due = due.filter((e) => again.has(e.subjectId));
    }
    const result = { expired: 0, keys: this.keys.size, subjects: this.facts.size };
    if (due.length === 0) return result;
    const received = due.map((e) => receivedRequest({ requestId: retentionRequestId(e.subjectId), kind: 'ERASURE', reason: 'RETENTION', receivedAt: now, subjectId: e.subjectId, detail: expiryDetail(e, this.d.retentionDays) }));
    await this.d.publish(received);
    const erasedAll = await this.d.registry.eraseSubjects(received.map((r) => r.subjectId!));
    const done = received.map((r, i) => {
      const erased = erasedAll[i]!;
      return answeredRequest(r, { at: this.d.now(), status: erased ? 'DONE' : 'NO_SUBJECT', subjectId: r.subjectId, detail: erased ? r.detail : 'the key was erased meanwhile (an erasure request): nothing left to expire' });
    });
    await this.d.publish(done);
    for (const r of done) this.d.logger.info({ requestId: r.requestId, subjectId: r.subjectId, status: r.status, reason: 'RETENTION' }, 'subject key expired: retention period ended');
    result.expired = done.filter((r) => r.status === 'DONE').length;
    return result;
  }

  async stop(): Promise<void> {
    const f = this.followed;
    this.followed = [];
    await Promise.all(f.map((x) => x.stop()));
  }
}
