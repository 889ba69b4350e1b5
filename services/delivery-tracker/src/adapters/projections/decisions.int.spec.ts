import { messageRefOf } from './messageRef';
import { MongoClient } from 'mongodb';
import type { PlannerDecisionRecorded } from '@sicantik/schemas';
import { stack, uniq } from '../../../../../test/support';
import { DecisionProjection } from './decisions';
import { NotificationProjection } from './store';

const d = (over: Partial<PlannerDecisionRecorded>): PlannerDecisionRecorded => ({
  eventId: uniq('e-'), occurredAt: Date.parse('2026-11-22T02:00:00Z'), correlationId: 'c', causationId: 'evt-1', decision: 'SKIPPED', scenario: 'status_update',
  pendaftaran_id: 'REG-1', notificationId: null, recipientKind: 'APPLICANT', recipientId: 'REG-1', reason: 'x', reasonCode: 'OPTED_OUT', ...over,
});
const batch = (first: number, events: PlannerDecisionRecorded[], partition = 0) => ({ partition, records: events.map((value, i) => ({ offset: String(first + i), value })) });

describe('planner decisions projection on the MongoDB-compatible database', () => {
  let client: MongoClient;
  const names: string[] = [];
  const fresh = async () => {
    const name = uniq('it_dec_'); names.push(name);
    const db = client.db(name);
    const notes = new NotificationProjection(db, {}, { messageRefOf: messageRefOf(Buffer.alloc(32, 7)) });
    await notes.init();
    const p = new DecisionProjection(db, notes.col);
    await p.init();
    return { p, notes, db };
  };
  beforeAll(async () => { client = await MongoClient.connect(stack.mongoUrl); });
  afterAll(async () => { for (const n of names) await client.db(n).dropDatabase(); await client.close(); });

  it('stores each decision once, answers by permit oldest first, and counts by scenario, decision and reason code per Jakarta day', async () => {
    const { p, notes } = await fresh();
    const events = [
      d({ eventId: 'a', occurredAt: Date.parse('2026-11-21T16:59:00Z') }), // 23:59 WIB on the 21st
      d({ eventId: 'b', occurredAt: Date.parse('2026-11-21T17:00:00Z') }), // 00:00 WIB on the 22nd
      d({ eventId: 'c', decision: 'PLANNED', reason: null, reasonCode: null, notificationId: 'n-1' }),
      d({ eventId: 'e', decision: 'SKIPPED', reasonCode: undefined, pendaftaran_id: 'REG-2' }), // an event from before reason codes
    ];
    await p.apply(batch(0, [events[0]!, events[1]!]));
    await p.apply(batch(2, [events[2]!, events[3]!, events[0]!])); // a duplicate of an earlier batch's event
    await p.apply(batch(5, [events[1]!, events[1]!])); // and twice in one batch
    const reg1 = await p.find({ pendaftaran_id: 'REG-1', limit: 10 });
    expect(reg1.map((x) => [x.eventId, x.decision, x.reasonCode, x.message])).toEqual([['a', 'SKIPPED', 'OPTED_OUT', null], ['b', 'SKIPPED', 'OPTED_OUT', null], ['c', 'PLANNED', null, null]]);
    expect(Object.keys(reg1[0]!)).not.toContain('_insertedBy');
    expect(await p.summary('2026-11-22', '2026-11-22')).toEqual([
      { scenario: 'status_update', decision: 'PLANNED', reasonCode: null, count: 1 },
      { scenario: 'status_update', decision: 'SKIPPED', reasonCode: null, count: 1 },
      { scenario: 'status_update', decision: 'SKIPPED', reasonCode: 'OPTED_OUT', count: 1 },
    ]);
    expect((await p.summary()).find((r) => r.reasonCode === 'OPTED_OUT')!.count).toBe(2);
    expect(await p.summary('2026-11-21')).toEqual([
      { scenario: 'status_update', decision: 'PLANNED', reasonCode: null, count: 1 },
      { scenario: 'status_update', decision: 'SKIPPED', reasonCode: null, count: 1 },
      { scenario: 'status_update', decision: 'SKIPPED', reasonCode: 'OPTED_OUT', count: 2 },
    ]);
    // a planned decision shows how far its message got
    await notes.apply({ topic: 'notification.dispatch', partition: 0, records: [{ offset: '0', value: {
      eventId: 'd1', occurredAt: Date.parse('2026-11-22T02:00:01Z'), correlationId: 'c', causationId: null, notificationId: 'n-1', pendaftaran_id: 'REG-1', scenario: 'status_update', templateCode: 'status_update',
      recipientKind: 'APPLICANT', provider: 'meta', status: 'ACCEPTED', providerMessageId: 'wamid.n-1', attempt: 1, errorCode: null, reason: null,
    } }] });
    expect((await p.find({ notificationId: 'n-1', limit: 10 }))[0]!.message).toEqual({ status: 'accepted', provider: 'meta', routeReason: null, routeDetail: null, failureReason: null, skipReason: null, notBefore: null, deferReason: null, heldAt: null, dropReasonCode: null, supersededBy: null, carriedBy: null, acceptedAt: new Date('2026-11-22T02:00:01Z'), noReportAt: null, sentAt: null, deliveredAt: null });
  });

  it('a planned notification the dispatcher skipped (opted out between planning and sending) says so, and why', async () => {
    const { p, notes } = await fresh();
    await p.apply(batch(0, [d({ eventId: 'p1', decision: 'PLANNED', reason: null, reasonCode: null, notificationId: 'n-9' })]));
    const why = 'recipient opted out of WhatsApp notifications; nothing sent';
    await notes.apply({ topic: 'notification.dispatch', partition: 0, records: [{ offset: '0', value: {
      eventId: 'k1', occurredAt: Date.parse('2026-11-22T02:00:01Z'), correlationId: 'c', causationId: null, notificationId: 'n-9', pendaftaran_id: 'REG-1', scenario: 'status_update', templateCode: 'status_update',
      recipientKind: 'APPLICANT', provider: 'none', status: 'SKIPPED', providerMessageId: null, attempt: 0, errorCode: null, reason: why, routeReason: 'OPTED_OUT', routeDetail: why,
    } }] });
    expect((await p.find({ notificationId: 'n-9', limit: 10 }))[0]!.message).toEqual({ status: 'skipped', provider: 'none', routeReason: 'OPTED_OUT', routeDetail: why, failureReason: null, skipReason: why, notBefore: null, deferReason: null, heldAt: null, dropReasonCode: null, supersededBy: null, carriedBy: null, acceptedAt: null, noReportAt: null, sentAt: null, deliveredAt: null });
  });

  it('DEFERRED decisions show their earliest send time and COALESCED ones the message that carries them; both are counted; the coalesced notification is coalesced', async () => {
    const { p, notes } = await fresh();
    const at = Date.parse('2026-11-22T15:00:00Z'); // 22:00 WIB
    const events = [
      d({ eventId: 'df', decision: 'DEFERRED', notificationId: 'n-late', reason: 'quiet hours: not before 07:00', reasonCode: 'QUIET_HOURS', notBefore: Date.parse('2026-11-23T00:00:00Z'), occurredAt: at }),
      d({ eventId: 'co', decision: 'COALESCED', notificationId: 'n-first', reason: 'carried by a later status update', reasonCode: 'COALESCED', carriedBy: 'n-late', occurredAt: at + 1000 }),
    ];
    await p.apply(batch(0, events));
    await notes.apply({ topic: 'planner.decisions', ...batch(0, events) });
    const found = await p.find({ pendaftaran_id: 'REG-1', limit: 10 });
    expect(found.map((x) => [x.eventId, x.decision, x.reasonCode, x.notBefore, x.carriedBy])).toEqual([
      ['df', 'DEFERRED', 'QUIET_HOURS', new Date('2026-11-23T00:00:00Z'), null],
      ['co', 'COALESCED', 'COALESCED', null, 'n-late'],
    ]);
    expect(found[1]!.message).toMatchObject({ status: 'coalesced', carriedBy: 'n-late' });
    expect(await p.find({ decision: 'COALESCED', reasonCode: 'COALESCED', limit: 10 })).toHaveLength(1);
    expect(await p.summary()).toEqual([
      { scenario: 'status_update', decision: 'COALESCED', reasonCode: 'COALESCED', count: 1 },
      { scenario: 'status_update', decision: 'DEFERRED', reasonCode: 'QUIET_HOURS', count: 1 },
    ]);
    expect(await notes.summary()).toMatchObject({ total: 1, coalesced: 1, byStatus: { coalesced: 1 } });
  });

  it('a batch redelivered after its insert but before its counters counts its decisions once', async () => {
    const { p } = await fresh();
    const events = [d({ eventId: 'x1' }), d({ eventId: 'x2', reasonCode: 'NO_PHONE' })];
    const stats = (p as unknown as { stats: { bulkWrite: (...a: unknown[]) => Promise<unknown> } }).stats;
    const real = stats.bulkWrite.bind(stats);
    stats.bulkWrite = async () => { stats.bulkWrite = real; throw new Error('connection reset'); };
    await expect(p.apply(batch(10, events))).rejects.toThrow('connection reset');
    expect(await p.summary()).toEqual([]);
    await p.apply(batch(10, [...events, d({ eventId: 'x3' })])); // redelivered, with one more record
    await p.apply(batch(10, [...events, d({ eventId: 'x3' })])); // and again after it completed
    expect(await p.summary()).toEqual([
      { scenario: 'status_update', decision: 'SKIPPED', reasonCode: 'NO_PHONE', count: 1 },
      { scenario: 'status_update', decision: 'SKIPPED', reasonCode: 'OPTED_OUT', count: 2 },
    ]);
  });
});
