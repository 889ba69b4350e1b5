import fc from 'fast-check';
import { MongoClient } from 'mongodb';
import type { DeliveryStatusReported, NotificationDispatchRecorded, NotificationRequested } from '@sicantik/schemas';
import { stack, uniq } from '../../../../test/support';
import { NotificationProjection } from './store';

const t0 = Date.parse('2026-11-22T02:00:00Z');
const requested = (id: string): NotificationRequested => ({
  eventId: `q-${id}`, occurredAt: t0, correlationId: 'c', causationId: null, notificationId: id, scenario: 'permit_ready', templateCode: 'permit_ready',
  pendaftaran_id: 'REG-1', recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi', phone: '+6281234567890' }, variables: {}, items: [], locale: 'id',
});
const dispatched = (id: string, status: NotificationDispatchRecorded['status'], wamid: string | null): NotificationDispatchRecorded => ({
  eventId: `d-${id}-${status}`, occurredAt: t0 + 1000, correlationId: 'c', causationId: null, notificationId: id, pendaftaran_id: 'REG-1',
  scenario: 'permit_ready', templateCode: 'permit_ready', recipientKind: 'APPLICANT', provider: 'meta', status, providerMessageId: wamid, attempt: 1, errorCode: null, reason: null,
});
const delivery = (wamid: string, status: DeliveryStatusReported['status'], s: number): DeliveryStatusReported => ({
  eventId: `s-${wamid}-${status}`, occurredAt: t0 + s * 1000, correlationId: wamid, causationId: null, provider: 'meta', providerMessageId: wamid,
  status, providerTimestamp: t0 + s * 1000, receivedAt: t0 + s * 1000,
  errorCode: status === 'FAILED' ? 'meta:131026' : null, errorTitle: status === 'FAILED' ? 'Message undeliverable' : null,
});

describe('notification projection on the MongoDB-compatible database', () => {
  let client: MongoClient;
  const dbs: string[] = [];
  let anomalies: string[] = [];
  const fresh = async () => {
    const name = uniq('it_proj_'); dbs.push(name);
    const p = new NotificationProjection(client.db(name), { onAnomaly: (kind, n) => { for (let i = 0; i < n; i++) anomalies.push(kind); } });
    await p.init(); return p;
  };
  beforeAll(async () => { client = await MongoClient.connect(stack.mongoUrl); });
  afterAll(async () => { for (const d of dbs) await client.db(d).dropDatabase(); await client.close(); });

  it('follows a notification from queued to delivered and counts it', async () => {
    const p = await fresh();
    await p.onRequested(requested('n1'));
    await p.onDispatch(dispatched('n1', 'SENDING', null));
    await p.onDispatch(dispatched('n1', 'ACCEPTED', 'wamid.1'));
    await p.onDelivery(delivery('wamid.1', 'SENT', 2));
    await p.onDelivery(delivery('wamid.1', 'DELIVERED', 3));
    expect(await p.get('n1')).toMatchObject({ status: 'delivered', day: '2026-11-22', providerMessageId: 'wamid.1', sentAt: new Date(t0 + 2000), deliveredAt: new Date(t0 + 3000) });
    expect(await p.summary()).toMatchObject({ total: 1, sent: 1, delivered: 1, read: 0, failed: 0, deliveryRate: 1 });
    expect((await p.summary('2026-11-23')).total).toBe(0);
  });

  it('property: any order and any duplication of the same events gives the same document', async () => {
    const events = [
      (p: NotificationProjection) => p.onRequested(requested('n')),
      (p: NotificationProjection) => p.onDispatch(dispatched('n', 'SENDING', null)),
      (p: NotificationProjection) => p.onDispatch(dispatched('n', 'ACCEPTED', 'wamid.n')),
      (p: NotificationProjection) => p.onDelivery(delivery('wamid.n', 'SENT', 2)),
      (p: NotificationProjection) => p.onDelivery(delivery('wamid.n', 'DELIVERED', 3)),
      (p: NotificationProjection) => p.onDelivery(delivery('wamid.n', 'READ', 4)),
    ];
    const reference = await fresh();
    for (const e of events) await e(reference);
    const want = await reference.get('n');
    await fc.assert(fc.asyncProperty(fc.array(fc.nat(events.length - 1), { maxLength: 4 }), async (dupes) => {
      const order = fc.sample(fc.shuffledSubarray([...events.keys(), ...dupes], { minLength: events.length + dupes.length }), 1)[0]!;
      const p = await fresh();
      for (const i of order) await events[i]!(p);
      expect(await p.get('n')).toEqual(want);
    }), { numRuns: 8 });
  });

  ////////// Delivery evidence wins over a failure report; the failure is kept and counted as an anomaly
  const sentTo = async (p: NotificationProjection, id: string, wamid: string) => {
    await p.onRequested(requested(id));
    await p.onDispatch(dispatched(id, 'ACCEPTED', wamid));
    await p.onDelivery(delivery(wamid, 'SENT', 2));
  };

  it('a failure after delivery keeps the message delivered, a later read makes it read; counted once, anomaly shown', async () => {
    anomalies = [];
    const p = await fresh();
    await sentTo(p, 'a1', 'wamid.a1');
    await p.onDelivery(delivery('wamid.a1', 'DELIVERED', 3));
    await p.onDelivery(delivery('wamid.a1', 'FAILED', 4));
    expect(await p.get('a1')).toMatchObject({ status: 'delivered', failedAt: new Date(t0 + 4000), failureReason: 'Message undeliverable', errorCode: 'meta:131026', anomalies: ['failed_but_delivered'] });
    await p.onDelivery(delivery('wamid.a1', 'READ', 5));
    await p.onDelivery(delivery('wamid.a1', 'FAILED', 4)); // redelivered
    expect(await p.get('a1')).toMatchObject({ status: 'read', readAt: new Date(t0 + 5000), failedAt: new Date(t0 + 4000), anomalies: ['failed_but_delivered'] });
    expect(anomalies).toEqual(['failed_but_delivered']);
    expect(await p.summary()).toMatchObject({ total: 1, sent: 1, delivered: 1, read: 1, failed: 0, deliveryRate: 1, anomalies: { failed_but_delivered: 1 }, byStatus: { read: 1, failed: 0, delivered: 0 } });
  });

  it('a read after a failure that came before any delivery evidence makes it read (a read receipt proves delivery)', async () => {
    const p = await fresh();
    await sentTo(p, 'a2', 'wamid.a2');
    await p.onDelivery(delivery('wamid.a2', 'FAILED', 3));
    expect(await p.get('a2')).toMatchObject({ status: 'failed' });
    expect((await p.get('a2'))!.anomalies).toBeUndefined();
    await p.onDelivery(delivery('wamid.a2', 'READ', 4));
    expect(await p.get('a2')).toMatchObject({ status: 'read', failureReason: 'Message undeliverable', anomalies: ['failed_but_delivered'] });
    expect(await p.summary()).toMatchObject({ total: 1, delivered: 1, read: 1, failed: 0, anomalies: { failed_but_delivered: 1 }, byStatus: { read: 1, failed: 0 } });
  });

  it('a failure without delivery evidence still fails the message, with no anomaly', async () => {
    const p = await fresh();
    await sentTo(p, 'a3', 'wamid.a3');
    await p.onDelivery(delivery('wamid.a3', 'FAILED', 3));
    expect(await p.get('a3')).toMatchObject({ status: 'failed', failureReason: 'Message undeliverable' });
    expect(await p.summary()).toMatchObject({ total: 1, sent: 1, delivered: 0, failed: 1, anomalies: { failed_but_delivered: 0 }, byStatus: { failed: 1 } });
  });

  it('property: with a failure among the statuses, any order and duplication gives the same document', async () => {
    const events = [
      (p: NotificationProjection) => p.onRequested(requested('f')),
      (p: NotificationProjection) => p.onDispatch(dispatched('f', 'ACCEPTED', 'wamid.f')),
      (p: NotificationProjection) => p.onDelivery(delivery('wamid.f', 'SENT', 2)),
      (p: NotificationProjection) => p.onDelivery(delivery('wamid.f', 'DELIVERED', 3)),
      (p: NotificationProjection) => p.onDelivery(delivery('wamid.f', 'FAILED', 4)),
      (p: NotificationProjection) => p.onDelivery(delivery('wamid.f', 'READ', 5)),
    ];
    const reference = await fresh();
    for (const e of events) await e(reference);
    const want = await reference.get('f');
    expect(want).toMatchObject({ status: 'read', anomalies: ['failed_but_delivered'] });
    await fc.assert(fc.asyncProperty(fc.array(fc.nat(events.length - 1), { maxLength: 3 }), async (dupes) => {
      const order = fc.sample(fc.shuffledSubarray([...events.keys(), ...dupes], { minLength: events.length + dupes.length }), 1)[0]!;
      const p = await fresh();
      for (const i of order) await events[i]!(p);
      expect(await p.get('f')).toEqual(want);
    }), { numRuns: 8 });
  });
});
