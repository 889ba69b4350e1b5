import type {
  DispatchDeadLettered, DispatchRetryScheduled, DispatchRetryTopic, DispatchStatus, NotificationDispatchRecorded, NotificationRendered,
} from '@sicantik/schemas';
import { DISPATCH_RETRY_TOPICS } from '@sicantik/schemas';
import type { Disposition, LookupResult, OutboundMessage, ProviderName } from '@sicantik/providers';
import { deterministicId, jakartaDayNumber, jakartaDayStart } from '@sicantik/core';
import { decide, dispatchRecord, entryOf, isFinal, type Job, type NextAttempt, type PartitionLedger } from './domain/ledger';
import { outboundMessage, type OptInLink } from './domain/outbound';
import { type Pacer, type Ticket } from './domain/pacing';
import { planRetry, unitHash, type RetryPolicy } from './domain/retry';
import { route, type ContactState, type Route, type RoutingPolicy, type Unavailability } from './domain/routing';

////////// Dispatch one partition's batch: decide, route, pace, claim, send, record; never twice.
// A batch is the records of one topic-partition (notification.rendered, or one of the
// retry topics, which carry the notification), all against the partition's ledger:
//   1. decide per delivery from the ledger (already final: emit again, never send; claimed
//      without an outcome: IN_DOUBT; a retry record before its time: wait; else an attempt);
//   2. route each attempt (opt-in state, fallback chain, open circuits, quotas) and take its
//      pacing tokens; one that has to wait for a token is left for later (the partition is
//      deferred from it: the consumer loop delivers it again then, nothing blocks); a
//      contact who opted out since planning gets nothing: SKIPPED, final, no dead letter;
//   3. one produce of the SENDING claims (events + ledger records), durable before any call;
//   4. the provider calls, concurrently (bounded);
//   5. the outcomes: accepted, in doubt (never re-sent), failed for good (FAILED and a
//      dead letter), retry later (RETRY_SCHEDULED and a record on dispatch.retry.<tier>,
//      written before the ledger record), or fallback (RETRY_SCHEDULED, and the next
//      provider is tried at once: back to 2 with the failed provider excluded).
// The outcomes of one round are produced with the next round's claims (or at the end);
// the ledger in memory follows each produce only once it succeeded. A crash between a
// claim and its outcome leaves the claim alone: reported IN_DOUBT, never sent again.

export type DispatchMessage =
  | { topic: 'notification.dispatch'; key: string; value: NotificationDispatchRecorded }
  | { topic: 'dispatch.ledger'; key: string; value: NotificationDispatchRecorded; partition: number }
  | { topic: DispatchRetryTopic; key: string; value: DispatchRetryScheduled; partition: number }
  | { topic: 'dispatch.dead-letter'; key: string; value: DispatchDeadLettered };

/** A provider call's result, as the dispatcher needs it. Never thrown. */
export type SendResult =
  | { kind: 'accepted'; providerMessageId: string; latencyMs: number }
  | { kind: 'failed'; disposition: Disposition; errorCode: string; reason: string; retryAfterMs?: number | undefined; latencyMs: number; circuitOpen?: boolean }
  /** Timed out or cut off after the request went out: it may have been accepted. */
  | { kind: 'in_doubt'; errorCode: string; reason: string; latencyMs: number; providerMessageId?: string | undefined };

/** The providers at the edge (HTTP, circuit breakers). */
export interface Sender {
  send(provider: ProviderName, msg: OutboundMessage): Promise<SendResult>;
  /** Providers whose circuit is open now, with the time a trial call may go. */
  openCircuits(now: number): ReadonlyMap<ProviderName, number>;
  /** The provider's status lookup, where it has one. */
  lookup?(provider: ProviderName, providerMessageId: string): Promise<LookupResult | { kind: 'unsupported' }>;
  canLookup?(provider: ProviderName): boolean;
}

export interface DispatchDeps {
  sender: Sender;
  /** Produces the messages in one request; resolves once they are durable. */
  produce(messages: DispatchMessage[]): Promise<void>;
  now(): number;
  routing: RoutingPolicy;
  contact(phone: string): ContactState;
  pacer: Pacer;
  retry: RetryPolicy;
  /** When a provider's daily quota is gone: the next provider of the chain, or wait for the next day. */
  quotaExhausted: 'fallback' | 'wait';
  /** An in-doubt send: held for an operator, or resolved through the provider's status lookup (when an id is known). */
  inDoubtPolicy: 'hold' | 'lookup';
  lookupDelayMs: number;
  optInLink?: OptInLink | undefined;
  /** Provider calls in flight at once (default 16). */
  concurrency?: number;
}

export type ResultStatus = DispatchStatus | 'SKIPPED_NOT_RENDERED' | 'SKIPPED_REPEATED_IN_BATCH' | 'SKIPPED_STALE' | 'WAITING';
export interface DispatchResult {
  notificationId: string; status: ResultStatus; sent: boolean; provider: string | null; routeReason: string | null;
  /** The ledger's earlier outcome produced again (a redelivered record): counted and logged once, when first recorded. */
  reemitted?: boolean;
}
export interface BatchResult {
  results: DispatchResult[];
  /** records[from..] wait until `until` (a pacing token, a retry's time, an open circuit). */
  defer?: { from: number; until: number } | undefined;
  /** Provider calls made. */
  calls: number;
}

interface Pending { index: number; job: Job; next: NextAttempt }
interface Claim { p: Pending; provider: ProviderName; route: Extract<Route, { kind: 'send' }>; providerAttempt: number; claimedAt: number; ticket: Ticket }

const NONE_PROVIDER = 'none';

export async function dispatchBatch(partition: number, jobs: Job[], ledger: PartitionLedger, deps: DispatchDeps): Promise<BatchResult> {
  const now = () => deps.now();
  const results: DispatchResult[] = [];
  const byId = new Map<string, DispatchResult>();
  const deferred: { index: number; until: number }[] = [];
  let calls = 0;

  let emitOnly: NotificationDispatchRecorded[] = [];
  let toRecord: NotificationDispatchRecorded[] = [];
  let retries: DispatchMessage[] = [];
  let deadLetters: DispatchMessage[] = [];
  /** One produce of everything pending (retry records first, in a produce of their own); the ledger in memory follows once it is durable. */
  const flush = async () => {
    if (retries.length) {
      const r = retries;
      await deps.produce(r); // a RETRY_SCHEDULED ledger record is never durable without its retry record
      retries = [];
    }
    if (!emitOnly.length && !toRecord.length && !deadLetters.length) return;
    const recording = toRecord;
    await deps.produce([
      ...emitOnly.map((value) => ({ topic: 'notification.dispatch' as const, key: value.pendaftaran_id, value })),
      ...recording.flatMap((value) => [
        { topic: 'notification.dispatch' as const, key: value.pendaftaran_id, value },
        { topic: 'dispatch.ledger' as const, key: value.notificationId, value, partition },
      ]),
      ...deadLetters,
    ]);
    ledger.recorded(recording);
    emitOnly = [];
    toRecord = [];
    deadLetters = [];
  };
  const set = (id: string, status: ResultStatus, extra: Partial<DispatchResult> = {}) => Object.assign(byId.get(id)!, { status }, extra);

  /** Records a fact, with what must accompany it (a retry record, a dead letter). */
  const record = (n: NotificationRendered, r: NotificationDispatchRecorded, follow: { retry?: DispatchRetryScheduled; tier?: number; deadLetter?: boolean } = {}) => {
    toRecord.push(r);
    if (follow.retry) retries.push({ topic: DISPATCH_RETRY_TOPICS[(follow.tier ?? 1) - 1]!, key: n.pendaftaran_id, value: follow.retry, partition });
    if (follow.deadLetter) deadLetters.push({ topic: 'dispatch.dead-letter', key: n.pendaftaran_id, value: deadLetterOf(n, r, ledger) });
    set(n.notificationId, r.status, { provider: r.provider, routeReason: r.routeReason ?? null });
  };
  /** A fact known but not yet durable: a retried batch records it instead of reporting IN_DOUBT. */
  const outcome = (n: NotificationRendered, r: NotificationDispatchRecorded, follow: Parameters<typeof record>[2] = {}) => {
    ledger.unrecorded.set(n.notificationId, r);
    record(n, r, follow);
  };

  ////////// 1. decide
  let attempts: Pending[] = [];
  const lookups: { index: number; n: NotificationRendered; attempt: number; provider: ProviderName; providerMessageId: string; tier: number }[] = [];
  /** Ids whose latest record in this batch was decided to have nothing to do (a stale retry record). */
  const stale = new Set<string>();
  jobs.forEach((job, index) => {
    const id = job.n.notificationId;
    // A repeat in the batch does nothing, unless the earlier record had no effect and this
    // one is a retry record: a deferred retry topic delivers a stale record of an id again
    // together with the newer retry record that followed it, which must not be lost.
    if (byId.has(id) && !(job.retry && stale.has(id))) {
      results.push({ notificationId: id, status: 'SKIPPED_REPEATED_IN_BATCH', sent: false, provider: null, routeReason: null });
      return;
    }
    const result: DispatchResult = { notificationId: id, status: 'SKIPPED_NOT_RENDERED', sent: false, provider: null, routeReason: null };
    byId.set(id, result);
    results.push(result);
    stale.delete(id);
    const d = decide(job, ledger.entries.get(id), ledger.unrecorded.get(id), now());
    switch (d.kind) {
      case 'skip': if (job.n.outcome === 'RENDERED') result.status = 'SKIPPED_STALE'; stale.add(id); break;
      case 'reemit': emitOnly.push(d.record); result.status = d.record.status; result.provider = d.record.provider; result.reemitted = true; break;
      case 'record': {
        record(job.n, d.record, followUpsOf(job.n, d.record, deps));
        // A fallback known before (a produce failed after it): its next attempt is due now.
        const after = d.record.status === 'RETRY_SCHEDULED' && d.record.notBefore == null ? decide(job, entryOf(d.record), undefined, now()) : undefined;
        if (after?.kind === 'attempt') attempts.push({ index, job, next: after.next });
        break;
      }
      case 'notDue': deferred.push({ index, until: d.until }); result.status = 'WAITING'; break;
      case 'attempt': attempts.push({ index, job, next: d.next }); break;
      case 'lookup': lookups.push({ index, n: job.n, attempt: d.attempt, provider: d.provider, providerMessageId: d.providerMessageId, tier: tierOfRetry(job) }); break;
    }
  });

  ////////// In-doubt lookups (IN_DOUBT_POLICY=lookup): never a send
  if (lookups.length && deps.sender.lookup) {
    const answers = await mapLimit(lookups, deps.concurrency ?? 16, (l) => deps.sender.lookup!(l.provider, l.providerMessageId));
    lookups.forEach((l, i) => {
      const a = answers[i]!;
      const entry = ledger.entries.get(l.n.notificationId)!;
      const base = { providerMessageId: l.providerMessageId, providerAttempt: entry.providerAttempt, excludedProviders: [...entry.excluded], routeReason: 'IN_DOUBT_RESOLVED', optInLink: entry.optInLink };
      if (a.kind === 'found' && a.status !== 'failed') {
        outcome(l.n, dispatchRecord(l.n, 'ACCEPTED', l.attempt, l.provider, now(), { ...base, routeDetail: `the in-doubt send was found at ${l.provider} (status ${a.status})` }));
      } else if (a.kind === 'found') {
        outcome(l.n, dispatchRecord(l.n, 'FAILED', l.attempt, l.provider, now(), { ...base, errorCode: a.errorCode ?? null, disposition: 'permanent', reason: `the in-doubt send was found failed at ${l.provider}`, routeDetail: 'resolved by status lookup' }), { deadLetter: true });
      } else if (a.kind === 'error' && a.disposition === 'retry' && l.tier < deps.retry.tiers) {
        retries.push({ topic: DISPATCH_RETRY_TOPICS[l.tier]!, key: l.n.pendaftaran_id, partition, value: lookupRecord(l.n, l.attempt, l.provider, l.providerMessageId, now() + deps.lookupDelayMs, l.tier + 1) });
        set(l.n.notificationId, 'IN_DOUBT', { provider: l.provider });
      } else {
        set(l.n.notificationId, 'IN_DOUBT', { provider: l.provider }); // held for an operator
      }
    });
  }

  ////////// 2-5. rounds of attempts (a fallback is tried in the next round)
  /** Providers whose breaker refused a call in this batch (half-open lets one trial through): passed over from then on. */
  const refused = new Set<ProviderName>();
  while (attempts.length) {
    const claims: Claim[] = [];
    const grantedNow = new Map<ProviderName, number>();
    const used = (p: ProviderName) => ledger.usedToday(p, now()) + (grantedNow.get(p) ?? 0);
    const open = deps.sender.openCircuits(now());
    for (const a of attempts) {
      const { n } = a.job;
      const t = now();
      const unavailable = new Map<ProviderName, Unavailability>();
      for (const p of [...open.keys(), ...refused]) unavailable.set(p, 'CIRCUIT_OPEN');
      if (deps.quotaExhausted === 'fallback') for (const p of deps.routing.chain) if (!unavailable.has(p) && deps.pacer.quotaExhausted(p, partition, used(p))) unavailable.set(p, 'QUOTA_EXHAUSTED');
      const r = route({ policy: deps.routing, contact: deps.contact(n.recipient.phone), excluded: a.next.excluded.filter(isChainName(deps.routing)), unavailable, preferred: a.next.preferred, fallback: a.next.fallback });
      const common = { providerAttempt: a.next.previous?.providerAttempt ?? 0, excludedProviders: a.next.excluded };
      const last = a.next.previous?.provider ?? NONE_PROVIDER;
      switch (r.kind) {
        case 'skip':
          // Opted out since the notification was planned: nothing is sent, and that is not a
          // failure. SKIPPED is final (never sent later, even after an opt-in); no dead letter.
          record(n, dispatchRecord(n, 'SKIPPED', a.next.attempt - 1, NONE_PROVIDER, t, { ...common, reason: r.detail, routeReason: r.reason, routeDetail: r.detail }));
          continue;
        case 'none':
          record(n, dispatchRecord(n, 'FAILED', a.next.attempt - 1, last, t, { ...common, errorCode: 'NO_PROVIDER', reason: r.detail, routeReason: r.reason, routeDetail: r.detail, disposition: 'permanent' }), { deadLetter: true });
          continue;
        case 'wait': {
          const circuits = r.passedOver.filter((x) => x.why === 'CIRCUIT_OPEN');
          if (circuits.length) {
            // A provider comes back (half-open trial) soon: wait for it here.
            const until = Math.min(...circuits.map((x) => open.get(x.provider) ?? t + 1000));
            deferred.push({ index: a.index, until: Math.max(until, t + 100) });
            set(n.notificationId, 'WAITING', { routeReason: r.reason });
            continue;
          }
          // Every provider's daily quota is gone: wait for the next window.
          const p = r.passedOver[0]!.provider;
          park(a, p, r.detail, t);
          continue;
        }
        case 'send': {
          const grant = deps.pacer.acquire({ provider: r.provider, recipient: n.recipient.phone, partition, usedToday: used(r.provider), now: t });
          if (grant.ok) {
            grantedNow.set(r.provider, (grantedNow.get(r.provider) ?? 0) + 1);
            const providerAttempt = a.next.previous?.provider === r.provider ? a.next.previous.providerAttempt + 1 : 1;
            claims.push({ p: a, provider: r.provider, route: r, providerAttempt, claimedAt: t, ticket: grant.ticket });
          } else if (grant.kind === 'quota') {
            park(a, r.provider, `${r.provider} daily quota exhausted; waiting for the next day`, t, grant.windowEnd);
          } else {
            deferred.push({ index: a.index, until: grant.readyAt });
            set(n.notificationId, 'WAITING', { provider: r.provider, routeReason: grant.kind === 'pair' ? 'PAIR_RATE' : 'RATE_LIMIT' });
          }
          continue;
        }
      }
    }
    if (!claims.length) break;

    // The claim: SENDING events and ledger records, durable before any call.
    for (const c of claims) {
      const { n } = c.p.job;
      record(n, dispatchRecord(n, 'SENDING', c.p.next.attempt, c.provider, c.claimedAt, {
        providerAttempt: c.providerAttempt, excludedProviders: c.p.next.excluded, routeReason: c.route.reason, routeDetail: c.route.detail,
        fallbackFrom: c.p.next.fallback?.from ?? null, optInLink: c.route.appendOptInLink && !!deps.optInLink,
      }));
    }
    let answers: SendResult[];
    try {
      await flush();
      answers = await mapLimit(claims, deps.concurrency ?? 16, async (c) => {
        const a = await safeSend(deps.sender, c.provider, outboundMessage(c.p.job.n, { appendOptInLink: c.route.appendOptInLink, optInLink: deps.optInLink }));
        // The pacing window counted the request while in flight and counts it on from its answer:
        // whenever the provider received it, that was no later than now.
        c.ticket.stamp(deps.now());
        return a;
      });
    } finally {
      for (const c of claims) c.ticket.release(); // no-op for the stamped ones
    }
    calls += claims.length;

    const next: Pending[] = [];
    claims.forEach((c, i) => {
      const a = answers[i]!;
      const { n } = c.p.job;
      const { attempt } = c.p.next;
      byId.get(n.notificationId)!.sent = byId.get(n.notificationId)!.sent || !(a.kind === 'failed' && a.circuitOpen);
      const t = now();
      const base = {
        providerAttempt: c.providerAttempt, excludedProviders: c.p.next.excluded, routeReason: c.route.reason, routeDetail: c.route.detail,
        fallbackFrom: c.p.next.fallback?.from ?? null, optInLink: c.route.appendOptInLink && !!deps.optInLink, latencyMs: Math.round(a.latencyMs),
      };
      if (a.kind === 'accepted') {
        outcome(n, dispatchRecord(n, 'ACCEPTED', attempt, c.provider, t, { ...base, providerMessageId: a.providerMessageId }));
        return;
      }
      if (a.kind === 'in_doubt') {
        // It may have been accepted: never re-sent, never passed to another provider.
        const canLookup = deps.inDoubtPolicy === 'lookup' && !!a.providerMessageId && !!deps.sender.canLookup?.(c.provider);
        outcome(n, dispatchRecord(n, 'IN_DOUBT', attempt, c.provider, t, { ...base, providerMessageId: a.providerMessageId ?? null, errorCode: a.errorCode, reason: a.reason, disposition: 'in_doubt' }),
          canLookup ? { retry: lookupRecord(n, attempt, c.provider, a.providerMessageId!, t + deps.lookupDelayMs, 1), tier: 1 } : {});
        return;
      }
      const failed = { ...base, errorCode: a.errorCode, reason: a.reason, disposition: a.disposition };
      if (a.disposition === 'permanent') {
        outcome(n, dispatchRecord(n, 'FAILED', attempt, c.provider, t, failed), { deadLetter: true });
        return;
      }
      if (a.disposition === 'retry') {
        const plan = planRetry({ policy: deps.retry, providerAttempt: c.providerAttempt, retryAfterMs: a.retryAfterMs, now: t, random: unitHash(`${n.notificationId}|${attempt}`) });
        if (plan.kind === 'retry') {
          const retry = retryRecord(n, { attempt: attempt + 1, provider: c.provider, providerAttempt: c.providerAttempt + 1, excluded: c.p.next.excluded, notBefore: plan.notBefore, tier: plan.tier, routeReason: 'RETRY', routeDetail: `retry ${c.providerAttempt + 1} of ${deps.retry.maxAttempts} through ${c.provider} after ${a.errorCode}` });
          outcome(n, dispatchRecord(n, 'RETRY_SCHEDULED', attempt, c.provider, t, { ...failed, nextProvider: c.provider, notBefore: plan.notBefore }), { retry, tier: plan.tier });
          return;
        }
        // Retries on this provider are over: the next provider.
        const because = `${a.errorCode}: ${plan.why}`;
        outcome(n, dispatchRecord(n, 'RETRY_SCHEDULED', attempt, c.provider, t, { ...failed, reason: `${plan.why}: ${a.reason}`, disposition: 'fallback', excludedProviders: [...c.p.next.excluded, c.provider] }));
        next.push({ index: c.p.index, job: c.p.job, next: { attempt: attempt + 1, excluded: [...c.p.next.excluded, c.provider], preferred: undefined, previous: { provider: c.provider, providerAttempt: c.providerAttempt }, fallback: { from: c.provider, because } } });
        return;
      }
      // Fallback: this provider cannot serve it (or its circuit is open, which excludes it only while open).
      if (a.circuitOpen) refused.add(c.provider);
      const excluded = a.circuitOpen ? c.p.next.excluded : [...c.p.next.excluded, c.provider];
      outcome(n, dispatchRecord(n, 'RETRY_SCHEDULED', attempt, c.provider, t, { ...failed, excludedProviders: excluded }));
      next.push({ index: c.p.index, job: c.p.job, next: { attempt: attempt + 1, excluded, preferred: undefined, previous: { provider: c.provider, providerAttempt: c.providerAttempt }, fallback: { from: c.provider, because: `${a.errorCode}: ${a.reason}` } } });
    });
    attempts = next;
  }
  await flush();

  const defer = deferred.length ? { from: Math.min(...deferred.map((d) => d.index)), until: Math.min(...deferred.map((d) => d.until)) } : undefined;
  return { results, defer, calls };

  /** Waits for a quota window on the last retry tier, without an attempt (nothing was sent). */
  function park(a: Pending, provider: ProviderName, detail: string, t: number, windowEnd?: number): void {
    const { n } = a.job;
    const until = windowEnd ?? jakartaDayStart(jakartaDayNumber(t) + 1);
    const tier = deps.retry.tiers;
    const providerAttempt = a.next.previous?.provider === provider ? a.next.previous.providerAttempt + 1 : 1;
    const retry = retryRecord(n, { attempt: a.next.attempt, provider, providerAttempt, excluded: a.next.excluded, notBefore: until, tier, routeReason: 'QUOTA_EXHAUSTED', routeDetail: detail });
    record(n, dispatchRecord(n, 'RETRY_SCHEDULED', a.next.attempt - 1, a.next.previous?.provider ?? provider, t, {
      providerAttempt: a.next.previous?.providerAttempt ?? 0, excludedProviders: a.next.excluded, nextProvider: provider, notBefore: until,
      routeReason: 'QUOTA_EXHAUSTED', routeDetail: detail, errorCode: 'QUOTA_EXHAUSTED', reason: detail, disposition: 'retry',
    }), { retry, tier });
  }
}

const isChainName = (policy: RoutingPolicy) => (s: string): s is ProviderName => (policy.chain as readonly string[]).includes(s);

/** What must accompany a recorded fact that was known before (a batch retried after a failed produce). */
function followUpsOf(n: NotificationRendered, r: NotificationDispatchRecorded, deps: DispatchDeps): { retry?: DispatchRetryScheduled; tier?: number; deadLetter?: boolean } {
  if (r.status === 'FAILED') return { deadLetter: true };
  if (r.status === 'RETRY_SCHEDULED' && r.notBefore != null) {
    const tier = r.routeReason === 'QUOTA_EXHAUSTED' ? deps.retry.tiers : Math.min(Math.max(1, r.providerAttempt ?? 1), deps.retry.tiers);
    const provider = (r.nextProvider ?? r.provider) as ProviderName;
    const providerAttempt = r.routeReason === 'QUOTA_EXHAUSTED' && provider !== r.provider ? 1 : (r.providerAttempt ?? 0) + 1;
    return { tier, retry: retryRecord(n, { attempt: r.attempt + 1, provider, providerAttempt, excluded: r.excludedProviders ?? [], notBefore: r.notBefore, tier, routeReason: r.routeReason === 'QUOTA_EXHAUSTED' ? 'QUOTA_EXHAUSTED' : 'RETRY', routeDetail: r.routeDetail ?? null }) };
  }
  return {};
}

const tierOfRetry = (job: Job): number => job.retry?.tier ?? 1;

export function retryRecord(n: NotificationRendered, o: { attempt: number; provider: string; providerAttempt: number; excluded: readonly string[]; notBefore: number; tier: number; routeReason: string | null; routeDetail: string | null }): DispatchRetryScheduled {
  return {
    eventId: deterministicId('sicantik.event', 'DispatchRetryScheduled', n.notificationId, 'SEND', o.attempt, o.notBefore),
    occurredAt: o.notBefore, correlationId: n.correlationId, causationId: n.eventId,
    notificationId: n.notificationId, pendaftaran_id: n.pendaftaran_id, kind: 'SEND', attempt: o.attempt, provider: o.provider,
    providerAttempt: o.providerAttempt, excludedProviders: [...o.excluded], notBefore: o.notBefore, tier: o.tier,
    routeReason: o.routeReason, routeDetail: o.routeDetail, providerMessageId: null, notification: n,
  };
}

function lookupRecord(n: NotificationRendered, attempt: number, provider: string, providerMessageId: string, notBefore: number, tier: number): DispatchRetryScheduled {
  return {
    eventId: deterministicId('sicantik.event', 'DispatchRetryScheduled', n.notificationId, 'LOOKUP', attempt, notBefore),
    occurredAt: notBefore, correlationId: n.correlationId, causationId: n.eventId,
    notificationId: n.notificationId, pendaftaran_id: n.pendaftaran_id, kind: 'LOOKUP', attempt, provider, providerAttempt: 0,
    excludedProviders: [], notBefore, tier, routeReason: 'IN_DOUBT_RESOLVED', routeDetail: null, providerMessageId, notification: n,
  };
}

function deadLetterOf(n: NotificationRendered, r: NotificationDispatchRecorded, ledger: PartitionLedger): DispatchDeadLettered {
  const entry = ledger.entries.get(n.notificationId);
  const providers = [...new Set([...(r.excludedProviders ?? []), ...(r.provider !== NONE_PROVIDER ? [r.provider] : []), ...(entry && !isFinal(entry) ? [entry.provider] : [])])];
  return {
    eventId: deterministicId('sicantik.event', 'DispatchDeadLettered', n.notificationId, r.attempt),
    occurredAt: r.occurredAt, correlationId: n.correlationId, causationId: r.eventId,
    notificationId: n.notificationId, pendaftaran_id: n.pendaftaran_id, attempts: r.attempt, providers,
    lastProvider: r.provider === NONE_PROVIDER ? null : r.provider, errorCode: r.errorCode ?? null, reason: r.reason ?? 'failed', notification: n,
  };
}

/** A sender that throws instead of answering: the call may have gone out. */
async function safeSend(sender: Sender, provider: ProviderName, msg: OutboundMessage): Promise<SendResult> {
  try {
    return await sender.send(provider, msg);
  } catch (e) {
    return { kind: 'in_doubt', errorCode: 'PROVIDER_ERROR', reason: `provider adapter failed: ${(e as Error).message}`, latencyMs: 0 };
  }
}

/** Runs fn over items with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => { while (next < items.length) { const i = next++; out[i] = await fn(items[i]!); } };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
