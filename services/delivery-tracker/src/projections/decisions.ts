import type { Collection, Db } from 'mongodb';
import { DateTime } from 'luxon';
import type { PlannerDecisionRecorded } from '@sicantik/schemas';
import type { NotificationDoc } from './store';

////////// Projection of planner.decisions: "why did applicant X (not) get message Y".
// One document per decision event (idempotent by event id), joined at query
// time with the notification projection so a planned message shows how far it got.

/** The decision event as stored: its id as _id, its time as a date, its cause left out. */
export type DecisionDoc = Omit<PlannerDecisionRecorded, 'eventId' | 'occurredAt' | 'causationId'> & { _id: string; at: Date };

export interface DecisionQuery { pendaftaran_id?: string; recipientId?: string; scenario?: string; notificationId?: string; decision?: string; reasonCode?: string; limit: number }

export class DecisionProjection {
  readonly col: Collection<DecisionDoc>;
  constructor(db: Db, private readonly notifications: Collection<NotificationDoc>) {
    this.col = db.collection<DecisionDoc>('planner_decisions');
  }

  async init(): Promise<void> {
    await this.col.createIndex({ pendaftaran_id: 1, at: 1 });
    await this.col.createIndex({ recipientId: 1, at: 1 });
    await this.col.createIndex({ notificationId: 1 });
    await this.col.createIndex({ reasonCode: 1, at: 1 });
  }

  async onDecision(e: PlannerDecisionRecorded): Promise<void> {
    const { eventId, occurredAt, causationId: _c, ...rest } = e;
    await this.col.updateOne({ _id: eventId }, { $setOnInsert: { ...rest, at: new Date(occurredAt) } }, { upsert: true });
  }

  /**
   * Counts by scenario, decision and reason code over a range of days (Asia/Jakarta):
   * how many were planned, and why the others were not.
   */
  async summary(from?: string, to?: string): Promise<{ scenario: string; decision: string; reasonCode: string | null; count: number }[]> {
    const at: Record<string, Date> = {};
    if (from) at.$gte = DateTime.fromISO(from, { zone: 'Asia/Jakarta' }).startOf('day').toJSDate();
    if (to) at.$lt = DateTime.fromISO(to, { zone: 'Asia/Jakarta' }).plus({ days: 1 }).startOf('day').toJSDate();
    const rows = await this.col.aggregate<{ _id: { scenario: string; decision: string; reasonCode?: string | null }; count: number }>([
      ...(from || to ? [{ $match: { at } }] : []),
      { $group: { _id: { scenario: '$scenario', decision: '$decision', reasonCode: '$reasonCode' }, count: { $sum: 1 } } },
    ]).toArray();
    return rows.map((r) => ({ scenario: r._id.scenario, decision: r._id.decision, reasonCode: r._id.reasonCode ?? null, count: r.count }))
      .sort((a, b) => a.scenario.localeCompare(b.scenario) || a.decision.localeCompare(b.decision) || (a.reasonCode ?? '').localeCompare(b.reasonCode ?? ''));
  }

  /** Decisions matching every given filter, oldest first, each planned one with its message's current status. */
  async find(q: DecisionQuery) {
    const filter: Record<string, string> = {};
    for (const k of ['pendaftaran_id', 'recipientId', 'scenario', 'notificationId', 'decision', 'reasonCode'] as const) if (q[k] !== undefined) filter[k] = q[k]!;
    const docs = await this.col.find(filter).sort({ at: 1, _id: 1 }).limit(q.limit).toArray();
    const ids = [...new Set(docs.map((d) => d.notificationId).filter((x): x is string => !!x))];
    const notes = ids.length ? await this.notifications.find({ _id: { $in: ids } }).toArray() : [];
    const byId = new Map(notes.map((n) => [n._id, n]));
    return docs.map(({ _id, ...d }) => {
      const n = d.notificationId ? byId.get(d.notificationId) : undefined;
      return { eventId: _id, ...d, notificationId: d.notificationId ?? null, recipientKind: d.recipientKind ?? null, recipientId: d.recipientId ?? null, reason: d.reason ?? null, reasonCode: d.reasonCode ?? null, message: n ? { status: n.status, provider: n.provider ?? null, failureReason: n.failureReason ?? null, sentAt: n.sentAt ?? null, deliveredAt: n.deliveredAt ?? null } : null };
    });
  }
}
