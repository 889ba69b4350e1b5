import { jakartaDayNumber, jakartaDayStart } from '@sicantik/core';
import type { ContactEvent, DispatchRetryScheduled, DispatchStatus, NotificationDispatchRecorded, NotificationRendered } from '@sicantik/schemas';
import type { Disposition, LookupResult, OutboundMessage, ProviderName } from '@sicantik/providers';
import { earliestSendAt, type SendRule } from './gate';
import { decideDelivery, dispatchRecord, entryOf, type Job, type NextAttempt, type PartitionLedger } from './ledger';
import { outboundMessage, type OptInLink } from './outbound';
import type { Pacer, Ticket } from './pacing';
import { deadLetterOf, deferredRetry, followUpsOf, lookupRecord, messageSent, NONE_PROVIDER, retryMessage, retryRecord, type DispatchMessage, type FollowUps } from './records';
import { planRetry, unitHash, type RetryPolicy } from './retry';
import { REPLY_SCENARIOS, route, type ContactState, type Route, type RoutingPolicy, type Unavailability } from './routing';

////////// The dispatcher's core (pure): decide(state, input) -> records to write and commands
// No I/O, no clock: every input carries its time (and the circuits the executor sees
// open then). The executor (adapters/batchExecutor.ts) feeds the inputs, writes the
// records, runs the commands; it decides nothing. One batch (the records of one
// topic-partition) goes like this:
//   rendered | retries  decide per delivery from the ledger (ledger.ts: already final:
//                       emit again, never send; claimed without an outcome: IN_DOUBT; a
//                       retry record before its time: wait; else an attempt), then for
//                       each attempt: the send-time gate (gate.ts), routing (opt-in,
//                       fallback chain, open circuits, quotas: routing.ts), pacing
//                       tokens (pacing.ts). Out: the records (the SENDING claims among
//                       them); the calls are held.
//   written             the records are durable: the ledger follows, and only now are
//                       the held calls and lookups handed out. A provider is never
//                       called before its claim is durable.
//   answer | looked     a provider's answer, a status lookup's answer. Once the round's
//                       last one is in: the outcomes (accepted, in doubt, failed + dead
//                       letter, retry later on dispatch.retry.<tier>, fallback: the next
//                       provider at once, with the next round's claims), written again.
//   abandoned           a write failed: the batch is dropped (tokens not used are given
//                       back); the consumer delivers it again and the ledger, with the
//                       outcomes known but not recorded, says what is left to do.
//   held                the partition's HELD notifications (or the ones named) decided
//                       again, as a batch like the others: sent once the contact opted in
//                       (the adapter runs it for a contact's held ids when its OPTED_IN or
//                       OPTED_OUT arrives, and sweeps every held one periodically), SKIPPED
//                       if it opted out, DROPPED when stale or when the hold expired; still
//                       held: nothing written.
// Before routing, per attempt (issue 16): a notification past its staleAfter is DROPPED
// (STALE); a contact who has not opted in with only opt-in providers configured is HELD
// (routing.ts); one before its notBefore (or a gate rule's time) is DEFERRED with a record
// on the last retry tier at that time. A new notification with a supersedeKey DROPs
// (SUPERSEDED, supersededBy) the DEFERRED/HELD one waiting with the same key. Every send
// a provider accepts also yields a MESSAGE_SENT contact event, in the same write.
// Outside batches:
//   contact             an opt-in or opt-out (contact.events): routing uses it from the
//                       next attempt on (an opt-out turns a later attempt into SKIPPED).
//   assigned            the partitions owned after a rebalance: pacing spends their share
//                       of every rate. (Their ledgers are restored from dispatch.ledger by
//                       the adapter, record by record through PartitionLedger.restore.)
// When nothing is held or in flight the batch is done: `defer` (the records from
// `from` wait until `until`: a pacing token, a retry's time, an open circuit) and `done`.
// Writes are ordered: retry records in a write of their own first (a RETRY_SCHEDULED
// ledger record is never durable without its retry record).
// The state's ledgers, pacing windows and contact book are mutable structures held by
// the state (a ledger of millions of entries is not copied per input): decide changes
// only the state it is given, and returns it.

/** A provider call's result, as the dispatcher needs it. */
export type SendResult =
  | { kind: 'accepted'; providerMessageId: string; latencyMs: number }
  | { kind: 'failed'; disposition: Disposition; errorCode: string; reason: string; retryAfterMs?: number | undefined; latencyMs: number; circuitOpen?: boolean }
  /** Timed out or cut off after the request went out: it may have been accepted. */
  | { kind: 'in_doubt'; errorCode: string; reason: string; latencyMs: number; providerMessageId?: string | undefined };

export type LookupAnswer = LookupResult | { kind: 'unsupported' };

export interface Policy {
  routing: RoutingPolicy;
  retry: RetryPolicy;
  /** When a provider's daily quota is gone: the next provider of the chain, or wait for the next day. */
  quotaExhausted: 'fallback' | 'wait';
  /** An in-doubt send: held for an operator, or resolved through the provider's status lookup (when an id is known). */
  inDoubtPolicy: 'hold' | 'lookup';
  lookupDelayMs: number;
  /** Providers with a status lookup. */
  lookupProviders: ReadonlySet<ProviderName>;
  optInLink?: OptInLink | undefined;
  /** Time-based rules asked after routing (gate.ts); notBefore is always obeyed. */
  sendRules: readonly SendRule[];
  /** A HELD notification is dropped (EXPIRED) this long after it was held. */
  holdExpiresAfterMs: number;
}

export type ContactChange = Pick<ContactEvent, 'phone' | 'kind' | 'occurredAt'> & Partial<Pick<ContactEvent, 'subjectId'>>;
export interface Contacts { of(phone: string): ContactState; apply(change: ContactChange): void }

export interface DispatchState {
  policy: Policy;
  pacer: Pacer;
  contacts: Contacts;
  /** Partitions of notification.rendered this instance owns. */
  owned: readonly number[];
  /** The batch in progress per partition (one at a time per partition). */
  batches: Map<number, Batch>;
}

export const initialState = (policy: Policy, pacer: Pacer, contacts: Contacts): DispatchState => ({ policy, pacer, contacts, owned: [], batches: new Map() });

type Circuits = ReadonlyMap<ProviderName, number>;
export type Input =
  | { kind: 'rendered'; partition: number; ledger: PartitionLedger; notifications: NotificationRendered[]; at: number; openCircuits: Circuits }
  | { kind: 'retries'; partition: number; ledger: PartitionLedger; records: DispatchRetryScheduled[]; at: number; openCircuits: Circuits }
  | { kind: 'written'; partition: number }
  | { kind: 'answer'; partition: number; ref: number; result: SendResult; at: number; openCircuits: Circuits }
  | { kind: 'looked'; partition: number; ref: number; result: LookupAnswer; at: number; openCircuits: Circuits }
  | { kind: 'abandoned'; partition: number }
  /** The partition's HELD notifications (all, or `ids`) decided again: released, dropped, or still held. */
  | { kind: 'held'; partition: number; ledger: PartitionLedger; ids?: readonly string[] | undefined; at: number; openCircuits: Circuits }
  | { kind: 'contact'; change: ContactChange }
  /** A rebalance: the partitions owned now (their ledgers are restored by the adapter: PartitionLedger.restore). */
  | { kind: 'assigned'; owned: readonly number[] };

/** What a personal field reads as once its subject's key is erased (@sicantik/privacy's ERASED). */
export const ERASED_FIELD = '[erased]';

type ResultStatus = DispatchStatus | 'SKIPPED_NOT_RENDERED' | 'SKIPPED_REPEATED_IN_BATCH' | 'SKIPPED_STALE' | 'WAITING';
export interface DispatchResult {
  notificationId: string; status: ResultStatus; sent: boolean; provider: string | null; routeReason: string | null;
  /** The ledger's earlier outcome produced again (a redelivered record): counted and logged once, when first recorded. */
  reemitted?: boolean;
}

export type Command =
  | { kind: 'call'; partition: number; ref: number; provider: ProviderName; message: OutboundMessage }
  | { kind: 'lookup'; partition: number; ref: number; provider: ProviderName; providerMessageId: string }
  /** The batch's records from index `from` on wait until `until`: the consumer delivers them again then. */
  | { kind: 'defer'; partition: number; from: number; until: number }
  | { kind: 'done'; partition: number; results: DispatchResult[]; calls: number };

/**
 * What the executor does next: `writes` (in order, each durable before the next; then
 * `written`), or `commands` (run them, feed their answers). Never both: a command never
 * goes out beside the write it depends on.
 */
export interface Step { state: DispatchState; writes: DispatchMessage[][]; commands: Command[] }

interface Pending { index: number; job: Job; next: NextAttempt; /** A new notification (it supersedes the one waiting with its key). */ arrival?: boolean }
interface Claim { p: Pending; provider: ProviderName; route: Extract<Route, { kind: 'send' }>; providerAttempt: number; ticket: Ticket; answer?: { result: SendResult; at: number } }
interface Lookup { n: NotificationRendered; attempt: number; provider: ProviderName; providerMessageId: string; tier: number; answer?: { result: LookupAnswer; at: number } }

interface Batch {
  partition: number;
  ledger: PartitionLedger;
  results: DispatchResult[];
  byId: Map<string, DispatchResult>;
  deferred: { index: number; until: number }[];
  /** Providers whose breaker refused a call in this batch (half-open lets one trial through): passed over from then on. */
  refused: Set<ProviderName>;
  calls: number;
  out: { retries: DispatchMessage[]; emitOnly: NotificationDispatchRecorded[]; toRecord: NotificationDispatchRecorded[]; deadLetters: DispatchMessage[]; contacts: DispatchMessage[] };
  /** supersedeKey -> a notification of this batch recorded DEFERRED/HELD (not yet in the ledger). */
  waits: Map<string, NotificationDispatchRecorded>;
  /** Ledger records of the write handed out: the ledger follows once it is durable. */
  writing: NotificationDispatchRecorded[];
  /** This round's calls and lookups (by ref), held until the write before them is durable. */
  claims: Map<number, Claim>;
  lookups: Map<number, Lookup>;
  held: Command[];
  inFlight: number;
  nextRef: number;
}

const empty = (state: DispatchState): Step => ({ state, writes: [], commands: [] });

export function decide(state: DispatchState, input: Input): Step {
  switch (input.kind) {
    case 'contact': state.contacts.apply(input.change); return empty(state);
    case 'assigned': state.owned = [...input.owned].sort((a, b) => a - b); state.pacer.setOwned(state.owned.length); return empty(state);
    case 'rendered': return start(state, input.partition, input.ledger, input.notifications.map((n) => ({ n })), input.at, input.openCircuits);
    case 'retries': return start(state, input.partition, input.ledger, input.records.map((r) => ({ n: r.notification, retry: r })), input.at, input.openCircuits);
    case 'held': {
      const ids = input.ids ?? [...input.ledger.held];
      const held = ids.flatMap((id) => { const e = input.ledger.entries.get(id); return e?.status === 'HELD' && e.waiting ? [{ n: e.waiting, release: true }] : []; });
      return start(state, input.partition, input.ledger, held, input.at, input.openCircuits);
    }
  }
  const b = state.batches.get(input.partition);
  if (!b) return empty(state);
  switch (input.kind) {
    case 'written':
      b.ledger.recorded(b.writing);
      b.writing = [];
      return release(state, b);
    case 'answer': {
      const c = b.claims.get(input.ref);
      if (!c || c.answer) return empty(state);
      // The pacing window counted the request while in flight and counts it on from its answer.
      c.ticket.stamp(input.at);
      c.answer = { result: input.result, at: input.at };
      return answered(state, b, input.at, input.openCircuits);
    }
    case 'looked': {
      const l = b.lookups.get(input.ref);
      if (!l || l.answer) return empty(state);
      l.answer = { result: input.result, at: input.at };
      return answered(state, b, input.at, input.openCircuits);
    }
    case 'abandoned':
      abandon(state, b);
      return empty(state);
  }
}

function abandon(state: DispatchState, b: Batch): void {
  for (const c of b.claims.values()) c.ticket.release(); // no-op for the answered ones
  state.batches.delete(b.partition);
}

////////// A batch's first step: decide per delivery, then the first round

function start(state: DispatchState, partition: number, ledger: PartitionLedger, jobs: Job[], at: number, open: Circuits): Step {
  const before = state.batches.get(partition);
  if (before) abandon(state, before);
  const b: Batch = {
    partition, ledger, results: [], byId: new Map(), deferred: [], refused: new Set(), calls: 0,
    out: { retries: [], emitOnly: [], toRecord: [], deadLetters: [], contacts: [] }, waits: new Map(), writing: [], claims: new Map(), lookups: new Map(), held: [], inFlight: 0, nextRef: 0,
  };
  state.batches.set(partition, b);
  const attempts: Pending[] = [];
  /** Ids whose latest record in this batch was decided to have nothing to do (a stale retry record). */
  const stale = new Set<string>();
  jobs.forEach((job, index) => {
    const id = job.n.notificationId;
    // A repeat in the batch does nothing, unless the earlier record had no effect and this
    // one is a retry record: a deferred retry topic delivers a stale record of an id again
    // together with the newer retry record that followed it, which must not be lost.
    if (b.byId.has(id) && !(job.retry && stale.has(id))) {
      b.results.push({ notificationId: id, status: 'SKIPPED_REPEATED_IN_BATCH', sent: false, provider: null, routeReason: null });
      return;
    }
    const result: DispatchResult = { notificationId: id, status: 'SKIPPED_NOT_RENDERED', sent: false, provider: null, routeReason: null };
    b.byId.set(id, result);
    b.results.push(result);
    stale.delete(id);
    const d = decideDelivery(job, ledger.entries.get(id), ledger.unrecorded.get(id), at);
    switch (d.kind) {
      case 'skip': if (job.n.outcome === 'RENDERED') result.status = 'SKIPPED_STALE'; stale.add(id); break;
      case 'reemit':
        b.out.emitOnly.push(d.record);
        if (d.record.status === 'ACCEPTED') b.out.contacts.push(messageSent(job.n, d.record));
        Object.assign(result, { status: d.record.status, provider: d.record.provider, reemitted: true });
        break;
      case 'record': {
        record(b, job.n, d.record, followUpsOf(job.n, d.record, state.policy.retry));
        // A fallback known before (a write failed after it): its next attempt is due now.
        const after = d.record.status === 'RETRY_SCHEDULED' && d.record.notBefore == null ? decideDelivery(job, entryOf(d.record), undefined, at) : undefined;
        if (after?.kind === 'attempt') attempts.push({ index, job, next: after.next });
        break;
      }
      case 'notDue': b.deferred.push({ index, until: d.until }); result.status = 'WAITING'; break;
      case 'attempt': attempts.push({ index, job, next: d.next, arrival: !job.retry && !job.release }); break;
      case 'lookup': {
        const ref = b.nextRef++;
        b.lookups.set(ref, { n: job.n, attempt: d.attempt, provider: d.provider, providerMessageId: d.providerMessageId, tier: job.retry?.tier ?? 1 });
        b.held.push({ kind: 'lookup', partition, ref, provider: d.provider, providerMessageId: d.providerMessageId });
        break;
      }
    }
  });
  claimRound(state, b, attempts, at, open);
  return flush(state, b);
}

////////// Records, and the write that carries them

function set(b: Batch, id: string, status: ResultStatus, extra: Partial<DispatchResult> = {}): DispatchResult {
  let res = b.byId.get(id);
  if (!res) { // a waiting notification of an earlier batch (superseded)
    res = { notificationId: id, status, sent: false, provider: null, routeReason: null };
    b.byId.set(id, res);
    b.results.push(res);
  }
  return Object.assign(res, { status }, extra);
}

const WAITING = new Set<string>(['DEFERRED', 'HELD']);

/** A new notification with a supersedeKey: the DEFERRED/HELD one waiting with that key for the same recipient (in the ledger or this batch) is DROPPED. */
function supersede(b: Batch, n: NotificationRendered, t: number): void {
  const key = n.supersedeKey!;
  const inBatch = b.waits.get(key);
  const id = inBatch?.notificationId ?? b.ledger.waitingByKey.get(key);
  if (!id || id === n.notificationId) return;
  const e = b.ledger.entries.get(id);
  const old = inBatch?.waiting ?? (e && WAITING.has(e.status) ? e.waiting : undefined);
  // Only for the same recipient: a key shared by mistake never drops someone else's message.
  if (!old || old.recipient.phone !== n.recipient.phone) return;
  const was = inBatch ?? { attempt: e!.attempts, provider: e!.provider, excludedProviders: [...e!.excluded], providerAttempt: e!.providerAttempt };
  const detail = `superseded by ${n.notificationId} (same supersedeKey)`;
  record(b, old, dispatchRecord(old, 'DROPPED', was.attempt, was.provider, t, {
    providerAttempt: was.providerAttempt ?? 0, excludedProviders: was.excludedProviders ?? [], routeReason: 'SUPERSEDED', routeDetail: detail, reason: detail, supersedeKey: key, supersededBy: n.notificationId,
  }));
  b.waits.delete(key);
}

/** Records a fact, with what must accompany it (a retry record, a dead letter). */
function record(b: Batch, n: NotificationRendered, r: NotificationDispatchRecorded, follow: FollowUps = {}): void {
  b.out.toRecord.push(r);
  if (r.status === 'ACCEPTED') b.out.contacts.push(messageSent(n, r));
  if (WAITING.has(r.status) && n.supersedeKey) b.waits.set(n.supersedeKey, r);
  if (follow.retry) b.out.retries.push(retryMessage(n, follow.retry, follow.tier ?? 1, b.partition));
  if (follow.deadLetter) b.out.deadLetters.push({ topic: 'dispatch.dead-letter', key: n.pendaftaran_id, value: deadLetterOf(n, r, b.ledger) });
  set(b, n.notificationId, r.status, { provider: r.provider, routeReason: r.routeReason ?? null });
}

/** A fact known but not yet durable: a batch delivered again records it instead of reporting IN_DOUBT. */
function outcome(b: Batch, n: NotificationRendered, r: NotificationDispatchRecorded, follow: FollowUps = {}): void {
  b.ledger.unrecorded.set(n.notificationId, r);
  record(b, n, r, follow);
}

/** Everything pending as writes (retry records first, in a write of their own); without any, the held commands go at once. */
function flush(state: DispatchState, b: Batch): Step {
  const { retries, emitOnly, toRecord, deadLetters, contacts } = b.out;
  const writes: DispatchMessage[][] = [];
  if (retries.length) writes.push(retries);
  if (emitOnly.length || toRecord.length || deadLetters.length || contacts.length) {
    writes.push([
      ...emitOnly.map((value) => ({ topic: 'notification.dispatch' as const, key: value.pendaftaran_id, value })),
      ...toRecord.flatMap((value) => [
        // The waiting notification itself goes to the ledger only.
        { topic: 'notification.dispatch' as const, key: value.pendaftaran_id, value: value.waiting ? withoutWaiting(value) : value },
        { topic: 'dispatch.ledger' as const, key: value.notificationId, value, partition: b.partition },
      ]),
      ...deadLetters,
      ...contacts,
    ]);
  }
  b.out = { retries: [], emitOnly: [], toRecord: [], deadLetters: [], contacts: [] };
  b.writing = toRecord;
  return writes.length ? { state, writes, commands: [] } : release(state, b);
}

const withoutWaiting = (r: NotificationDispatchRecorded): NotificationDispatchRecorded => { const { waiting: _, ...rest } = r; return rest; };

/** After a durable write: the held calls and lookups; with none in flight either, the batch is done. */
function release(state: DispatchState, b: Batch): Step {
  if (b.held.length) {
    const commands = b.held;
    b.held = [];
    b.inFlight += commands.length;
    b.calls += commands.filter((c) => c.kind === 'call').length;
    return { state, writes: [], commands };
  }
  if (b.inFlight > 0) return empty(state);
  state.batches.delete(b.partition);
  const commands: Command[] = [];
  if (b.deferred.length) commands.push({ kind: 'defer', partition: b.partition, from: Math.min(...b.deferred.map((d) => d.index)), until: Math.min(...b.deferred.map((d) => d.until)) });
  commands.push({ kind: 'done', partition: b.partition, results: b.results, calls: b.calls });
  return { state, writes: [], commands };
}

////////// A round of attempts: gate, route, pace, claim

function claimRound(state: DispatchState, b: Batch, attempts: Pending[], t: number, open: Circuits): void {
  const { policy, pacer } = state;
  const grantedNow = new Map<ProviderName, number>();
  const used = (p: ProviderName) => b.ledger.usedToday(p, t) + (grantedNow.get(p) ?? 0);
  for (const a of attempts) {
    const { n } = a.job;
    const common = { providerAttempt: a.next.previous?.providerAttempt ?? 0, excludedProviders: a.next.excluded };
    if (n.recipient.phone === ERASED_FIELD) {
      // The recipient's key is erased (issue 16): the number is unreadable, nothing is sent, and that is final.
      record(b, n, dispatchRecord(n, 'SUBJECT_ERASED', a.next.attempt - 1, NONE_PROVIDER, t, { ...common, reason: 'the recipient\'s personal data was erased', routeReason: 'SUBJECT_ERASED' }));
      continue;
    }
    if (a.arrival && n.supersedeKey) supersede(b, n, t);
    if (a.job.release && a.next.heldUntil != null && t >= a.next.heldUntil) {
      drop(b, a, t, 'EXPIRED', `held without an opt-in until ${iso(a.next.heldUntil)} (HOLD_EXPIRES_AFTER_MS): dropped`);
      continue;
    }
    // Staleness is for a notification that waited (held, deferred, retried): one that arrives
    // after its staleAfter was planned so on purpose (an operator's backfill run) and goes.
    if (!a.arrival && n.staleAfter != null && t >= n.staleAfter) {
      drop(b, a, t, 'STALE', `stale since ${iso(n.staleAfter)} (staleAfter): dropped`);
      continue;
    }
    const contact = state.contacts.of(n.recipient.phone);
    const unavailable = new Map<ProviderName, Unavailability>();
    for (const p of [...open.keys(), ...b.refused]) unavailable.set(p, 'CIRCUIT_OPEN');
    if (policy.quotaExhausted === 'fallback') for (const p of policy.routing.chain) if (!unavailable.has(p) && pacer.quotaExhausted(p, b.partition, used(p))) unavailable.set(p, 'QUOTA_EXHAUSTED');
    const r = route({ policy: policy.routing, contact, reply: REPLY_SCENARIOS.has(n.scenario), excluded: a.next.excluded.filter(isChainName(policy.routing)), unavailable, preferred: a.next.preferred, fallback: a.next.fallback, now: t });
    if (r.kind === 'hold') {
      // Still held (a release found the contact has not opted in): nothing new to record.
      if (a.job.release) { set(b, n.notificationId, 'WAITING', { provider: r.provider, routeReason: r.reason }); continue; }
      record(b, n, dispatchRecord(n, 'HELD', a.next.attempt - 1, r.provider, t, {
        ...common, routeReason: r.reason, routeDetail: r.detail, reason: r.detail, notBefore: t + policy.holdExpiresAfterMs, supersedeKey: n.supersedeKey ?? null, waiting: n,
      }));
      continue;
    }
    if (r.kind === 'send' || r.kind === 'wait') {
      const gate = earliestSendAt(policy.sendRules, { notification: n, contact, attempt: a.next.attempt, now: t });
      if (gate.kind === 'wait') {
        // Deferred: recorded with the provider it would use now (routing decides again at `until`).
        const p = r.kind === 'send' ? r.provider : r.passedOver[0]?.provider ?? NONE_PROVIDER;
        const d = dispatchRecord(n, 'DEFERRED', a.next.attempt - 1, p, t, {
          ...common, nextProvider: p === NONE_PROVIDER ? null : p, notBefore: gate.until, routeReason: gate.reason, routeDetail: gate.detail, reason: gate.detail, supersedeKey: n.supersedeKey ?? null, waiting: n,
        });
        record(b, n, d, { retry: deferredRetry(n, d, policy.retry.tiers), tier: policy.retry.tiers });
        continue;
      }
    }
    switch (r.kind) {
      case 'skip':
        // Opted out since the notification was planned: nothing is sent, and that is not a
        // failure. SKIPPED is final (never sent later, even after an opt-in); no dead letter.
        record(b, n, dispatchRecord(n, 'SKIPPED', a.next.attempt - 1, NONE_PROVIDER, t, { ...common, reason: r.detail, routeReason: r.reason, routeDetail: r.detail }));
        continue;
      case 'none':
        record(b, n, dispatchRecord(n, 'FAILED', a.next.attempt - 1, a.next.previous?.provider ?? NONE_PROVIDER, t, { ...common, errorCode: 'NO_PROVIDER', reason: r.detail, routeReason: r.reason, routeDetail: r.detail, disposition: 'permanent' }), { deadLetter: true });
        continue;
      case 'wait': {
        const circuits = r.passedOver.filter((x) => x.why === 'CIRCUIT_OPEN');
        if (circuits.length) {
          // A provider comes back (half-open trial) soon: wait for it here.
          const until = Math.min(...circuits.map((x) => open.get(x.provider) ?? t + 1000));
          b.deferred.push({ index: a.index, until: Math.max(until, t + 100) });
          set(b, n.notificationId, 'WAITING', { routeReason: r.reason });
          continue;
        }
        // Every provider's daily quota is gone: wait for the next window.
        const p = r.passedOver[0]!.provider;
        park(state, b, a, p, t, jakartaDayStart(jakartaDayNumber(t) + 1), { routeReason: 'QUOTA_EXHAUSTED', detail: r.detail, errorCode: 'QUOTA_EXHAUSTED' });
        continue;
      }
      case 'send': {
        const grant = pacer.acquire({ provider: r.provider, recipient: n.recipient.phone, partition: b.partition, usedToday: used(r.provider), now: t });
        if (grant.ok) {
          grantedNow.set(r.provider, (grantedNow.get(r.provider) ?? 0) + 1);
          claim(state, b, a, r, grant.ticket, t);
        } else if (grant.kind === 'quota') {
          park(state, b, a, r.provider, t, grant.windowEnd, { routeReason: 'QUOTA_EXHAUSTED', detail: `${r.provider} daily quota exhausted; waiting for the next day`, errorCode: 'QUOTA_EXHAUSTED' });
        } else {
          b.deferred.push({ index: a.index, until: grant.readyAt });
          set(b, n.notificationId, 'WAITING', { provider: r.provider, routeReason: grant.kind === 'pair' ? 'PAIR_RATE' : 'RATE_LIMIT' });
        }
        continue;
      }
    }
  }
}

const isChainName = (policy: RoutingPolicy) => (s: string): s is ProviderName => (policy.chain as readonly string[]).includes(s);

/** The claim: a SENDING record now, the call held until it is durable. */
function claim(state: DispatchState, b: Batch, a: Pending, r: Extract<Route, { kind: 'send' }>, ticket: Ticket, t: number): void {
  const { n } = a.job;
  const providerAttempt = a.next.previous?.provider === r.provider ? a.next.previous.providerAttempt + 1 : 1;
  const optInLink = state.policy.optInLink;
  record(b, n, dispatchRecord(n, 'SENDING', a.next.attempt, r.provider, t, {
    providerAttempt, excludedProviders: a.next.excluded, routeReason: r.reason, routeDetail: r.detail,
    fallbackFrom: a.next.fallback?.from ?? null, optInLink: r.appendOptInLink && !!optInLink,
  }));
  const ref = b.nextRef++;
  b.claims.set(ref, { p: a, provider: r.provider, route: r, providerAttempt, ticket });
  b.held.push({ kind: 'call', partition: b.partition, ref, provider: r.provider, message: outboundMessage(n, { appendOptInLink: r.appendOptInLink, optInLink, freeForm: r.freeForm }) });
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** DROPPED (final): a waiting notification that is stale or whose hold expired; recorded with the provider its entry names. */
function drop(b: Batch, a: Pending, t: number, why: 'STALE' | 'EXPIRED', detail: string): void {
  const { n } = a.job;
  const e = b.ledger.entries.get(n.notificationId);
  const provider = e && WAITING.has(e.status) ? e.provider : a.next.previous?.provider ?? NONE_PROVIDER;
  record(b, n, dispatchRecord(n, 'DROPPED', a.next.attempt - 1, provider, t, {
    providerAttempt: a.next.previous?.providerAttempt ?? 0, excludedProviders: a.next.excluded, routeReason: why, routeDetail: detail, reason: detail, supersedeKey: n.supersedeKey ?? null,
  }));
}

/** Waits without an attempt (nothing is sent) until `until`, on the last retry tier: a daily quota's window (send-time rules are DEFERRED). */
function park(state: DispatchState, b: Batch, a: Pending, provider: string, t: number, until: number, why: { routeReason: string; detail: string; errorCode: string | null }): void {
  const { n } = a.job;
  const tier = state.policy.retry.tiers;
  const providerAttempt = a.next.previous?.provider === provider ? a.next.previous.providerAttempt + 1 : 1;
  const retry = retryRecord(n, { attempt: a.next.attempt, provider, providerAttempt, excluded: a.next.excluded, notBefore: until, tier, routeReason: why.routeReason, routeDetail: why.detail });
  record(b, n, dispatchRecord(n, 'RETRY_SCHEDULED', a.next.attempt - 1, a.next.previous?.provider ?? provider, t, {
    providerAttempt: a.next.previous?.providerAttempt ?? 0, excludedProviders: a.next.excluded, nextProvider: provider === NONE_PROVIDER ? null : provider, notBefore: until,
    routeReason: why.routeReason, routeDetail: why.detail, errorCode: why.errorCode, reason: why.detail, disposition: 'retry',
  }), { retry, tier });
}

////////// The round's answers: outcomes, and the next round (fallbacks)

function answered(state: DispatchState, b: Batch, at: number, open: Circuits): Step {
  b.inFlight--;
  if (b.inFlight > 0) return empty(state);
  const { policy } = state;
  for (const l of b.lookups.values()) resolveLookup(state, b, l);
  const next: Pending[] = [];
  for (const c of b.claims.values()) {
    const a = c.answer!.result;
    const t = c.answer!.at;
    const { n } = c.p.job;
    const { attempt } = c.p.next;
    const res = b.byId.get(n.notificationId)!;
    res.sent = res.sent || !(a.kind === 'failed' && a.circuitOpen);
    const base = {
      providerAttempt: c.providerAttempt, excludedProviders: c.p.next.excluded, routeReason: c.route.reason, routeDetail: c.route.detail,
      fallbackFrom: c.p.next.fallback?.from ?? null, optInLink: c.route.appendOptInLink && !!policy.optInLink, latencyMs: Math.round(a.latencyMs),
    };
    if (a.kind === 'accepted') {
      outcome(b, n, dispatchRecord(n, 'ACCEPTED', attempt, c.provider, t, { ...base, providerMessageId: a.providerMessageId }));
      continue;
    }
    if (a.kind === 'in_doubt') {
      // It may have been accepted: never re-sent, never passed to another provider.
      const canLookup = policy.inDoubtPolicy === 'lookup' && !!a.providerMessageId && policy.lookupProviders.has(c.provider);
      outcome(b, n, dispatchRecord(n, 'IN_DOUBT', attempt, c.provider, t, { ...base, providerMessageId: a.providerMessageId ?? null, errorCode: a.errorCode, reason: a.reason, disposition: 'in_doubt' }),
        canLookup ? { retry: lookupRecord(n, attempt, c.provider, a.providerMessageId!, t + policy.lookupDelayMs, 1), tier: 1 } : {});
      continue;
    }
    const failed = { ...base, errorCode: a.errorCode, reason: a.reason, disposition: a.disposition };
    if (a.disposition === 'permanent') {
      outcome(b, n, dispatchRecord(n, 'FAILED', attempt, c.provider, t, failed), { deadLetter: true });
      continue;
    }
    const previous = { provider: c.provider, providerAttempt: c.providerAttempt };
    if (a.disposition === 'retry') {
      const plan = planRetry({ policy: policy.retry, providerAttempt: c.providerAttempt, retryAfterMs: a.retryAfterMs, now: t, random: unitHash(`${n.notificationId}|${attempt}`) });
      if (plan.kind === 'retry') {
        const retry = retryRecord(n, { attempt: attempt + 1, provider: c.provider, providerAttempt: c.providerAttempt + 1, excluded: c.p.next.excluded, notBefore: plan.notBefore, tier: plan.tier, routeReason: 'RETRY', routeDetail: `retry ${c.providerAttempt + 1} of ${policy.retry.maxAttempts} through ${c.provider} after ${a.errorCode}` });
        outcome(b, n, dispatchRecord(n, 'RETRY_SCHEDULED', attempt, c.provider, t, { ...failed, nextProvider: c.provider, notBefore: plan.notBefore }), { retry, tier: plan.tier });
        continue;
      }
      // Retries on this provider are over: the next provider.
      const excluded = [...c.p.next.excluded, c.provider];
      outcome(b, n, dispatchRecord(n, 'RETRY_SCHEDULED', attempt, c.provider, t, { ...failed, reason: `${plan.why}: ${a.reason}`, disposition: 'fallback', excludedProviders: excluded }));
      next.push({ index: c.p.index, job: c.p.job, next: { attempt: attempt + 1, excluded, preferred: undefined, previous, fallback: { from: c.provider, because: `${a.errorCode}: ${plan.why}` } } });
      continue;
    }
    // Fallback: this provider cannot serve it (or its circuit is open, which excludes it only while open).
    if (a.circuitOpen) b.refused.add(c.provider);
    const excluded = a.circuitOpen ? c.p.next.excluded : [...c.p.next.excluded, c.provider];
    outcome(b, n, dispatchRecord(n, 'RETRY_SCHEDULED', attempt, c.provider, t, { ...failed, excludedProviders: excluded }));
    next.push({ index: c.p.index, job: c.p.job, next: { attempt: attempt + 1, excluded, preferred: undefined, previous, fallback: { from: c.provider, because: `${a.errorCode}: ${a.reason}` } } });
  }
  b.claims.clear();
  b.lookups.clear();
  claimRound(state, b, next, at, open);
  return flush(state, b);
}

/** IN_DOUBT_POLICY=lookup: the status lookup's answer settles an in-doubt send, or it is looked up again later, or held. Never a send. */
function resolveLookup(state: DispatchState, b: Batch, l: Lookup): void {
  const a = l.answer!.result;
  const t = l.answer!.at;
  const { n } = l;
  const entry = b.ledger.entries.get(n.notificationId)!;
  const base = { providerMessageId: l.providerMessageId, providerAttempt: entry.providerAttempt, excludedProviders: [...entry.excluded], routeReason: 'IN_DOUBT_RESOLVED', optInLink: entry.optInLink };
  if (a.kind === 'found' && a.status !== 'failed') {
    outcome(b, n, dispatchRecord(n, 'ACCEPTED', l.attempt, l.provider, t, { ...base, routeDetail: `the in-doubt send was found at ${l.provider} (status ${a.status})` }));
  } else if (a.kind === 'found') {
    outcome(b, n, dispatchRecord(n, 'FAILED', l.attempt, l.provider, t, { ...base, errorCode: a.errorCode ?? null, disposition: 'permanent', reason: `the in-doubt send was found failed at ${l.provider}`, routeDetail: 'resolved by status lookup' }), { deadLetter: true });
  } else if (a.kind === 'error' && a.disposition === 'retry' && l.tier < state.policy.retry.tiers) {
    b.out.retries.push(retryMessage(n, lookupRecord(n, l.attempt, l.provider, l.providerMessageId, t + state.policy.lookupDelayMs, l.tier + 1), l.tier + 1, b.partition));
    set(b, n.notificationId, 'IN_DOUBT', { provider: l.provider });
  } else {
    set(b, n.notificationId, 'IN_DOUBT', { provider: l.provider }); // held for an operator
  }
}
