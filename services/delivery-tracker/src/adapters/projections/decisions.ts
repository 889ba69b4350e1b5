import type { Collection, Db } from 'mongodb';
import type { PlannerDecisionRecorded } from '@sicantik/schemas';
import { ALL, BatchCounts, counterOps, decisionContrib, parseDecisionKey, tpKey, type StoredDoc } from '../../domain/model';
import type { DecisionDoc } from '../../domain/rebuildFold';
import { Serial, WriteGate, applyCounters, type CounterDoc, checkLayout, findByIds, insertNew } from './writer';

////////// Projection of planner.decisions: "why did applicant X (not) get message Y".
// Insert-only: one document per decision event (_id = event id), a batch in one
// insert command, duplicates ignored. The summary counts are pre-aggregated per
// Jakarta day and for all days (decision_stats), incremented only for the ids the
// batch newly inserted, once (model.ts, counterOps): each document remembers the
// batch that inserted it (_insertedBy), so a batch redelivered after a crash between its
// insert and its counters still counts what it inserted the first time. Queries
// join the notification projection by _id. Decisions hold no personal data (recipientId
// is a permit or directory id; reasons mask phone numbers: @sicantik/core maskPhone), so
// erasure and retention leave them as they are; the notification they join is scrubbed.


export interface DecisionQuery { pendaftaran_id?: string; recipientId?: string; scenario?: string; notificationId?: string; decision?: string; reasonCode?: string; limit: number }

/** A counter document of decision_stats: counts by decisionKey (writer.ts, CounterDoc). */
interface DecisionStats extends CounterDoc { counts?: Record<string, number> }

export class DecisionProjection {
  readonly col: Collection<DecisionDoc>;
  private readonly stats: Collection<DecisionStats>;
  private readonly knownStats = new Set<string>();
  private readonly serial: Serial;
  private readonly writing = new WriteGate();
  constructor(private readonly db: Db, private readonly notifications: Collection<StoredDoc>, opts: { serial?: Serial } = {}) {
    this.col = db.collection<DecisionDoc>('planner_decisions');
    this.stats = db.collection<DecisionStats>('decision_stats');
    this.serial = opts.serial ?? new Serial();
  }

  /** Indexes for the "why" queries (used by MongoDB; FerretDB v1 scans for non-_id filters either way). */
  async init(): Promise<void> {
    await checkLayout(this.db);
    await this.col.createIndex({ pendaftaran_id: 1, at: 1 });
    await this.col.createIndex({ recipientId: 1, at: 1 });
    await this.col.createIndex({ notificationId: 1 });
    await this.col.createIndex({ reasonCode: 1, at: 1 });
  }

  /** Applies one fetched batch of one partition of planner.decisions. */
  apply(batch: { partition: number; records: { offset: string; value: PlannerDecisionRecorded }[] }): Promise<void> {
    if (batch.records.length === 0) return Promise.resolve();
    return this.serial.run(async () => {
      const tp = tpKey('planner.decisions', batch.partition);
      const firstOffset = Number(batch.records[0]!.offset);
      const mark = `${tp}@${firstOffset}`;
      const events = [...new Map(batch.records.map((r) => [r.value.eventId, r.value])).values()];
      const docs: DecisionDoc[] = events.map(({ eventId, occurredAt, causationId: _c, ...rest }) => ({ ...rest, _id: eventId, at: new Date(occurredAt), _insertedBy: mark }));
      const release = this.writing.begin();
      try {
        const dups = await insertNew(this.col, docs);
        const counts = new BatchCounts();
        const earlier = await findByIds(this.col, docs.filter((_, i) => dups.has(i)).map((d) => d._id));
        events.forEach((e, i) => {
          if (!dups.has(i)) counts.add({ prior: null, fresh: decisionContrib(e) });
          else if (earlier.get(e.eventId)?._insertedBy === mark) counts.add({ prior: decisionContrib(e), fresh: {} }); // inserted by an earlier attempt of this batch
        });
        await applyCounters(this.stats, this.knownStats, tp, firstOffset, counterOps(counts));
      } finally { release(); }
    });
  }

  /**
   * Counts by scenario, decision and reason code over a range of days (Asia/Jakarta):
   * how many were planned, and why the others were not.
   */
  async summary(from?: string, to?: string): Promise<{ scenario: string; decision: string; reasonCode: string | null; count: number }[]> {
    await this.writing.idle();
    const docs = from || to
      ? await this.stats.find({ _id: { $gte: from ?? '0000-01-01', $lte: to ?? '9999-12-31' } }).toArray()
      : [await this.stats.findOne({ _id: ALL })].filter((d): d is DecisionStats => !!d);
    const counts = new Map<string, number>();
    for (const d of docs) for (const [k, n] of Object.entries(d.counts ?? {})) counts.set(k, (counts.get(k) ?? 0) + n);
    return [...counts].filter(([, n]) => n > 0).map(([k, count]) => ({ ...parseDecisionKey(k), count }))
      .sort((a, b) => a.scenario.localeCompare(b.scenario) || a.decision.localeCompare(b.decision) || (a.reasonCode ?? '').localeCompare(b.reasonCode ?? ''));
  }

  /** Decisions matching every given filter, oldest first, each planned one with its message's current status. */
  async find(q: DecisionQuery) {
    await this.writing.idle();
    const filter: Record<string, string> = {};
    for (const k of ['pendaftaran_id', 'recipientId', 'scenario', 'notificationId', 'decision', 'reasonCode'] as const) if (q[k] !== undefined) filter[k] = q[k]!;
    const docs = await this.col.find(filter, { projection: { _insertedBy: 0 } }).sort({ at: 1, _id: 1 }).limit(q.limit).toArray();
    const ids = [...new Set(docs.map((d) => d.notificationId).filter((x): x is string => !!x))];
    const byId = await findByIds(this.notifications, ids);
    return docs.map(({ _id, _insertedBy: _m, ...d }) => {
      const n = d.notificationId ? byId.get(d.notificationId) : undefined;
      return {
        eventId: _id, ...d, notificationId: d.notificationId ?? null, recipientKind: d.recipientKind ?? null, recipientId: d.recipientId ?? null, reason: d.reason ?? null, reasonCode: d.reasonCode ?? null,
        // DEFERRED: the earliest send time; COALESCED: the message that carries this change (null for the others and in older events).
        notBefore: d.notBefore != null ? new Date(d.notBefore) : null, carriedBy: d.carriedBy ?? null,
        message: n ? {
          status: n.status, provider: n.provider ?? null, routeReason: n.routeReason ?? null, routeDetail: n.routeDetail ?? null, failureReason: n.failureReason ?? null, skipReason: n.skipReason ?? null,
          notBefore: n.notBefore ?? null, deferReason: n.deferReason ?? null, heldAt: n.heldAt ?? null, dropReasonCode: n.dropReasonCode ?? null, supersededBy: n.supersededBy ?? null, carriedBy: n.carriedBy ?? null,
          acceptedAt: n.acceptedAt ?? null, noReportAt: n.noReportAt ?? null, sentAt: n.sentAt ?? null, deliveredAt: n.deliveredAt ?? null,
        } : null,
      };
    });
  }
}
