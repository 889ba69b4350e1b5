import { MongoClient } from 'mongodb';
import type { PlannerDecisionRecorded } from '@sicantik/schemas';
import { stack, uniq } from '../../../../test/support';
import { DecisionProjection } from './decisions';
import { NotificationProjection } from './store';

const d = (over: Partial<PlannerDecisionRecorded>): PlannerDecisionRecorded => ({
  eventId: uniq('e-'), occurredAt: Date.parse('2026-11-22T02:00:00Z'), correlationId: 'c', causationId: 'evt-1', decision: 'SKIPPED', scenario: 'status_update',
  pendaftaran_id: 'REG-1', notificationId: null, recipientKind: 'APPLICANT', recipientId: 'REG-1', reason: 'x', reasonCode: 'OPTED_OUT', ...over,
});

describe('planner decisions projection on the MongoDB-compatible database', () => {
  let client: MongoClient;
  const name = uniq('it_dec_');
  beforeAll(async () => { client = await MongoClient.connect(stack.mongoUrl); });
  afterAll(async () => { await client.db(name).dropDatabase(); await client.close(); });

  it('stores each decision once, answers by permit oldest first, and counts by scenario, decision and reason code per Jakarta day', async () => {
    const db = client.db(name);
    const notes = new NotificationProjection(db);
    const p = new DecisionProjection(db, notes.col);
    await p.init();
    const events = [
      d({ eventId: 'a', occurredAt: Date.parse('2026-11-21T16:59:00Z') }), // 23:59 WIB on the 21st
      d({ eventId: 'b', occurredAt: Date.parse('2026-11-21T17:00:00Z') }), // 00:00 WIB on the 22nd
      d({ eventId: 'c', decision: 'PLANNED', reason: null, reasonCode: null, notificationId: 'n-1' }),
      d({ eventId: 'e', decision: 'SKIPPED', reasonCode: undefined, pendaftaran_id: 'REG-2' }), // an event from before reason codes
    ];
    for (const e of [...events, events[0]!, events[1]!]) await p.onDecision(e);
    const reg1 = await p.find({ pendaftaran_id: 'REG-1', limit: 10 });
    expect(reg1.map((x) => [x.eventId, x.decision, x.reasonCode, x.message])).toEqual([['a', 'SKIPPED', 'OPTED_OUT', null], ['b', 'SKIPPED', 'OPTED_OUT', null], ['c', 'PLANNED', null, null]]);
    expect(await p.summary('2026-11-22', '2026-11-22')).toEqual([
      { scenario: 'status_update', decision: 'PLANNED', reasonCode: null, count: 1 },
      { scenario: 'status_update', decision: 'SKIPPED', reasonCode: null, count: 1 },
      { scenario: 'status_update', decision: 'SKIPPED', reasonCode: 'OPTED_OUT', count: 1 },
    ]);
    expect((await p.summary()).find((r) => r.reasonCode === 'OPTED_OUT')!.count).toBe(2);
  });
});
