import { followTopic, untilAvailable, type Followed, type Infra } from '@sicantik/kafka';
import type { Logger } from '@sicantik/observability';
import { waitForOffsets, type SubjectRegistry, type SubjectState } from '@sicantik/privacy';
import type { PrivacyRequestRecorded } from '@sicantik/schemas';
import { DAY_MS, applyRetentionFact, expiringSubjects, expiryDetail, removeRetentionFact, type KeyExpiry, type RetentionFacts } from '../domain/keyExpiry';
import { answeredRequest, applyPrivacyRequest, receivedRequest, retentionRequestId, type PrivacyRequests } from '../domain/privacyRequests';

////////// The key-expiry job (issue 16): subject keys expire when their retention ends.
// Follows subject.retention (the facts about each person, written by their owners) and
// subject.keys (each live key's first createdAt; a re-wrapped record keeps it) from their
// beginning into memory; every KEY_EXPIRY_MINUTES it reads both to their end, decides
// (domain/keyExpiry.ts) and erases each expired subject through the same path as an
// erasure request: recorded on privacy.requests (ERASURE, reason RETENTION, the subject
// and why) as RECEIVED, the key and blind-index entry tombstoned by the subject registry,
// recorded again as DONE. The tracker scrubs the projections on that record, a later
// notification of the person is SUBJECT_ERASED, and a new permit with the number starts
// a new subject.
// A subject the registry handed out again since (its index entry seen within the retention
// period: a returning person's new permit on its way, whose fact is not written yet) is
// not erased: the registry's writer checks that in the same serial order as it hands
// subjects out (SubjectRegistry.eraseSubjects, TOUCH_AFTER_MS), and the request is answered
// KEPT. A run that dies midway leaves an open RECEIVED request (followed here from
// privacy.requests): the next run answers it DONE when the key is gone by then, KEPT when
// the subject is no longer due, and otherwise does it again under the same request id.

export interface KeyExpiryDeps {
  infra: Pick<Infra, 'kafka' | 'admin' | 'codec'>;
  /** Unique per process: `<prefix>delivery-tracker-key-expiry-...`. */
  groupPrefix: string;
  registry: Pick<SubjectRegistry, 'eraseSubjects' | 'lastSeen'>;
  ring: { state(subjectId: string): SubjectState };
  /** Writes records to privacy.requests (keyed by request id), one produce; resolves once the broker has them. */
  publish(records: PrivacyRequestRecorded[]): Promise<void>;
  now(): number;
  retentionDays: number;
  batch: number;
  logger: Logger;
  catchUpTimeoutMs?: number;
}

export interface KeyExpiryRun { expired: number; /** Not erased: handed out again within the retention period, or no longer due. */ kept: number; /** Live keys and subjects with facts seen by this run. */ keys: number; subjects: number }

export class KeyExpiryJob {
  readonly facts: RetentionFacts = new Map();
  /** Live keys: subject → its first createdAt. */
  readonly keys = new Map<string, number>();
  /** The key expiries on privacy.requests (reason RETENTION), by request id: the open ones are finished by the next run. */
  readonly requests: PrivacyRequests = new Map();
  private readonly applied = { 'subject.retention': new Map<number, bigint>(), 'subject.keys': new Map<number, bigint>(), 'privacy.requests': new Map<number, bigint>() };
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
      j.followed.push(await followTopic({
        kafka, admin, codec, topic: 'privacy.requests', keepFollowing: true, groupId: `${d.groupPrefix}requests-${process.pid}-${Date.now()}`,
        onMessage: (r) => { if (r.reason === 'RETENTION') applyPrivacyRequest(j.requests, r); },
        onProgress: progress('privacy.requests'),
      }));
    } catch (e) { await j.stop(); throw e; }
    return j;
  }

  private wake(): void { const w = this.waiters; this.waiters = []; for (const f of w) f(); }

  /** Reads subject.retention and subject.keys to their current end. */
  private async catchUp(): Promise<void> {
    for (const t of ['subject.retention', 'subject.keys', 'privacy.requests'] as const) {
      const ends = await untilAvailable(() => this.d.infra.admin.fetchTopicOffsets(this.d.infra.codec.topic(t)));
      await waitForOffsets(ends, this.applied[t], (w) => this.waiters.push(w), this.d.catchUpTimeoutMs ?? 30_000, t);
    }
  }

  private decide(now: number, limit = this.d.batch): KeyExpiry[] {
    const live = [...this.keys].filter(([s]) => this.d.ring.state(s) !== 'erased').map(([subjectId, createdAt]) => ({ subjectId, createdAt }));
    const due = expiringSubjects(live, this.facts, now, this.d.retentionDays * DAY_MS);
    // A subject the registry handed out within the retention period is not due (its new fact is on its way).
    const cutoff = now - this.d.retentionDays * DAY_MS;
    const seen = this.d.registry.lastSeen(due.map((e) => e.subjectId));
    const out = due.filter((e) => (seen.get(e.subjectId) ?? -Infinity) <= cutoff);
    return out.length > limit ? out.slice(0, limit) : out;
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
    const result = { expired: 0, kept: 0, keys: this.keys.size, subjects: this.facts.size };
    // Requests a stopped run left open and this run does not take up again: answered now.
    // (Still due but beyond this run's batch: left open for a later run.)
    const stillDue = new Set(this.decide(now, Infinity).map((e) => retentionRequestId(e.subjectId)));
    const leftOpen = [...this.requests.values()].filter((r) => r.status === 'RECEIVED' && r.subjectId && !stillDue.has(r.requestId));
    const finished = leftOpen.map((r) => this.d.ring.state(r.subjectId!) === 'erased'
      ? answeredRequest(r, { at: now, status: 'DONE', subjectId: r.subjectId, detail: r.detail })
      : answeredRequest(r, { at: now, status: 'KEPT', subjectId: r.subjectId, detail: 'no longer due: a fact about the person is now inside the retention period' }));
    if (due.length === 0) {
      if (finished.length) await this.d.publish(finished);
      return this.report(finished, result);
    }
    const received = due.map((e) => receivedRequest({ requestId: retentionRequestId(e.subjectId), kind: 'ERASURE', reason: 'RETENTION', receivedAt: now, subjectId: e.subjectId, detail: expiryDetail(e, this.d.retentionDays) }));
    await this.d.publish(received);
    // Kept when the registry handed the subject out after this time (a returning person).
    const outcomes = await this.d.registry.eraseSubjects(received.map((r) => r.subjectId!), { notSeenSince: now - this.d.retentionDays * DAY_MS });
    const done = received.map((r, i) => {
      const o = outcomes[i]!;
      if (o === 'ERASED') return answeredRequest(r, { at: this.d.now(), status: 'DONE', subjectId: r.subjectId, detail: r.detail });
      if (o === 'KEPT') return answeredRequest(r, { at: this.d.now(), status: 'KEPT', subjectId: r.subjectId, detail: 'kept: the number was looked up again within the retention period (a new event of the person is on its way)' });
      return answeredRequest(r, { at: this.d.now(), status: 'NO_SUBJECT', subjectId: r.subjectId, detail: 'the key was erased meanwhile (an erasure request): nothing left to expire' });
    });
    await this.d.publish([...finished, ...done]);
    return this.report([...finished, ...done], result);
  }

  private report(answered: PrivacyRequestRecorded[], result: KeyExpiryRun): KeyExpiryRun {
    for (const r of answered) {
      this.d.logger.info({ requestId: r.requestId, subjectId: r.subjectId, status: r.status, reason: 'RETENTION' }, r.status === 'KEPT' ? 'subject key kept: the person was seen within the retention period' : 'subject key expired: retention period ended');
    }
    result.expired = answered.filter((r) => r.status === 'DONE').length;
    result.kept = answered.filter((r) => r.status === 'KEPT').length;
    return result;
  }

  async stop(): Promise<void> {
    const f = this.followed;
    this.followed = [];
    await Promise.all(f.map((x) => x.stop()));
  }
}
