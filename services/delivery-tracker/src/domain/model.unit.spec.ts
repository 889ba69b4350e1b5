import fc from 'fast-check';
import type { DeliveryStatusReported, DispatchStatus, NotificationDispatchRecorded, NotificationRendered, NotificationRequested, PlannerDecisionRecorded } from '@sicantik/schemas';
import {
  ALL, BatchCounts, EMPTY, ERASED, EXPIRED, addDelta, contrib, counterOps, decisionContrib, decisionFact, decisionKey, dispatchFact, dispatchRef, fromDoc, merge, parseDecisionKey, statusRef, planDoc, planDocs, publicView,
  providerStatus, renderedFact, requestedFact, retentionCutoff, statusFact, statusRankOf, summaryOf, toDoc, withRules, type Core, type Delta, type Stored,
} from './model';

////////// Fixtures: the events of one notification, at arbitrary times

const SUBJECT = 'subj-budi';
const requested = (n: string, at: number, notBefore: number | null = null): NotificationRequested => ({
  eventId: `q-${n}`, occurredAt: at, correlationId: 'c', causationId: null, notificationId: n, scenario: 'permit_ready', templateCode: 'permit_ready',
  pendaftaran_id: `REG-${n}`, recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi', phone: '+6281234567890', subjectId: SUBJECT }, variables: {}, items: [], locale: 'id',
  notBefore, deferReason: notBefore === null ? null : 'QUIET_HOURS', supersedeKey: null, staleAfter: null,
});
const rendered = (n: string, at: number, outcome: 'RENDERED' | 'FAILED'): NotificationRendered => ({
  eventId: `r-${n}`, occurredAt: at, correlationId: 'c', causationId: null, notificationId: n, scenario: 'permit_ready', templateCode: 'permit_ready', templateVersion: 1,
  pendaftaran_id: `REG-${n}`, recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi', phone: '+6281234567890' }, outcome, text: null, parameters: [], language: 'id',
  failureReason: outcome === 'FAILED' ? 'missing variable' : null,
});
const OPTED_OUT = 'recipient opted out of WhatsApp notifications; nothing sent';
const dispatched = (n: string, status: DispatchStatus, attempt: number, at: number): NotificationDispatchRecorded => ({
  eventId: `d-${n}-${status}-${attempt}`, occurredAt: at, correlationId: 'c', causationId: null, notificationId: n, pendaftaran_id: `REG-${n}`,
  scenario: 'permit_ready', templateCode: 'permit_ready', recipientKind: 'APPLICANT', provider: status === 'SKIPPED' ? 'none' : attempt > 1 ? 'meta-b' : 'meta', status,
  providerMessageId: status === 'ACCEPTED' ? `wamid.${n}.${attempt}` : null, attempt, errorCode: status === 'FAILED' ? 'E1' : null,
  reason: status === 'FAILED' ? 'rejected' : status === 'SKIPPED' ? OPTED_OUT : null,
  // The routing decision: the first attempt by opt-in state, later ones a fallback, a skip the opt-out (part of every property below).
  ...(status === 'SKIPPED'
    ? { routeReason: 'OPTED_OUT', routeDetail: OPTED_OUT }
    : { routeReason: attempt > 1 ? 'FALLBACK' : 'NOT_OPTED_IN', routeDetail: attempt > 1 ? 'fallback from meta because meta:131047' : 'meta: the contact has not opted in' }),
  subjectId: SUBJECT,
  // issue 16's statuses as the dispatcher records them
  ...(status === 'DEFERRED' ? { provider: 'none', routeReason: 'QUIET_HOURS', notBefore: at + 3_600_000 } : {}),
  ...(status === 'HELD' ? { provider: 'none', routeReason: 'NOT_OPTED_IN', routeDetail: 'held until the contact opts in' } : {}),
  ...(status === 'DROPPED' ? { provider: 'none', routeReason: 'SUPERSEDED', reason: 'a later warning replaced it', supersededBy: `${n}-next` } : {}),
  ...(status === 'SUBJECT_ERASED' ? { provider: 'none', routeReason: null, reason: 'the subject was erased' } : {}),
});
const coalescedDecision = (n: string, at: number): PlannerDecisionRecorded => ({
  eventId: `p-${n}-COALESCED`, occurredAt: at, correlationId: 'c', causationId: null, decision: 'COALESCED', scenario: 'status_update', pendaftaran_id: `REG-${n}`,
  notificationId: n, recipientKind: 'APPLICANT', recipientId: 'REG-1', reason: 'carried by a later status update', reasonCode: 'COALESCED', notBefore: null, carriedBy: `${n}-carrier`,
});
const delivery = (wamid: string, status: DeliveryStatusReported['status'], at: number): DeliveryStatusReported => ({
  eventId: `s-${wamid}-${status}-${at}`, occurredAt: at, correlationId: wamid, causationId: null, provider: 'meta', providerMessageId: wamid,
  status, providerTimestamp: at, receivedAt: at + 5, errorCode: status === 'FAILED' ? 'meta:131026' : null, errorTitle: status === 'FAILED' ? `undeliverable ${at % 3}` : null,
});

const t0 = Date.parse('2026-11-21T16:30:00Z'); // 23:30 WIB: times after 17:00Z fall on the next Jakarta day
const DISPATCH: DispatchStatus[] = ['SENDING', 'ACCEPTED', 'RETRY_SCHEDULED', 'IN_DOUBT', 'FAILED', 'DUPLICATE_SUPPRESSED', 'SKIPPED', 'DEFERRED', 'HELD', 'DROPPED', 'SUBJECT_ERASED'];
const STATUS: DeliveryStatusReported['status'][] = ['SENT', 'DELIVERED', 'READ', 'FAILED', 'NO_REPORT'];

/**
 * The facts of one notification's events: any subset of request (deferred or not), rendered, dispatch records, provider
 * statuses (some repeated with other times), the planner's COALESCED decision, and the subject's erasure and the retention.
 */
const arbFacts = (n: string) => fc.record({
  request: fc.constantFrom<'AT_ONCE' | 'DEFERRED' | null>('AT_ONCE', 'DEFERRED', null),
  rendered: fc.constantFrom<'RENDERED' | 'FAILED' | null>('RENDERED', 'FAILED', null),
  dispatch: fc.subarray(DISPATCH.map((s, i) => [s, 1 + (i % 2)] as const)),
  statuses: fc.array(fc.constantFrom(...STATUS), { maxLength: 6 }),
  coalesced: fc.boolean(),
  removed: fc.subarray([ERASED, EXPIRED]),
  times: fc.array(fc.integer({ min: 0, max: 4 * 3_600_000 }), { minLength: 16, maxLength: 16 }),
}).map(({ request, rendered: r, dispatch, statuses, coalesced, removed, times }) => {
  const at = (i: number) => t0 + times[i % times.length]!;
  const facts: Core[] = [];
  if (request) facts.push(requestedFact(requested(n, t0, request === 'DEFERRED' ? t0 + 8 * 3_600_000 : null)));
  if (r) facts.push(renderedFact(rendered(n, t0, r)));
  dispatch.forEach(([s, attempt], i) => facts.push(dispatchFact(dispatched(n, s, attempt, at(i)))));
  statuses.forEach((s, i) => facts.push(statusFact(providerStatus(delivery(`wamid.${n}.1`, s, at(8 + i))))));
  if (coalesced) facts.push(decisionFact(coalescedDecision(n, at(15)))!);
  facts.push(...removed);
  return facts.length ? facts : [requestedFact(requested(n, t0))];
});

const fold = (facts: Core[]) => facts.reduce(merge, EMPTY);
const docOf = (c: Core) => publicView(toDoc('n', c, 'v', {}));

/** Splits xs into consecutive batches of the given sizes (the rest in the last one). */
const split = <T>(xs: T[], sizes: number[]): T[][] => {
  const out: T[][] = []; let i = 0;
  for (const s of sizes) { if (i >= xs.length) break; out.push(xs.slice(i, i + s)); i += s; }
  if (i < xs.length) out.push(xs.slice(i));
  return out;
};

////////// An in-memory stand-in for the database: documents, and counter documents with the appliedBatches.<tp> guard

class MemDb {
  docs = new Map<string, Stored>();
  counters = new Map<string, { o: Record<string, number>; v: Record<string, number> }>();
  /** Runs counter statements in order; stops after `limit` statements (a crash). */
  applyCounters(tp: string, token: number, c: BatchCounts, limit = Infinity): boolean {
    return this.applyCountersOf([{ tp, token, c }], limit);
  }
  /** The counter statements of several batches, in one ordered command (store.ts applyCountersOf). */
  applyCountersOf(batches: { tp: string; token: number; c: BatchCounts }[], limit = Infinity): boolean {
    let n = 0;
    for (const { tp, token, c } of batches) {
      for (const op of counterOps(c)) {
        const doc = this.counters.get(op.id) ?? { o: {}, v: {} };
        this.counters.set(op.id, doc);
        for (const [inc, when] of [[op.ifApplied, (o?: number) => o !== undefined && o >= token], [op.ifNot, (o?: number) => !(o !== undefined && o >= token)]] as const) {
          if (!inc) continue;
          if (n++ >= limit) return false;
          if (when(doc.o[tp])) { for (const [p, k] of Object.entries(inc)) doc.v[p] = (doc.v[p] ?? 0) + k; if (inc === op.ifNot) doc.o[tp] = token; }
        }
      }
    }
    return true;
  }
  /** Batches of different topic-partitions in one turn, as the store runs it (writeNow): one write per document, then all counters. */
  turn(batches: { tp: string; token: number; records: [string, Core][] }[], crash: { docs?: number; statements?: number } = {}): boolean {
    const counts = batches.map(() => new BatchCounts());
    const steps = new Map<string, { g: number; tp: string; firstOffset: number; patch: Core }[]>();
    batches.forEach(({ tp, token, records }, g) => {
      const patches = new Map<string, Core>();
      for (const [id, f] of records) patches.set(id, patches.has(id) ? merge(patches.get(id)!, f) : f);
      for (const [id, patch] of patches) steps.set(id, [...(steps.get(id) ?? []), { g, tp, firstOffset: token, patch }]);
    });
    let written = 0;
    for (const [id, st] of steps) {
      const p = planDocs(this.docs.get(id) ?? null, st);
      if (p.write) {
        if (written === crash.docs) return false;
        this.docs.set(id, { core: p.after, v: String(written), batchDeltas: p.batchDeltas });
        written++;
      }
      st.forEach((x, i) => counts[x.g]!.add(p.plans[i]!));
    }
    return this.applyCountersOf(batches.map((b, i) => ({ tp: b.tp, token: b.token, c: counts[i]! })), crash.statements);
  }
  /** One batch as the store runs it: every document written, then the counters; a crash stops it after `docs` writes or `statements` counter statements. */
  batch(tp: string, token: number, records: [string, Core][], crash: { docs?: number; statements?: number } = {}): { done: boolean; counts: BatchCounts } {
    const patches = new Map<string, Core>();
    for (const [id, f] of records) patches.set(id, patches.has(id) ? merge(patches.get(id)!, f) : f);
    const counts = new BatchCounts();
    let written = 0;
    for (const [id, patch] of patches) {
      const plan = planDoc(tp, token, this.docs.get(id) ?? null, patch);
      if (plan.write) {
        if (written === crash.docs) return { done: false, counts };
        this.docs.set(id, { core: plan.after, v: String(written), batchDeltas: plan.batchDeltas });
        written++;
      }
      counts.add(plan);
    }
    return { done: this.applyCounters(tp, token, counts, crash.statements), counts };
  }
  /** Counters as summed from the documents: what the counter documents must equal. */
  expected(): Delta {
    const d: Delta = {};
    for (const s of this.docs.values()) addDelta(d, contrib(s.core));
    return d;
  }
  actual(): Delta {
    const d: Delta = {};
    for (const [id, c] of this.counters) addDelta(d, { [id]: c.v });
    return d;
  }
}

describe('notification state (a join of facts)', () => {
  it('property: any order, duplication and batching of a notification\'s events gives the document and counters of the sorted sequence', () => {
    fc.assert(fc.property(arbFacts('n'), fc.array(fc.nat(40), { maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 8 }), fc.infiniteStream(fc.nat()), (facts, dupes, sizes, rnd) => {
      const want = fold(facts);
      const order = [...facts, ...dupes.map((i) => facts[i % facts.length]!)].map((f) => [rnd.next().value, f] as const).sort((a, b) => a[0] - b[0]).map(([, f]) => f);
      const db = new MemDb();
      let offset = 0;
      for (const b of split(order, sizes)) {
        const rankBefore = db.docs.get('n') ? statusRankOf(db.docs.get('n')!.core) : 0;
        expect(db.batch('tp_0', offset, b.map((f) => ['n', f])).done).toBe(true);
        offset += b.length;
        expect(statusRankOf(db.docs.get('n')!.core)).toBeGreaterThanOrEqual(rankBefore); // statuses only move forward
      }
      expect(docOf(db.docs.get('n')!.core)).toEqual(docOf(want));
      expect(db.actual()).toEqual(contrib(want));
    }), { numRuns: 400 });
  });

  it('property: merge is commutative, associative and idempotent', () => {
    fc.assert(fc.property(arbFacts('n'), fc.nat(), fc.nat(), (facts, i, j) => {
      const [a, b, c] = [facts[i % facts.length]!, facts[j % facts.length]!, fold(facts)];
      expect(docOf(merge(a, b))).toEqual(docOf(merge(b, a)));
      expect(docOf(merge(merge(a, b), c))).toEqual(docOf(merge(a, merge(b, c))));
      expect(docOf(merge(c, c))).toEqual(docOf(c));
    }));
  });

  it('property: a document read back gives the state it was written from', () => {
    fc.assert(fc.property(arbFacts('n'), (facts) => {
      const c = fold(facts);
      const back = fromDoc(toDoc('n', c, 'v1', { x_0: { firstOffset: 3, delta: { all: { 'byStatus:sent': 1 } } } }));
      expect(back.core).toEqual(c);
      expect(back).toMatchObject({ v: 'v1', batchDeltas: { x_0: { firstOffset: 3, delta: { all: { 'byStatus:sent': 1 } } } } });
    }));
  });

  it('precedence: delivery evidence beats a failure, the earliest failure is kept, and the anomaly shows', () => {
    const n = 'a';
    const c = fold([
      requestedFact(requested(n, t0)), dispatchFact(dispatched(n, 'ACCEPTED', 1, t0 + 1000)),
      statusFact(providerStatus(delivery('w', 'DELIVERED', t0 + 3000))), statusFact(providerStatus(delivery('w', 'FAILED', t0 + 5000))), statusFact(providerStatus(delivery('w', 'FAILED', t0 + 4000))),
    ]);
    expect(docOf(c)).toMatchObject({ status: 'delivered', statusRank: 13, failedAt: new Date(t0 + 4000), failureReason: 'undeliverable 1', errorCode: 'meta:131026', anomalies: ['failed_but_delivered'], day: '2026-11-21', providerMessageId: 'wamid.a.1' });
    expect(contrib(c)).toEqual({
      [ALL]: { total: 1, 'byStatus.delivered': 1, sent: 1, delivered: 1, 'anomalies.failed_but_delivered': 1 },
      '2026-11-21': { total: 1, 'byStatus.delivered': 1, sent: 1, delivered: 1, 'anomalies.failed_but_delivered': 1 },
    });
  });

  it('the request sets the day and queued time over a dispatch record\'s guess, in either order', () => {
    const d = dispatchFact(dispatched('x', 'SENDING', 1, t0 + 3_600_000)); // 00:30 WIB the next day
    const q = requestedFact(requested('x', t0));
    expect(docOf(merge(d, q))).toEqual(docOf(merge(q, d)));
    expect(docOf(merge(d, q))).toMatchObject({ day: '2026-11-21', queuedAt: new Date(t0), status: 'sending' });
    // counters move from the guessed day to the request's day
    const db = new MemDb();
    db.batch('d_0', 0, [['x', d]]);
    expect(db.actual()['2026-11-22']).toEqual({ total: 1, 'byStatus.sending': 1 });
    db.batch('q_0', 0, [['x', q]]);
    expect(db.actual()['2026-11-22']).toBeUndefined();
    expect(db.actual()['2026-11-21']).toEqual({ total: 1, 'byStatus.sending': 1 });
  });

  it('why this provider: the routing decision of the latest attempt, in either order, survives a read back and stays out of the counters', () => {
    const first = dispatchFact(dispatched('x', 'RETRY_SCHEDULED', 1, t0 + 1000));
    const second = dispatchFact(dispatched('x', 'ACCEPTED', 2, t0 + 2000));
    const doc = docOf(merge(first, second));
    expect(doc).toEqual(docOf(merge(second, first)));
    expect(doc).toMatchObject({ provider: 'meta-b', routeReason: 'FALLBACK', routeDetail: 'fallback from meta because meta:131047' });
    const stored = toDoc('x', merge(first, second), 'v', {});
    expect(stored._routeOrder).toBe(`000002|00${t0 + 2000}|d-x-ACCEPTED-2`);
    expect(doc).not.toHaveProperty('_routeOrder');
    expect(fromDoc(stored).core).toEqual(merge(first, second));
    expect(contrib(merge(first, second))).toEqual(contrib(merge(merge(first, second), { ...EMPTY, route: { order: '0', reason: 'OPTED_IN', detail: null } })));
  });

  it('an opt-out at send time (SKIPPED): final status skipped with why, counted as skipped and not failed; a later retry record changes nothing', () => {
    const n = 'o';
    const retried = dispatchFact(dispatched(n, 'RETRY_SCHEDULED', 1, t0 + 1000));
    const skipped = dispatchFact(dispatched(n, 'SKIPPED', 1, t0 + 2000));
    const facts = [requestedFact(requested(n, t0)), renderedFact(rendered(n, t0, 'RENDERED')), dispatchFact(dispatched(n, 'SENDING', 1, t0 + 500)), retried, skipped];
    const c = fold(facts);
    expect(docOf(c)).toEqual(docOf(fold([...facts].reverse())));
    expect(docOf(c)).toMatchObject({ status: 'skipped', statusRank: 11, skippedAt: new Date(t0 + 2000), skipReason: OPTED_OUT, skipReasonCode: 'OPTED_OUT', provider: 'none', routeReason: 'OPTED_OUT', routeDetail: OPTED_OUT });
    expect(docOf(c)).not.toHaveProperty('failedAt');
    expect(docOf(c)).not.toHaveProperty('errorCode');
    expect(contrib(c)).toEqual({ [ALL]: { total: 1, 'byStatus.skipped': 1 }, '2026-11-21': { total: 1, 'byStatus.skipped': 1 } });
    expect(fromDoc(toDoc(n, c, 'v', {})).core).toEqual(c);
    // A repeated skip (a replay re-emits it) or an earlier state arriving late changes nothing.
    expect(docOf(merge(c, skipped))).toEqual(docOf(c));
    expect(docOf(merge(c, dispatchFact(dispatched(n, 'SENDING', 1, t0 + 3000))))).toMatchObject({ status: 'skipped' });
    // Delivery evidence (never expected after a skip) still wins, as it does over a failure.
    expect(docOf(merge(c, statusFact(providerStatus(delivery('w', 'DELIVERED', t0 + 4000)))))).toMatchObject({ status: 'delivered', skipReasonCode: 'OPTED_OUT' });
  });

  it('the provider\'s acceptance: accepted (never sending) with acceptedAt, its own count; a later report moves it on, an earlier state arriving late does not move it back', () => {
    const n = 'k';
    const sending = dispatchFact(dispatched(n, 'SENDING', 1, t0 + 500));
    const accepted = dispatchFact(dispatched(n, 'ACCEPTED', 1, t0 + 1000));
    const c = fold([requestedFact(requested(n, t0)), sending, accepted]);
    expect(docOf(c)).toMatchObject({ status: 'accepted', statusRank: 8, sendingAt: new Date(t0 + 500), acceptedAt: new Date(t0 + 1000), providerMessageId: 'wamid.k.1' });
    expect(docOf(fold([accepted, requestedFact(requested(n, t0)), sending]))).toEqual(docOf(c));
    expect(contrib(c)).toEqual({ [ALL]: { total: 1, 'byStatus.accepted': 1 }, '2026-11-21': { total: 1, 'byStatus.accepted': 1 } });
    expect(fromDoc(toDoc(n, c, 'v', {})).core).toEqual(c);
    // a retry record of an earlier attempt arriving late changes nothing
    expect(docOf(merge(c, dispatchFact(dispatched(n, 'RETRY_SCHEDULED', 1, t0 + 700))))).toMatchObject({ status: 'accepted' });
    expect(docOf(merge(c, statusFact(providerStatus(delivery('wamid.k.1', 'SENT', t0 + 2000)))))).toMatchObject({ status: 'sent', acceptedAt: new Date(t0 + 1000), sentAt: new Date(t0 + 2000) });
  });

  it('no report (the reconciler\'s NO_REPORT): no_report with noReportAt, above accepted and below sent, counted apart and not as sent; a late report or a failure moves it on, in any order', () => {
    const n = 'z';
    const accepted = dispatchFact(dispatched(n, 'ACCEPTED', 1, t0 + 1000));
    const noReport = statusFact(providerStatus(delivery('wamid.z.1', 'NO_REPORT', t0 + 3_600_000)));
    const c = fold([requestedFact(requested(n, t0)), accepted, noReport]);
    expect(docOf(c)).toMatchObject({ status: 'no_report', statusRank: 9, acceptedAt: new Date(t0 + 1000), noReportAt: new Date(t0 + 3_600_000) });
    expect(docOf(fold([noReport, accepted, requestedFact(requested(n, t0))]))).toEqual(docOf(c));
    expect(contrib(c)).toEqual({ [ALL]: { total: 1, 'byStatus.no_report': 1 }, '2026-11-21': { total: 1, 'byStatus.no_report': 1 } });
    expect(fromDoc(toDoc(n, c, 'v', {})).core).toEqual(c);
    for (const [late, want] of [['SENT', 'sent'], ['DELIVERED', 'delivered'], ['READ', 'read'], ['FAILED', 'failed']] as const) {
      const report = statusFact(providerStatus(delivery('wamid.z.1', late, t0 + 7_200_000)));
      expect(docOf(merge(c, report))).toMatchObject({ status: want, noReportAt: new Date(t0 + 3_600_000) });
      expect(docOf(merge(report, c))).toEqual(docOf(merge(c, report)));
    }
    // the reconciler's NO_REPORT after a report that came in (a race) changes nothing the report showed
    const delivered = fold([c, statusFact(providerStatus(delivery('wamid.z.1', 'DELIVERED', t0 + 2000)))]);
    expect(docOf(merge(delivered, noReport))).toMatchObject({ status: 'delivered' });
    expect(contrib(delivered)).toEqual({ [ALL]: { total: 1, 'byStatus.delivered': 1, sent: 1, delivered: 1 }, '2026-11-21': { total: 1, 'byStatus.delivered': 1, sent: 1, delivered: 1 } });
  });

  it('summary: accepted, noReport, failed, skipped and issue 16\'s states are those final statuses (skipped not a failure, no_report not sent); dropped by reason; the delivery rate is delivered over sent', () => {
    expect(summaryOf([
      { total: 3, sent: 2, delivered: 1, byStatus: { failed: 1, delivered: 1, sent: 1 } },
      { total: 6, byStatus: { queued: 1, skipped: 2, accepted: 2, no_report: 1 }, anomalies: { failed_but_delivered: 1 } },
      { total: 7, byStatus: { deferred: 2, held: 1, dropped: 2, coalesced: 1, subject_erased: 1 }, droppedBy: { SUPERSEDED: 1, STALE: 1 } },
    ])).toEqual({
      total: 16, sent: 2, delivered: 1, read: 0, deferred: 2, held: 1, dropped: 2, coalesced: 1, subjectErased: 1, accepted: 2, noReport: 1, failed: 1, skipped: 2, inDoubt: 0, deliveryRate: 0.5,
      byStatus: { queued: 1, deferred: 2, held: 1, sending: 0, dropped: 2, coalesced: 1, subject_erased: 1, accepted: 2, no_report: 1, sent: 1, skipped: 2, failed: 1, delivered: 1, read: 0 },
      droppedBy: { SUPERSEDED: 1, STALE: 1, EXPIRED: 0 }, anomalies: { failed_but_delivered: 1 },
    });
    expect(summaryOf([]).deliveryRate).toBeNull();
  });

  it('deferred (the request\'s notBefore, then the dispatcher\'s DEFERRED), then held, released to sending and accepted: each time kept, the latest earliest-send time shown, any order', () => {
    const n = 'w';
    const facts = [
      requestedFact(requested(n, t0, t0 + 8 * 3_600_000)),
      dispatchFact(dispatched(n, 'DEFERRED', 1, t0 + 1000)),
      dispatchFact(dispatched(n, 'HELD', 1, t0 + 9 * 3_600_000)),
    ];
    const held = fold(facts);
    expect(docOf(held)).toMatchObject({ status: 'held', statusRank: 3, deferredAt: new Date(t0), heldAt: new Date(t0 + 9 * 3_600_000), notBefore: new Date(t0 + 1000 + 3_600_000), deferReason: 'QUIET_HOURS', subjectId: SUBJECT });
    expect(docOf(fold([...facts].reverse()))).toEqual(docOf(held));
    expect(contrib(held)).toEqual({ [ALL]: { total: 1, 'byStatus.held': 1 }, '2026-11-21': { total: 1, 'byStatus.held': 1 } });
    const deferredOnly = fold([requestedFact(requested(n, t0, t0 + 8 * 3_600_000))]);
    expect(docOf(deferredOnly)).toMatchObject({ status: 'deferred', statusRank: 2, notBefore: new Date(t0 + 8 * 3_600_000), deferReason: 'QUIET_HOURS' });
    // released: sending, then the provider's acceptance; a late HELD or DEFERRED record changes nothing
    const sent = fold([...facts, dispatchFact(dispatched(n, 'SENDING', 2, t0 + 10 * 3_600_000)), dispatchFact(dispatched(n, 'ACCEPTED', 2, t0 + 10 * 3_600_000 + 500))]);
    expect(docOf(sent)).toMatchObject({ status: 'accepted', heldAt: new Date(t0 + 9 * 3_600_000), deferredAt: new Date(t0), providerMessageId: 'wamid.w.2' });
    expect(docOf(merge(sent, dispatchFact(dispatched(n, 'HELD', 1, t0 + 11 * 3_600_000))))).toMatchObject({ status: 'accepted' });
    expect(fromDoc(toDoc(n, sent, 'v', {})).core).toEqual(sent);
  });

  it('dropped keeps its reason and replacement and is counted by reason; coalesced (the planner\'s decision) beats dropped; subject_erased beats both; the provider\'s evidence beats all three', () => {
    const n = 'h';
    const dropped = fold([requestedFact(requested(n, t0)), dispatchFact(dispatched(n, 'HELD', 1, t0 + 1000)), dispatchFact(dispatched(n, 'DROPPED', 1, t0 + 2000))]);
    expect(docOf(dropped)).toMatchObject({ status: 'dropped', statusRank: 5, droppedAt: new Date(t0 + 2000), dropReasonCode: 'SUPERSEDED', dropReason: 'a later warning replaced it', supersededBy: 'h-next', heldAt: new Date(t0 + 1000) });
    expect(contrib(dropped)).toEqual({ [ALL]: { total: 1, 'byStatus.dropped': 1, 'droppedBy.SUPERSEDED': 1 }, '2026-11-21': { total: 1, 'byStatus.dropped': 1, 'droppedBy.SUPERSEDED': 1 } });
    const coalesced = merge(dropped, decisionFact(coalescedDecision(n, t0 + 1500))!);
    expect(docOf(coalesced)).toMatchObject({ status: 'coalesced', statusRank: 6, coalescedAt: new Date(t0 + 1500), carriedBy: 'h-carrier', dropReasonCode: 'SUPERSEDED' });
    expect(contrib(coalesced)).toEqual({ [ALL]: { total: 1, 'byStatus.coalesced': 1 }, '2026-11-21': { total: 1, 'byStatus.coalesced': 1 } });
    expect(fromDoc(toDoc(n, coalesced, 'v', {})).core).toEqual(coalesced);
    const erased = merge(coalesced, dispatchFact(dispatched(n, 'SUBJECT_ERASED', 2, t0 + 3000)));
    expect(docOf(erased)).toMatchObject({ status: 'subject_erased', statusRank: 7, subjectErasedAt: new Date(t0 + 3000) });
    expect(docOf(merge(erased, dispatchFact(dispatched(n, 'ACCEPTED', 1, t0 + 500))))).toMatchObject({ status: 'accepted' });
    // other decisions say nothing about a message's state
    expect(decisionFact({ ...coalescedDecision(n, t0), decision: 'DEFERRED', notBefore: t0 + 1 })).toBeUndefined();
  });
});

describe('personal data: erasure and retention remove the personal fields, never the state or the counts', () => {
  it('property: with an erasure or the retention among the facts, in any order, the document has no subject id, provider message id or failure text, and the same status, times and counters', () => {
    fc.assert(fc.property(arbFacts('n'), fc.constantFrom(ERASED, EXPIRED), fc.nat(), (facts, removal, at) => {
      const kept = facts.filter((f) => f !== ERASED && f !== EXPIRED);
      const plain = fold(kept);
      const order = [...kept]; order.splice(at % (order.length + 1), 0, removal);
      const c = fold(order);
      const doc = docOf(c);
      expect(doc).not.toHaveProperty('subjectId');
      expect(doc).not.toHaveProperty('providerMessageId');
      expect(doc).not.toHaveProperty('failureReason');
      expect(doc.anonymised).toContain(removal === ERASED ? 'erasure' : 'retention');
      const { subjectId: _s, providerMessageId: _p, failureReason: _f, anonymised: _a, ...rest } = docOf(plain);
      const { anonymised: _b, ...restAfter } = doc;
      expect(restAfter).toEqual(rest);
      expect(contrib(c)).toEqual(contrib(plain));
      // later events bring none of it back
      expect(docOf(merge(c, fold(kept)))).toEqual(doc);
    }), { numRuns: 300 });
  });

  it('the rules: a notification of an erased subject, or requested before the retention cut-off, is scrubbed; others are not', () => {
    const c = fold([requestedFact(requested('r', t0)), dispatchFact(dispatched('r', 'ACCEPTED', 1, t0 + 1000))]);
    expect(docOf(c)).toMatchObject({ subjectId: SUBJECT, providerMessageId: 'wamid.r.1' });
    const none = { erasedSubjects: new Set<string>(), retainFrom: null };
    expect(withRules(c, none)).toBe(c);
    expect(docOf(withRules(c, { ...none, erasedSubjects: new Set([SUBJECT]) }))).toMatchObject({ anonymised: ['erasure'], status: 'accepted' });
    expect(withRules(c, { ...none, erasedSubjects: new Set(['someone-else']) })).toBe(c);
    const day = 86_400_000;
    expect(retentionCutoff(t0 + 400 * day, 400)).toBe(t0);
    expect(withRules(c, { ...none, retainFrom: retentionCutoff(t0 + 400 * day, 400) })).toBe(c); // exactly 400 days old: kept
    expect(docOf(withRules(c, { ...none, retainFrom: retentionCutoff(t0 + 400 * day + 1, 400) }))).toMatchObject({ anonymised: ['retention'], status: 'accepted' });
    expect(docOf(withRules(c, { erasedSubjects: new Set([SUBJECT]), retainFrom: t0 + 1 }))).toMatchObject({ anonymised: ['erasure', 'retention'] });
  });

  it('a dispatch record joins by its providerMessageRef (also when its id reads as erased), else by the ref of its plaintext id; a status by the ref of its id', () => {
    const refOf = (p: string, id: string) => (id === '[erased]' ? undefined : `ref:${p}:${id}`);
    expect(dispatchRef({ provider: 'meta', providerMessageId: '[erased]', providerMessageRef: 'R1' }, refOf)).toBe('R1');
    expect(dispatchRef({ provider: 'meta', providerMessageId: 'wamid.1', providerMessageRef: 'R1' }, refOf)).toBe('R1');
    expect(dispatchRef({ provider: 'meta', providerMessageId: 'wamid.1', providerMessageRef: null }, refOf)).toBe('ref:meta:wamid.1');
    expect(dispatchRef({ provider: 'meta', providerMessageId: 'wamid.1' }, refOf)).toBe('ref:meta:wamid.1');
    expect(dispatchRef({ provider: 'meta', providerMessageId: '[erased]', providerMessageRef: null }, refOf)).toBeUndefined();
    expect(dispatchRef({ provider: 'none', providerMessageId: null }, refOf)).toBeUndefined();
    expect(statusRef({ provider: 'meta', providerMessageId: 'wamid.1' }, refOf)).toBe('ref:meta:wamid.1');
    expect(statusRef({ provider: 'meta', providerMessageId: 'wamid.1', providerMessageRef: 'R1' }, refOf)).toBe('R1');
  });
});

describe('counters exactly once (batch deltas recorded in the documents, guarded per topic-partition)', () => {
  const arbRun = fc.record({
    facts: fc.tuple(arbFacts('a'), arbFacts('b'), arbFacts('c')),
    tps: fc.array(fc.constantFrom('t_0', 't_1'), { minLength: 40, maxLength: 40 }),
    sizes: fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 10 }),
    crashAt: fc.nat(),
    crash: fc.oneof(fc.record({ docs: fc.nat(3) }), fc.record({ statements: fc.nat(6) })),
    extend: fc.nat(3),
    seed: fc.infiniteStream(fc.nat()),
  });

  it('property: a batch redelivered after a crash anywhere (with more records than the first time, or none) leaves counters equal to the documents', () => {
    fc.assert(fc.property(arbRun, ({ facts, tps, sizes, crashAt, crash, extend, seed }) => {
      // every record goes to one of two topic-partitions; each keeps its order
      const records = facts.flatMap((fs, i) => fs.map((f) => [['a', 'b', 'c'][i]!, f] as [string, Core]))
        .map((r) => [seed.next().value, r] as const).sort((x, y) => x[0] - y[0]).map(([, r]) => r);
      const byTp = new Map<string, [string, Core][]>();
      records.forEach((r, i) => { const tp = tps[i % tps.length]!; byTp.set(tp, [...(byTp.get(tp) ?? []), r]); });
      const db = new MemDb();
      const plan = [...byTp].map(([tp, recs]) => [tp, split(recs, sizes)] as const);
      const crashIndex = crashAt % plan.reduce((n, [, bs]) => n + bs.length, 0);
      let k = 0;
      for (const [tp, batches] of plan) {
        let offset = 0;
        for (let b = 0; b < batches.length; b++) {
          const batch = batches[b]!;
          if (batch.length === 0) continue;
          if (k++ === crashIndex) {
            const first = db.batch(tp, offset, batch, crash);
            // the redelivery starts at the same offset and may reach further
            const more = batches[b + 1]?.splice(0, extend) ?? [];
            const again = db.batch(tp, offset, [...batch, ...more]);
            expect(again.done).toBe(true);
            if (first.done && more.length === 0) expect(again.counts.thisAttempt).toEqual({});
            offset += batch.length + more.length;
          } else {
            expect(db.batch(tp, offset, batch).done).toBe(true);
            offset += batch.length;
          }
        }
      }
      expect(db.actual()).toEqual(db.expected());
      // and every document is what its facts make, whatever happened
      facts.forEach((fs, i) => expect(docOf(db.docs.get(['a', 'b', 'c'][i]!)!.core)).toEqual(docOf(fold(fs))));
    }), { numRuns: 500 });
  });

  it('property: batches of several topic-partitions sharing one write (a turn), a turn crashing anywhere and its batches redelivered alone or together, leave counters equal to the documents', () => {
    const arb = fc.record({
      facts: fc.tuple(arbFacts('a'), arbFacts('b'), arbFacts('c')),
      tps: fc.array(fc.constantFrom('t_0', 't_1', 't_2'), { minLength: 40, maxLength: 40 }),
      sizes: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 10 }),
      crashAt: fc.nat(),
      crash: fc.oneof(fc.record({ docs: fc.nat(3) }), fc.record({ statements: fc.nat(8) })),
      together: fc.boolean(),
      seed: fc.infiniteStream(fc.nat()),
    });
    fc.assert(fc.property(arb, ({ facts, tps, sizes, crashAt, crash, together, seed }) => {
      const records = facts.flatMap((fs, i) => fs.map((f) => [['a', 'b', 'c'][i]!, f] as [string, Core]))
        .map((r) => [seed.next().value, r] as const).sort((x, y) => x[0] - y[0]).map(([, r]) => r);
      const queues = new Map<string, { token: number; records: [string, Core][] }[]>();
      const byTp = new Map<string, [string, Core][]>();
      records.forEach((r, i) => { const tp = tps[i % tps.length]!; byTp.set(tp, [...(byTp.get(tp) ?? []), r]); });
      for (const [tp, recs] of byTp) { let offset = 0; queues.set(tp, split(recs, sizes).map((b) => { const x = { token: offset, records: b }; offset += b.length; return x; })); }
      const db = new MemDb();
      // Each turn takes the next batch of some topic-partitions (at most one each, as the consumer hands them in).
      for (let turn = 0; [...queues.values()].some((q) => q.length); turn++) {
        const batches = [...queues].filter(([, q]) => q.length && seed.next().value % 3 !== 0).map(([tp, q]) => ({ tp, ...q.shift()! }));
        if (batches.length === 0) continue;
        if (turn === crashAt % 6 && !db.turn(batches, crash)) {
          // the turn's batches come again from their offsets: together in one turn, or each alone
          if (together) expect(db.turn(batches)).toBe(true);
          else for (const b of batches) expect(db.turn([b])).toBe(true);
        } else expect(db.turn(batches)).toBe(true);
      }
      expect(db.actual()).toEqual(db.expected());
      facts.forEach((fs, i) => expect(docOf(db.docs.get(['a', 'b', 'c'][i]!)!.core)).toEqual(docOf(fold(fs))));
    }), { numRuns: 500 });
  });

  it('a document patched by two batches in one turn records each batch\'s delta under its own topic-partition', () => {
    const req = requestedFact(requested('a', t0));
    const ren = renderedFact(rendered('a', t0, 'RENDERED'));
    const p = planDocs(null, [{ tp: 't_0', firstOffset: 7, patch: req }, { tp: 't_1', firstOffset: 3, patch: ren }]);
    expect(p.write).toBe(true);
    expect(Object.keys(p.batchDeltas).sort()).toEqual(['t_0', 't_1']);
    expect(p.batchDeltas.t_0!.firstOffset).toBe(7);
    expect(p.batchDeltas.t_1!.firstOffset).toBe(3);
    // the two deltas add up to the one of a single write of both facts
    expect(addDelta(addDelta({}, p.plans[0]!.fresh), p.plans[1]!.fresh)).toEqual(planDoc('t', 0, null, merge(req, ren)).fresh);
    expect(docOf(p.after)).toEqual(docOf(merge(req, ren)));
  });

  it('a redelivered batch that had completed adds nothing', () => {
    const db = new MemDb();
    const recs: [string, Core][] = [['a', requestedFact(requested('a', t0))], ['b', requestedFact(requested('b', t0))]];
    db.batch('t_0', 0, recs);
    const before = JSON.stringify(db.actual());
    const again = db.batch('t_0', 0, recs);
    // nothing is written again; the documents' record of the batch is found, but the guard skips it
    expect(again.counts).toMatchObject({ retried: true, thisAttempt: {} });
    expect(again.counts.allAttempts).toEqual(addDelta(addDelta({}, contrib(fold([recs[0]![1]]))), contrib(fold([recs[1]![1]]))));
    expect(JSON.stringify(db.actual())).toBe(before);
  });
});

describe('decision counts', () => {
  it('keys survive any scenario or reason text', () => {
    fc.assert(fc.property(fc.string(), fc.constantFrom('PLANNED', 'SKIPPED', 'CANCELLED'), fc.option(fc.string({ minLength: 1 })), (scenario, decision, reasonCode) => {
      const k = decisionKey(scenario, decision, reasonCode);
      expect(k.split('|')).toHaveLength(3);
      expect(k).not.toMatch(/[.$]/);
      expect(parseDecisionKey(k)).toEqual({ scenario, decision, reasonCode: reasonCode ?? null });
    }));
  });
  it('count under the Jakarta day of the decision and under all days', () => {
    expect(decisionContrib({ occurredAt: Date.parse('2026-11-21T17:00:00Z'), scenario: 'status_update', decision: 'SKIPPED', reasonCode: 'OPTED_OUT' })).toEqual({
      all: { 'counts.status_update|SKIPPED|OPTED_OUT': 1 }, '2026-11-22': { 'counts.status_update|SKIPPED|OPTED_OUT': 1 },
    });
  });
});
