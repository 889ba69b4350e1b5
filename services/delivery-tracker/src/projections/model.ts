import { jakartaDate } from '@sicantik/core';
import type { DeliveryStatusReported, NotificationDispatchRecorded, NotificationRendered, NotificationRequested, PlannerDecisionRecorded } from '@sicantik/schemas';
import { ANOMALY_KINDS, RANK, STATE_OF_RANK, anomaliesOf, fromDelivery, fromDispatch, type AnomalyKind, type MessageState } from './notificationStatus';

////////// The tracker's projections as pure functions (no I/O)
// A notification's state is a join-semilattice: every event becomes a small state
// (a "fact") and merge() is commutative, associative and idempotent. So any order
// and any repetition of a notification's events gives the same state, a batch folds
// into one patch per notification (one write per document per batch), and applying
// a patch twice changes nothing. Statuses only move forward: the status is the
// highest rank among the states seen (read > delivered > failed > skipped > sent >
// sending > queued), and every state's "first reached" time is the earliest one reported.
//
// Counters are a pure function of a state (contrib: per Jakarta day of the request
// and for all days), so a write adds contrib(after) - contrib(before) to them: a
// redelivered event changes no state and adds nothing. planDoc() also records, in
// the document itself, the delta of the batch that wrote it (its topic-partition and
// first offset): a batch redelivered after a crash between its document writes and
// its counter writes finds that delta again, and counterOps() applies each counter
// document's share exactly once (see the guard in counterOps).

export type Stamped = 'sending' | 'sent' | 'delivered' | 'read';
export const STAMPED: readonly Stamped[] = ['sending', 'sent', 'delivered', 'read'];
const AT = { sending: 'sendingAt', sent: 'sentAt', delivered: 'deliveredAt', read: 'readAt' } as const satisfies Record<Stamped, string>;

/** Who the notification is for and when it was requested; src 2 = the request (or the rendered event, which carries its time), 1 = a guess from a dispatch record. */
export interface Base { src: number; queuedAt: number; pendaftaran_id: string; scenario: string; templateCode: string; recipientKind: string }
/** The earliest failure reported (kept even when delivery evidence wins). */
export interface Failure { at: number; code: string; reason: string }
/** The dispatcher's skip: nothing sent on purpose (code: why, e.g. OPTED_OUT; the earliest one kept). */
export interface Skip { at: number; code: string; reason: string }
/** A value taken from the latest dispatch record that has it (key: attempt, time, event id). */
export interface Latest { key: string; value: string }
/** Why the latest dispatch record that gives a reason went through its provider (routing decision). */
export interface Route { key: string; reason: string; detail: string | null }
export interface Core {
  base?: Base;
  stamps: Partial<Record<Stamped, number>>;
  failure?: Failure;
  skip?: Skip;
  provider?: Latest;
  providerMessageId?: Latest;
  route?: Route;
  inDoubt?: true;
}
export const EMPTY: Core = Object.freeze({ stamps: Object.freeze({}) }) as Core;

const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
const betterBase = (a: Base, b: Base) =>
  (cmp(b.src, a.src) || cmp(a.queuedAt, b.queuedAt) || cmp(a.pendaftaran_id, b.pendaftaran_id) || cmp(a.scenario, b.scenario) || cmp(a.templateCode, b.templateCode) || cmp(a.recipientKind, b.recipientKind)) <= 0 ? a : b;
const earlier = <T extends Failure | Skip>(a: T, b: T) => ((cmp(a.at, b.at) || cmp(a.code, b.code) || cmp(a.reason, b.reason)) <= 0 ? a : b);
const later = (a: Latest, b: Latest) => ((cmp(a.key, b.key) || cmp(a.value, b.value)) >= 0 ? a : b);
const laterRoute = (a: Route, b: Route) => ((cmp(a.key, b.key) || cmp(a.reason, b.reason) || cmp(a.detail ?? '', b.detail ?? '')) >= 0 ? a : b);
const pick = <T>(a: T | undefined, b: T | undefined, f: (x: T, y: T) => T) => (a === undefined ? b : b === undefined ? a : f(a, b));

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
  return out;
}

/** Canonical form, for equality. */
export const coreKey = (c: Core) => JSON.stringify([c.base ?? null, STAMPED.map((s) => c.stamps[s] ?? null), c.failure ?? null, c.provider ?? null, c.providerMessageId ?? null, !!c.inDoubt, c.route ?? null, c.skip ?? null]);
export const coreEquals = (a: Core, b: Core) => coreKey(a) === coreKey(b);

////////// Events -> facts

export function requestedFact(e: NotificationRequested): Core {
  return { base: { src: 2, queuedAt: e.occurredAt, pendaftaran_id: e.pendaftaran_id, scenario: e.scenario, templateCode: e.templateCode, recipientKind: e.recipient.kind }, stamps: {} };
}

/** The rendered event carries the request's time, so it is as good as the request for the base. */
export function renderedFact(e: NotificationRendered): Core {
  const c: Core = { base: { src: 2, queuedAt: e.occurredAt, pendaftaran_id: e.pendaftaran_id, scenario: e.scenario, templateCode: e.templateCode, recipientKind: e.recipient.kind }, stamps: {} };
  if (e.outcome === 'FAILED') c.failure = { at: e.occurredAt, code: 'RENDER_FAILED', reason: e.failureReason ?? 'render failed' };
  return c;
}

export const dispatchKey = (e: Pick<NotificationDispatchRecorded, 'attempt' | 'occurredAt' | 'eventId'>) =>
  `${String(e.attempt).padStart(6, '0')}|${String(e.occurredAt).padStart(15, '0')}|${e.eventId}`;

export function dispatchFact(e: NotificationDispatchRecorded): Core {
  const key = dispatchKey(e);
  const c: Core = { base: { src: 1, queuedAt: e.occurredAt, pendaftaran_id: e.pendaftaran_id, scenario: e.scenario, templateCode: e.templateCode, recipientKind: e.recipientKind }, stamps: {}, provider: { key, value: e.provider } };
  if (e.providerMessageId) c.providerMessageId = { key, value: e.providerMessageId };
  if (e.routeReason) c.route = { key, reason: e.routeReason, detail: e.routeDetail ?? null };
  if (e.status === 'IN_DOUBT') c.inDoubt = true;
  const state = fromDispatch(e.status);
  if (state === 'failed') c.failure = { at: e.occurredAt, code: e.errorCode ?? 'FAILED', reason: e.reason ?? 'failed' };
  else if (state === 'skipped') c.skip = { at: e.occurredAt, code: e.routeReason ?? 'SKIPPED', reason: e.reason ?? e.routeDetail ?? 'skipped' };
  else if (state) c.stamps[state as Stamped] = e.occurredAt;
  return c;
}

/** A provider status as kept until its message's notification is known (pending) and as applied. */
export interface StatusEntry { e: string; s: 'sent' | 'delivered' | 'read' | 'failed'; at: number; code: string | null; title: string | null }

export function statusEntry(e: DeliveryStatusReported): StatusEntry {
  return { e: e.eventId, s: fromDelivery(e.status) as StatusEntry['s'], at: e.providerTimestamp ?? e.receivedAt, code: e.errorCode, title: e.errorTitle };
}

export function statusFact(s: StatusEntry): Core {
  if (s.s === 'failed') return { stamps: {}, failure: { at: s.at, code: s.code ?? 'FAILED', reason: s.title ?? 'failed at provider' } };
  return { stamps: { [s.s]: s.at } };
}

/** Folds one fact into the batch's patch of its document. */
export function foldInto(patches: Map<string, Core>, id: string, fact: Core): void {
  const cur = patches.get(id);
  patches.set(id, cur ? merge(cur, fact) : fact);
}

////////// State -> what the API shows

export function statesOf(c: Core): MessageState[] {
  return ['queued', ...STAMPED.filter((s) => c.stamps[s] !== undefined), ...(c.failure ? ['failed' as const] : []), ...(c.skip ? ['skipped' as const] : [])];
}
export const statusRankOf = (c: Core) => Math.max(...statesOf(c).map((s) => RANK[s]));
export const statusOf = (c: Core): MessageState => STATE_OF_RANK[statusRankOf(c)]!;

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
  queuedAt?: Date; sendingAt?: Date; sentAt?: Date; deliveredAt?: Date; readAt?: Date; failedAt?: Date; skippedAt?: Date;
}

/** The batch delta a document recorded per topic-partition: t = the batch's first offset, d = its delta (storedDelta: paths with ':' for '.'). */
export interface PcEntry { t: number; d: Delta }
export type Pc = Record<string, PcEntry>;

/** The document as stored: the view plus what merging and exactly-once counting need. */
export interface StoredDoc extends NotificationDoc {
  /** Base source (Base.src). */ _src?: number;
  /** Keys of provider, providerMessageId and the route (Latest.key, Route.key). */ _pk?: string; _mk?: string; _rk?: string;
  /** Version: a new unique value on every write (compare-and-set). */ _v: string;
  _pc: Pc;
}
export const INTERNAL_FIELDS = ['_src', '_pk', '_mk', '_rk', '_v', '_pc'] as const;

export function toDoc(id: string, c: Core, v: string, pc: Pc): StoredDoc {
  const d: StoredDoc = { _id: id, status: statusOf(c), statusRank: statusRankOf(c), _v: v, _pc: pc };
  if (c.base) {
    Object.assign(d, { pendaftaran_id: c.base.pendaftaran_id, scenario: c.base.scenario, templateCode: c.base.templateCode, recipientKind: c.base.recipientKind, day: jakartaDate(c.base.queuedAt), queuedAt: new Date(c.base.queuedAt), _src: c.base.src });
  }
  if (c.provider) { d.provider = c.provider.value; d._pk = c.provider.key; }
  if (c.providerMessageId) { d.providerMessageId = c.providerMessageId.value; d._mk = c.providerMessageId.key; }
  if (c.route) { d.routeReason = c.route.reason; d.routeDetail = c.route.detail; d._rk = c.route.key; }
  if (c.failure) { d.failedAt = new Date(c.failure.at); d.failureReason = c.failure.reason; d.errorCode = c.failure.code; }
  if (c.skip) { d.skippedAt = new Date(c.skip.at); d.skipReason = c.skip.reason; d.skipReasonCode = c.skip.code; }
  if (c.inDoubt) d.inDoubt = true;
  const anomalies = anomaliesOf(statesOf(c));
  if (anomalies.length) d.anomalies = anomalies;
  for (const s of STAMPED) if (c.stamps[s] !== undefined) d[AT[s]] = new Date(c.stamps[s]!);
  return d;
}

export function fromDoc(d: StoredDoc): { core: Core; v: string; pc: Pc } {
  const c: Core = { stamps: {} };
  if (d._src !== undefined && d.queuedAt) c.base = { src: d._src, queuedAt: d.queuedAt.getTime(), pendaftaran_id: d.pendaftaran_id!, scenario: d.scenario!, templateCode: d.templateCode!, recipientKind: d.recipientKind! };
  for (const s of STAMPED) { const t = d[AT[s]]; if (t) c.stamps[s] = t.getTime(); }
  if (d.failedAt) c.failure = { at: d.failedAt.getTime(), code: d.errorCode!, reason: d.failureReason! };
  if (d.skippedAt) c.skip = { at: d.skippedAt.getTime(), code: d.skipReasonCode!, reason: d.skipReason! };
  if (d._pk !== undefined) c.provider = { key: d._pk, value: d.provider! };
  if (d._mk !== undefined) c.providerMessageId = { key: d._mk, value: d.providerMessageId! };
  if (d._rk !== undefined) c.route = { key: d._rk, reason: d.routeReason!, detail: d.routeDetail ?? null };
  if (d.inDoubt) c.inDoubt = true;
  return { core: c, v: d._v, pc: d._pc ?? {} };
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
export const diffDelta = (after: Delta, before: Delta) => addDelta(addDelta({}, after), before, -1);
export const isZero = (d: Delta) => Object.keys(d).length === 0;
/** A delta as a field value: field names cannot hold '.', so paths keep ':' instead (paths never hold ':'). */
const mapPaths = (d: Delta, f: (p: string) => string): Delta => Object.fromEntries(Object.entries(d).map(([id, paths]) => [id, Object.fromEntries(Object.entries(paths).map(([p, n]) => [f(p), n]))]));
export const storedDelta = (d: Delta) => mapPaths(d, (p) => p.replace(/\./g, ':'));
export const deltaOfStored = (d: Delta) => mapPaths(d, (p) => p.replace(/:/g, '.'));

/**
 * What one notification adds to the counters: total, byStatus (its final status;
 * failed and skipped are separate buckets), sent/delivered/read (the evidence
 * reached: a read receipt also counts as delivered), inDoubt and anomalies; under
 * its request's day (once known) and under 'all'.
 */
export function contrib(c: Core | null): Delta {
  if (!c) return {};
  const paths = ['total', `byStatus.${statusOf(c)}`];
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

export interface Stored { core: Core; v: string; pc: Pc }

export interface DocPlan {
  after: Core;
  /** False when the patch adds nothing (a redelivery, or evidence already there). */
  write: boolean;
  /** The delta this batch already wrote into the document in an earlier attempt (a redelivery after a crash), else null. */
  prior: Delta | null;
  /** The delta of this write: contrib(after) - contrib(before). */
  fresh: Delta;
  /** The document's batch deltas after this write. */
  pc: Pc;
  /** Anomalies this write newly shows (for the metric). */
  newAnomalies: AnomalyKind[];
}

/** tp: the batch's topic-partition key; token: its first offset; before: the document as stored (null: none). */
export function planDoc(tp: string, token: number, before: Stored | null, patch: Core): DocPlan {
  const b = before?.core ?? null;
  const after = b ? merge(b, patch) : merge(EMPTY, patch);
  const write = !b || !coreEquals(after, b);
  const prev = before?.pc[tp];
  const prior = prev && prev.t === token ? deltaOfStored(prev.d) : null;
  const fresh = diffDelta(contrib(after), contrib(b));
  const total = addDelta(addDelta({}, prior ?? {}), fresh);
  const had = new Set(b ? anomaliesOf(statesOf(b)) : []);
  return {
    after, write, prior, fresh,
    pc: { ...(before?.pc ?? {}), [tp]: { t: token, d: storedDelta(total) } },
    newAnomalies: anomaliesOf(statesOf(after)).filter((k) => !had.has(k)),
  };
}

/** What a batch adds to the counters, summed over its documents. */
export class BatchCounts {
  /** Everything this batch's documents hold for it (earlier attempts included). */
  readonly full: Delta = {};
  /** Only what this attempt wrote. */
  readonly ext: Delta = {};
  /** An earlier attempt of this batch wrote documents, so it may have applied counters too. */
  redo = false;
  readonly anomalies: Partial<Record<AnomalyKind, number>> = {};
  add(p: { prior: Delta | null; fresh: Delta; newAnomalies?: AnomalyKind[] }): void {
    if (p.prior) { this.redo = true; addDelta(this.full, p.prior); }
    addDelta(this.full, p.fresh);
    addDelta(this.ext, p.fresh);
    for (const k of p.newAnomalies ?? []) this.anomalies[k] = (this.anomalies[k] ?? 0) + 1;
  }
}

/**
 * The counter updates of a batch, per counter document, guarded by the offset the
 * document last applied for this topic-partition (o.<tp>):
 * - ifNot (o.<tp> < token, then o.<tp> = token): the batch's full delta, applied once;
 * - ifApplied (o.<tp> >= token, sent first, only for a redo): what this attempt added
 *   beyond an earlier attempt that already applied its share to that document.
 * A normal batch sends only ifNot; a redelivery of a completed batch adds nothing.
 */
export interface CounterOp { id: string; ifApplied?: Record<string, number>; ifNot?: Record<string, number> }
export function counterOps(c: Pick<BatchCounts, 'full' | 'ext' | 'redo'>): CounterOp[] {
  const ids = [...new Set([...Object.keys(c.full), ...(c.redo ? Object.keys(c.ext) : [])])].sort();
  return ids.map((id) => {
    const op: CounterOp = { id };
    if (c.redo && c.ext[id]) op.ifApplied = c.ext[id];
    if (c.full[id]) op.ifNot = c.full[id];
    return op;
  }).filter((op) => op.ifApplied || op.ifNot);
}

/** Summary counters as the API shows them, from summed counter documents. */
export interface SummaryCounts { total: number; sent: number; delivered: number; read: number; inDoubt: number; byStatus: Record<string, number>; anomalies: Record<string, number> }
export function summaryOf(docs: { total?: number; sent?: number; delivered?: number; read?: number; inDoubt?: number; byStatus?: Record<string, number>; anomalies?: Record<string, number> }[]) {
  const s: SummaryCounts = { total: 0, sent: 0, delivered: 0, read: 0, inDoubt: 0, byStatus: Object.fromEntries(Object.keys(RANK).map((k) => [k, 0])), anomalies: Object.fromEntries(ANOMALY_KINDS.map((k) => [k, 0])) };
  for (const d of docs) {
    for (const k of ['total', 'sent', 'delivered', 'read', 'inDoubt'] as const) s[k] += d[k] ?? 0;
    for (const k of Object.keys(s.byStatus)) s.byStatus[k]! += d.byStatus?.[k] ?? 0;
    for (const k of Object.keys(s.anomalies)) s.anomalies[k]! += d.anomalies?.[k] ?? 0;
  }
  const failed = s.byStatus.failed!;
  const skipped = s.byStatus.skipped!;
  return { total: s.total, sent: s.sent, delivered: s.delivered, read: s.read, failed, skipped, inDoubt: s.inDoubt, deliveryRate: s.sent ? s.delivered / s.sent : null, byStatus: s.byStatus, anomalies: s.anomalies };
}

////////// Planner decisions: counts per Jakarta day and (scenario, decision, reason code)

const enc = (s: string) => s.replace(/[%.$|]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
export const decisionKey = (scenario: string, decision: string, reasonCode: string | null | undefined) => [scenario, decision, reasonCode ?? ''].map(enc).join('|');
export function parseDecisionKey(k: string): { scenario: string; decision: string; reasonCode: string | null } {
  const [scenario, decision, reasonCode] = k.split('|').map((x) => decodeURIComponent(x));
  return { scenario: scenario!, decision: decision!, reasonCode: reasonCode ? reasonCode : null };
}

export function decisionContrib(e: Pick<PlannerDecisionRecorded, 'occurredAt' | 'scenario' | 'decision' | 'reasonCode'>): Delta {
  const row = { [`c.${decisionKey(e.scenario, e.decision, e.reasonCode)}`]: 1 };
  return { [ALL]: row, [jakartaDate(e.occurredAt)]: { ...row } };
}

/** tp key of a topic-partition, usable as a field name. */
export const tpKey = (topic: string, partition: number) => `${topic.replace(/[^A-Za-z0-9]/g, '_')}_${partition}`;
