import { DateTime } from 'luxon';
import { ValidationError, deterministicId, jakartaDate } from '@sicantik/core';
import type { EventProducer, OutMessage } from '@sicantik/kafka';
import type { Logger } from '@sicantik/observability';
import { retentionFactKey, type PermitEvent, type PlannerCommand, type PlannerDecisionRecorded, type PlannerStateRecord, type SubjectRetentionFact, type TopicName } from '@sicantik/schemas';
import { DECIDED_KEPT, type CommandDone, type PermitRecord, type PlannerMemory } from './memory';
import { evolve, withExpiryPlanned } from '../domain/state';
import { permitEventFacts, permitFact } from '../domain/retention';
import {
  ZONE, dailyRunTime, decideDocumentDigest, decideExpiryWarnings, decideOnEvent, decideReminders, documentDigestCause,
  type Decision, type PlannerSettings,
} from '../domain/decide';

////////// Application service: the pure decisions against in-memory state and Kafka
// Per partition of permit.events (and the same partition of planner.commands), under
// one lock: decide from memory, produce the requests and decision records (one
// produce), then the changed state to the changelog (one produce, one record per
// permit however many events touched it), then apply it to memory. A crash before
// the changelog write redelivers the batch, which decides the same again: the same
// deterministic ids, absorbed downstream. A crash after it finds the events decided.

/** What caused a batch of decisions: a permit event (its time) or a schedule run (the time it stands for: one run, one date). */
interface Cause { eventId: string; correlationId: string; occurredAt: number }

export type RunSummary = CommandDone['summary'];
const zero = (): RunSummary => ({ planned: 0, skipped: 0, duplicates: 0, cancelled: 0, deferred: 0, coalesced: 0 });
export const addSummaries = (a: RunSummary, b: RunSummary): RunSummary => ({
  planned: a.planned + b.planned, skipped: a.skipped + b.skipped, duplicates: a.duplicates + b.duplicates, cancelled: a.cancelled + b.cancelled,
  deferred: (a.deferred ?? 0) + (b.deferred ?? 0), coalesced: (a.coalesced ?? 0) + (b.coalesced ?? 0),
});

const decisionKey = (r: PlannerDecisionRecorded) => r.pendaftaran_id || (r.recipientId ?? r.scenario);
/** Run markers and claims of notifications that belong to no permit (staff digests), in the changelog. */
const dailyRunKey = (date: string, partition: number) => `run:daily:${date}:p${partition}`;
const digestRunKey = (from: number) => `run:digest:${DateTime.fromMillis(from, { zone: ZONE }).toUTC().toISO()!}`;
const globalClaimKey = (notificationId: string) => `claim:${notificationId}`;
export const commandDoneKey = (commandId: string, partition: number) => `done:${commandId}:${partition}`;

export interface PlannerDeps {
  memory: PlannerMemory;
  producer: EventProducer;
  settings: PlannerSettings;
  logger: Logger;
  now(): Date;
  /** Whether a subject's key is erased (issue 16): a request for it is SKIPPED with SUBJECT_ERASED, not planned. */
  erased?(subjectId: string): boolean;
}

/** Claims as one batch sees them: a permit's (in its draft record) or the global ones (staff digests). */
interface ClaimView { get(id: string): string | undefined; set(id: string, cause: string): void }

export class Planner {
  private readonly locks = new Map<number, Promise<unknown>>();
  constructor(private readonly d: PlannerDeps) {}

  /** Runs `fn` alone for its partition (permit events and commands of one partition never interleave). */
  private exclusive<T>(partition: number, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(partition) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.locks.set(partition, next.catch(() => undefined));
    return next;
  }

  /**
   * Turns decisions into requests and decision records against the claims: a new
   * notification id is claimed and requested; one claimed before by the same cause
   * is requested again (the same ids: harmless); one claimed by another event or an
   * earlier run is a DUPLICATE, recorded and not sent.
   */
  private plan(decisions: Decision[], cause: Cause, claims: (d: Decision) => ClaimView, summary: RunSummary): OutMessage<TopicName>[] {
    const fromSchedule = cause.eventId.startsWith('schedule:');
    const requests: OutMessage<TopicName>[] = [];
    const records: PlannerDecisionRecorded[] = [];
    for (const d of decisions) {
      if (d.kind === 'planned') {
        const r = d.request;
        const base = { correlationId: r.correlationId, causationId: r.causationId, scenario: r.scenario, pendaftaran_id: r.pendaftaran_id, notificationId: r.notificationId, recipientKind: r.recipient.kind, recipientId: r.recipient.id };
        if (r.recipient.subjectId && this.d.erased?.(r.recipient.subjectId)) {
          records.push({ ...base, eventId: deterministicId('sicantik.event', 'PlannerDecisionRecorded', r.notificationId, 'SUBJECT_ERASED', r.causationId ?? ''), occurredAt: cause.occurredAt, decision: 'SKIPPED', reason: 'the recipient\'s personal data was erased', reasonCode: 'SUBJECT_ERASED' });
          summary.skipped++;
          continue;
        }
        const view = claims(d);
        const claimedBy = view.get(r.notificationId);
        if (claimedBy === undefined || (!fromSchedule && claimedBy === cause.eventId)) {
          view.set(r.notificationId, cause.eventId);
          requests.push({ topic: 'notification.requests', key: r.pendaftaran_id || r.recipient.id, value: r });
          records.push({ ...base, eventId: deterministicId('sicantik.event', 'PlannerDecisionRecorded', r.notificationId, 'PLANNED'), occurredAt: r.occurredAt, decision: 'PLANNED', reason: null, reasonCode: null });
          summary.planned++;
          // Issue 16: a request that may not go at once also gets a DEFERRED record (PLANNED still counts every request).
          if (r.notBefore != null && d.deferral) {
            records.push({ ...base, eventId: deterministicId('sicantik.event', 'PlannerDecisionRecorded', r.notificationId, 'DEFERRED'), occurredAt: r.occurredAt,
              decision: 'DEFERRED', reason: d.deferral.text, reasonCode: d.deferral.reason, notBefore: r.notBefore });
            summary.deferred = (summary.deferred ?? 0) + 1;
          }
        } else {
          const reason = fromSchedule ? 'duplicate: already planned by an earlier run' : `duplicate: already planned for event ${claimedBy}`;
          records.push({ ...base, eventId: deterministicId('sicantik.event', 'PlannerDecisionRecorded', r.notificationId, 'DUPLICATE', r.causationId ?? ''), occurredAt: cause.occurredAt, decision: 'SKIPPED', reason, reasonCode: 'DUPLICATE' });
          summary.duplicates++;
        }
        continue;
      }
      if (d.kind === 'coalesced') {
        // The earlier request stays PLANNED (it was); this record says that it is carried by a later one and not sent on its own.
        records.push({ eventId: deterministicId('sicantik.event', 'PlannerDecisionRecorded', d.notificationId, 'COALESCED'), occurredAt: cause.occurredAt, correlationId: cause.correlationId, causationId: cause.eventId,
          decision: 'COALESCED', scenario: d.scenario, pendaftaran_id: d.pendaftaran_id, notificationId: d.notificationId, recipientKind: d.recipientKind, recipientId: d.recipientId,
          reason: d.reason, reasonCode: d.code, carriedBy: d.carriedBy });
        summary.coalesced = (summary.coalesced ?? 0) + 1;
        continue;
      }
      const kind = d.kind === 'cancelled' ? 'CANCELLED' : 'SKIPPED';
      if (d.kind === 'cancelled') summary.cancelled++; else summary.skipped++;
      this.d.logger.debug({ decision: kind, scenario: d.scenario, pendaftaranId: d.pendaftaran_id, recipientId: d.recipientId, reason: d.reason }, kind === 'CANCELLED' ? 'notification cancelled' : 'notification skipped');
      records.push({ eventId: deterministicId('sicantik.event', 'PlannerDecisionRecorded', kind, cause.eventId, d.scenario, d.pendaftaran_id, d.notificationId ?? '', d.recipientId ?? '', d.reason), occurredAt: cause.occurredAt, correlationId: cause.correlationId, causationId: cause.eventId,
        decision: kind, scenario: d.scenario, pendaftaran_id: d.pendaftaran_id, notificationId: d.notificationId, recipientKind: d.recipientKind, recipientId: d.recipientId, reason: d.reason, reasonCode: d.code });
    }
    // A PLANNED record is never out before its request: both go in one produce, requests first.
    return [...requests, ...records.map((r) => ({ topic: 'planner.decisions' as const, key: decisionKey(r), value: r }))];
  }

  /** Drafts of the permit records a batch changes (copy on first write), and the claims views over them. */
  private drafts(partition: number) {
    const { memory } = this.d;
    const changed = new Map<string, PermitRecord>();
    const get = (reg: string): PermitRecord => changed.get(reg) ?? memory.record(reg);
    const put = (rec: PermitRecord) => { changed.set(rec.state.pendaftaran_id, rec); };
    const globalClaims = new Map<string, string>();
    const claims = (dec: Decision): ClaimView => {
      const reg = dec.kind === 'planned' ? dec.request.pendaftaran_id : dec.pendaftaran_id;
      if (!reg) {
        return {
          get: (id) => globalClaims.get(id) ?? memory.runs.get(globalClaimKey(id))?.cause,
          set: (id, cause) => { globalClaims.set(id, cause); },
        };
      }
      return {
        get: (id) => get(reg).claims[id],
        set: (id, cause) => { const r = get(reg); put({ ...r, claims: { ...r.claims, [id]: cause } }); },
      };
    };
    const now = () => this.d.now().getTime();
    const changelog = (extra: PlannerStateRecord[] = []): OutMessage<'planner.state'>[] => [
      // A permit's body is encrypted with its applicant's subject key (issue 16).
      ...[...changed.values()].map((rec) => ({ key: rec.state.pendaftaran_id, kind: 'PERMIT' as const, partition, body: JSON.stringify(rec), updatedAt: now(), subjectId: rec.state.subjectId ?? null })),
      ...[...globalClaims].map(([id, cause]) => ({ key: globalClaimKey(id), kind: 'RUN' as const, partition, body: JSON.stringify({ at: now(), cause }), updatedAt: now() })),
      ...extra,
    ].map((value) => ({ topic: 'planner.state' as const, key: value.key, value, partition }));
    const apply = (extra: PlannerStateRecord[] = []) => {
      for (const rec of changed.values()) memory.put(partition, rec);
      for (const [id, cause] of globalClaims) memory.runs.set(globalClaimKey(id), { at: now(), cause });
      for (const r of extra) memory.applyChangelog(r, memory.appliedOffset(partition).toString());
    };
    return { get, put, claims, changelog, apply };
  }

  /** Writes outputs, then the changelog, then applies the batch to memory. */
  private async commit(out: OutMessage<TopicName>[], drafts: ReturnType<Planner['drafts']>, extra: PlannerStateRecord[] = []): Promise<void> {
    if (out.length) await this.d.producer.send(out);
    await this.d.producer.send(drafts.changelog(extra));
    drafts.apply(extra);
  }

  /**
   * Decides each permit event of a partition's batch once: a redelivered or replayed
   * event already decided only evolves the state, so a replay never re-decides
   * history with today's facts.
   */
  onPermitEvents(partition: number, events: PermitEvent[]): Promise<RunSummary> {
    return this.exclusive(partition, async () => {
      const { memory, settings } = this.d;
      const drafts = this.drafts(partition);
      const summary = zero();
      const out: OutMessage<TopicName>[] = [];
      const directory = memory.directoryEntries();
      const contacts = memory.contacts();
      // subject.retention: what these events say about their applicants' retention (the last record per key wins), in the same produce.
      const facts = new Map<string, SubjectRetentionFact>();
      const zone = this.zone();
      for (const ev of events) {
        const rec = drafts.get(ev.pendaftaran_id);
        let after;
        if (rec.decided.includes(ev.eventId)) {
          after = evolve(rec.state, ev);
          drafts.put({ ...rec, state: after });
        } else {
          const d = decideOnEvent(rec.state, ev, directory, settings, contacts);
          after = d.after;
          out.push(...this.plan(d.decisions, ev, drafts.claims, summary));
          const claimed = drafts.get(ev.pendaftaran_id).claims;
          drafts.put({ state: after, claims: claimed, decided: [...rec.decided, ev.eventId].slice(-DECIDED_KEPT) });
        }
        for (const f of permitEventFacts(rec.state, after, ev.occurredAt, zone)) facts.set(retentionFactKey(f), f);
      }
      out.push(...[...facts].map(([key, value]) => ({ topic: 'subject.retention' as const, key, value })));
      await this.commit(out, drafts);
      return summary;
    });
  }

  private zone(): string { return this.d.settings.timing?.officeZone ?? ZONE; }

  /**
   * The retention facts of a restored partition's permits whose state predates lastEventAt
   * (written before subject.retention existed): the same record a live event would write
   * from that state, so writing it again at each restore changes nothing. Permits with
   * lastEventAt had theirs written with the event that set it.
   */
  async publishLegacyRetention(partition: number): Promise<number> {
    const zone = this.zone();
    const out: OutMessage<'subject.retention'>[] = [];
    for (const s of this.d.memory.statesOf(partition)) {
      if (s.lastEventAt !== undefined) continue;
      const f = permitFact(s, zone);
      if (f) out.push({ topic: 'subject.retention', key: retentionFactKey(f), value: f });
    }
    if (out.length) await this.d.producer.send(out);
    return out.length;
  }

  /** Refuses a run for a future date: it would send warnings early. */
  validateDaily(date: string): void {
    const today = jakartaDate(this.d.now().getTime());
    if (date > today) throw new ValidationError('a daily run for a future date is refused', [{ path: 'date', message: `is after today (${today}, Asia/Jakarta): a run for a future date would send messages early` }]);
  }

  /** Refuses a digest for a window not yet closed, or an empty one. */
  validateDigest(from: number, to: number): void {
    if (to > this.d.now().getTime()) throw new ValidationError('a digest for a window not yet closed is refused', [{ path: 'to', message: `is in the future (now ${this.d.now().toISOString()}): documents may still arrive in this window` }]);
    if (from >= to) throw new ValidationError('an empty digest window', [{ path: 'from', message: 'must be before to' }]);
  }

  /**
   * Runs a command for the permits of one partition: the daily run (expiry warnings
   * for this partition's permits; the staff reminders, which list every permit, only
   * at partition 0) or the document digest (partition 0 only). Scheduler commands
   * (`tick:` ids) for a run already done are dropped.
   */
  onCommand(partition: number, cmd: PlannerCommand): Promise<RunSummary> {
    return this.exclusive(partition, async () => {
      const { memory, settings } = this.d;
      const fromTick = cmd.commandId.startsWith('tick:');
      const runKey = cmd.kind === 'DAILY' ? dailyRunKey(cmd.date ?? '', partition) : digestRunKey(cmd.from ?? 0);
      if (fromTick && memory.runs.has(runKey)) return zero();
      const drafts = this.drafts(partition);
      const summary = zero();
      const now = this.d.now().getTime();
      const stamp = (key: string, kind: PlannerStateRecord['kind'], body: unknown): PlannerStateRecord => ({ key, kind, partition, body: JSON.stringify(body), updatedAt: now });
      let out: OutMessage<TopicName>[] = [];
      try {
        if (cmd.kind === 'DAILY') {
          const date = cmd.date ?? '';
          this.validateDaily(date);
          const { decisions, marks } = decideExpiryWarnings(memory.statesOf(partition), date, settings, memory.contacts(), Math.max(dailyRunTime(date), cmd.requestedAt));
          if (partition === 0) decisions.push(...decideReminders(memory.allStates(), memory.directoryEntries(), date, settings, memory.contacts(), now));
          const id = `schedule:daily:${date}`;
          out = this.plan(decisions, { eventId: id, correlationId: id, occurredAt: dailyRunTime(date) }, drafts.claims, summary);
          for (const m of marks) { const r = drafts.get(m.pendaftaran_id); drafts.put({ ...r, state: withExpiryPlanned(r.state, m.expiry, m.threshold) }); }
        } else {
          const from = cmd.from ?? 0, to = cmd.to ?? 0;
          this.validateDigest(from, to);
          const decisions = decideDocumentDigest(memory.allStates(), memory.directoryEntries(), from, to, settings, memory.contacts(), Math.max(to, cmd.requestedAt));
          const id = documentDigestCause(from);
          out = this.plan(decisions, { eventId: id, correlationId: id, occurredAt: to }, drafts.claims, summary);
        }
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        const done: CommandDone = { commandId: cmd.commandId, partition, partitions: cmd.partitions, summary, error: { status: 400, body: { error: 'validation_failed', issues: e.issues } } };
        await this.commit([], drafts, [stamp(commandDoneKey(cmd.commandId, partition), 'COMMAND_DONE', done)]);
        return summary;
      }
      const done: CommandDone = { commandId: cmd.commandId, partition, partitions: cmd.partitions, summary };
      await this.commit(out, drafts, [stamp(runKey, 'RUN', { at: now }), stamp(commandDoneKey(cmd.commandId, partition), 'COMMAND_DONE', done)]);
      this.d.logger.info({ command: cmd.commandId, kind: cmd.kind, partition, ...summary }, 'schedule run done');
      return summary;
    });
  }

  /**
   * The scheduler (every minute): for each partition this instance owns, the daily
   * run once a day from 09:00 Asia/Jakarta (caught up later that day if the service
   * was down); for partition 0, the document digest for each closed hour not yet run
   * (up to 24 hours back). Each is a command on the partition's own queue.
   */
  dueCommands(owned: number[], partitions: number): PlannerCommand[] {
    const { memory } = this.d;
    const nowMs = this.d.now().getTime();
    const now = DateTime.fromMillis(nowMs, { zone: ZONE });
    const today = now.toISODate()!;
    const out: PlannerCommand[] = [];
    const base = { requestedAt: nowMs, partitions, date: null, from: null, to: null };
    if (now.hour >= 9) {
      for (const p of owned) if (!memory.runs.has(dailyRunKey(today, p))) out.push({ ...base, commandId: `tick:daily:${today}`, kind: 'DAILY', date: today, partition: p });
    }
    if (owned.includes(0)) {
      const lastClosed = now.startOf('hour');
      for (let h = 24; h >= 1; h--) {
        const from = lastClosed.minus({ hours: h }).toMillis();
        if (!memory.runs.has(digestRunKey(from))) out.push({ ...base, commandId: `tick:digest:${from}`, kind: 'DOCUMENT_DIGEST', from, to: from + 3_600_000, partition: 0, partitions: 1 });
      }
    }
    return out;
  }
}
