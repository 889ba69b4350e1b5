import { DateTime } from 'luxon';
import { ValidationError, deterministicId, normalizePhone } from '@sicantik/core';
import type { EventProducer } from '@sicantik/kafka';
import type { Logger } from '@sicantik/observability';
import type { PermitEvent, PlannerDecisionRecorded } from '@sicantik/schemas';
import type { PlannerStore } from './adapters/store';
import { evolve } from './domain/state';
import { ZONE, dailyRunTime, decideDaily, decideDocumentDigest, documentDigestCause, decideOnEvent, endsExpiryPlan, jakartaDate, type Decision, type PlannerSettings } from './domain/decide';

////////// Application service: runs the pure decisions against the store and Kafka

/** What caused a batch of decisions: a permit event (its time) or a schedule run (the time it stands for: one run, one date). */
interface Cause { eventId: string; correlationId: string; occurredAt: number }

export interface RunSummary { planned: number; skipped: number; duplicates: number; cancelled: number }

/** Decisions handled per bulk claim and produce. */
const EMIT_CHUNK = 500;

const decisionKey = (r: PlannerDecisionRecorded) => r.pendaftaran_id || (r.recipientId ?? r.scenario);

export class Planner {
  constructor(private readonly store: PlannerStore, private readonly producer: EventProducer, private readonly settings: PlannerSettings, private readonly logger: Logger, private readonly now: () => Date) {}

  /**
   * Emits the planned requests (once per notification id) and a decision event for
   * each decision, in chunks: claims in one bulk write, requests in one produce,
   * then the decision records (a PLANNED record is never out before its request).
   */
  private async emit(decisions: Decision[], cause: Cause): Promise<RunSummary> {
    const summary: RunSummary = { planned: 0, skipped: 0, duplicates: 0, cancelled: 0 };
    const fromSchedule = cause.eventId.startsWith('schedule:');
    for (let i = 0; i < decisions.length; i += EMIT_CHUNK) {
      const chunk = decisions.slice(i, i + EMIT_CHUNK);
      const now = this.now();
      const planned = chunk.flatMap((d) => (d.kind === 'planned' ? [d.request] : []));
      const won = await this.store.claimMany(planned.map((r) => ({ id: r.notificationId, scenario: r.scenario, cause: cause.eventId })), now);
      // A redelivered input (the same event, claimed before a crash) re-sends the same request
      // (harmless: same ids downstream). Another event or a second schedule run that yields a
      // notification id already claimed is a duplicate: not sent, recorded as such.
      const lost = planned.filter((r) => !won.has(r.notificationId)).map((r) => r.notificationId);
      const claimedBy = fromSchedule || lost.length === 0 ? new Map<string, string | null>() : await this.store.claimCauses(lost);
      const sameCause = (id: string) => { const c = claimedBy.get(id); return c === undefined || c === null || c === cause.eventId; };
      const send = planned.filter((r) => won.has(r.notificationId) || (!fromSchedule && sameCause(r.notificationId)));
      try {
        await this.producer.send(send.map((r) => ({ topic: 'notification.requests' as const, key: r.pendaftaran_id || r.recipient.id, value: r })));
      } catch (e) {
        await this.store.releaseMany([...won]).catch(() => undefined);
        throw e;
      }
      await this.store.markEmittedMany([...won], now);
      const sent = new Set(send.map((r) => r.notificationId));
      const records: PlannerDecisionRecorded[] = chunk.map((d) => {
        if (d.kind === 'planned') {
          const r = d.request;
          const base = { correlationId: r.correlationId, causationId: r.causationId, scenario: r.scenario, pendaftaran_id: r.pendaftaran_id, notificationId: r.notificationId, recipientKind: r.recipient.kind, recipientId: r.recipient.id };
          if (sent.has(r.notificationId)) {
            summary.planned++;
            return { ...base, eventId: deterministicId('sicantik.event', 'PlannerDecisionRecorded', r.notificationId, 'PLANNED'), occurredAt: r.occurredAt, decision: 'PLANNED', reason: null, reasonCode: null };
          }
          summary.duplicates++;
          const reason = fromSchedule ? 'duplicate: already planned by an earlier run' : `duplicate: already planned for event ${claimedBy.get(r.notificationId)}`;
          return { ...base, eventId: deterministicId('sicantik.event', 'PlannerDecisionRecorded', r.notificationId, 'DUPLICATE', r.causationId ?? ''), occurredAt: cause.occurredAt, decision: 'SKIPPED', reason, reasonCode: 'DUPLICATE' };
        }
        const kind = d.kind === 'cancelled' ? 'CANCELLED' : 'SKIPPED';
        if (d.kind === 'cancelled') summary.cancelled++; else summary.skipped++;
        this.logger.info({ decision: kind, scenario: d.scenario, pendaftaranId: d.pendaftaran_id, recipientId: d.recipientId, reason: d.reason }, kind === 'CANCELLED' ? 'notification cancelled' : 'notification skipped');
        return { eventId: deterministicId('sicantik.event', 'PlannerDecisionRecorded', kind, cause.eventId, d.scenario, d.pendaftaran_id, d.notificationId ?? '', d.recipientId ?? '', d.reason), occurredAt: cause.occurredAt, correlationId: cause.correlationId, causationId: cause.eventId,
          decision: kind, scenario: d.scenario, pendaftaran_id: d.pendaftaran_id, notificationId: d.notificationId, recipientKind: d.recipientKind, recipientId: d.recipientId, reason: d.reason, reasonCode: d.code };
      });
      await this.producer.send(records.map((r) => ({ topic: 'planner.decisions' as const, key: decisionKey(r), value: r })));
    }
    return summary;
  }

  /**
   * Decides once per permit event: a redelivered or replayed event whose decisions
   * are all out (live, or in the decision log a rebuilt store was seeded from) only
   * updates the state, so a rebuild never re-decides history with today's facts.
   */
  async onPermitEvent(ev: PermitEvent): Promise<RunSummary> {
    const [loaded, directory, decided] = await Promise.all([this.store.load(ev.pendaftaran_id), this.store.directoryEntries(), this.store.eventDecided(ev.eventId)]);
    if (decided) {
      await this.store.save(evolve(loaded, ev));
      return { planned: 0, skipped: 0, duplicates: 0, cancelled: 0 };
    }
    // What was already decided for the old expiry date matters only when this event ends that plan.
    const before = endsExpiryPlan(loaded, evolve(loaded, ev)) ? await this.store.withExpiryMarks(loaded) : loaded;
    // Only the numbers this event can concern: the applicant's (old and new) and the directory's.
    const phones = [before.telepon_pemohon, (ev.payload as { telepon_pemohon?: string | null }).telepon_pemohon, ...directory.map((e) => e.phone)]
      .flatMap((p) => { const n = p ? normalizePhone(p, { allowedCountries: this.settings.allowedCountries }) : null; return n?.ok ? [n.e164] : []; });
    const { after, decisions } = decideOnEvent(before, ev, directory, this.settings, await this.store.contacts(phones));
    const summary = await this.emit(decisions, ev);
    await this.store.markEventDecided(ev.eventId, this.now());
    await this.store.save(after);
    return summary;
  }

  /** Seeds claims, expiry marks and decided events from the decision log (a new or rebuilt store). */
  async bootstrapFromDecisionLog(read: (apply: (d: PlannerDecisionRecorded) => Promise<void>) => Promise<number>): Promise<number | null> {
    if (await this.store.runDone('bootstrap:decision-log')) return null;
    const seeder = this.store.seeder();
    const n = await read(async (d) => { await seeder.add(d); });
    await seeder.flush();
    await this.store.markRun('bootstrap:decision-log', this.now());
    return n;
  }

  /**
   * The daily run for a date (yyyy-MM-dd, Asia/Jakarta): expiry warnings (a past date
   * catches up) and, for the current day only, the pending reminders. A future date
   * is refused: it would send warnings early.
   */
  async runDaily(date: string): Promise<RunSummary> {
    const now = this.now().getTime();
    const today = jakartaDate(now);
    if (date > today) throw new ValidationError('a daily run for a future date is refused', [{ path: 'date', message: `is after today (${today}, Asia/Jakarta): a run for a future date would send messages early` }]);
    const { decisions, marks } = decideDaily(await this.store.scheduled(date), await this.store.directoryEntries(), date, this.settings, await this.store.contacts(), now);
    const id = `schedule:daily:${date}`;
    const summary = await this.emit(decisions, { eventId: id, correlationId: id, occurredAt: dailyRunTime(date) });
    await this.store.markExpiryMany(marks, this.now());
    await this.store.markRun(`daily:${date}`, this.now());
    this.logger.info({ date, ...summary }, 'daily schedule run');
    return summary;
  }

  /** The document_pending digest for the window [from, to). */
  async runDocumentDigest(from: Date, to: Date): Promise<RunSummary> {
    if (to.getTime() > this.now().getTime()) throw new ValidationError('a digest for a window not yet closed is refused', [{ path: 'to', message: `is in the future (now ${this.now().toISOString()}): documents may still arrive in this window` }]);
    if (from.getTime() >= to.getTime()) throw new ValidationError('an empty digest window', [{ path: 'from', message: 'must be before to' }]);
    const decisions = decideDocumentDigest(await this.store.withPendingDocuments(), await this.store.directoryEntries(), from.getTime(), to.getTime(), this.settings, await this.store.contacts());
    const id = documentDigestCause(from.getTime());
    const summary = await this.emit(decisions, { eventId: id, correlationId: id, occurredAt: to.getTime() });
    await this.store.markRun(`digest:${from.toISOString()}`, this.now());
    return summary;
  }

  /**
   * Called every minute: the daily run once a day from 09:00 Asia/Jakarta (caught
   * up later that day if the service was down), and the hourly document digest
   * for each closed hour not yet run (up to 24 hours back).
   */
  async tick(): Promise<void> {
    const now = DateTime.fromJSDate(this.now(), { zone: ZONE });
    const today = now.toISODate()!;
    if (now.hour >= 9 && !(await this.store.runDone(`daily:${today}`))) await this.runDaily(today);
    const lastClosed = now.startOf('hour');
    for (let h = 24; h >= 1; h--) {
      const from = lastClosed.minus({ hours: h });
      if (!(await this.store.runDone(`digest:${from.toUTC().toISO()}`))) await this.runDocumentDigest(from.toJSDate(), from.plus({ hours: 1 }).toJSDate());
    }
  }
}
