import { messageRefOf } from './adapters/projections/messageRef';
import { MongoClient, type Db, type Document } from 'mongodb';
import { fixedClock } from '@sicantik/core';
import { coPartitionedAssigner, runBatchConsumer, startInfra, type Infra, type RunningBatchConsumer } from '@sicantik/kafka';
import type {
  DeliveryStatusReported, NotificationDispatchRecorded, NotificationRequested, PlannerDecisionRecorded, PrivacyRequestRecorded, TopicName,
} from '@sicantik/schemas';
import { PRIVACY_TEST_ENV, silentLogger, stack, uniq, waitFor } from '../../../test/support';
import { DecisionProjection } from './adapters/projections/decisions';
import { NotificationProjection } from './adapters/projections/store';
import { Serial } from './adapters/projections/writer';
import { rebuild } from './rebuild';

////////// A rebuild equals the live projection, with erasures and the retention applied:
// events on real Kafka topics (two partitions each), the live projection consuming them
// as main.ts wires it (runBatchConsumer, FerretDB), an ERASURE on privacy.requests in the
// middle of the subject's events, the retention sweep at a fixed "now"; then the rebuild
// command's function from the same topics at the same "now" into a new database: every
// collection equal, and nothing of the erased person in either database.

const TOPICS = ['notification.requests', 'notification.rendered', 'notification.dispatch', 'delivery.status', 'planner.decisions', 'privacy.requests'] as const satisfies readonly TopicName[];
const DAY = 86_400_000;
const t0 = Date.parse('2026-11-22T02:00:00Z');
const NOW = t0 + 5 * DAY;
const ERASED_SUBJECT = 'subj-rebuild-erased';
const ERASED_WAMID = 'wamid.rebuild.erased.e1';

const requested = (id: string, subjectId: string, at = t0, notBefore: number | null = null): NotificationRequested => ({
  eventId: `q-${id}`, occurredAt: at, correlationId: 'c', causationId: null, notificationId: id, scenario: 'status_update', templateCode: 'status_update',
  pendaftaran_id: `REG-${id}`, recipient: { kind: 'APPLICANT', id: `REG-${id}`, name: null, phone: '+6281234567890', subjectId }, variables: {}, items: [], locale: 'id',
  notBefore, deferReason: notBefore === null ? null : 'QUIET_HOURS', supersedeKey: null, staleAfter: null,
});
const dispatched = (id: string, status: NotificationDispatchRecorded['status'], subjectId: string, wamid: string | null = null, over: Partial<NotificationDispatchRecorded> = {}): NotificationDispatchRecorded => ({
  eventId: `d-${id}-${status}`, occurredAt: t0 + 1000, correlationId: 'c', causationId: null, notificationId: id, pendaftaran_id: `REG-${id}`,
  scenario: 'status_update', templateCode: 'status_update', recipientKind: 'APPLICANT', provider: wamid ? 'meta' : 'none', status, providerMessageId: wamid,
  attempt: 1, errorCode: null, reason: null, subjectId, ...over,
});
const delivery = (wamid: string, status: DeliveryStatusReported['status'], s: number): DeliveryStatusReported => ({
  eventId: `s-${wamid}-${status}`, occurredAt: t0 + s * 1000, correlationId: wamid, causationId: null, provider: 'meta', providerMessageId: wamid,
  status, providerTimestamp: t0 + s * 1000, receivedAt: t0 + s * 1000, errorCode: null, errorTitle: null,
});
const decision = (id: string, kind: 'DEFERRED' | 'COALESCED', over: Partial<PlannerDecisionRecorded>): PlannerDecisionRecorded => ({
  eventId: `p-${id}-${kind}`, occurredAt: t0, correlationId: 'c', causationId: null, decision: kind, scenario: 'status_update', pendaftaran_id: `REG-${id}`,
  notificationId: id, recipientKind: 'APPLICANT', recipientId: `REG-${id}`, reason: kind.toLowerCase(), reasonCode: kind === 'DEFERRED' ? 'QUIET_HOURS' : 'COALESCED', notBefore: null, carriedBy: null, ...over,
});
const erasure: PrivacyRequestRecorded = {
  eventId: 'pr-1', occurredAt: t0 + DAY, correlationId: 'c', causationId: null, requestId: 'req-1', kind: 'ERASURE', subjectId: ERASED_SUBJECT,
  receivedAt: t0 + DAY, deadline: t0 + 4 * DAY, status: 'DONE', detail: null,
};

describe('rebuild from Kafka equals the live projection, with erasures and retention applied', () => {
  let infra: Infra;
  let mongo: MongoClient;
  let live: RunningBatchConsumer | undefined;
  const prefix = `${uniq('it-rebuild-')}.`;
  const liveDb = uniq('it_live_');
  const rebuiltDb = uniq('it_rebuilt_');
  const env = {
    SERVICE_INSTANCE: 'it', LOG_LEVEL: 'silent', KAFKA_BROKERS: stack.brokers.join(','), SCHEMA_REGISTRY_URL: stack.registryUrl, MONGO_URL: stack.mongoUrl,
    TOPIC_PREFIX: prefix, TOPIC_PARTITIONS: '2', TOPIC_REPLICATION_FACTOR: '1',
  };

  beforeAll(async () => {
    infra = await startInfra('delivery-tracker', { ...env, KAFKA_BROKERS: stack.brokers, TOPIC_PARTITIONS: 2, TOPIC_REPLICATION_FACTOR: 1 } as never, TOPICS);
    mongo = await MongoClient.connect(stack.mongoUrl);
  });
  afterAll(async () => {
    await live?.stop();
    await infra?.close();
    for (const d of [liveDb, rebuiltDb]) await mongo?.db(d).dropDatabase();
    await mongo?.close();
  });

  const send = <T extends TopicName>(topic: T, key: (v: never) => string, values: unknown[]) =>
    infra.producer.send(values.map((value) => ({ topic, key: key(value as never), value: value as never })));

  /** Every document of a collection, sorted by _id, without the fields that record how it was written. */
  const all = async (db: Db, name: string, drop: string[] = []) =>
    (await db.collection(name).find({}).sort({ _id: 1 }).toArray()).map((d) => Object.fromEntries(Object.entries(d).filter(([k]) => !drop.includes(k))) as Document);

  it('every collection equal; the erased person\'s message id and subject id in neither database (the id only in erased_subjects); the old notification anonymised in both', async () => {
    const serial = new Serial();
    // The live clock starts 60 days before NOW (old1 is then 390 days old), and moves to NOW for the sweep.
    let now = NOW - 60 * DAY;
    const notifications = new NotificationProjection(mongo.db(liveDb), {}, { serial, messageRefOf: messageRefOf(Buffer.from(PRIVACY_TEST_ENV.PRIVACY_INDEX_KEY, 'base64')), retentionDays: 400, now: () => now });
    await notifications.init();
    const decisions = new DecisionProjection(mongo.db(liveDb), notifications.col, { serial });
    await decisions.init();
    live = await runBatchConsumer({
      kafka: infra.kafka, codec: infra.codec, groupId: `${prefix}live`, producer: infra.producer, logger: silentLogger(), metrics: infra.metrics,
      partitionAssigners: [coPartitionedAssigner], maxWaitMs: 100,
      handlers: {
        'notification.requests': (b) => notifications.apply(b), 'notification.rendered': (b) => notifications.apply(b),
        'notification.dispatch': (b) => notifications.apply(b), 'delivery.status': (b) => notifications.apply(b),
        'planner.decisions': async (b) => { await decisions.apply(b); await notifications.apply(b); },
        'privacy.requests': (b) => notifications.apply(b),
      },
    });

    const byReg = (v: { pendaftaran_id: string }) => v.pendaftaran_id;
    await send('notification.requests', byReg, [
      requested('e1', ERASED_SUBJECT), requested('e2', ERASED_SUBJECT), requested('k1', 'subj-rebuild-kept'),
      requested('k2', 'subj-rebuild-kept', t0, t0 + 5 * 3_600_000), requested('old1', 'subj-rebuild-kept', NOW - 450 * DAY), requested('co1', 'subj-rebuild-kept'),
    ]);
    await send('notification.dispatch', byReg, [
      dispatched('e1', 'ACCEPTED', ERASED_SUBJECT, ERASED_WAMID), dispatched('k1', 'ACCEPTED', 'subj-rebuild-kept', 'wamid.rebuild.k1'),
      dispatched('k2', 'DEFERRED', 'subj-rebuild-kept', null, { notBefore: t0 + 5 * 3_600_000, routeReason: 'QUIET_HOURS' }),
      dispatched('old1', 'ACCEPTED', 'subj-rebuild-kept', 'wamid.rebuild.old1', { occurredAt: NOW - 450 * DAY + 1000 }),
    ]);
    await send('planner.decisions', byReg, [decision('k2', 'DEFERRED', { notBefore: t0 + 5 * 3_600_000 }), decision('co1', 'COALESCED', { carriedBy: 'k2' })]);
    await send('delivery.status', (v: DeliveryStatusReported) => v.providerMessageId, [delivery(ERASED_WAMID, 'DELIVERED', 3), delivery('wamid.rebuild.k1', 'READ', 4), delivery('wamid.rebuild.unknown', 'SENT', 5)]);
    await send('privacy.requests', (v: PrivacyRequestRecorded) => v.requestId, [erasure]);
    // after the erasure: the dispatcher finds the key gone for e2, and a late read receipt for e1
    await send('notification.dispatch', byReg, [dispatched('e2', 'SUBJECT_ERASED', ERASED_SUBJECT, null, { occurredAt: t0 + DAY + 1000 })]);
    await send('delivery.status', (v: DeliveryStatusReported) => v.providerMessageId, [delivery(ERASED_WAMID, 'READ', 6)]);

    // the live projection has consumed every topic to its end
    await waitFor(async () => {
      for (const t of TOPICS) {
        const ends = await infra.admin.fetchTopicOffsets(infra.codec.topic(t));
        const [committed] = await infra.admin.fetchOffsets({ groupId: `${prefix}live`, topics: [infra.codec.topic(t)] });
        for (const e of ends) if (BigInt(e.high) > 0n && committed!.partitions.find((p) => p.partition === e.partition)?.offset !== e.high) return false;
      }
      return true;
    }, { timeoutMs: 60_000, what: 'the live projection at the topics\' ends' });
    expect(await notifications.get('old1')).toMatchObject({ providerMessageId: 'wamid.rebuild.old1' });
    now = NOW;
    expect(await notifications.sweep()).toEqual({ erased: 0, expired: 1 });

    const summary = await rebuild({ ...env, ...PRIVACY_TEST_ENV, MONGO_DB: rebuiltDb, CONSUMER_GROUP: `${prefix}rebuilt` }, fixedClock(new Date(NOW)));
    expect(summary).toMatchObject({ db: rebuiltDb, notifications: 6 });

    const [a, b] = [mongo.db(liveDb), mongo.db(rebuiltDb)];
    const liveDocs = await all(a, 'notifications', ['_v', '_batchDeltas']);
    expect(await all(b, 'notifications', ['_v', '_batchDeltas'])).toEqual(liveDocs);
    const byId = new Map(liveDocs.map((d) => [d._id as string, d]));
    expect(byId.get('e1')).toMatchObject({ status: 'read', anonymised: ['erasure'] });
    expect(byId.get('e2')).toMatchObject({ status: 'subject_erased', anonymised: ['erasure'] });
    expect(byId.get('k1')).toMatchObject({ status: 'read', providerMessageId: 'wamid.rebuild.k1', subjectId: 'subj-rebuild-kept' });
    expect(byId.get('k2')).toMatchObject({ status: 'deferred', notBefore: new Date(t0 + 5 * 3_600_000), deferReason: 'QUIET_HOURS' });
    expect(byId.get('old1')).toMatchObject({ status: 'accepted', anonymised: ['retention'] });
    expect(byId.get('co1')).toMatchObject({ status: 'coalesced', carriedBy: 'k2' });
    for (const [name, drop] of [['planner_decisions', ['_insertedBy']], ['provider_messages', ['statusesWaiting']], ['pending_statuses', []], ['erased_subjects', []]] as const) {
      expect([name, await all(b, name, [...drop])]).toEqual([name, await all(a, name, [...drop])]);
    }
    const rebuilt = new NotificationProjection(b, {}, { messageRefOf: messageRefOf(Buffer.from(PRIVACY_TEST_ENV.PRIVACY_INDEX_KEY, 'base64')) });
    const want = await notifications.summary();
    expect(want).toMatchObject({ total: 6, read: 2, deferred: 1, coalesced: 1, subjectErased: 1, accepted: 1 });
    expect(await rebuilt.summary()).toEqual(want);
    expect(await rebuilt.summary('2025-01-01', '2026-12-31')).toEqual(await notifications.summary('2025-01-01', '2026-12-31'));
    const rebuiltDecisions = new DecisionProjection(b, rebuilt.col);
    expect(await rebuiltDecisions.summary()).toEqual(await decisions.summary());
    expect(await decisions.summary()).toEqual([
      { scenario: 'status_update', decision: 'COALESCED', reasonCode: 'COALESCED', count: 1 },
      { scenario: 'status_update', decision: 'DEFERRED', reasonCode: 'QUIET_HOURS', count: 1 },
    ]);

    // nothing of the erased person in any collection of either database (its random subject id only in erased_subjects)
    for (const db of [a, b]) {
      for (const c of await db.listCollections().toArray()) {
        const text = JSON.stringify(await db.collection(c.name).find({}).toArray());
        expect([db.databaseName, c.name, text.includes(ERASED_WAMID), text.includes(ERASED_SUBJECT)]).toEqual([db.databaseName, c.name, false, c.name === 'erased_subjects']);
      }
    }
  });
});
