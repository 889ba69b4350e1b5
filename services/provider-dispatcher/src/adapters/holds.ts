import { errorMessage } from '@sicantik/core';
import type { Logger } from '@sicantik/observability';
import type { ContactChange, DispatchResult, DispatchState } from '../domain/decide';
import { runBatch, type ExecutorIO } from './batchExecutor';
import type { LedgerPartitions } from './ledgerPartitions';

////////// Held notifications: released when their contact opts in, swept for expiry
// A HELD notification has no retry record (it may wait for weeks): the ledger of its
// partition keeps it, with indexes contact -> held ids (restored with the ledger). It is
// decided again by the core's `held` batch, under the partition's lock like every batch,
// on a partition this instance owns:
//   - at once for the contact's held ids when its OPTED_IN (or OPTED_OUT) arrives on
//     contact.events: sent (claim first, as always), or SKIPPED;
//   - every `sweepMs` for every held id of the owned partitions: dropped when stale or
//     expired, and released if an opt-in came while the partition was being restored.

interface HoldsOptions {
  state: DispatchState;
  io: ExecutorIO;
  ledger: LedgerPartitions;
  logger: Logger;
  sweepMs: number;
  /** The batch's results, with the recipients' phones (masked in logs). */
  report(results: DispatchResult[], phones: ReadonlyMap<string, string>): void;
}

export function startHolds(o: HoldsOptions): { release(change: ContactChange): void; sweep(): Promise<void>; stop(): void } {
  const noBeat = async () => undefined;
  let chain: Promise<void> = Promise.resolve();
  const run = (p: number, ids?: string[]) => o.ledger.withPartition(p, noBeat, async (l) => {
    if (!o.ledger.owns(p)) return;
    if (!(ids ?? [...l.held]).length) return;
    const at = o.io.now();
    const phones = new Map((ids ?? [...l.held]).map((id) => [id, l.entries.get(id)?.waiting?.recipient.phone ?? '']));
    const r = await runBatch(o.state, o.io, { kind: 'held', partition: p, ledger: l, ids, at, openCircuits: o.io.sender.openCircuits(at) });
    o.report(r.results, phones);
  });
  /** One after the other (a release waits for the sweep before it, and the reverse). */
  const queue = (what: string, fn: () => Promise<void>) => {
    chain = chain.then(fn).catch((e: unknown) => o.logger.warn({ err: errorMessage(e), what }, 'held notifications: retried at the next sweep'));
    return chain;
  };
  const sweep = () => queue('sweep', async () => {
    for (const [p, l] of o.ledger.loaded()) if (l.held.size && o.ledger.owns(p)) await run(p);
  });
  const timer = setInterval(() => { void sweep(); }, o.sweepMs);
  return {
    release(change) {
      if (change.kind !== 'OPTED_IN' && change.kind !== 'OPTED_OUT') return;
      const found = [...o.ledger.loaded()].map(([p, l]) => [p, l.heldOf(change)] as const).filter(([p, ids]) => ids.length && o.ledger.owns(p));
      for (const [p, ids] of found) void queue('release', () => run(p, ids));
    },
    sweep,
    stop() { clearInterval(timer); },
  };
}
