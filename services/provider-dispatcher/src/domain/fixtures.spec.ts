import { PROVIDER_NAMES, type ProviderName } from '@sicantik/providers';
import type { DispatchRetryScheduled, NotificationDispatchRecorded, NotificationRendered } from '@sicantik/schemas';
import type { ContactChange, Contacts, Policy, SendResult } from './decide';
import { PartitionLedger, type Job } from './ledger';
import { Pacer } from './pacing';
import type { DispatchMessage } from './records';
import type { RetryPolicy } from './retry';
import type { ContactState } from './routing';

////////// Shared by the dispatcher's unit tests (not a test file itself)

export const PHONE = '+6281234567890';

export const rendered = (id = 'n-1', over: Partial<NotificationRendered> = {}): NotificationRendered => ({
  eventId: `r-${id}`, occurredAt: 0, correlationId: 'c', causationId: 'q', notificationId: id, scenario: 'permit_ready', templateCode: 'permit_ready',
  templateVersion: 1, pendaftaran_id: 'REG-1', recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi', phone: PHONE },
  outcome: 'RENDERED', text: 'Izin Anda telah terbit.', parameters: [{ name: 'nama_pemohon', value: 'Budi' }], language: 'id', failureReason: null, ...over,
});
export const jobs = (...ids: string[]): Job[] => ids.map((id) => ({ n: rendered(id) }));

export const ok = (id = 'wamid.x'): SendResult => ({ kind: 'accepted', providerMessageId: id, latencyMs: 3 });
export const fail = (disposition: 'retry' | 'fallback' | 'permanent', errorCode = 'meta:1', extra: Partial<SendResult> = {}): SendResult =>
  ({ kind: 'failed', disposition, errorCode, reason: `${disposition} ${errorCode}`, latencyMs: 3, ...extra } as SendResult);
export const doubt: SendResult = { kind: 'in_doubt', errorCode: 'TIMEOUT', reason: 'no answer', latencyMs: 10_000 };

/** A partition's durable log in memory: what was produced, in order. */
export class Log {
  produces: DispatchMessage[][] = [];
  get messages() { return this.produces.flat(); }
  get dispatch() { return this.messages.filter((m) => m.topic === 'notification.dispatch').map((m) => m.value as NotificationDispatchRecorded); }
  get ledger() { return this.messages.filter((m) => m.topic === 'dispatch.ledger').map((m) => m.value as NotificationDispatchRecorded); }
  get retries() { return this.messages.filter((m) => m.topic.startsWith('dispatch.retry.')) as Extract<DispatchMessage, { value: DispatchRetryScheduled }>[]; }
  get deadLetters() { return this.messages.filter((m) => m.topic === 'dispatch.dead-letter'); }
  /** A ledger restored from the changelog, as a restarted process would. */
  restore(): PartitionLedger { const l = new PartitionLedger(); for (const r of this.ledger) l.restore(r); l.synced(BigInt(this.ledger.length)); return l; }
}

export const RETRY: RetryPolicy = { maxAttempts: 3, delayMs: 300_000, backoff: 2, jitter: 0, tiers: 3 };

export const policy = (over: Partial<Policy> = {}): Policy => ({
  routing: { chain: ['meta', 'fonnte'], optInRequired: new Set<ProviderName>(['meta']) },
  retry: RETRY, quotaExhausted: 'fallback', inDoubtPolicy: 'hold', lookupDelayMs: 1000, lookupProviders: new Set(),
  optInLink: { url: 'https://wa.me/6281100000000?text=MULAI', text: 'Aktifkan: {link}' }, sendRules: [], holdExpiresAfterMs: 30 * 86_400_000, ...over,
});

/** A pacer without limits, owning its one partition. */
export const unlimited = (): Pacer => { const p = new Pacer({ rates: new Map(), pairRates: new Map(), quotas: new Map(), partitions: 1 }); p.setOwned(1); return p; };

/** Contacts from a map; a number not in it has opted in (unless `fallback` says otherwise). */
export function contactsOf(map: Map<string, ContactState> = new Map(), fallback: ContactState = { optedIn: true, optedOut: false }): Contacts & { map: Map<string, ContactState> } {
  return {
    map,
    of: (phone) => map.get(phone) ?? fallback,
    apply: (e: ContactChange) => {
      if (e.kind === 'OPTED_IN') map.set(e.phone, { optedIn: true, optedOut: false });
      else if (e.kind === 'OPTED_OUT') map.set(e.phone, { optedIn: false, optedOut: true });
    },
  };
}

export const lookupAll = (canLookup: (p: ProviderName) => boolean): Set<ProviderName> => new Set(PROVIDER_NAMES.filter(canLookup));

export const statuses = (rs: NotificationDispatchRecorded[]) => rs.map((e) => `${e.status}${e.attempt}${e.provider === 'none' ? '' : `@${e.provider}`}`);
