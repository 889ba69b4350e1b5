import fc from 'fast-check';
import { MongoClient } from 'mongodb';
import { notificationId } from '@sicantik/core';
import type { PlannerDecisionRecorded } from '@sicantik/schemas';
import { stack, uniq } from '../../../../test/support';
import { initialState } from '../domain/state';
import { PlannerStore } from './store';

const decision = (over: Partial<PlannerDecisionRecorded>): PlannerDecisionRecorded => ({
  eventId: uniq('d-'), occurredAt: Date.parse('2026-11-22T02:00:00Z'), correlationId: 'c', causationId: null, decision: 'PLANNED',
  scenario: 'permit_expiry_warning', pendaftaran_id: 'REG-1', notificationId: null, recipientKind: 'APPLICANT', recipientId: 'REG-1', reason: null, ...over,
});

describe('planner store on the MongoDB-compatible database', () => {
  let client: MongoClient;
  const dbs: string[] = [];
  const fresh = () => { const name = uniq('it_plan_'); dbs.push(name); return new PlannerStore(client.db(name)); };
  beforeAll(async () => { client = await MongoClient.connect(stack.mongoUrl); });
  afterAll(async () => { for (const d of dbs) await client.db(d).dropDatabase(); await client.close(); });

  it('claims: one winner among concurrent claimers; a claim abandoned before producing is taken over, an emitted one never', async () => {
    const s = fresh();
    const t = new Date('2026-11-22T02:00:00Z');
    const wins = await Promise.all(Array.from({ length: 8 }, () => s.claimPlanned('n-1', 'permit_ready', t)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    // The winner died before producing: two minutes later the next run takes the claim over.
    expect(await s.claimPlanned('n-1', 'permit_ready', new Date(t.getTime() + 60_000))).toBe(false);
    expect(await s.claimPlanned('n-1', 'permit_ready', new Date(t.getTime() + 121_000))).toBe(true);
    await s.markEmitted('n-1');
    expect(await s.claimPlanned('n-1', 'permit_ready', new Date(t.getTime() + 3_600_000))).toBe(false);
  });

  it('withExpiryMarks: the thresholds already decided for the current expiry date come with the state (a date change must not cancel a sent warning)', async () => {
    const s = fresh();
    await s.save({ ...initialState('REG-9'), tanggal_berakhir: '2027-02-20' });
    await s.markExpiryMany([{ pendaftaran_id: 'REG-9', expiry: '2027-02-20', threshold: 90 }, { pendaftaran_id: 'REG-9', expiry: '2026-01-01', threshold: 60 }], new Date());
    expect((await s.withExpiryMarks(await s.load('REG-9'))).expiryPlanned).toEqual({ '2027-02-20': [90] });
    expect((await s.withExpiryMarks(await s.load('REG-unknown'))).expiryPlanned).toEqual({});
  });

  it('claims remember their cause: a second event claiming the same id is told which event has it', async () => {
    const s = fresh();
    const t = new Date('2026-11-22T02:00:00Z');
    expect([...(await s.claimMany([{ id: 'c-1', scenario: 'permit_ready', cause: 'evt-1' }], t))]).toEqual(['c-1']);
    expect([...(await s.claimMany([{ id: 'c-1', scenario: 'permit_ready', cause: 'evt-2' }], t))]).toEqual([]);
    expect(await s.claimCauses(['c-1', 'c-2'])).toEqual(new Map([['c-1', 'evt-1']]));
    // seeded from the decision log: the PLANNED record's causation is the cause
    const seeder = s.seeder();
    await seeder.add(decision({ notificationId: 'c-3', scenario: 'permit_ready', causationId: 'evt-3' }));
    await seeder.flush();
    expect(await s.claimCauses(['c-3'])).toEqual(new Map([['c-3', 'evt-3']]));
  });

  it('bulk claims: only new or abandoned ids are won, duplicates inside one call count once, concurrent bulk claimers split the ids', async () => {
    const s = fresh();
    const t = new Date('2026-11-22T02:00:00Z');
    await s.claimPlanned('b-1', 'x', t);
    await s.claimPlanned('b-2', 'x', t);
    await s.markEmitted('b-2');
    const won = await s.claimMany(['b-1', 'b-2', 'b-3', 'b-3', 'b-4'].map((id) => ({ id, scenario: 'x' })), new Date(t.getTime() + 1000));
    expect([...won].sort()).toEqual(['b-3', 'b-4']);
    expect([...(await s.claimMany([{ id: 'b-1', scenario: 'x' }, { id: 'b-2', scenario: 'x' }], new Date(t.getTime() + 200_000)))]).toEqual(['b-1']); // b-1 abandoned, b-2 emitted
    const ids = Array.from({ length: 300 }, (_, i) => ({ id: `c-${i}`, scenario: 'x' }));
    const [a, b] = await Promise.all([s.claimMany(ids, t), s.claimMany([...ids].reverse(), t)]);
    expect(a.size + b.size).toBe(300);
    expect([...a].filter((x) => b.has(x))).toEqual([]);
  });

  it('a store seeded from the decision log knows the decided events, emitted claims and expiry marks', async () => {
    const s = fresh();
    const id60 = notificationId('permit_expiry_warning', 'REG-1', '2027-03-01:60');
    const id90 = notificationId('permit_expiry_warning', 'REG-1', '2027-03-01:90');
    await s.save({ ...initialState('REG-1'), tanggal_berakhir: '2027-03-01', telepon_pemohon: '+6281234567890' });
    for (const d of [
      decision({ notificationId: id60, causationId: 'schedule:daily:2027-01-02' }),
      decision({ decision: 'SKIPPED', notificationId: id90, causationId: 'schedule:daily:2027-01-02', reason: 'superseded' }),
      decision({ decision: 'CANCELLED', notificationId: notificationId('permit_expiry_warning', 'REG-1', '2027-03-01:30'), causationId: 'evt-9', reason: 'x' }),
      decision({ decision: 'SKIPPED', scenario: 'status_update', causationId: 'evt-7', reason: 'recipient opted out of WhatsApp notifications' }),
    ]) { await s.recordPastDecision(d); await s.recordPastDecision(d); } // replayed twice: same result
    expect([await s.eventDecided('evt-7'), await s.eventDecided('evt-9'), await s.eventDecided('evt-8')]).toEqual([true, true, false]);
    expect(await s.claimPlanned(id60, 'permit_expiry_warning', new Date('2030-01-01'))).toBe(false);
    expect((await s.scheduled())[0]!.expiryPlanned).toEqual({}); // digests need no marks
    const [p] = await s.scheduled('2027-01-02');
    expect(p!.expiryPlanned).toEqual({ '2027-03-01': [60, 90] }); // the cancelled 30-day one stays plannable
  });

  it('property: opt-in state is the latest event per number, whatever order the events are applied in', async () => {
    const s = fresh();
    let n = 0;
    await fc.assert(fc.asyncProperty(fc.array(fc.record({ out: fc.boolean(), at: fc.integer({ min: 1, max: 1_000_000 }) }), { minLength: 1, maxLength: 8 }), async (events) => {
      const phone = `+62812000${String(++n).padStart(5, '0')}`;
      for (const e of events) await s.putContact(phone, e.out, e.at, 'meta');
      const latest = Math.max(...events.map((e) => e.at));
      const c = await s.contact(phone);
      expect(c!.at).toBe(latest);
      expect(events.filter((e) => e.at === latest).map((e) => e.out)).toContain(c!.optedOut);
    }), { numRuns: 25 });
  });
});
