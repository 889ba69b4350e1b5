import type { DispatchStatus, NotificationDispatchRecorded, NotificationRendered } from '@sicantik/schemas';
import { decide, outcomeOf, dispatchRecord, type PartitionLedger } from './domain/ledger';
import type { Provider, SendResult } from './domain/provider';

////////// Dispatch one partition's batch of rendered notifications: claim, send, record; never twice.
// Per batch, from the partition's ledger in memory:
//   1. decide per notification (already accepted/failed/in doubt: emit the outcome
//      again, never send; claimed without an outcome: IN_DOUBT; else send);
//   2. one produce of the SENDING events and their ledger records: the claim, durable
//      before the provider is called;
//   3. the provider calls, concurrently (bounded);
//   4. one produce of the outcomes and their ledger records.
// The ledger in memory follows each produce only once it succeeded. A crash between
// 2 and 4 leaves claims without outcomes: reported IN_DOUBT, never sent again.
// A retriable answer is retried RETRY_DELAY_MS later within the batch (until issue 9).

export type DispatchMessage =
  | { topic: 'notification.dispatch'; key: string; value: NotificationDispatchRecorded }
  | { topic: 'dispatch.ledger'; key: string; value: NotificationDispatchRecorded; partition: number };

export interface DispatchDeps {
  provider: Provider;
  /** Produces the messages in one request; resolves once they are durable. */
  produce(messages: DispatchMessage[]): Promise<void>;
  now(): Date;
  /** Waits between attempts; must keep the consumer alive (heartbeats). */
  wait(ms: number): Promise<void>;
  maxAttempts: number;
  retryDelayMs: number;
  /** Provider calls in flight at once (default 16). */
  concurrency?: number;
}

export type DispatchResult = { notificationId: string; status: DispatchStatus | 'SKIPPED_NOT_RENDERED' | 'SKIPPED_REPEATED_IN_BATCH'; sent: boolean };

interface Send { n: NotificationRendered; attempt: number }

/** Dispatches `batch` (one partition's records, in order) against `ledger`, the partition's ledger. */
export async function dispatchBatch(partition: number, batch: NotificationRendered[], ledger: PartitionLedger, deps: DispatchDeps): Promise<DispatchResult[]> {
  const provider = deps.provider;
  const at = () => deps.now().getTime();
  const results = new Map<string, DispatchResult>();
  const order: DispatchResult[] = [];
  const finish = (id: string, status: DispatchResult['status']) => { const r = results.get(id)!; r.status = status; };

  let emitOnly: NotificationDispatchRecorded[] = [];
  let toRecord: NotificationDispatchRecorded[] = [];
  /** One produce of everything pending; the ledger in memory follows once it is durable. */
  const flush = async () => {
    if (!emitOnly.length && !toRecord.length) return;
    const recording = toRecord;
    await deps.produce([
      ...emitOnly.map((value) => ({ topic: 'notification.dispatch' as const, key: value.pendaftaran_id, value })),
      ...recording.flatMap((value) => [
        { topic: 'notification.dispatch' as const, key: value.pendaftaran_id, value },
        { topic: 'dispatch.ledger' as const, key: value.notificationId, value, partition },
      ]),
    ]);
    ledger.recorded(recording);
    emitOnly = [];
    toRecord = [];
  };

  let sends: Send[] = [];
  let retries: Send[] = [];
  for (const n of batch) {
    if (results.has(n.notificationId)) { order.push({ notificationId: n.notificationId, status: 'SKIPPED_REPEATED_IN_BATCH', sent: false }); continue; }
    const result: DispatchResult = { notificationId: n.notificationId, status: 'SKIPPED_NOT_RENDERED', sent: false };
    results.set(n.notificationId, result);
    order.push(result);
    const d = decide(n, ledger.entries.get(n.notificationId), ledger.unrecorded.get(n.notificationId), at());
    switch (d.kind) {
      case 'skip': break;
      case 'reemit': emitOnly.push(d.record); result.status = d.record.status; break;
      case 'record':
        toRecord.push(d.record);
        result.status = d.record.status;
        if (d.record.status === 'RETRY_SCHEDULED') retries.push({ n, attempt: d.record.attempt + 1 });
        break;
      case 'send': sends.push({ n, attempt: d.attempt }); break;
    }
  }

  for (;;) {
    if (retries.length) {
      await flush(); // the RETRY_SCHEDULED outcomes are recorded before waiting
      await deps.wait(deps.retryDelayMs);
      sends.push(...retries);
      retries = [];
    }
    if (!sends.length) break;
    // The claim: SENDING events and ledger records, durable before any call.
    for (const s of sends) toRecord.push(dispatchRecord(s.n, 'SENDING', s.attempt, provider.name, at()));
    await flush();
    const answers = await mapLimit(sends, deps.concurrency ?? 16, (s) => safeSend(provider, s.n));
    sends.forEach((s, i) => {
      const { record, retry } = outcomeOf(s.n, s.attempt, provider.name, answers[i]!, deps.maxAttempts, at());
      // Known now, durable after the next produce: a retried batch records it instead of reporting IN_DOUBT.
      ledger.unrecorded.set(s.n.notificationId, record);
      toRecord.push(record);
      results.get(s.n.notificationId)!.sent = true;
      finish(s.n.notificationId, record.status);
      if (retry) retries.push({ n: s.n, attempt: s.attempt + 1 });
    });
    sends = [];
  }
  await flush();
  return order;
}

/** A provider adapter that throws instead of answering: the call may have gone out. */
async function safeSend(provider: Provider, n: NotificationRendered): Promise<SendResult> {
  try {
    return await provider.send(n);
  } catch (e) {
    return { ok: false, retriable: true, inDoubt: true, errorCode: 'PROVIDER_ERROR', reason: `provider adapter failed: ${(e as Error).message}` };
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
