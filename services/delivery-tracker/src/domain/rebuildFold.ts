import type { DeliveryStatusReported, NotificationDispatchRecorded, NotificationRendered, NotificationRequested, PlannerDecisionRecorded, PrivacyRequestRecorded } from '@sicantik/schemas';
import {
  addDelta, contrib, decisionContrib, decisionFact, dispatchFact, dispatchRef, foldInto, renderedFact, requestedFact, providerStatus, statusFact, statusRef, toDoc, withRules,
  type Core, type Delta, type MessageRefOf, type ErasedSubject, type MessageMapping, type PendingStatuses, type ProviderStatus, type StoredDoc,
} from './model';

/** The decision event as stored: its id as _id, its time as a date, its cause left out. */
export type DecisionDoc = Omit<PlannerDecisionRecorded, 'eventId' | 'occurredAt' | 'causationId'> & { _id: string; at: Date; /** The batch that inserted it: <tp>@<first offset>. */ _insertedBy?: string };

////////// A rebuild of the tracker's projections in memory (pure): every event of the
// topics folded with the same join as the live projection (model.ts), then written
// once per document. Since the join does not depend on order, batching or repetition,
// the documents equal those the live projection reaches from the same events, and the
// counters are a sum of contrib() over the final documents, which is what the live
// projection's per-batch deltas add up to. The personal-data rules are applied as the
// live projection applies them: every ERASURE on privacy.requests (wherever it stands on
// the topic) and the retention cut-off of the rebuild's "now" (withRules), so a rebuild
// equals a live projection whose sweep ran at that time.

export interface RebuildOutput {
  notifications: StoredDoc[];
  /** Placeholders (no notificationId) for the message ids of statuses no dispatch record names; the mapped ones were handed out by dispatched(). */
  messages: MessageMapping[];
  /** Statuses whose provider message id no dispatch record names (yet). */
  pending: PendingStatuses[];
  /** Counter documents: notification_stats and decision_stats, with empty batch guards. */
  notificationStats: ({ _id: string; appliedBatches: Record<string, never> } & Record<string, unknown>)[];
  decisionStats: { _id: string; appliedBatches: Record<string, never>; counts: Record<string, number> }[];
  /** The subjects erased (privacy.requests ERASURE). */
  erasedSubjects: ErasedSubject[];
}

/** Nested counter fields from a delta's dotted paths ("byStatus.sent" -> { byStatus: { sent } }). */
function nest(paths: Record<string, number>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [p, n] of Object.entries(paths)) {
    const parts = p.split('.');
    let at = out;
    for (const k of parts.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>;
    at[parts[parts.length - 1]!] = n;
  }
  return out;
}

export class RebuildFold {
  private readonly cores = new Map<string, Core>();
  private readonly messageOf = new Map<string, string>();
  private readonly statuses = new Map<string, Map<string, ProviderStatus>>();
  /** Decision event id -> its counter contribution (the documents are handed out as they arrive). */
  private readonly decisions = new Map<string, Delta>();
  private readonly erased = new Set<string>();
  events = 0;

  /** refOf: how a provider message id becomes its reference (model.ts MessageRefOf; the live projection's). */
  constructor(private readonly refOf: MessageRefOf) {}

  requested(e: NotificationRequested): void { this.events++; foldInto(this.cores, e.notificationId, requestedFact(e)); }
  rendered(e: NotificationRendered): void { this.events++; foldInto(this.cores, e.notificationId, renderedFact(e)); }
  /** Returns the provider-message map entry the first time a message id is seen (it can be written at once). */
  dispatched(e: NotificationDispatchRecorded): Required<Pick<MessageMapping, '_id' | 'notificationId'>> | undefined {
    this.events++;
    foldInto(this.cores, e.notificationId, dispatchFact(e));
    const w = dispatchRef(e, this.refOf);
    if (!w) return undefined;
    if (this.messageOf.has(w)) return undefined;
    this.messageOf.set(w, e.notificationId);
    return { _id: w, notificationId: e.notificationId };
  }
  status(e: DeliveryStatusReported): void {
    this.events++;
    const s = providerStatus(e);
    const w = statusRef(e, this.refOf);
    if (!w) return;
    const m = this.statuses.get(w) ?? new Map<string, ProviderStatus>();
    // One event id can come again with a later time (a redelivered webhook without a provider
    // time, a lookup repeated after a crash): the live join keeps each state's earliest time, so does this.
    const seen = m.get(s.eventId);
    if (!seen || s.at < seen.at) m.set(s.eventId, s);
    this.statuses.set(w, m);
  }
  /** An ERASURE request, once DONE: the subject's notifications are scrubbed in the output. */
  privacy(e: PrivacyRequestRecorded): void {
    this.events++;
    if (e.kind === 'ERASURE' && e.status === 'DONE' && e.subjectId) this.erased.add(e.subjectId);
  }
  /** Returns the decision's document the first time its event id is seen (insert-only: it can be written at once). */
  decision(e: PlannerDecisionRecorded): DecisionDoc | undefined {
    this.events++;
    const f = decisionFact(e);
    if (f) foldInto(this.cores, e.notificationId!, f);
    if (this.decisions.has(e.eventId)) return undefined;
    this.decisions.set(e.eventId, decisionContrib(e));
    const { eventId, occurredAt, causationId: _c, ...rest } = e;
    return { ...rest, _id: eventId, at: new Date(occurredAt) } as DecisionDoc;
  }

  /**
   * The documents to write; `version` becomes every notification's _v; retainFrom: the
   * retention cut-off at the rebuild's time (model.ts retentionCutoff; null: none).
   */
  output(version: string, retainFrom: number | null = null): RebuildOutput {
    const pending: RebuildOutput['pending'] = [];
    const messages: RebuildOutput['messages'] = [];
    for (const [w, byEvent] of this.statuses) {
      const n = this.messageOf.get(w);
      if (n) for (const s of byEvent.values()) foldInto(this.cores, n, statusFact(s));
      else { pending.push({ _id: w, statuses: [...byEvent.values()] }); messages.push({ _id: w }); }
    }
    const counts: Delta = {};
    const rules = { erasedSubjects: this.erased, retainFrom };
    const notifications = [...this.cores].map(([id, c0]) => { const c = withRules(c0, rules); addDelta(counts, contrib(c)); return toDoc(id, c, version, {}); });
    const dcounts: Delta = {};
    for (const d of this.decisions.values()) addDelta(dcounts, d);
    return {
      notifications, messages, pending,
      notificationStats: Object.entries(counts).map(([id, paths]) => ({ _id: id, appliedBatches: {}, ...nest(paths) })),
      // decisionContrib's paths are 'counts.<key>' (keys never hold '.').
      erasedSubjects: [...this.erased].sort().map((s) => ({ _id: s })),
      decisionStats: Object.entries(dcounts).map(([id, paths]) => ({ _id: id, appliedBatches: {}, counts: Object.fromEntries(Object.entries(paths).map(([k, n]) => [k.slice('counts.'.length), n])) })),
    };
  }
}

