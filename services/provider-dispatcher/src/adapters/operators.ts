import { randomUUID } from 'node:crypto';
import { maskPhone, normalizePhone, ValidationError, type PhoneRules } from '@sicantik/core';
import { isProviderName, type ProviderName } from '@sicantik/providers';
import type { NotificationDispatchRecorded } from '@sicantik/schemas';
import type { SendResult } from '../domain/decide';
import type { Sender } from './batchExecutor';
import { outboundMessage, type OptInLink } from '../domain/outbound';
import type { Pacer } from '../domain/pacing';
import { route, type ContactState, type RoutingPolicy, type Unavailability } from '../domain/routing';
import type { CircuitView } from './providers/gateway';

////////// What operators ask the dispatcher (admin API and CLI): providers, checks, a test send, in-doubt sends

export interface OperatorDeps {
  routing: RoutingPolicy;
  /** Every configured provider (also those not in the chain). */
  configured: readonly ProviderName[];
  sender: Sender & {
    testConnection(name: ProviderName): Promise<{ ok: boolean; detail?: string; reason?: string; checks: string; latencyMs: number }>;
    circuit(name: ProviderName): CircuitView | undefined;
  };
  contact(phone: string): ContactState & { since?: number | null };
  pacer: Pacer;
  budgetUse: { owned(): number[]; usedToday(provider: ProviderName, partition: number): number };
  optInLink?: OptInLink | undefined;
  phoneRules?: PhoneRules;
  inDoubt(): Promise<Map<string, NotificationDispatchRecorded>>;
  now(): number;
  settings: Record<string, unknown>;
}

export function providersReport(d: OperatorDeps) {
  const now = d.now();
  const budgets = d.pacer.budgets({ now, owned: d.budgetUse.owned(), usedToday: d.budgetUse.usedToday });
  return {
    chain: d.routing.chain,
    optInRequired: [...d.routing.optInRequired],
    optInLink: d.optInLink ? d.optInLink.url : null,
    share: { partitionsOwned: d.budgetUse.owned().length, partitions: d.pacer.o.partitions, fraction: d.pacer.ownedShare },
    providers: d.configured.map((name) => ({
      name,
      inChain: d.routing.chain.includes(name),
      requiresOptIn: d.routing.optInRequired.has(name),
      statusLookup: d.sender.canLookup?.(name) ?? false,
      circuit: d.sender.circuit(name) ?? null,
      budget: budgets[name] ?? null,
    })),
    settings: d.settings,
  };
}

export async function checkProvider(d: OperatorDeps, name: string) {
  if (!isProviderName(name) || !d.configured.includes(name)) throw new ValidationError(`${name} is not a configured provider`, [{ path: 'name', message: `one of ${d.configured.join(', ') || '(none configured)'}` }]);
  const r = await d.sender.testConnection(name);
  return { provider: name, ...r };
}

const TEST_TEXT = 'Pesan uji dari SICANTIK (DPMPTSP Kabupaten Karo). Abaikan pesan ini.';

/**
 * A test send (seed 004's test wizard): automatic routing, or forced to one provider,
 * answered with the routing decision explained. It is not a notification: no ledger,
 * no pacing, no event. The number is never logged or answered in full.
 */
export async function testSend(d: OperatorDeps, body: { to: string; text?: string | undefined; provider?: string | undefined; dryRun?: boolean | undefined }) {
  const phone = normalizePhone(body.to, d.phoneRules);
  if (!phone.ok) throw new ValidationError('the number cannot be used', [{ path: 'to', message: phone.reason }]);
  if (body.provider !== undefined && (!isProviderName(body.provider) || !d.configured.includes(body.provider))) {
    throw new ValidationError('unknown provider', [{ path: 'provider', message: `one of ${d.configured.join(', ') || '(none configured)'}` }]);
  }
  const contact = d.contact(phone.e164);
  const now = d.now();
  const unavailable = new Map<ProviderName, Unavailability>();
  for (const p of d.sender.openCircuits(now).keys()) unavailable.set(p, 'CIRCUIT_OPEN');
  const decision = route({ policy: d.routing, contact, excluded: [], unavailable, forced: body.provider as ProviderName | undefined });
  const masked = maskPhone(phone.e164);
  const explained = {
    contact: { optedIn: contact.optedIn, optedOut: contact.optedOut },
    chain: d.routing.chain,
    ...(decision.kind === 'send'
      ? { provider: decision.provider, reason: decision.reason, detail: decision.detail, optInLinkAppended: decision.appendOptInLink && !!d.optInLink, passedOver: decision.passedOver }
      : { provider: null, reason: decision.reason, detail: decision.detail }),
  };
  if (decision.kind !== 'send' || body.dryRun) return { to: masked, accepted: false, decision: explained };
  const msg = outboundMessage({
    eventId: `test-send:${randomUUID()}`, occurredAt: now, correlationId: 'test-send', causationId: null, notificationId: `test-send-${randomUUID()}`,
    scenario: 'test_send', templateCode: 'test_send', templateVersion: 1, pendaftaran_id: 'TEST', recipient: { kind: 'APPLICANT', id: 'TEST', name: null, phone: phone.e164 },
    outcome: 'RENDERED', text: body.text ?? TEST_TEXT, parameters: [], language: 'id', failureReason: null,
  }, { appendOptInLink: decision.appendOptInLink, optInLink: d.optInLink });
  const r: SendResult = await d.sender.send(decision.provider, msg);
  return { to: masked, accepted: r.kind === 'accepted', decision: explained, result: { ...r, latencyMs: Math.round(r.latencyMs) } };
}

/** Every notification whose latest attempt is IN_DOUBT (whole changelog, whoever owns it). */
export async function inDoubtReport(d: OperatorDeps, limit = 500) {
  const latest = await d.inDoubt();
  const items = [...latest.values()].filter((r) => r.status === 'IN_DOUBT')
    // A total order: the changelog's partitions are read concurrently, and claims of one batch share their time.
    .sort((a, b) => a.occurredAt - b.occurredAt || (a.notificationId < b.notificationId ? -1 : a.notificationId > b.notificationId ? 1 : 0));
  return {
    total: items.length,
    items: items.slice(0, limit).map((r) => ({
      notificationId: r.notificationId, pendaftaran_id: r.pendaftaran_id, scenario: r.scenario, provider: r.provider, attempt: r.attempt,
      since: new Date(r.occurredAt).toISOString(), errorCode: r.errorCode, reason: r.reason, providerMessageId: r.providerMessageId,
    })),
  };
}
