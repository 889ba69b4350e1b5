import type { OutboundMessage, ProviderName } from '@sicantik/providers';
import type { DispatchRetryScheduled } from '@sicantik/schemas';
import { initialState, type DispatchState, type Policy, type SendResult } from '../domain/decide';
import { contactsOf, lookupAll, ok, policy, unlimited, type Log } from '../domain/fixtures.spec';
import type { Job, PartitionLedger } from '../domain/ledger';
import type { Pacer } from '../domain/pacing';
import type { ContactState } from '../domain/routing';
import { runBatch, type ExecutorIO, type Sender } from './batchExecutor';

////////// Shared by the executor's unit tests (not a test file itself): a scripted sender, a produce log, a clock

type Answer = SendResult | ((p: ProviderName, m: OutboundMessage) => SendResult);

export class ScriptedSender implements Sender {
  calls: { provider: ProviderName; id: string; text: string }[] = [];
  open = new Map<ProviderName, number>();
  constructor(private readonly script: Answer[] = [], private readonly byProvider: Partial<Record<ProviderName, Answer[]>> = {}) {}
  async send(provider: ProviderName, m: OutboundMessage): Promise<SendResult> {
    this.calls.push({ provider, id: m.notificationId, text: m.text });
    const a = this.byProvider[provider]?.shift() ?? this.script.shift() ?? ok(`${provider}.${this.calls.length}`);
    return typeof a === 'function' ? a(provider, m) : a;
  }
  openCircuits() { return this.open; }
  idsCalled() { return this.calls.map((c) => `${c.provider}:${c.id}`); }
}

export interface World { clock: { t: number }; contacts: Map<string, ContactState> }
interface Run { state: DispatchState; io: ExecutorIO }
type Over = Partial<Policy> & { pacer?: Pacer; produce?: ExecutorIO['produce']; concurrency?: number };

export function deps(sender: Sender, log: Log, over: Over = {}, world: World = { clock: { t: 1_000_000 }, contacts: new Map() }): Run {
  const { pacer = unlimited(), produce, concurrency, ...rest } = over;
  pacer.setOwned(pacer.o.partitions);
  const io: ExecutorIO = { sender, produce: produce ?? (async (m) => { log.produces.push(m); }), now: () => world.clock.t, ...(concurrency ? { concurrency } : {}) };
  return { io, state: initialState(policy({ lookupProviders: lookupAll((p) => !!sender.canLookup?.(p)), ...rest }), pacer, contactsOf(world.contacts)) };
}

/** One batch of one topic-partition through the executor: rendered notifications, or records of a retry topic. */
export function dispatchBatch(partition: number, js: Job[], ledger: PartitionLedger, d: Run) {
  const at = d.io.now();
  const seen = { partition, ledger, at, openCircuits: d.io.sender.openCircuits(at) };
  return runBatch(d.state, d.io, js.every((j) => j.retry)
    ? { kind: 'retries', ...seen, records: js.map((j) => j.retry as DispatchRetryScheduled) }
    : { kind: 'rendered', ...seen, notifications: js.map((j) => j.n) });
}
