import fc from 'fast-check';
import type { NotificationDispatchRecorded, NotificationRendered } from '@sicantik/schemas';
import type { Claim, ClaimOutcome, ClaimState, Claims } from './adapters/claims';
import { classifyMetaError } from './domain/metaErrors';
import type { Provider, SendResult } from './domain/provider';
import { dispatch, type DispatchDeps } from './dispatch';

/** In-memory claims with the same semantics as the MongoDB ClaimStore (checked in its integration test). */
class MemoryClaims implements Claims {
  readonly map = new Map<string, Claim>();
  async acquire(id: string, provider: string, now: Date): Promise<ClaimOutcome> {
    const c = this.map.get(id);
    if (!c) { const claim: Claim = { _id: id, state: 'sending', provider, attempts: 1, updatedAt: now }; this.map.set(id, claim); return { acquired: true, claim: { ...claim } }; }
    if (c.state === 'retry_wait') { c.state = 'sending'; c.attempts++; return { acquired: true, claim: { ...c } }; }
    return { acquired: false, claim: { ...c } };
  }
  async settle(id: string, patch: Partial<Claim> & { state: ClaimState }): Promise<void> {
    const c = this.map.get(id);
    if (c && c.state === 'sending') Object.assign(c, patch);
  }
}

class ScriptedProvider implements Provider {
  readonly name = 'meta';
  calls: string[] = [];
  constructor(private readonly script: SendResult[]) {}
  async send(n: NotificationRendered): Promise<SendResult> {
    this.calls.push(n.notificationId);
    return this.script.shift() ?? { ok: true, providerMessageId: `wamid.${this.calls.length}` };
  }
}

const rendered = (id = 'n-1'): NotificationRendered => ({
  eventId: `r-${id}`, occurredAt: 0, correlationId: 'c', causationId: 'q', notificationId: id, scenario: 'permit_ready', templateCode: 'permit_ready',
  templateVersion: 1, pendaftaran_id: 'REG-1', recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi', phone: '+6281234567890' },
  outcome: 'RENDERED', text: 'x', parameters: [], metaTemplateName: 'sicantik_permit_ready', metaLanguage: 'id', failureReason: null,
});

function deps(claims: Claims, provider: Provider, emitted: NotificationDispatchRecorded[], over: Partial<DispatchDeps> = {}): DispatchDeps {
  return { claims, provider, emit: async (e) => { emitted.push(e); }, now: () => new Date(0), wait: async () => undefined, maxAttempts: 3, retryDelayMs: 300_000, ...over };
}

describe('dispatch', () => {
  it('sends once and records SENDING then ACCEPTED with the provider message id', async () => {
    const claims = new MemoryClaims(); const p = new ScriptedProvider([]); const out: NotificationDispatchRecorded[] = [];
    expect(await dispatch(rendered(), deps(claims, p, out))).toBe('ACCEPTED');
    expect(out.map((e) => [e.status, e.attempt, e.providerMessageId])).toEqual([['SENDING', 1, null], ['ACCEPTED', 1, 'wamid.1']]);
  });
  it('a redelivered notification is not sent again; its outcome is re-emitted with the same event id', async () => {
    const claims = new MemoryClaims(); const p = new ScriptedProvider([]); const out: NotificationDispatchRecorded[] = [];
    await dispatch(rendered(), deps(claims, p, out));
    await dispatch(rendered(), deps(claims, p, out));
    expect(p.calls).toHaveLength(1);
    expect(out[2]!.status).toBe('ACCEPTED');
    expect(out[2]!.eventId).toBe(out[1]!.eventId);
  });
  it('a claim left in flight by a crashed process is reported IN_DOUBT and never re-sent', async () => {
    const claims = new MemoryClaims(); const p = new ScriptedProvider([]); const out: NotificationDispatchRecorded[] = [];
    await claims.acquire('n-1', 'meta', new Date(0)); // the process died here
    expect(await dispatch(rendered(), deps(claims, p, out))).toBe('IN_DOUBT');
    expect(p.calls).toHaveLength(0);
  });
  it('retries a retriable error 300 s apart, then fails with the reason after 3 attempts', async () => {
    const claims = new MemoryClaims(); const out: NotificationDispatchRecorded[] = []; const waits: number[] = [];
    const err: SendResult = { ok: false, retriable: true, errorCode: 'meta:130429', reason: 'throughput' };
    const p = new ScriptedProvider([err, err, err]);
    expect(await dispatch(rendered(), deps(claims, p, out, { wait: async (ms) => { waits.push(ms); } }))).toBe('FAILED');
    expect(p.calls).toHaveLength(3);
    expect(waits).toEqual([300_000, 300_000]);
    expect(out.at(-1)).toMatchObject({ status: 'FAILED', attempt: 3, errorCode: 'meta:130429', reason: 'retries exhausted after 3 attempts: throughput' });
  });
  it('a permanent error fails at once', async () => {
    const claims = new MemoryClaims(); const out: NotificationDispatchRecorded[] = [];
    const p = new ScriptedProvider([{ ok: false, retriable: false, errorCode: 'meta:131026', reason: 'undeliverable' }]);
    expect(await dispatch(rendered(), deps(claims, p, out))).toBe('FAILED');
    expect(p.calls).toHaveLength(1);
  });
  it('a timeout (maybe accepted) is in doubt and not retried', async () => {
    const claims = new MemoryClaims(); const out: NotificationDispatchRecorded[] = [];
    const p = new ScriptedProvider([{ ok: false, retriable: true, inDoubt: true, errorCode: 'ECONNABORTED', reason: 'timeout' }]);
    expect(await dispatch(rendered(), deps(claims, p, out))).toBe('IN_DOUBT');
    expect(await dispatch(rendered(), deps(claims, p, out))).toBe('IN_DOUBT');
    expect(p.calls).toHaveLength(1);
  });

  it('property: whatever the redeliveries and provider answers, at most one accepted send per notification id', async () => {
    const answer = fc.oneof(
      fc.constant<SendResult>({ ok: true, providerMessageId: 'wamid.x' }),
      fc.constant<SendResult>({ ok: false, retriable: true, errorCode: 'meta:1', reason: 'temp' }),
      fc.constant<SendResult>({ ok: false, retriable: false, errorCode: 'meta:100', reason: 'bad' }),
      fc.constant<SendResult>({ ok: false, retriable: true, inDoubt: true, errorCode: 'ETIMEDOUT', reason: 'timeout' }),
    );
    await fc.assert(fc.asyncProperty(fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 12 }), fc.array(answer, { maxLength: 30 }), async (deliveries, answers) => {
      const claims = new MemoryClaims(); const out: NotificationDispatchRecorded[] = [];
      const accepted = new Map<string, number>();
      const p: Provider = { name: 'meta', send: async (n) => {
        const r = answers.shift() ?? { ok: true, providerMessageId: 'wamid.y' };
        if (r.ok || r.inDoubt) accepted.set(n.notificationId, (accepted.get(n.notificationId) ?? 0) + 1);
        return r;
      } };
      for (const id of deliveries) await dispatch(rendered(id), deps(claims, p, out));
      for (const n of accepted.values()) expect(n).toBe(1);
      // every delivered id ends with a recorded outcome
      for (const id of new Set(deliveries)) expect(out.some((e) => e.notificationId === id && ['ACCEPTED', 'FAILED', 'IN_DOUBT'].includes(e.status))).toBe(true);
    }));
  });
});

describe('Meta error classification', () => {
  it.each([
    [400, 130429, true], [400, 131056, true], [500, 131000, true], [400, 4, true],
    [401, 190, false], [400, 100, false], [400, 131026, false], [400, 132001, false], [400, 131047, false],
    [503, undefined, true], [429, undefined, true], [undefined, undefined, true], [404, undefined, false],
  ])('HTTP %s code %s -> retriable %s', (http, code, retriable) => {
    expect(classifyMetaError(http, code)).toBe(retriable);
  });
});
