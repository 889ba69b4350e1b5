import { jakartaDate } from '@sicantik/core';
import type { DeliveryStatusReported, NotificationDispatchRecorded, NotificationRendered, NotificationRequested, PlannerDecisionRecorded } from '@sicantik/schemas';
import { ANOMALY_KINDS, RANK, STATES, STATE_OF_RANK, anomaliesOf, fromDelivery, fromDispatch, type AnomalyKind, type MessageState, type ReportedState } from './notificationStatus';

////////// The tracker's projections as pure functions (no I/O)
// A notification's state is a join-semilattice: every event becomes a small state
// (a "fact") and merge() is commutative, associative and idempotent. So any order
// and any repetition of a notification's events gives the same state, a batch folds
// into one patch per notification (one write per document per batch), and applying
// a patch twice changes nothing. Statuses only move forward: the status is the
// highest rank among the states seen (notificationStatus.ts, docs/states.md), and every
// state's "first reached" time is the earliest one reported.
//
// Personal data (issue 16, UU PDP): a notification document holds the person's subject
// id, the provider message id (Meta's encode the phone number) and the failure text a
// provider reported (it may echo the number). Erasure of the subject (privacy.requests
// ERASURE) and the retention period each add a fact (erased, expired) that merge() keeps
// and that removes exactly those fields, in every later state too: the status, the
// times, the codes and the counters stay (contrib() reads none of them). Because the
// scrub is part of the join, a rebuild that folds the same erasures and the same
// retention cut-off gives the same documents (withRules).
//
// Counters are a pure function of a state (contrib: per Jakarta day of the request
// and for all days), so a write adds contrib(after) - contrib(before) to them: a
// redelivered event changes no state and adds nothing. planDoc() also records, in
// the document itself, the delta of the batch that wrote it (BatchDelta: per
// topic-partition, the batch's first offset and its delta): a batch redelivered after
// a crash between its document writes and its counter writes finds that delta again,
// and counterOps() applies each counter document's share exactly once (see the guard
// in counterOps).
//
// Stored field names (StoredDoc, and the collections in store.ts) are not a public
// contract: the projections are rebuilt from the topics whenever they change
// (writer.ts, LAYOUT_VERSION; README "Replay and rebuild").

/** The states reached at a time of their own (failed and skipped carry a reason too: Failure, Skip). */
type Stamped = 'deferred' | 'held' | 'sending' | 'subject_erased' | 'accepted' | 'no_report' | 'sent' | 'delivered' | 'read';
const STAMPED: readonly Stamped[] = ['deferred', 'held', 'sending', 'subject_erased', 'accepted', 'no_report', 'sent', 'delivered', 'read'];
const AT = {
  deferred: 'deferredAt', held: 'heldAt', sending: 'sendingAt', subject_erased: 'subjectErasedAt', accepted: 'acceptedAt', no_report: 'noReportAt', sent: 'sentAt', delivered: 'deliveredAt', read: 'readAt',
} as const satisfies Record<Stamped, string>;

/** Where the base comes from: the request (or the rendered event, which carries its time) beats a guess from a dispatch record. */
const BASE_FROM_REQUEST = 2;
const BASE_FROM_DISPATCH = 1;
/** Who the notification is for and when it was requested; source: BASE_FROM_REQUEST or BASE_FROM_DISPATCH (the higher wins). */
interface Base { source: number; queuedAt: number; pendaftaran_id: string; scenario: string; templateCode: string; recipientKind: string }
/** The earliest failure reported (kept even when delivery evidence wins); reason null: removed with the personal data. */
interface Failure { at: number; code: string; reason: string | null }
/** The dispatcher's skip: nothing sent on purpose (code: why, e.g. OPTED_OUT; the earliest one kept). */
interface Skip { at: number; code: string; reason: string }
/** A value taken from the latest dispatch record that has it (order: that record's dispatchOrder; the highest wins). */
interface Latest { order: string; value: string }
/** Why the latest dispatch record that gives a reason went through its provider (routing decision; order as in Latest). */
interface Route { order: string; reason: string; detail: string | null }
/** The latest earliest-send time (order as in Latest; the request's order '' is below every dispatch record's). */
interface Deferral { order: string; notBefore: number; reason: string | null }
/** The dispatcher dropped a held message (the earliest drop kept): code SUPERSEDED, STALE or EXPIRED, and the notification that replaced it. */
interface Drop { at: number; code: string; reason: string; supersededBy: string | null }
/** The planner's COALESCED decision (the earliest kept): the change is carried by another notification. */
interface Coalesced { at: number; carriedBy: string }
export interface Core {
  base?: Base;
  stamps: Partial<Record<Stamped, number>>;
  failure?: Failure;
  skip?: Skip;
  provider?: Latest;
  providerMessageId?: Latest;
  route?: Route;
  inDoubt?: true;
  deferral?: Deferral;
  drop?: Drop;
  coalesced?: Coalesced;
  /** The person's pseudonymous subject id (the smallest one seen; every event of a notification names the same). */
  subjectId?: string;
  /** The subject was erased (privacy.requests ERASURE): personal fields removed. */
  erased?: true;
  /** Older than the retention period: personal fields removed. */
  expired?: true;
}
export const EMPTY: Core = Object.freeze({ stamps: Object.freeze({}) }) as Core;

const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
const betterBase = (a: Base, b: Base) =>
  (cmp(b.source, a.source) || cmp(a.queuedAt, b.queuedAt) || cmp(a.pendaftaran_id, b.pendaftaran_id) || cmp(a.scenario, b.scenario) || cmp(a.templateCode, b.templateCode) || cmp(a.recipientKind, b.recipientKind)) <= 0 ? a : b;
const earlier = <T extends Failure | Skip | Drop>(a: T, b: T) => ((cmp(a.at, b.at) || cmp(a.code, b.code) || cmp(a.reason ?? '', b.reason ?? '') || cmp(+(a.reason === null), +(b.reason === null)) || cmp(('supersededBy' in a ? a.supersededBy : null) ?? '', ('supersededBy' in b ? b.supersededBy : null) ?? '')) <= 0 ? a : b);
const laterDeferral = (a: Deferral, b: Deferral) => ((cmp(a.order, b.order) || cmp(a.notBefore, b.notBefore) || cmp(a.reason ?? '', b.reason ?? '')) >= 0 ? a : b);
const earlierCoalesced = (a: Coalesced, b: Coalesced) => ((cmp(a.at, b.at) || cmp(a.carriedBy, b.carriedBy)) <= 0 ? a : b);
const later = (a: Latest, b: Latest) => ((cmp(a.order, b.order) || cmp(a.value, b.value)) >= 0 ? a : b);
const laterRoute = (a: Route, b: Route) => ((cmp(a.order, b.order) || cmp(a.reason, b.reason) || cmp(a.detail ?? '', b.detail ?? '')) >= 0 ? a : b);
const pick = <T>(a: T | undefined, b: T | undefined, f: (x: T, y: T) => T) => (a === undefined ? b : b === undefined ? a : f(a, b));

/**
 * Removes the personal fields of an erased or expired state (a homomorphism of the join:
 * it only empties fields, so scrubbing before or after a merge gives the same).
 */
function scrubbed(c: Core): Core {
  if (!c.erased && !c.expired) return c;
  const { providerMessageId: _p, subjectId: _s, ...rest } = c;
  return rest.failure && rest.failure.reason !== null ? { ...rest, failure: { ...rest.failure, reason: null } } : rest;
}

/** The join: commutative, associative, idempotent. */
export function merge(a: Core, b: Core): Core {
  const stamps: Core['stamps'] = { ...a.stamps };
  for (const s of STAMPED) { const t = b.stamps[s]; if (t !== undefined && (stamps[s] === undefined || t < stamps[s]!)) stamps[s] = t; }
  const out: Core = { stamps };
  const base = pick(a.base, b.base, betterBase); if (base) out.base = base;
  const failure = pick(a.failure, b.failure, earlier); if (failure) out.failure = failure;
  const skip = pick(a.skip, b.skip, earlier); if (skip) out.skip = skip;
  const provider = pick(a.provider, b.provider, later); if (provider) out.provider = provider;
  const pmid = pick(a.providerMessageId, b.providerMessageId, later); if (pmid) out.providerMessageId = pmid;
  const route = pick(a.route, b.route, laterRoute); if (route) out.route = route;
  if (a.inDoubt || b.inDoubt) out.inDoubt = true;
  const deferral = pick(a.deferral, b.deferral, laterDeferral); if (deferral) out.deferral = deferral;
  const drop = pick(a.drop, b.drop, earlier); if (drop) out.drop = drop;
  const coalesced = pick(a.coalesced, b.coalesced, earlierCoalesced); if (coalesced) out.coalesced = coalesced;
  const subjectId = pick(a.subjectId, b.subjectId, (x, y) => (x <= y ? x : y)); if (subjectId !== undefined) out.subjectId = subjectId;
  if (a.erased || b.erased) out.erased = true;
  if (a.expired || b.expired) out.expired = true;
  return scrubbed(out);
}

/** Canonical form, for equality. */
const coreKey = (c: Core) => JSON.stringify([
  c.base ?? null, STAMPED.map((s) => c.stamps[s] ?? null), c.failure ?? null, c.provider ?? null, c.providerMessageId ?? null, !!c.inDoubt, c.route ?? null, c.skip ?? null,
  c.deferral ?? null, c.drop ?? null, c.coalesced ?? null, c.subjectId ?? null, !!c.erased, !!c.expired,
]);
const coreEquals = (a: Core, b: Core) => coreKey(a) === coreKey(b);

////////// Events -> facts

/** What the request and the rendered event say alike: who, when, the subject, and the earliest send time the planner set (deferred). */
function plannedFact(e: NotificationRequested | NotificationRendered): Core {
  const c: Core = { base: { source: BASE_FROM_REQUEST, queuedAt: e.occurredAt, pendaftaran_id: e.pendaftaran_id, scenario: e.scenario, templateCode: e.templateCode, recipientKind: e.recipient.kind }, stamps: {} };
  if (e.recipient.subjectId) c.subjectId = e.recipient.subjectId;
  if (e.notBefore != null) { c.stamps.deferred = e.occurredAt; c.deferral = { order: '', notBefore: e.notBefore, reason: e.deferReason ?? null }; }
  return c;
}

export function requestedFact(e: NotificationRequested): Core {
  return plannedFact(e);
}

/** The rendered event carries the request's time, so it is as good as the request for the base. */
export function renderedFact(e: NotificationRendered): Core {
  const c = plannedFact(e);
  if (e.outcome === 'FAILED') c.failure = { at: e.occurredAt, code: 'RENDER_FAILED', reason: e.failureReason ?? 'render failed' };
  return c;
}

/** The order of dispatch records, as a string: attempt, then time, then event id (a later attempt's provider and route win). */
const dispatchOrder = (e: Pick<NotificationDispatchRecorded, 'attempt' | 'occurredAt' | 'eventId'>) =>
  `${String(e.attempt).padStart(6, '0')}|${String(e.occurredAt).padStart(15, '0')}|${e.eventId}`;

export function dispatchFact(e: NotificationDispatchRecorded): Core {
  const order = dispatchOrder(e);
  const c: Core = { base: { source: BASE_FROM_DISPATCH, queuedAt: e.occurredAt, pendaftaran_id: e.pendaftaran_id, scenario: e.scenario, templateCode: e.templateCode, recipientKind: e.recipientKind }, stamps: {}, provider: { order, value: e.provider } };
  if (e.providerMessageId) c.providerMessageId = { order, value: e.providerMessageId };
  if (e.routeReason) c.route = { order, reason: e.routeReason, detail: e.routeDetail ?? null };
  if (e.status === 'IN_DOUBT') c.inDoubt = true;
  if (e.subjectId) c.subjectId = e.subjectId;
  const state = fromDispatch(e.status);
  if (state === 'failed') c.failure = { at: e.occurredAt, code: e.errorCode ?? 'FAILED', reason: e.reason ?? 'failed' };
  else if (state === 'skipped') c.skip = { at: e.occurredAt, code: e.routeReason ?? 'SKIPPED', reason: e.reason ?? e.routeDetail ?? 'skipped' };
  else if (state === 'dropped') c.drop = { at: e.occurredAt, code: e.routeReason ?? e.errorCode ?? 'DROPPED', reason: e.reason ?? e.routeDetail ?? 'dropped', supersededBy: e.supersededBy ?? null };
  else if (state) c.stamps[state as Stamped] = e.occurredAt;
  if (state === 'deferred' && e.notBefore != null) c.deferral = { order, notBefore: e.notBefore, reason: e.routeReason ?? null };
  return c;
}

/** The planner's COALESCED decision makes its notification coalesced (carried by another); other decisions are not about a message's state. */
export function decisionFact(e: PlannerDecisionRecorded): Core | undefined {
  if (e.decision !== 'COALESCED' || !e.notificationId) return undefined;
  return { stamps: {}, coalesced: { at: e.occurredAt, carriedBy: e.carriedBy ?? '' } };
}

/** The subject was erased: the notification's personal fields go (its state and counts stay). */
export const ERASED: Core = Object.freeze({ stamps: Object.freeze({}), erased: true }) as Core;
/** Older than the retention period: the same fields go. */
export const EXPIRED: Core = Object.freeze({ stamps: Object.freeze({}), expired: true }) as Core;

/**
 * The personal-data rules every write (and the rebuild) applies: the erased subjects,
 * and the retention cut-off (a notification requested before it is anonymised; null:
 * no retention).
 */
export interface PersonalDataRules { erasedSubjects: ReadonlySet<string>; retainFrom: number | null }
/** The retention cut-off at `now` for a period of `days` (requested before it: anonymised). */
export const retentionCutoff = (now: number, days: number) => now - days * 86_400_000;
/** erased_subjects: a subject whose notifications are scrubbed (its id only). */
export interface ErasedSubject { _id: string }
/** A state with the rules applied (unchanged when none applies). */
export function withRules(c: Core, rules: PersonalDataRules): Core {
  let out = c;
  if (!out.erased && out.subjectId !== undefined && rules.erasedSubjects.has(out.subjectId)) out = merge(out, ERASED);
  if (!out.expired && rules.retainFrom !== null && out.base && out.base.queuedAt < rules.retainFrom) out = merge(out, EXPIRED);
  return out;
}

/**
 * The reference of a provider message id (@sicantik/privacy messageRef: HMAC-SHA256 with the
 * index key, provider included), given by the adapter; undefined for an id that reads as
 * erased. It keys provider_messages and pending_statuses, so those collections hold no
 * message id (Meta's encode the phone number) and need no scrubbing.
 */
export type MessageRefOf = (provider: string, providerMessageId: string) => string | undefined;

/**
 * The reference a dispatch record joins its delivery statuses by: the dispatcher's
 * providerMessageRef, else (a record written before it) the reference of its plaintext id.
 * The ref stays readable after the subject's erasure, the id does not: so an erased
 * person's statuses still join their notifications, also in a rebuild.
 */
export function dispatchRef(e: Pick<NotificationDispatchRecorded, 'provider' | 'providerMessageId' | 'providerMessageRef'>, refOf: MessageRefOf): string | undefined {
  if (e.providerMessageRef) return e.providerMessageRef;
  return e.providerMessageId ? refOf(e.provider, e.providerMessageId) : undefined;
}

/** The reference a delivery status names its message by (the same as its dispatch record's). */
export function statusRef(e: Pick<DeliveryStatusReported, 'provider' | 'providerMessageId'> & { providerMessageRef?: string | null }, refOf: MessageRefOf): string | undefined {
  if (e.providerMessageRef) return e.providerMessageRef;
  return e.providerMessageId ? refOf(e.provider, e.providerMessageId) : undefined;
}

/**
 * A delivery.status event as kept until its message's notification is known (in
 * pending_statuses) and as applied: its event id (a status kept twice is one), the
 * state it reports, when (the provider's time, else when it was received) and the
 * provider's error.
 */
export interface ProviderStatus { eventId: string; state: ReportedState; at: number; errorCode: string | null; errorTitle: string | null }

export function providerStatus(e: DeliveryStatusReported): ProviderStatus {
  return { eventId: e.eventId, state: fromDelivery(e.status), at: e.providerTimestamp ?? e.receivedAt, errorCode: e.errorCode, errorTitle: e.errorTitle };
}

/** provider_messages: a provider message id (_id) and its notification (absent in a placeholder); statusesWaiting: statuses waiting in pending_statuses still to be folded in (store.ts). */
export interface MessageMapping { _id: string; notificationId?: string; statusesWaiting?: boolean }
/** pending_statuses: the statuses of a provider message id (_id) no dispatch record has named yet. */
export interface PendingStatuses { _id: string; statuses: ProviderStatus[] }

export function statusFact(s: ProviderStatus): Core {
  if (s.state === 'failed') return { stamps: {}, failure: { at: s.at, code: s.errorCode ?? 'FAILED', reason: s.errorTitle ?? 'failed at provider' } };
  return { stamps: { [s.state]: s.at } };
}

/** Folds one fact into the batch's patch of its document. */
export function foldInto(patches: Map<string, Core>, id: string, fact: Core): void {
  const cur = patches.get(id);
  patches.set(id, cur ? merge(cur, fact) : fact);
}

////////// State -> what the API shows

function statesOf(c: Core): MessageState[] {
  return [
    'queued', ...STAMPED.filter((s) => c.stamps[s] !== undefined), ...(c.failure ? ['failed' as const] : []), ...(c.skip ? ['skipped' as const] : []),
    ...(c.drop ? ['dropped' as const] : []), ...(c.coalesced ? ['coalesced' as const] : []),
  ];
}
export const statusRankOf = (c: Core) => Math.max(...statesOf(c).map((s) => RANK[s]));
const statusOf = (c: Core): MessageState => STATE_OF_RANK[statusRankOf(c)]!;

/** One notification as the statistics API shows it. */
export interface NotificationDoc {
  _id: string;
  pendaftaran_id?: string;
  scenario?: string;
  templateCode?: string;
  recipientKind?: string;
  /** Day of the request (Asia/Jakarta). */
  day?: string;
  status: MessageState;
  statusRank: number;
  provider?: string;
  providerMessageId?: string;
  /** Why the message went through its provider (the dispatcher's routing decision, e.g. NOT_OPTED_IN, FALLBACK). */
  routeReason?: string;
  routeDetail?: string | null;
  failureReason?: string;
  errorCode?: string;
  /** Why nothing was sent (skipped): the dispatcher's reason in words and its code (e.g. OPTED_OUT). */
  skipReason?: string;
  skipReasonCode?: string;
  inDoubt?: boolean;
  /** Anomalies seen, e.g. failed_but_delivered (a failure reported for a delivered or read message). */
  anomalies?: AnomalyKind[];
  /** The person's pseudonymous subject id (absent once anonymised, and in events before issue 16). */
  subjectId?: string;
  /** deferred: the latest earliest send time known, and why (QUIET_HOURS, WORKING_HOURS, HOLIDAY, COALESCING). */
  notBefore?: Date; deferReason?: string | null;
  /** dropped: why (SUPERSEDED, STALE, EXPIRED), in words, and the notification that replaced it. */
  dropReasonCode?: string; dropReason?: string; supersededBy?: string | null;
  /** coalesced: the notification that carries this change. */
  carriedBy?: string;
  /** Personal fields removed: after the subject's erasure, after the retention period. */
  anonymised?: ('erasure' | 'retention')[];
  queuedAt?: Date; deferredAt?: Date; heldAt?: Date; sendingAt?: Date; subjectErasedAt?: Date; acceptedAt?: Date; noReportAt?: Date; sentAt?: Date; deliveredAt?: Date; readAt?: Date; failedAt?: Date; skippedAt?: Date;
  droppedAt?: Date; coalescedAt?: Date;
}

/**
 * What one batch added to the counters through this document, recorded in the
 * document (per topic-partition, the latest batch only): the batch's first offset and
 * its delta (storedDelta: paths with ':' for '.').
 */
interface BatchDelta { firstOffset: number; delta: Delta }
/** BatchDelta by topic-partition (tpKey). */
export type BatchDeltas = Record<string, BatchDelta>;

/** The document as stored: the view plus what merging and exactly-once counting need. */
export interface StoredDoc extends NotificationDoc {
  /** Where the base comes from (Base.source). */ _baseSource?: number;
  /** The dispatch order (dispatchOrder) of the records that set provider, providerMessageId and the route (Latest.order, Route.order). */
  _providerOrder?: string; _providerMessageIdOrder?: string; _routeOrder?: string; _deferralOrder?: string;
  /** Version: a new unique value on every write (compare-and-set). */ _v: string;
  _batchDeltas: BatchDeltas;
}
const INTERNAL_FIELDS = ['_baseSource', '_providerOrder', '_providerMessageIdOrder', '_routeOrder', '_deferralOrder', '_v', '_batchDeltas'] as const;

export function toDoc(id: string, c: Core, v: string, batchDeltas: BatchDeltas): StoredDoc {
  const d: StoredDoc = { _id: id, status: statusOf(c), statusRank: statusRankOf(c), _v: v, _batchDeltas: batchDeltas };
  if (c.base) {
    Object.assign(d, { pendaftaran_id: c.base.pendaftaran_id, scenario: c.base.scenario, templateCode: c.base.templateCode, recipientKind: c.base.recipientKind, day: jakartaDate(c.base.queuedAt), queuedAt: new Date(c.base.queuedAt), _baseSource: c.base.source });
  }
  if (c.provider) { d.provider = c.provider.value; d._providerOrder = c.provider.order; }
  if (c.providerMessageId) { d.providerMessageId = c.providerMessageId.value; d._providerMessageIdOrder = c.providerMessageId.order; }
  if (c.route) { d.routeReason = c.route.reason; d.routeDetail = c.route.detail; d._routeOrder = c.route.order; }
  if (c.failure) { d.failedAt = new Date(c.failure.at); if (c.failure.reason !== null) d.failureReason = c.failure.reason; d.errorCode = c.failure.code; }
  if (c.skip) { d.skippedAt = new Date(c.skip.at); d.skipReason = c.skip.reason; d.skipReasonCode = c.skip.code; }
  if (c.inDoubt) d.inDoubt = true;
  if (c.subjectId !== undefined) d.subjectId = c.subjectId;
  if (c.deferral) { d.notBefore = new Date(c.deferral.notBefore); d.deferReason = c.deferral.reason; d._deferralOrder = c.deferral.order; }
  if (c.drop) { d.droppedAt = new Date(c.drop.at); d.dropReasonCode = c.drop.code; d.dropReason = c.drop.reason; d.supersededBy = c.drop.supersededBy; }
  if (c.coalesced) { d.coalescedAt = new Date(c.coalesced.at); d.carriedBy = c.coalesced.carriedBy; }
  if (c.erased || c.expired) d.anonymised = [...(c.erased ? ['erasure' as const] : []), ...(c.expired ? ['retention' as const] : [])];
  const anomalies = anomaliesOf(statesOf(c));
  if (anomalies.length) d.anomalies = anomalies;
  for (const s of STAMPED) if (c.stamps[s] !== undefined) d[AT[s]] = new Date(c.stamps[s]!);
  return d;
}

export function fromDoc(d: StoredDoc): Stored {
  const c: Core = { stamps: {} };
  if (d._baseSource !== undefined && d.queuedAt) c.base = { source: d._baseSource, queuedAt: d.queuedAt.getTime(), pendaftaran_id: d.pendaftaran_id!, scenario: d.scenario!, templateCode: d.templateCode!, recipientKind: d.recipientKind! };
  for (const s of STAMPED) { const t = d[AT[s]]; if (t) c.stamps[s] = t.getTime(); }
  if (d.failedAt) c.failure = { at: d.failedAt.getTime(), code: d.errorCode!, reason: d.failureReason ?? null };
  if (d.skippedAt) c.skip = { at: d.skippedAt.getTime(), code: d.skipReasonCode!, reason: d.skipReason! };
  if (d._providerOrder !== undefined) c.provider = { order: d._providerOrder, value: d.provider! };
  if (d._providerMessageIdOrder !== undefined) c.providerMessageId = { order: d._providerMessageIdOrder, value: d.providerMessageId! };
  if (d._routeOrder !== undefined) c.route = { order: d._routeOrder, reason: d.routeReason!, detail: d.routeDetail ?? null };
  if (d.inDoubt) c.inDoubt = true;
  if (d.subjectId !== undefined) c.subjectId = d.subjectId;
  if (d._deferralOrder !== undefined && d.notBefore) c.deferral = { order: d._deferralOrder, notBefore: d.notBefore.getTime(), reason: d.deferReason ?? null };
  if (d.droppedAt) c.drop = { at: d.droppedAt.getTime(), code: d.dropReasonCode!, reason: d.dropReason!, supersededBy: d.supersededBy ?? null };
  if (d.coalescedAt) c.coalesced = { at: d.coalescedAt.getTime(), carriedBy: d.carriedBy! };
  if (d.anonymised?.includes('erasure')) c.erased = true;
  if (d.anonymised?.includes('retention')) c.expired = true;
  return { core: c, v: d._v, batchDeltas: d._batchDeltas ?? {} };
}

/** The document without the fields only the writer needs. */
export function publicView(d: StoredDoc): NotificationDoc {
  const out = { ...d } as Partial<StoredDoc>;
  for (const k of INTERNAL_FIELDS) delete out[k];
  return out as NotificationDoc;
}

////////// Counters: deltas per counter document (a Jakarta day or 'all') and path

export type Delta = Record<string, Record<string, number>>;
export const ALL = 'all';

export function addDelta(into: Delta, d: Delta, sign = 1): Delta {
  for (const [id, paths] of Object.entries(d)) {
    for (const [p, n] of Object.entries(paths)) {
      const row = (into[id] ??= {});
      const v = (row[p] ?? 0) + sign * n;
      if (v === 0) delete row[p]; else row[p] = v;
      if (Object.keys(row).length === 0) delete into[id];
    }
  }
  return into;
}
const diffDelta = (after: Delta, before: Delta) => addDelta(addDelta({}, after), before, -1);
/** A delta as a field value: field names cannot hold '.', so paths keep ':' instead (paths never hold ':'). */
const mapPaths = (d: Delta, f: (p: string) => string): Delta => Object.fromEntries(Object.entries(d).map(([id, paths]) => [id, Object.fromEntries(Object.entries(paths).map(([p, n]) => [f(p), n]))]));
const storedDelta = (d: Delta) => mapPaths(d, (p) => p.replace(/\./g, ':'));
const deltaOfStored = (d: Delta) => mapPaths(d, (p) => p.replace(/:/g, '.'));

/**
 * What one notification adds to the counters: total, byStatus (its final status, each
 * state a bucket of its own), droppedBy (a dropped one's reason code),
 * sent/delivered/read (the evidence reached: a read receipt also counts as delivered),
 * inDoubt and anomalies; under its request's day (once known) and under 'all'. Nothing
 * personal is read, so removing personal fields changes no counter.
 */
export function contrib(c: Core | null): Delta {
  if (!c) return {};
  const status = statusOf(c);
  const paths = ['total', `byStatus.${status}`];
  if (status === 'dropped') paths.push(`droppedBy.${c.drop!.code.replace(/[.$]/g, '_')}`);
  const { sent, delivered, read } = c.stamps;
  if (sent !== undefined || delivered !== undefined || read !== undefined) paths.push('sent');
  if (delivered !== undefined || read !== undefined) paths.push('delivered');
  if (read !== undefined) paths.push('read');
  if (c.inDoubt) paths.push('inDoubt');
  for (const k of anomaliesOf(statesOf(c))) paths.push(`anomalies.${k}`);
  const row = Object.fromEntries(paths.map((p) => [p, 1]));
  return { [ALL]: row, ...(c.base ? { [jakartaDate(c.base.queuedAt)]: { ...row } } : {}) };
}

////////// One document in one batch

/** A document as read back (fromDoc) or cached: its state, its version (_v) and its batch deltas. */
export interface Stored { core: Core; v: string; batchDeltas: BatchDeltas }

export interface DocPlan {
  after: Core;
  /** False when the patch adds nothing (a redelivery, or evidence already there). */
  write: boolean;
  /** The delta this batch already wrote into the document in an earlier attempt (a redelivery after a crash), else null. */
  prior: Delta | null;
  /** The delta of this write: contrib(after) - contrib(before). */
  fresh: Delta;
  /** The document's batch deltas after this write. */
  batchDeltas: BatchDeltas;
  /** Anomalies this write newly shows (for the metric). */
  newAnomalies: AnomalyKind[];
}

/** tp: the batch's topic-partition key; firstOffset: its first offset; before: the document as stored (null: none). */
export function planDoc(tp: string, firstOffset: number, before: Stored | null, patch: Core): DocPlan {
  const b = before?.core ?? null;
  const after = b ? merge(b, patch) : merge(EMPTY, patch);
  const write = !b || !coreEquals(after, b);
  const prev = before?.batchDeltas[tp];
  const prior = prev && prev.firstOffset === firstOffset ? deltaOfStored(prev.delta) : null;
  const fresh = diffDelta(contrib(after), contrib(b));
  const total = addDelta(addDelta({}, prior ?? {}), fresh);
  const had = new Set(b ? anomaliesOf(statesOf(b)) : []);
  return {
    after, write, prior, fresh,
    batchDeltas: { ...(before?.batchDeltas ?? {}), [tp]: { firstOffset, delta: storedDelta(total) } },
    newAnomalies: anomaliesOf(statesOf(after)).filter((k) => !had.has(k)),
  };
}

/**
 * One document's patches from several batches (one topic-partition each) written in one
 * write: planned one after another, so each batch's delta is its own (the sum is the
 * write's) and is recorded under its topic-partition, as if the batches had been written
 * one by one. `rules`: the personal-data rules, applied to the state each step makes.
 */
export function planDocs(before: Stored | null, steps: { tp: string; firstOffset: number; patch: Core }[], rules?: PersonalDataRules): { plans: DocPlan[]; after: Core; batchDeltas: BatchDeltas; write: boolean } {
  let state = before;
  let write = false;
  const plans: DocPlan[] = [];
  for (const { tp, firstOffset, patch } of steps) {
    const p = planDoc(tp, firstOffset, state, rules ? withRules(merge(state?.core ?? EMPTY, patch), rules) : patch);
    plans.push(p);
    write ||= p.write;
    state = { core: p.after, v: state?.v ?? '', batchDeltas: p.batchDeltas };
  }
  return { plans, after: state?.core ?? EMPTY, batchDeltas: state?.batchDeltas ?? {}, write };
}

/** What a batch adds to the counters, summed over its documents. */
export class BatchCounts {
  /** Everything this batch's documents hold for it (earlier attempts included). */
  readonly allAttempts: Delta = {};
  /** Only what this attempt wrote. */
  readonly thisAttempt: Delta = {};
  /** An earlier attempt of this batch wrote documents, so it may have applied counters too. */
  retried = false;
  readonly anomalies: Partial<Record<AnomalyKind, number>> = {};
  add(p: { prior: Delta | null; fresh: Delta; newAnomalies?: AnomalyKind[] }): void {
    if (p.prior) { this.retried = true; addDelta(this.allAttempts, p.prior); }
    addDelta(this.allAttempts, p.fresh);
    addDelta(this.thisAttempt, p.fresh);
    for (const k of p.newAnomalies ?? []) this.anomalies[k] = (this.anomalies[k] ?? 0) + 1;
  }
}

/**
 * The counter updates of a batch, per counter document, guarded by the first offset of
 * the last batch of this topic-partition the document applied (appliedBatches.<tp>):
 * - ifNot (appliedBatches.<tp> < firstOffset, then = firstOffset): the delta of all the
 *   batch's attempts, applied once;
 * - ifApplied (appliedBatches.<tp> >= firstOffset, sent first, only for a retried batch): what this
 *   attempt added beyond an earlier attempt that already applied its share to that document.
 * A normal batch sends only ifNot; a redelivery of a completed batch adds nothing.
 */
export interface CounterOp { id: string; ifApplied?: Record<string, number>; ifNot?: Record<string, number> }
export function counterOps(c: Pick<BatchCounts, 'allAttempts' | 'thisAttempt' | 'retried'>): CounterOp[] {
  const ids = [...new Set([...Object.keys(c.allAttempts), ...(c.retried ? Object.keys(c.thisAttempt) : [])])].sort();
  return ids.map((id) => {
    const op: CounterOp = { id };
    if (c.retried && c.thisAttempt[id]) op.ifApplied = c.thisAttempt[id];
    if (c.allAttempts[id]) op.ifNot = c.allAttempts[id];
    return op;
  }).filter((op) => op.ifApplied || op.ifNot);
}

/** The drop reason codes the summary always shows (others appear when counted). */
const DROP_REASONS = ['SUPERSEDED', 'STALE', 'EXPIRED'] as const;

/**
 * Summary counters as the API shows them, from summed counter documents: sent,
 * delivered and read count the evidence reached; the others (deferred, held, dropped,
 * coalesced, subjectErased, accepted, noReport, failed, skipped) the notifications whose
 * final status that is (as byStatus does, where every state is present).
 */
interface SummaryCounts { total: number; sent: number; delivered: number; read: number; inDoubt: number; byStatus: Record<string, number>; droppedBy: Record<string, number>; anomalies: Record<string, number> }
export function summaryOf(docs: { total?: number; sent?: number; delivered?: number; read?: number; inDoubt?: number; byStatus?: Record<string, number>; droppedBy?: Record<string, number>; anomalies?: Record<string, number> }[]) {
  const s: SummaryCounts = {
    total: 0, sent: 0, delivered: 0, read: 0, inDoubt: 0, byStatus: Object.fromEntries(STATES.map((k) => [k, 0])),
    droppedBy: Object.fromEntries(DROP_REASONS.map((k) => [k, 0])), anomalies: Object.fromEntries(ANOMALY_KINDS.map((k) => [k, 0])),
  };
  for (const d of docs) {
    for (const k of ['total', 'sent', 'delivered', 'read', 'inDoubt'] as const) s[k] += d[k] ?? 0;
    for (const k of Object.keys(s.byStatus)) s.byStatus[k]! += d.byStatus?.[k] ?? 0;
    for (const [k, n] of Object.entries(d.droppedBy ?? {})) s.droppedBy[k] = (s.droppedBy[k] ?? 0) + n;
    for (const k of Object.keys(s.anomalies)) s.anomalies[k]! += d.anomalies?.[k] ?? 0;
  }
  const b = s.byStatus as Record<MessageState, number>;
  return {
    total: s.total, sent: s.sent, delivered: s.delivered, read: s.read,
    deferred: b.deferred, held: b.held, dropped: b.dropped, coalesced: b.coalesced, subjectErased: b.subject_erased,
    accepted: b.accepted, noReport: b.no_report, failed: b.failed, skipped: b.skipped,
    inDoubt: s.inDoubt, deliveryRate: s.sent ? s.delivered / s.sent : null, byStatus: s.byStatus, droppedBy: s.droppedBy, anomalies: s.anomalies,
  };
}

////////// Planner decisions: counts per Jakarta day and (scenario, decision, reason code)

/**
 * The planner's decisions, in their order (docs/states.md): planned to be sent at once,
 * planned for later (DEFERRED, with notBefore), carried by another message (COALESCED,
 * with carriedBy), not planned (SKIPPED), withdrawn (CANCELLED).
 */
export const DECISIONS = ['PLANNED', 'DEFERRED', 'COALESCED', 'SKIPPED', 'CANCELLED'] as const satisfies readonly PlannerDecisionRecorded['decision'][];

const enc = (s: string) => s.replace(/[%.$|]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
export const decisionKey = (scenario: string, decision: string, reasonCode: string | null | undefined) => [scenario, decision, reasonCode ?? ''].map(enc).join('|');
export function parseDecisionKey(k: string): { scenario: string; decision: string; reasonCode: string | null } {
  const [scenario, decision, reasonCode] = k.split('|').map((x) => decodeURIComponent(x));
  return { scenario: scenario!, decision: decision!, reasonCode: reasonCode ? reasonCode : null };
}

export function decisionContrib(e: Pick<PlannerDecisionRecorded, 'occurredAt' | 'scenario' | 'decision' | 'reasonCode'>): Delta {
  const row = { [`counts.${decisionKey(e.scenario, e.decision, e.reasonCode)}`]: 1 };
  return { [ALL]: row, [jakartaDate(e.occurredAt)]: { ...row } };
}

/** tp key of a topic-partition, usable as a field name. */
export const tpKey = (topic: string, partition: number) => `${topic.replace(/[^A-Za-z0-9]/g, '_')}_${partition}`;
