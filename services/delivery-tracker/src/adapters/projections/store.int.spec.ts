import { messageRefOf } from './messageRef';
import fc from 'fast-check';
import { MongoClient } from 'mongodb';
import { countDbCommands, createMetrics } from '@sicantik/observability';
import type { DeliveryStatusReported, NotificationDispatchRecorded, NotificationRendered, NotificationRequested, PrivacyRequestRecorded } from '@sicantik/schemas';
import { messageRef } from '@sicantik/privacy';
import { stack, uniq } from '../../../../../test/support';
import { NotificationProjection, type TrackerTopic } from './store';
import { Serial } from './writer';

const t0 = Date.parse('2026-11-22T02:00:00Z');
const requested = (id: string): NotificationRequested => ({
  eventId: `q-${id}`, occurredAt: t0, correlationId: 'c', causationId: null, notificationId: id, scenario: 'permit_ready', templateCode: 'permit_ready',
  pendaftaran_id: 'REG-1', recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi', phone: '+6281234567890' }, variables: {}, items: [], locale: 'id',
});
const rendered = (id: string): NotificationRendered => ({
  eventId: `r-${id}`, occurredAt: t0, correlationId: 'c', causationId: null, notificationId: id, scenario: 'permit_ready', templateCode: 'permit_ready', templateVersion: 1,
  pendaftaran_id: 'REG-1', recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi', phone: '+6281234567890' }, outcome: 'RENDERED', text: 'x', parameters: [], language: 'id', failureReason: null,
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

const DAY = 86_400_000;
/** A request for a person (subject id), at a time. */
const requestedFor = (id: string, subjectId: string, at = t0): NotificationRequested => ({ ...requested(id), occurredAt: at, recipient: { ...requested(id).recipient, subjectId } });
const erasure = (subjectId: string): PrivacyRequestRecorded => ({
  eventId: `e-${subjectId}`, occurredAt: t0 + 3_600_000, correlationId: 'c', causationId: null, requestId: `r-${subjectId}`, kind: 'ERASURE', subjectId,
  receivedAt: t0 + 3_600_000, deadline: t0 + 3_600_000 + 3 * DAY, status: 'DONE', detail: null,
});

/** Feeds a projection as the consumer would: batches of one partition per topic, with increasing offsets. */
class Feed {
  private readonly next = new Map<string, number>();
  constructor(readonly p: NotificationProjection, private readonly partition = 0) {}
  async batch<T extends TrackerTopic>(topic: T, values: Parameters<NotificationProjection['apply']>[0]['records'][number]['value'][], at?: number) {
    const first = at ?? this.next.get(topic) ?? 0;
    this.next.set(topic, Math.max(this.next.get(topic) ?? 0, first + values.length));
    await this.p.apply({ topic, partition: this.partition, records: values.map((value, i) => ({ offset: String(first + i), value })) } as never);
  }
  requested(id: string) { return this.batch('notification.requests', [requested(id)]); }
  dispatched(e: NotificationDispatchRecorded) { return this.batch('notification.dispatch', [e]); }
  delivery(e: DeliveryStatusReported) { return this.batch('delivery.status', [e]); }
}

const KEY = Buffer.alloc(32, 7);

/** Holds the writer (a task in its Serial) until release() is called; resolves once it holds it. */
async function holdWriter(serial: Serial): Promise<{ release(): void; done: Promise<void> }> {
  let release!: () => void; let held!: () => void;
  const holding = new Promise<void>((r) => { held = r; });
  const done = serial.run(() => new Promise<void>((r) => { release = r; held(); }));
  await holding;
  return { release, done };
}

/** A client whose database commands are counted (the sicantik_db_operations_total metric). */
async function countingClient() {
  const metrics = createMetrics('tracker-test');
  const counted = await MongoClient.connect(stack.mongoUrl, { monitorCommands: true });
  countDbCommands(counted, metrics);
  const commands = async () => (await metrics.dbOps.get()).values.reduce((n, v) => n + v.value, 0);
  return { counted, metrics, commands };
}

describe('notification projection on the MongoDB-compatible database', () => {
  let client: MongoClient;
  const dbs: string[] = [];
  let anomalies: string[] = [];
  const fresh = async (name = uniq('it_proj_'), partition = 0, opts: Partial<ConstructorParameters<typeof NotificationProjection>[2]> = {}) => {
    if (!dbs.includes(name)) dbs.push(name);
    const p = new NotificationProjection(client.db(name), { onAnomaly: (kind, n) => { for (let i = 0; i < n; i++) anomalies.push(kind); } }, { messageRefOf: messageRefOf(KEY), ...opts });
    await p.init(); return new Feed(p, partition);
  };
  beforeAll(async () => { client = await MongoClient.connect(stack.mongoUrl); });
  afterAll(async () => { for (const d of dbs) await client.db(d).dropDatabase(); await client.close(); });

  it('follows a notification from queued to delivered and counts it', async () => {
    const f = await fresh();
    await f.requested('n1');
    await f.dispatched(dispatched('n1', 'SENDING', null));
    await f.dispatched(dispatched('n1', 'ACCEPTED', 'wamid.1'));
    await f.delivery(delivery('wamid.1', 'SENT', 2));
    await f.delivery(delivery('wamid.1', 'DELIVERED', 3));
    const doc = await f.p.get('n1');
    expect(doc).toMatchObject({ status: 'delivered', day: '2026-11-22', providerMessageId: 'wamid.1', sentAt: new Date(t0 + 2000), deliveredAt: new Date(t0 + 3000) });
    expect(Object.keys(doc!).filter((k) => k.startsWith('_') && k !== '_id')).toEqual([]); // the writer's fields stay inside
    expect(await f.p.summary()).toMatchObject({ total: 1, sent: 1, delivered: 1, read: 0, failed: 0, deliveryRate: 1 });
    expect(await f.p.summary('2026-11-22', '2026-11-22')).toMatchObject({ total: 1, delivered: 1 });
    expect((await f.p.summary('2026-11-23')).total).toBe(0);
  });

  it('property: any order and any duplication of the same events gives the same document', async () => {
    const events = [
      (f: Feed) => f.requested('n'),
      (f: Feed) => f.dispatched(dispatched('n', 'SENDING', null)),
      (f: Feed) => f.dispatched(dispatched('n', 'ACCEPTED', 'wamid.n')),
      (f: Feed) => f.delivery(delivery('wamid.n', 'SENT', 2)),
      (f: Feed) => f.delivery(delivery('wamid.n', 'DELIVERED', 3)),
      (f: Feed) => f.delivery(delivery('wamid.n', 'READ', 4)),
    ];
    const reference = await fresh();
    for (const e of events) await e(reference);
    const want = await reference.p.get('n');
    const wantSummary = await reference.p.summary();
    await fc.assert(fc.asyncProperty(fc.array(fc.nat(events.length - 1), { maxLength: 4 }), async (dupes) => {
      const order = fc.sample(fc.shuffledSubarray([...events.keys(), ...dupes], { minLength: events.length + dupes.length }), 1)[0]!;
      const f = await fresh();
      for (const i of order) await events[i]!(f);
      expect(await f.p.get('n')).toEqual(want);
      expect(await f.p.summary()).toEqual(wantSummary);
    }), { numRuns: 8 });
  });

  it('the provider\'s acceptance shows accepted (not sending); the reconciler\'s NO_REPORT, even before the dispatch record, shows no_report until a late report moves it on', async () => {
    const name = uniq('it_proj_');
    const f = await fresh(name);
    await f.requested('a1');
    await f.requested('a2');
    await f.batch('notification.dispatch', [dispatched('a1', 'SENDING', null), dispatched('a1', 'ACCEPTED', 'wamid.a1')]);
    expect(await f.p.get('a1')).toMatchObject({ status: 'accepted', statusRank: 8, sendingAt: new Date(t0 + 1000), acceptedAt: new Date(t0 + 1000) });
    expect(await f.p.summary()).toMatchObject({ total: 2, sent: 0, accepted: 1, noReport: 0, byStatus: { queued: 1, sending: 0, accepted: 1, no_report: 0 } });
    // NO_REPORT for a message whose dispatch record is not projected yet: it waits, like any status
    await f.delivery(delivery('wamid.a2', 'NO_REPORT', 600));
    expect(await f.p.get('a2')).toMatchObject({ status: 'queued' });
    await f.batch('notification.dispatch', [dispatched('a2', 'ACCEPTED', 'wamid.a2')]);
    expect(await f.p.get('a2')).toMatchObject({ status: 'no_report', statusRank: 9, acceptedAt: new Date(t0 + 1000), noReportAt: new Date(t0 + 600_000) });
    expect(await client.db(name).collection('pending_statuses').countDocuments()).toBe(0);
    expect(await f.p.summary()).toMatchObject({ total: 2, sent: 0, accepted: 1, noReport: 1, byStatus: { accepted: 1, no_report: 1 } });
    // a late webhook moves it on; the reconciler's NO_REPORT again (a replay) changes nothing
    await f.delivery(delivery('wamid.a2', 'DELIVERED', 900));
    await f.delivery(delivery('wamid.a2', 'NO_REPORT', 600));
    expect(await f.p.get('a2')).toMatchObject({ status: 'delivered', noReportAt: new Date(t0 + 600_000), deliveredAt: new Date(t0 + 900_000) });
    expect(await f.p.summary()).toMatchObject({ total: 2, sent: 1, delivered: 1, accepted: 1, noReport: 0, byStatus: { accepted: 1, no_report: 0, delivered: 1 } });
  });

  it('an opt-out at send time: the dispatcher\'s SKIPPED makes the notification skipped (final, with why), counted as skipped and not as failed', async () => {
    const f = await fresh();
    const why = 'recipient opted out of WhatsApp notifications; nothing sent';
    await f.requested('k1');
    await f.dispatched(dispatched('k1', 'SENDING', null));
    await f.dispatched({ ...dispatched('k1', 'RETRY_SCHEDULED', null), errorCode: 'meta:130429', reason: 'rate limited', disposition: 'retry', routeReason: 'OPTED_IN' });
    const skip = { ...dispatched('k1', 'SKIPPED', null), occurredAt: t0 + 5000, provider: 'none', reason: why, routeReason: 'OPTED_OUT', routeDetail: why };
    await f.dispatched(skip);
    await f.dispatched(skip); // a replay re-emits it
    await f.dispatched(dispatched('k1', 'SENDING', null)); // redelivered late
    const doc = await f.p.get('k1');
    expect(doc).toMatchObject({ status: 'skipped', statusRank: 11, skippedAt: new Date(t0 + 5000), skipReason: why, skipReasonCode: 'OPTED_OUT', provider: 'none', routeReason: 'OPTED_OUT', routeDetail: why });
    expect(doc).not.toHaveProperty('failedAt');
    expect(doc).not.toHaveProperty('failureReason');
    expect(await f.p.summary()).toMatchObject({ total: 1, sent: 0, failed: 0, skipped: 1, byStatus: { skipped: 1, failed: 0, sending: 0 } });
    expect(await f.p.summary('2026-11-22', '2026-11-22')).toMatchObject({ total: 1, skipped: 1, failed: 0 });
  });

  ////////// Delivery evidence wins over a failure report; the failure is kept and counted as an anomaly
  const sentTo = async (f: Feed, id: string, wamid: string) => {
    await f.requested(id);
    await f.dispatched(dispatched(id, 'ACCEPTED', wamid));
    await f.delivery(delivery(wamid, 'SENT', 2));
  };

  it('a failure after delivery keeps the message delivered, a later read makes it read; counted once, anomaly shown', async () => {
    anomalies = [];
    const f = await fresh();
    await sentTo(f, 'a1', 'wamid.a1');
    await f.delivery(delivery('wamid.a1', 'DELIVERED', 3));
    await f.delivery(delivery('wamid.a1', 'FAILED', 4));
    expect(await f.p.get('a1')).toMatchObject({ status: 'delivered', failedAt: new Date(t0 + 4000), failureReason: 'Message undeliverable', errorCode: 'meta:131026', anomalies: ['failed_but_delivered'] });
    await f.delivery(delivery('wamid.a1', 'READ', 5));
    await f.delivery(delivery('wamid.a1', 'FAILED', 4)); // redelivered
    expect(await f.p.get('a1')).toMatchObject({ status: 'read', readAt: new Date(t0 + 5000), failedAt: new Date(t0 + 4000), anomalies: ['failed_but_delivered'] });
    expect(anomalies).toEqual(['failed_but_delivered']);
    expect(await f.p.summary()).toMatchObject({ total: 1, sent: 1, delivered: 1, read: 1, failed: 0, deliveryRate: 1, anomalies: { failed_but_delivered: 1 }, byStatus: { read: 1, failed: 0, delivered: 0 } });
  });

  it('a read after a failure that came before any delivery evidence makes it read (a read receipt proves delivery)', async () => {
    const f = await fresh();
    await sentTo(f, 'a2', 'wamid.a2');
    await f.delivery(delivery('wamid.a2', 'FAILED', 3));
    expect(await f.p.get('a2')).toMatchObject({ status: 'failed' });
    expect((await f.p.get('a2'))!.anomalies).toBeUndefined();
    await f.delivery(delivery('wamid.a2', 'READ', 4));
    expect(await f.p.get('a2')).toMatchObject({ status: 'read', failureReason: 'Message undeliverable', anomalies: ['failed_but_delivered'] });
    expect(await f.p.summary()).toMatchObject({ total: 1, delivered: 1, read: 1, failed: 0, anomalies: { failed_but_delivered: 1 }, byStatus: { read: 1, failed: 0 } });
  });

  it('a failure without delivery evidence still fails the message, with no anomaly', async () => {
    const f = await fresh();
    await sentTo(f, 'a3', 'wamid.a3');
    await f.delivery(delivery('wamid.a3', 'FAILED', 3));
    expect(await f.p.get('a3')).toMatchObject({ status: 'failed', failureReason: 'Message undeliverable' });
    expect(await f.p.summary()).toMatchObject({ total: 1, sent: 1, delivered: 0, failed: 1, anomalies: { failed_but_delivered: 0 }, byStatus: { failed: 1 } });
  });

  it('property: with a failure among the statuses, any order and duplication gives the same document', async () => {
    const events = [
      (f: Feed) => f.requested('f'),
      (f: Feed) => f.dispatched(dispatched('f', 'ACCEPTED', 'wamid.f')),
      (f: Feed) => f.delivery(delivery('wamid.f', 'SENT', 2)),
      (f: Feed) => f.delivery(delivery('wamid.f', 'DELIVERED', 3)),
      (f: Feed) => f.delivery(delivery('wamid.f', 'FAILED', 4)),
      (f: Feed) => f.delivery(delivery('wamid.f', 'READ', 5)),
    ];
    const reference = await fresh();
    for (const e of events) await e(reference);
    const want = await reference.p.get('f');
    expect(want).toMatchObject({ status: 'read', anomalies: ['failed_but_delivered'] });
    await fc.assert(fc.asyncProperty(fc.array(fc.nat(events.length - 1), { maxLength: 3 }), async (dupes) => {
      const order = fc.sample(fc.shuffledSubarray([...events.keys(), ...dupes], { minLength: events.length + dupes.length }), 1)[0]!;
      const f = await fresh();
      for (const i of order) await events[i]!(f);
      expect(await f.p.get('f')).toEqual(want);
      expect(await f.p.summary()).toMatchObject({ total: 1, read: 1, anomalies: { failed_but_delivered: 1 } });
    }), { numRuns: 8 });
  });

  ////////// Statuses before their dispatch record, restarts, redeliveries and crashes

  it('statuses that arrive before the dispatch record wait, and join when it comes; a restarted process (empty caches) carries on', async () => {
    const name = uniq('it_proj_');
    const f = await fresh(name);
    await f.requested('w1');
    await f.batch('delivery.status', [delivery('wamid.w1', 'SENT', 2), delivery('wamid.w1', 'DELIVERED', 3)]);
    expect(await f.p.get('w1')).toMatchObject({ status: 'queued' });
    expect(await f.p.summary()).toMatchObject({ total: 1, sent: 0, byStatus: { queued: 1 } });
    await f.batch('notification.dispatch', [dispatched('w1', 'SENDING', null), dispatched('w1', 'ACCEPTED', 'wamid.w1')]);
    expect(await f.p.get('w1')).toMatchObject({ status: 'delivered', sentAt: new Date(t0 + 2000), deliveredAt: new Date(t0 + 3000) });
    expect(await client.db(name).collection('pending_statuses').countDocuments()).toBe(0);
    // another process, nothing cached: the mapping and the document are read by _id
    const g = await fresh(name);
    await g.batch('delivery.status', [delivery('wamid.w1', 'READ', 4)], 100);
    expect(await g.p.get('w1')).toMatchObject({ status: 'read' });
    expect(await g.p.summary()).toMatchObject({ total: 1, sent: 1, delivered: 1, read: 1, byStatus: { queued: 0, delivered: 0, read: 1 } });
  });

  it('dispatch records whose id reads as erased join their statuses by providerMessageRef (status before or after the record, a restarted process too); a record without a ref joins by the ref of its plaintext id', async () => {
    const name = uniq('it_proj_');
    const f = await fresh(name);
    const erasedRecord = (id: string, wamid: string) => ({ ...dispatched(id, 'ACCEPTED', '[erased]'), providerMessageRef: messageRef(KEY, 'meta', wamid) });
    for (const n of ['r1', 'r2', 'p1']) await f.requested(n);
    // r1: the status first, then the record (its id erased, its ref kept)
    await f.delivery(delivery('wamid.r1', 'DELIVERED', 3));
    await f.dispatched(erasedRecord('r1', 'wamid.r1'));
    // r2: the record first, the status later, read by a process with nothing cached
    await f.dispatched(erasedRecord('r2', 'wamid.r2'));
    // p1: a record written before providerMessageRef existed
    await f.dispatched(dispatched('p1', 'ACCEPTED', 'wamid.p1'));
    const g = await fresh(name);
    await g.batch('delivery.status', [delivery('wamid.r2', 'READ', 4), delivery('wamid.p1', 'DELIVERED', 5)], 100);
    expect([(await g.p.get('r1'))?.status, (await g.p.get('r2'))?.status, (await g.p.get('p1'))?.status]).toEqual(['delivered', 'read', 'delivered']);
    expect(await client.db(name).collection('pending_statuses').countDocuments()).toBe(0);
    expect((await client.db(name).collection('provider_messages').find({}).toArray()).map((m) => m._id).sort()).toEqual(['wamid.p1', 'wamid.r1', 'wamid.r2'].map((w) => messageRef(KEY, 'meta', w)).sort());
  });

  it('a batch redelivered after it completed changes nothing; one redelivered after a crash before its counters counts once', async () => {
    const name = uniq('it_proj_');
    const f = await fresh(name);
    const ids = ['c1', 'c2', 'c3'];
    await f.batch('notification.requests', ids.map(requested), 0);
    await f.batch('notification.requests', ids.map(requested), 0); // redelivered
    expect(await f.p.summary()).toMatchObject({ total: 3, byStatus: { queued: 3 } });
    // the counters' command fails once: the documents are written, the counters not
    const stats = (f.p as unknown as { stats: { bulkWrite: (...a: unknown[]) => Promise<unknown> } }).stats;
    const real = stats.bulkWrite.bind(stats);
    stats.bulkWrite = async () => { stats.bulkWrite = real; throw new Error('connection reset'); };
    await expect(f.batch('notification.dispatch', ids.map((id) => dispatched(id, 'SENDING', null)), 0)).rejects.toThrow('connection reset');
    expect(await f.p.get('c1')).toMatchObject({ status: 'sending' });
    expect(await f.p.summary()).toMatchObject({ byStatus: { queued: 3, sending: 0 } });
    // redelivered by a restarted process, with one more record than the first time
    const g = await fresh(name);
    await g.batch('notification.dispatch', [...ids.map((id) => dispatched(id, 'SENDING', null)), dispatched('c1', 'IN_DOUBT', null)], 0);
    expect(await g.p.summary()).toMatchObject({ total: 3, inDoubt: 1, byStatus: { queued: 0, sending: 3 } });
    await g.batch('notification.dispatch', ids.map((id) => dispatched(id, 'SENDING', null)), 0);
    expect(await g.p.summary()).toMatchObject({ total: 3, inDoubt: 1, byStatus: { queued: 0, sending: 3 } });
  });

  it('compare-and-set (MongoDB): two processes writing the same documents keep documents and counters exact', async () => {
    // Each consumes its own partitions (a topic-partition's batch is identified by its first offset).
    // On MongoDB the replace is atomic; FerretDB reads the collection for such a filter and does not
    // isolate it, so there the tracker runs as one process (compareAndSet off) and this runs in turn.
    const name = uniq('it_proj_');
    const [a, b] = [await fresh(name, 0, { compareAndSet: true }), await fresh(name, 1, { compareAndSet: true })];
    const ids = Array.from({ length: 30 }, (_, i) => `x${i}`);
    await a.batch('notification.requests', ids.map(requested), 0);
    await b.batch('notification.dispatch', ids.map((id) => dispatched(id, 'ACCEPTED', `wamid.${id}`)), 0);
    await b.batch('delivery.status', ids.map((id) => delivery(`wamid.${id}`, 'DELIVERED', 3)), 0);
    // a's cache is now behind for every document: each write misses its compare-and-set, reads and plans again
    await a.batch('delivery.status', ids.slice(0, 10).map((id) => delivery(`wamid.${id}`, 'READ', 4)), 0);
    await a.batch('notification.dispatch', ids.slice(0, 5).map((id) => dispatched(id, 'IN_DOUBT', null)), 0);
    expect(await b.p.summary()).toMatchObject({ total: 30, sent: 30, delivered: 30, read: 10, inDoubt: 5, byStatus: { queued: 0, sending: 0, delivered: 20, read: 10 } });
    expect(await a.p.get('x0')).toMatchObject({ status: 'read', providerMessageId: 'wamid.x0', inDoubt: true });
  });

  ////////// Issue 16: the new states, erasure and retention

  it('deferred, held, dropped (with its reason) and coalesced are shown and counted; a held one released goes on to sending', async () => {
    const f = await fresh();
    await f.batch('notification.requests', [{ ...requested('q1'), notBefore: t0 + 5 * 3_600_000, deferReason: 'QUIET_HOURS' }, requested('q2'), requested('q3')]);
    await f.batch('notification.dispatch', [
      { ...dispatched('q2', 'HELD', null), provider: 'none', routeReason: 'NOT_OPTED_IN' },
      { ...dispatched('q3', 'HELD', null), provider: 'none', routeReason: 'NOT_OPTED_IN' },
      { ...dispatched('q3', 'DROPPED', null), occurredAt: t0 + 9000, provider: 'none', routeReason: 'STALE', reason: 'the expiry date has passed', supersededBy: null },
    ]);
    expect(await f.p.get('q1')).toMatchObject({ status: 'deferred', statusRank: 2, deferredAt: new Date(t0), notBefore: new Date(t0 + 5 * 3_600_000), deferReason: 'QUIET_HOURS' });
    expect(await f.p.get('q2')).toMatchObject({ status: 'held', statusRank: 3, heldAt: new Date(t0 + 1000), routeReason: 'NOT_OPTED_IN' });
    expect(await f.p.get('q3')).toMatchObject({ status: 'dropped', statusRank: 5, droppedAt: new Date(t0 + 9000), dropReasonCode: 'STALE', dropReason: 'the expiry date has passed', supersededBy: null });
    expect(await f.p.summary()).toMatchObject({ total: 3, deferred: 1, held: 1, dropped: 1, droppedBy: { SUPERSEDED: 0, STALE: 1, EXPIRED: 0 }, byStatus: { queued: 0, deferred: 1, held: 1, dropped: 1 } });
    await f.batch('notification.dispatch', [{ ...dispatched('q2', 'SENDING', null), attempt: 2 }]);
    expect(await f.p.get('q2')).toMatchObject({ status: 'sending', heldAt: new Date(t0 + 1000) });
    await f.batch('planner.decisions', [{
      eventId: 'p-q1', occurredAt: t0 + 2000, correlationId: 'c', causationId: null, decision: 'COALESCED', scenario: 'status_update', pendaftaran_id: 'REG-1',
      notificationId: 'q1', recipientKind: 'APPLICANT', recipientId: 'REG-1', reason: 'carried by a later status update', reasonCode: 'COALESCED', notBefore: null, carriedBy: 'q9',
    }]);
    expect(await f.p.get('q1')).toMatchObject({ status: 'coalesced', carriedBy: 'q9', coalescedAt: new Date(t0 + 2000) });
    expect(await f.p.summary()).toMatchObject({ total: 3, deferred: 0, held: 0, coalesced: 1, dropped: 1, byStatus: { sending: 1, coalesced: 1, dropped: 1 } });
  });

  it('an erasure scrubs the subject\'s notifications written before and after it (a restarted process too), keeps their status, times and every counter; a late status still joins', async () => {
    const name = uniq('it_proj_');
    const f = await fresh(name);
    await f.batch('notification.requests', [requestedFor('e1', 'subj-erased-1'), requestedFor('e2', 'subj-erased-1'), requestedFor('k1', 'subj-kept-1')]);
    await f.batch('notification.dispatch', [{ ...dispatched('e1', 'ACCEPTED', 'wamid.erased.e1'), subjectId: 'subj-erased-1' }, { ...dispatched('k1', 'ACCEPTED', 'wamid.kept.k1'), subjectId: 'subj-kept-1' }]);
    await f.delivery(delivery('wamid.erased.e1', 'FAILED', 2));
    expect(await f.p.get('e1')).toMatchObject({ status: 'failed', providerMessageId: 'wamid.erased.e1', subjectId: 'subj-erased-1', failureReason: 'Message undeliverable' });
    const before = await f.p.summary();
    const beforeDay = await f.p.summary('2026-11-22', '2026-11-22');

    await f.batch('privacy.requests', [erasure('subj-erased-1')]);
    const e1 = await f.p.get('e1');
    expect(e1).toEqual({
      _id: 'e1', pendaftaran_id: 'REG-1', scenario: 'permit_ready', templateCode: 'permit_ready', recipientKind: 'APPLICANT', day: '2026-11-22', queuedAt: new Date(t0),
      status: 'failed', statusRank: 12, provider: 'meta', acceptedAt: new Date(t0 + 1000), failedAt: new Date(t0 + 2000), errorCode: 'meta:131026', anonymised: ['erasure'],
    });
    expect(await f.p.get('e2')).toMatchObject({ status: 'queued', anonymised: ['erasure'] });
    expect(await f.p.get('e2')).not.toHaveProperty('subjectId');
    expect(await f.p.get('k1')).toMatchObject({ status: 'accepted', providerMessageId: 'wamid.kept.k1', subjectId: 'subj-kept-1' });
    expect(await f.p.get('k1')).not.toHaveProperty('anonymised');
    expect(await f.p.summary()).toEqual(before);
    expect(await f.p.summary('2026-11-22', '2026-11-22')).toEqual(beforeDay);
    // redelivered: nothing changes
    await f.batch('privacy.requests', [erasure('subj-erased-1')], 0);
    expect(await f.p.get('e1')).toEqual(e1);
    expect(await f.p.summary()).toEqual(before);

    // a late read receipt still finds its notification (by the hash of the message id) and moves it on; nothing personal comes back
    await f.delivery(delivery('wamid.erased.e1', 'READ', 5));
    expect(await f.p.get('e1')).toMatchObject({ status: 'read', readAt: new Date(t0 + 5000), anonymised: ['erasure'] });
    expect(await f.p.get('e1')).not.toHaveProperty('providerMessageId');
    // a restarted process (nothing cached) scrubs the subject's later notifications at once
    const g = await fresh(name);
    await g.batch('notification.requests', [requestedFor('e3', 'subj-erased-1')], 10);
    await g.batch('notification.dispatch', [{ ...dispatched('e3', 'SUBJECT_ERASED', null), provider: 'none', subjectId: 'subj-erased-1' }], 10);
    expect(await g.p.get('e3')).toMatchObject({ status: 'subject_erased', statusRank: 7, anonymised: ['erasure'] });
    expect(await g.p.summary()).toMatchObject({ total: 4, read: 1, subjectErased: 1, failed: 0, byStatus: { read: 1, queued: 1, accepted: 1, subject_erased: 1 } });

    // nothing of the erased subject is left in any collection; provider_messages holds hashes only
    const db = client.db(name);
    for (const c of await db.listCollections().toArray()) {
      const text = JSON.stringify(await db.collection(c.name).find({}).toArray());
      // the subject id stays only in erased_subjects (a random id that no key or index links to anyone any more)
      expect([c.name, text.includes('wamid.erased.e1'), text.includes('subj-erased-1')]).toEqual([c.name, false, c.name === 'erased_subjects']);
    }
    expect((await db.collection('provider_messages').find({}).toArray()).map((m) => m._id).sort()).toEqual([messageRef(KEY, 'meta', 'wamid.erased.e1'), messageRef(KEY, 'meta', 'wamid.kept.k1')].sort());
  });

  it('property: an erasure anywhere among a notification\'s events (held, released, sent, read) gives the same document and counters', async () => {
    const S = 'subj-prop-1';
    const events = [
      (f: Feed) => f.batch('notification.requests', [{ ...requestedFor('p', S), notBefore: t0 + 3_600_000, deferReason: 'QUIET_HOURS' }]),
      (f: Feed) => f.dispatched({ ...dispatched('p', 'HELD', null), provider: 'none', routeReason: 'NOT_OPTED_IN', subjectId: S }),
      (f: Feed) => f.dispatched({ ...dispatched('p', 'ACCEPTED', 'wamid.prop.p'), attempt: 2, occurredAt: t0 + 7_200_000, subjectId: S }),
      (f: Feed) => f.delivery(delivery('wamid.prop.p', 'READ', 7300)),
      (f: Feed) => f.batch('privacy.requests', [erasure(S)]),
    ];
    const reference = await fresh();
    for (const e of events) await e(reference);
    const want = await reference.p.get('p');
    expect(want).toMatchObject({ status: 'read', heldAt: new Date(t0 + 1000), deferredAt: new Date(t0), anonymised: ['erasure'] });
    expect(want).not.toHaveProperty('providerMessageId');
    const wantSummary = await reference.p.summary();
    await fc.assert(fc.asyncProperty(fc.array(fc.nat(events.length - 1), { maxLength: 2 }), async (dupes) => {
      const order = fc.sample(fc.shuffledSubarray([...events.keys(), ...dupes], { minLength: events.length + dupes.length }), 1)[0]!;
      const f = await fresh();
      for (const i of order) await events[i]!(f);
      expect(await f.p.get('p')).toEqual(want);
      expect(await f.p.summary()).toEqual(wantSummary);
    }), { numRuns: 8 });
  });

  it('with two writer processes, the one that did not know of an erasure yet scrubs what it wrote at its next sweep', async () => {
    const name = uniq('it_proj_');
    const [a, b] = [await fresh(name, 0), await fresh(name, 1)];
    await a.batch('privacy.requests', [erasure('subj-two-1')]);
    await b.dispatched({ ...dispatched('t1', 'ACCEPTED', 'wamid.two.t1'), subjectId: 'subj-two-1' }); // b read erased_subjects before the erasure
    expect(await b.p.get('t1')).toMatchObject({ subjectId: 'subj-two-1', providerMessageId: 'wamid.two.t1' });
    expect(await b.p.sweep()).toEqual({ erased: 1, expired: 0 });
    expect(await b.p.get('t1')).toMatchObject({ status: 'accepted', anonymised: ['erasure'] });
    expect(await b.p.get('t1')).not.toHaveProperty('providerMessageId');
    expect(await b.p.sweep()).toEqual({ erased: 0, expired: 0 });
    expect(await a.p.sweep()).toEqual({ erased: 0, expired: 0 });
  });

  it('retention: the sweep (injected clock) anonymises notifications requested more than the period ago, not later ones, and changes no counter; an old one written later is anonymised at once', async () => {
    let now = t0;
    const name = uniq('it_proj_');
    const f = await fresh(name, 0, { retentionDays: 400, now: () => now });
    await f.batch('notification.requests', [requestedFor('old1', 'subj-r', t0 - 395 * DAY), requestedFor('new1', 'subj-r', t0 - 10 * DAY)]);
    await f.batch('notification.dispatch', [{ ...dispatched('old1', 'ACCEPTED', 'wamid.old1'), subjectId: 'subj-r' }, { ...dispatched('new1', 'ACCEPTED', 'wamid.new1'), subjectId: 'subj-r' }]);
    expect(await f.p.sweep()).toEqual({ erased: 0, expired: 0 });
    expect(await f.p.get('old1')).toMatchObject({ providerMessageId: 'wamid.old1', subjectId: 'subj-r' });
    const before = await f.p.summary();
    const beforeDays = await f.p.summary('2025-01-01', '2026-12-31');
    now = t0 + 6 * DAY; // old1 is now 401 days old
    expect(await f.p.sweep()).toEqual({ erased: 0, expired: 1 });
    expect(await f.p.sweep()).toEqual({ erased: 0, expired: 0 }); // done once
    expect(await f.p.get('old1')).toMatchObject({ status: 'accepted', anonymised: ['retention'], acceptedAt: new Date(t0 + 1000) });
    for (const k of ['providerMessageId', 'subjectId']) expect(await f.p.get('old1')).not.toHaveProperty(k);
    expect(await f.p.get('new1')).toMatchObject({ providerMessageId: 'wamid.new1', subjectId: 'subj-r' });
    expect(await f.p.summary()).toEqual(before);
    expect(await f.p.summary('2025-01-01', '2026-12-31')).toEqual(beforeDays);
    // a notification older than the period arriving now (a replay, a late topic) is anonymised by its own write
    await f.batch('notification.requests', [requestedFor('old2', 'subj-r', t0 - 500 * DAY)]);
    expect(await f.p.get('old2')).toMatchObject({ status: 'queued', anonymised: ['retention'] });
    expect(await f.p.get('old2')).not.toHaveProperty('subjectId');
  });

  ////////// Database commands per event

  it('the status wait: a young status whose message is not mapped comes back later (nothing parked), the statuses before it apply now; an old one is parked as before', async () => {
    const name = uniq('it_proj_');
    let wall = t0 + 10_000;
    const f = await fresh(name, 0, { statusWaitMs: 2000, wallClock: () => wall });
    await f.requested('w1');
    await f.requested('w2');
    await f.batch('notification.dispatch', [dispatched('w1', 'ACCEPTED', 'wamid.w1')]);
    const statuses = (values: DeliveryStatusReported[], received: number[], first: number) =>
      f.p.apply({ topic: 'delivery.status', partition: 0, records: values.map((value, i) => ({ offset: String(first + i), value, timestamp: received[i]! })) });
    // [mapped, not mapped and received 500 ms ago, mapped]: the first applies, the rest come back when the second is 2 s old
    const out = await statuses([delivery('wamid.w1', 'SENT', 2), delivery('wamid.w2', 'SENT', 2), delivery('wamid.w1', 'DELIVERED', 3)], [wall - 600, wall - 500, wall - 400], 0);
    expect(out).toEqual({ defer: { from: 1, until: wall - 500 + 2000 } });
    expect(await f.p.get('w1')).toMatchObject({ status: 'sent' });
    expect(await client.db(name).collection('pending_statuses').countDocuments()).toBe(0);
    expect(await client.db(name).collection('provider_messages').countDocuments()).toBe(1); // no placeholder
    // the dispatch record arrives meanwhile; the redelivered statuses apply without any parking
    await f.batch('notification.dispatch', [dispatched('w2', 'ACCEPTED', 'wamid.w2')]);
    wall += 1600;
    expect(await statuses([delivery('wamid.w2', 'SENT', 2), delivery('wamid.w1', 'DELIVERED', 3)], [wall - 2100, wall - 2000], 1)).toBeUndefined();
    expect(await f.p.get('w1')).toMatchObject({ status: 'delivered' });
    expect(await f.p.get('w2')).toMatchObject({ status: 'sent' });
    // a status that waited its time (or was received long ago) and still has no mapping is parked, and joins when the dispatch record comes
    await f.requested('w3');
    expect(await statuses([delivery('wamid.w3', 'DELIVERED', 5)], [wall - 2000], 3)).toBeUndefined();
    expect(await client.db(name).collection('pending_statuses').countDocuments()).toBe(1);
    await f.batch('notification.dispatch', [dispatched('w3', 'ACCEPTED', 'wamid.w3')]);
    expect(await f.p.get('w3')).toMatchObject({ status: 'delivered' });
    expect(await client.db(name).collection('pending_statuses').countDocuments()).toBe(0);
    expect(await f.p.summary()).toMatchObject({ total: 3, sent: 3, delivered: 2 });
  });

  it('the status wait: a whole batch of young unmapped statuses waits for the first one\'s time and writes nothing', async () => {
    const name = uniq('it_proj_');
    const wall = t0 + 10_000;
    const f = await fresh(name, 0, { statusWaitMs: 2000, wallClock: () => wall });
    await f.requested('y1');
    const out = await f.p.apply({ topic: 'delivery.status', partition: 0, records: [{ offset: '0', value: delivery('wamid.y1', 'SENT', 2), timestamp: wall - 100 }, { offset: '1', value: delivery('wamid.y1', 'DELIVERED', 3), timestamp: wall - 50 }] });
    expect(out).toEqual({ defer: { from: 0, until: wall + 1900 } });
    // a timestamp ahead of this clock waits no longer than the wait from now
    expect(await f.p.apply({ topic: 'delivery.status', partition: 0, records: [{ offset: '0', value: delivery('wamid.y1', 'SENT', 2), timestamp: wall + 60_000 }] })).toEqual({ defer: { from: 0, until: wall + 2000 } });
    expect(await client.db(name).collection('pending_statuses').countDocuments()).toBe(0);
    expect(await client.db(name).collection('provider_messages').countDocuments()).toBe(0);
    expect(await f.p.get('y1')).toMatchObject({ status: 'queued' });
  });

  it('batches of several topics handed in while the writer is busy share its next turn: one write per document, one counter update, the same documents and counters as one by one; a batch that fails in a shared turn fails alone', async () => {
    const name = uniq('it_proj_'); dbs.push(name);
    const { counted, commands } = await countingClient();
    try {
      const serial = new Serial();
      const p = new NotificationProjection(counted.db(name), {}, { serial, messageRefOf: messageRefOf(KEY) });
      await p.init();
      const ids = Array.from({ length: 30 }, (_, i) => `turn-${i}`);
      const batch = <T extends TrackerTopic>(topic: T, partition: number, values: unknown[]) => ({ topic, partition, records: values.map((value, i) => ({ offset: String(i), value })) }) as never;
      const batches = [
        // statuses first: the turn takes the dispatch records' mappings before them whatever the order handed in
        batch('delivery.status', 1, ids.map((id) => delivery(`wamid.${id}`, 'DELIVERED', 3))),
        batch('notification.dispatch', 1, ids.flatMap((id) => [dispatched(id, 'SENDING', null), dispatched(id, 'ACCEPTED', `wamid.${id}`)])),
        batch('notification.rendered', 0, ids.map(rendered)),
        batch('notification.requests', 0, ids.map(requested)),
      ];
      const busy = await holdWriter(serial);
      const before = await commands();
      const applied = batches.map((b) => p.apply(b));
      busy.release(); await busy.done;
      await Promise.all(applied);
      const shared = (await commands()) - before;
      // one by one, elsewhere: the same documents and counters
      const one = await fresh();
      for (const b of [...batches].reverse()) await one.p.apply(b);
      for (const id of ids) expect({ ...(await p.get(id)), updatedAt: null }).toEqual({ ...(await one.p.get(id)), updatedAt: null });
      expect(await p.summary()).toEqual(await one.p.summary());
      expect(await p.summary()).toMatchObject({ total: 30, delivered: 30, byStatus: { delivered: 30 } });
      // the mappings' insert, the documents' insert, the counter documents' insert and update: no statement per batch
      expect(shared).toBeLessThanOrEqual(5);
      // a batch that fails in a shared turn fails alone; the others are applied
      const busy2 = await holdWriter(serial);
      const good = p.apply(batch('delivery.status', 2, ids.map((id) => delivery(`wamid.${id}`, 'READ', 4))));
      const bad = p.apply(batch('notification.rendered', 3, [undefined]));
      busy2.release(); await busy2.done;
      await expect(bad).rejects.toThrow();
      await good;
      expect(await p.summary()).toMatchObject({ total: 30, read: 30 });
    } finally { await counted.close(); }
  });

  it('a turn takes at most maxTurnRecords records of the waiting batches (a batch is never split); the rest take the next turn', async () => {
    class CountingSerial extends Serial { runs = 0; override run<T>(fn: () => Promise<T>): Promise<T> { this.runs++; return super.run(fn); } }
    const serial = new CountingSerial();
    const f = await fresh(uniq('it_proj_'), 0, { serial, maxTurnRecords: 70 });
    const ids = Array.from({ length: 30 }, (_, i) => `cap-${i}`);
    const busy = await holdWriter(serial);
    const before = serial.runs;
    const applied = [0, 1, 2, 3].map((p) => f.p.apply({ topic: 'notification.requests', partition: p, records: ids.map((id, i) => ({ offset: String(i), value: requested(`${id}-${p}`) })) }));
    busy.release(); await busy.done; await Promise.all(applied);
    // 30 + 30 records in the first turn (a third batch would make 90 > 70), then the other two
    expect(serial.runs - before).toBe(2);
    expect((await f.p.summary()).total).toBe(120);
  });

  it('a dispatch batch whose shared turn failed after it joined statuses parked before it joins them again when retried alone', async () => {
    const f = await fresh();
    const serial = (f.p as unknown as { serial: Serial }).serial;
    await f.requested('j1');
    await f.delivery(delivery('wamid.j1', 'DELIVERED', 3)); // parked: no mapping yet
    const busy = await holdWriter(serial);
    const dispatchApplied = f.p.apply({ topic: 'notification.dispatch', partition: 0, records: [{ offset: '0', value: dispatched('j1', 'ACCEPTED', 'wamid.j1') }] });
    // taken after the dispatch batch in the shared turn, and failing there
    const bad = f.p.apply({ topic: 'delivery.status', partition: 5, records: [{ offset: '0', value: undefined }] } as never);
    busy.release(); await busy.done;
    await expect(bad).rejects.toThrow();
    await dispatchApplied;
    expect(await f.p.get('j1')).toMatchObject({ status: 'delivered', providerMessageId: 'wamid.j1' });
    expect(await f.p.summary()).toMatchObject({ total: 1, delivered: 1 });
  });

  it('a batch of 500 events costs a handful of database commands, not one per event', async () => {
    const name = uniq('it_proj_'); dbs.push(name);
    const { counted, metrics, commands } = await countingClient();
    const byOp = async () => Object.fromEntries((await metrics.dbOps.get()).values.map((v) => [v.labels.op, v.value]));
    try {
      const serial = new Serial();
      const p = new NotificationProjection(counted.db(name), {}, { serial, messageRefOf: messageRefOf(Buffer.alloc(32, 7)) });
      await p.init();
      const f = new Feed(p);
      const N = 500;
      const ids = Array.from({ length: N }, (_, i) => `cnt-${i}`);
      const rows: [string, number, number, number][] = [];
      const measure = async (what: string, events: number, run: () => Promise<void>) => {
        const before = await commands();
        const started = Date.now();
        await run();
        rows.push([what, events, (await commands()) - before, Date.now() - started]);
      };
      await measure('500 requests (new documents)', N, () => f.batch('notification.requests', ids.map(requested)));
      await measure('500 rendered', N, () => f.batch('notification.rendered', ids.map(rendered)));
      await measure('500 dispatch records (SENDING)', N, () => f.batch('notification.dispatch', ids.map((id) => dispatched(id, 'SENDING', null))));
      await measure('500 dispatch records (ACCEPTED, new message ids)', N, () => f.batch('notification.dispatch', ids.map((id) => dispatched(id, 'ACCEPTED', `wamid.${id}`))));
      await measure('500 statuses (SENT)', N, () => f.batch('delivery.status', ids.map((id) => delivery(`wamid.${id}`, 'SENT', 2))));
      await measure('500 statuses: 250 DELIVERED + 250 READ on 250 messages', N, () => f.batch('delivery.status', ids.slice(0, 250).flatMap((id) => [delivery(`wamid.${id}`, 'DELIVERED', 3), delivery(`wamid.${id}`, 'READ', 4)])));
      await measure('the same 500 statuses redelivered', N, () => f.batch('delivery.status', ids.slice(0, 250).flatMap((id) => [delivery(`wamid.${id}`, 'DELIVERED', 3), delivery(`wamid.${id}`, 'READ', 4)]), 1000));
      const cold = new Feed(new NotificationProjection(counted.db(name), {}, { serial, messageRefOf: messageRefOf(Buffer.alloc(32, 7)) }));
      await measure('500 statuses (DELIVERED) in a restarted process (nothing cached)', N, () => cold.batch('delivery.status', ids.map((id) => delivery(`wamid.${id}`, 'DELIVERED', 3)), 2000));
      // eslint-disable-next-line no-console
      console.log(['database commands per batch of one topic-partition:', ...rows.map(([w, e, c, ms]) => `  ${w}: ${c} commands, ${(c / e).toFixed(3)} per event (${ms} ms)`), `  by command: ${JSON.stringify(await byOp())}`].join('\n'));
      for (const [w, , c] of rows.slice(0, 7)) expect([w, c <= 20]).toEqual([w, true]); // 500 documents / 40 per command + counters
      expect(rows[7]![2]).toBeLessThanOrEqual(2 * N + 20); // a cold cache reads the mapping and the document by _id, once each
      expect(await p.summary()).toMatchObject({ total: N, sent: N, delivered: N, read: 250, byStatus: { delivered: 250, read: 250 } });
    } finally { await counted.close(); }
  });
});
