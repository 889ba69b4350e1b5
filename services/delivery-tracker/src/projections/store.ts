import type { Collection, Db } from 'mongodb';
import { DateTime } from 'luxon';
import type { DeliveryStatusReported, NotificationDispatchRecorded, NotificationRendered, NotificationRequested } from '@sicantik/schemas';
import { ANOMALIES, ANOMALY_KINDS, RANK, STAMP, fromDelivery, fromDispatch, type AnomalyKind, type MessageState } from './notificationStatus';

////////// MongoDB projection of notifications, built only from topics (replayable).
// Every update is idempotent: statuses move forward through a rank guard and a
// "first reached" timestamp is set only when absent, so redelivery changes nothing.
// A failure that does not change the status (delivery evidence wins) still leaves
// its failedAt, failureReason and errorCode, and the anomaly is flagged and counted.

export interface NotificationDoc {
  _id: string;
  pendaftaran_id: string;
  scenario: string;
  templateCode: string;
  recipientKind: string;
  day: string;
  status: MessageState;
  statusRank: number;
  provider?: string;
  providerMessageId?: string;
  failureReason?: string;
  errorCode?: string;
  inDoubt?: boolean;
  /** Anomalies seen, e.g. failed_but_delivered (a failure reported for a delivered or read message). */
  anomalies?: AnomalyKind[];
  queuedAt?: Date; sendingAt?: Date; sentAt?: Date; deliveredAt?: Date; readAt?: Date; failedAt?: Date;
}

interface PendingStatus { _id: string; providerMessageId: string; status: MessageState; at: Date; errorCode: string | null; errorTitle: string | null }

const jakartaDay = (ms: number) => DateTime.fromMillis(ms, { zone: 'Asia/Jakarta' }).toISODate()!;

export class NotificationProjection {
  readonly col: Collection<NotificationDoc>;
  private readonly pending: Collection<PendingStatus>;
  /** onAnomaly: called with how many documents newly showed an anomaly (the status_anomalies metric). */
  constructor(db: Db, private readonly hooks: { onAnomaly?(kind: AnomalyKind, n: number): void } = {}) {
    this.col = db.collection<NotificationDoc>('notifications');
    this.pending = db.collection<PendingStatus>('pending_delivery_statuses');
  }

  async init(): Promise<void> {
    await this.col.createIndex({ providerMessageId: 1 });
    await this.col.createIndex({ day: 1 });
    await this.pending.createIndex({ providerMessageId: 1 });
    // failed was ranked 9 (above delivered/read) before delivery evidence beat it.
    await this.col.updateMany({ status: 'failed', statusRank: { $ne: RANK.failed } }, { $set: { statusRank: RANK.failed } });
  }

  /**
   * Creates the document on whichever event arrives first. The request (and the
   * rendered event, which carries the request's time) is the authority for the
   * queued time and day, so it overwrites what an earlier-arriving event guessed:
   * the result is the same in any arrival order.
   */
  private async upsertBase(e: { notificationId: string; pendaftaran_id: string; scenario: string; templateCode: string; occurredAt: number }, recipientKind: string, authoritative: boolean) {
    const fields = { pendaftaran_id: e.pendaftaran_id, scenario: e.scenario, templateCode: e.templateCode, recipientKind, day: jakartaDay(e.occurredAt), queuedAt: new Date(e.occurredAt) };
    await this.col.updateOne(
      { _id: e.notificationId },
      authoritative
        ? { $set: fields, $setOnInsert: { status: 'queued', statusRank: RANK.queued } }
        : { $setOnInsert: { ...fields, status: 'queued', statusRank: RANK.queued } },
      { upsert: true },
    );
  }

  private async moveTo(filter: Record<string, unknown>, state: MessageState, at: Date, failure?: { failureReason: string; errorCode: string }) {
    const stamp = STAMP[state];
    await this.col.updateMany({ ...filter, [stamp]: { $exists: false } }, { $set: { [stamp]: at } });
    if (failure) await this.col.updateMany({ ...filter, failureReason: { $exists: false } }, { $set: failure });
    // Anomalies from the states seen so far (their timestamps), as anomaliesOf defines them;
    // flagged before the status moves, so a reader never sees the new status without them.
    for (const kind of ANOMALY_KINDS) {
      const { all, any } = ANOMALIES[kind];
      if (![...all, ...any].includes(state as never)) continue;
      const seen = (s: MessageState) => ({ [STAMP[s]]: { $exists: true } });
      const r = await this.col.updateMany({ ...filter, anomalies: { $ne: kind }, $and: all.map(seen), $or: any.map(seen) }, { $addToSet: { anomalies: kind } });
      if (r.modifiedCount) this.hooks.onAnomaly?.(kind, r.modifiedCount);
    }
    await this.col.updateMany({ ...filter, statusRank: { $lt: RANK[state] } }, { $set: { status: state, statusRank: RANK[state] } });
  }

  async onRequested(e: NotificationRequested): Promise<void> { await this.upsertBase(e, e.recipient.kind, true); }

  async onRendered(e: NotificationRendered): Promise<void> {
    await this.upsertBase(e, e.recipient.kind, true);
    if (e.outcome === 'FAILED') await this.moveTo({ _id: e.notificationId }, 'failed', new Date(e.occurredAt), { failureReason: e.failureReason ?? 'render failed', errorCode: 'RENDER_FAILED' });
  }

  async onDispatch(e: NotificationDispatchRecorded): Promise<void> {
    await this.upsertBase(e, e.recipientKind, false);
    const set: Record<string, unknown> = { provider: e.provider };
    if (e.providerMessageId) set.providerMessageId = e.providerMessageId;
    if (e.status === 'IN_DOUBT') set.inDoubt = true;
    await this.col.updateOne({ _id: e.notificationId }, { $set: set });
    const state = fromDispatch(e.status);
    if (state) {
      const failure = state === 'failed' ? { failureReason: e.reason ?? 'failed', errorCode: e.errorCode ?? 'FAILED' } : undefined;
      await this.moveTo({ _id: e.notificationId }, state, new Date(e.occurredAt), failure);
    }
    if (e.providerMessageId) {
      // Statuses that arrived before we knew which notification the message id belongs to.
      const early = await this.pending.find({ providerMessageId: e.providerMessageId }).toArray();
      for (const p of early) await this.applyStatus(e.providerMessageId, p.status, p.at, p.errorCode, p.errorTitle);
    }
  }

  async onDelivery(e: DeliveryStatusReported): Promise<void> {
    const state = fromDelivery(e.status);
    const at = new Date(e.providerTimestamp ?? e.receivedAt);
    const known = await this.col.countDocuments({ providerMessageId: e.providerMessageId }, { limit: 1 });
    if (!known) {
      await this.pending.updateOne(
        { _id: e.eventId },
        { $setOnInsert: { providerMessageId: e.providerMessageId, status: state, at, errorCode: e.errorCode, errorTitle: e.errorTitle } },
        { upsert: true },
      );
      return;
    }
    await this.applyStatus(e.providerMessageId, state, at, e.errorCode, e.errorTitle);
  }

  private async applyStatus(providerMessageId: string, state: MessageState, at: Date, errorCode: string | null, errorTitle: string | null) {
    const failure = state === 'failed' ? { failureReason: errorTitle ?? 'failed at provider', errorCode: errorCode ?? 'FAILED' } : undefined;
    await this.moveTo({ providerMessageId }, state, at, failure);
  }

  ////////// Queries for the statistics API
  // Each notification is counted once in byStatus and failed, under its final status;
  // sent/delivered/read count the evidence reached (a read receipt proves delivery).
  async summary(from?: string, to?: string) {
    const f: Record<string, unknown> = {};
    if (from || to) f.day = { ...(from ? { $gte: from } : {}), ...(to ? { $lte: to } : {}) };
    const count = (extra: Record<string, unknown>) => this.col.countDocuments({ ...f, ...extra });
    const [total, sent, delivered, read, failed, inDoubt] = await Promise.all([
      count({}), count({ $or: [{ sentAt: { $exists: true } }, { deliveredAt: { $exists: true } }, { readAt: { $exists: true } }] }), count({ $or: [{ deliveredAt: { $exists: true } }, { readAt: { $exists: true } }] }), count({ readAt: { $exists: true } }),
      count({ status: 'failed' }), count({ inDoubt: true }),
    ]);
    const byStatus: Record<string, number> = {};
    for (const s of Object.keys(RANK)) byStatus[s] = await count({ status: s });
    const anomalies: Record<string, number> = {};
    for (const k of ANOMALY_KINDS) anomalies[k] = await count({ anomalies: k });
    return { total, sent, delivered, read, failed, inDoubt, deliveryRate: sent ? delivered / sent : null, byStatus, anomalies };
  }

  async get(id: string): Promise<NotificationDoc | null> { return this.col.findOne({ _id: id }); }
}
