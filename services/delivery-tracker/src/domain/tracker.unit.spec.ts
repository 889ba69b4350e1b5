import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { metaStatusEvents, verifyMetaSignature } from './metaWebhook';
import { RANK, advance, anomaliesOf, type MessageState } from '../projections/notificationStatus';

const secret = 'app-secret-123';
const sign = (body: string) => `sha256=${createHmac('sha256', secret).update(Buffer.from(body, 'utf8')).digest('hex')}`;
const payload = (statuses: object[]) => JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: 'W', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', statuses } }] }] });

describe('Meta webhook signature', () => {
  const body = payload([{ id: 'wamid.1', status: 'delivered', timestamp: '1750000000', recipient_id: '6281' }]);
  it('accepts the HMAC-SHA256 of the raw bytes', () => { expect(verifyMetaSignature(Buffer.from(body), sign(body), secret)).toBe(true); });
  it('rejects a missing, malformed, wrong-secret or tampered signature', () => {
    expect(verifyMetaSignature(Buffer.from(body), undefined, secret)).toBe(false);
    expect(verifyMetaSignature(Buffer.from(body), 'sha1=abc', secret)).toBe(false);
    expect(verifyMetaSignature(Buffer.from(body), sign(body), 'other')).toBe(false);
    expect(verifyMetaSignature(Buffer.from(body.replace('delivered', 'read')), sign(body), secret)).toBe(false);
  });
  it('is computed over raw bytes: \\u-escaped non-ASCII differs from re-serialised JSON', () => {
    const raw = '{"object":"whatsapp_business_account","n":"\\u00e9"}';
    expect(verifyMetaSignature(Buffer.from(raw), sign(raw), secret)).toBe(true);
    expect(verifyMetaSignature(Buffer.from(JSON.stringify(JSON.parse(raw))), sign(raw), secret)).toBe(false);
  });
});

describe('Meta status payload', () => {
  it('maps each status with its provider time and a stable event id', () => {
    const at = new Date('2026-11-22T00:00:00Z');
    const { events, ignored } = metaStatusEvents(JSON.parse(payload([
      { id: 'wamid.1', status: 'sent', timestamp: '1750000000' },
      { id: 'wamid.1', status: 'failed', timestamp: '1750000001', errors: [{ code: 131026, title: 'Message undeliverable' }] },
      { id: 'wamid.1', status: 'bogus' },
    ])), at);
    expect(ignored).toBe(1);
    expect(events.map((e) => [e.providerMessageId, e.status, e.providerTimestamp, e.errorCode, e.errorTitle])).toEqual([
      ['wamid.1', 'SENT', 1750000000000, null, null], ['wamid.1', 'FAILED', 1750000001000, 'meta:131026', 'Message undeliverable'],
    ]);
    expect(metaStatusEvents(JSON.parse(payload([{ id: 'wamid.1', status: 'sent', timestamp: '1' }])), new Date()).events[0]!.eventId).toBe(events[0]!.eventId);
  });
});

describe('statuses only move forward', () => {
  const state = fc.constantFrom<MessageState>('queued', 'sending', 'sent', 'delivered', 'read', 'failed');
  it('property: the result is the highest-ranked state, whatever the order or repetition', () => {
    fc.assert(fc.property(fc.array(state, { minLength: 1, maxLength: 20 }), (seq) => {
      const final = seq.reduce<MessageState | undefined>((cur, s) => advance(cur, s), undefined)!;
      const max = seq.reduce((a, b) => (RANK[b] > RANK[a] ? b : a));
      expect(final).toBe(max);
      const shuffled = [...seq].reverse();
      expect(shuffled.reduce<MessageState | undefined>((cur, s) => advance(cur, s), undefined)).toBe(final);
    }));
  });
  it('property: never moves backwards', () => {
    fc.assert(fc.property(state, state, (a, b) => { expect(RANK[advance(a, b)]).toBeGreaterThanOrEqual(RANK[a]); }));
  });
});

describe('delivery evidence wins over a failure report', () => {
  // Invariant: the final status is the highest evidence seen, read > delivered > failed > sent > sending > queued
  // (failed beats queued/sending/sent; a delivery or read receipt beats failed), in any arrival order.
  const ALL: MessageState[] = ['queued', 'sending', 'sent', 'delivered', 'read', 'failed'];
  const expected = (seen: MessageState[]): MessageState =>
    (['read', 'delivered', 'failed', 'sent', 'sending', 'queued'] as const).find((s) => seen.includes(s))!;
  const fold = (seq: MessageState[]) => seq.reduce<MessageState | undefined>((cur, s) => advance(cur, s), undefined)!;
  const permutations = <T>(xs: T[]): T[][] => (xs.length <= 1 ? [xs] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])));

  it.each<[MessageState[], MessageState]>([
    [['sent', 'delivered', 'failed'], 'delivered'],
    [['sent', 'delivered', 'failed', 'read'], 'read'],
    [['sent', 'failed', 'read'], 'read'],
    [['failed', 'delivered'], 'delivered'],
    [['sending', 'failed', 'sent'], 'failed'],
    [['queued', 'failed'], 'failed'],
  ])('%j ends %s', (seq, want) => { expect(fold(seq)).toBe(want); });

  it('property: every permutation of any set of states (with repeats) ends at the highest evidence', () => {
    fc.assert(fc.property(fc.subarray(ALL, { minLength: 1 }), fc.array(fc.constantFrom(...ALL), { maxLength: 1 }), (set, extra) => {
      const seen = set.length < ALL.length ? [...set, ...extra.filter((s) => set.includes(s))] : set; // at most 720 orders
      for (const p of permutations(seen)) expect(fold(p)).toBe(expected(set));
    }));
  });

  it('a failure together with delivery evidence is an anomaly, whatever the order; alone it is none', () => {
    expect(anomaliesOf(['sent', 'delivered', 'failed'])).toEqual(['failed_but_delivered']);
    expect(anomaliesOf(['failed', 'read'])).toEqual(['failed_but_delivered']);
    expect(anomaliesOf(['sent', 'failed'])).toEqual([]);
    expect(anomaliesOf(['sent', 'delivered', 'read'])).toEqual([]);
    fc.assert(fc.property(fc.subarray(ALL, { minLength: 1 }), (set) => {
      const want = set.includes('failed') && (set.includes('delivered') || set.includes('read')) ? ['failed_but_delivered'] : [];
      for (const p of permutations(set)) expect(anomaliesOf(p)).toEqual(want);
    }));
  });
});
