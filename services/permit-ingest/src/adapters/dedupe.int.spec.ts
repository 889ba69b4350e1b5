import { MongoClient, type Db } from 'mongodb';
import { TransientError } from '@sicantik/core';
import { stack, uniq } from '../../../../test/support';
import { EventIdLedger } from './dedupe';

////////// The claim ledger on the MongoDB-compatible database: one publish per event id

describe('EventIdLedger on the MongoDB-compatible database', () => {
  let client: MongoClient; let db: Db; const dbName = uniq('it_ingest_');
  beforeAll(async () => { client = await MongoClient.connect(stack.mongoUrl); db = client.db(dbName); });
  afterAll(async () => { await db.dropDatabase(); await client.close(); });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** A publish that records its calls, optionally slow or failing. */
  const publisher = (opts: { delayMs?: number; fail?: number } = {}) => {
    let failures = opts.fail ?? 0;
    const calls: string[] = [];
    const publish = (id: string) => async () => {
      calls.push(id);
      await sleep(opts.delayMs ?? 20);
      if (failures-- > 0) throw new TransientError('produce failed: broker down');
    };
    return { calls, publish };
  };
  const outcomes = (xs: PromiseSettledResult<string>[]) => xs.map((x) => (x.status === 'fulfilled' ? x.value : `error: ${(x.reason as Error).message}`)).sort();

  it('publishes once for many concurrent requests in one instance, and once across two instances', async () => {
    const a = new EventIdLedger(db, { instance: 'a' }), b = new EventIdLedger(db, { instance: 'b' });
    const p = publisher({ delayMs: 100 });
    const one = await Promise.allSettled(Array.from({ length: 8 }, () => a.acceptOnce('evt-one', 'REG-1', p.publish('evt-one'))));
    expect(outcomes(one)).toEqual(['accepted', ...Array(7).fill('duplicate')]);
    const two = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).acceptOnce('evt-two', 'REG-1', p.publish('evt-two'))));
    expect(outcomes(two)).toEqual(['accepted', ...Array(9).fill('duplicate')]);
    expect(p.calls).toEqual(['evt-one', 'evt-two']);
    // Later repeats are duplicates at either instance, and the success path only inserted.
    expect(await b.acceptOnce('evt-one', 'REG-1', p.publish('evt-one'))).toBe('duplicate');
    expect(await a.done.findOne({ _id: 'evt-two' })).toMatchObject({ pendaftaran_id: 'REG-1' });
    expect(await a.claims.countDocuments({ _id: { $in: ['evt-one', 'evt-two'] } })).toBe(2);
  });

  it('an event id recorded before claims existed stays a duplicate (claimed once per database, at start)', async () => {
    const old = client.db(`${dbName}_old`);
    try {
      // Done records from before claims existed, one of them also claimed (a later version).
      await old.collection<{ _id: string; pendaftaran_id: string; at: Date }>('ingested_event_ids').insertMany([
        { _id: 'evt-legacy', pendaftaran_id: 'REG-0', at: new Date('2026-01-01T00:00:00Z') },
        { _id: 'evt-claimed', pendaftaran_id: 'REG-0', at: new Date('2026-02-01T00:00:00Z') },
      ]);
      await old.collection<{ _id: string; at: Date; instance: string }>('ingest_claims').insertOne({ _id: 'evt-claimed', at: new Date('2026-02-01T00:00:00Z'), instance: 'v1' });
      const a = new EventIdLedger(old);
      const p = publisher();
      expect(await a.acceptOnce('evt-legacy', 'REG-0', p.publish('evt-legacy'))).toBe('duplicate');
      expect(await new EventIdLedger(old).acceptOnce('evt-claimed', 'REG-0', p.publish('evt-claimed'))).toBe('duplicate');
      expect(p.calls).toEqual([]);
      expect(await a.claims.find().sort({ _id: 1 }).toArray()).toEqual([
        { _id: 'evt-claimed', at: new Date('2026-02-01T00:00:00Z'), instance: 'v1' },
        { _id: 'evt-legacy', at: new Date('2026-01-01T00:00:00Z'), instance: 'recorded-before-claims' },
      ]);
      expect(await a.meta.findOne({ _id: 'done-records-claimed' })).toBeTruthy();
    } finally {
      await old.dropDatabase();
    }
  });

  it('the success path only inserts (no read at all); a request that loses its claim looks the id up by _id, never with $in', async () => {
    const watched = await MongoClient.connect(stack.mongoUrl, { monitorCommands: true });
    try {
      const a = new EventIdLedger(watched.db(dbName), { instance: 'watched', pollMs: 20 });
      await a.prepare();
      const seen: string[] = [];
      watched.on('commandStarted', (e) => {
        if (e.databaseName !== dbName) return;
        const c = e.command as Record<string, unknown>;
        seen.push(`${e.commandName} ${String(c[e.commandName])}${c.filter ? ` ${JSON.stringify(c.filter)}` : ''}`);
      });
      const p = publisher({ delayMs: 50 });
      const ids = ['evt-fast-1', 'evt-fast-2', 'evt-fast-3'];
      expect(await Promise.all(ids.map((id) => a.acceptOnce(id, 'REG-5', p.publish(id))))).toEqual(['accepted', 'accepted', 'accepted']);
      expect(seen.every((c) => /^insert (ingest_claims|ingested_event_ids)$/.test(c))).toBe(true);
      expect(seen.filter((c) => c === 'insert ingest_claims')).not.toHaveLength(0);
      seen.length = 0;
      // Another instance holds evt-slow: the waiter polls the done record and the claim by _id.
      const other = new EventIdLedger(db, { instance: 'other' });
      const holder = other.acceptOnce('evt-slow', 'REG-5', publisher({ delayMs: 200 }).publish('evt-slow'));
      await sleep(50);
      expect(await a.acceptOnce('evt-slow', 'REG-5', p.publish('evt-slow'))).toBe('duplicate');
      expect(await holder).toBe('accepted');
      expect(seen).toContain('find ingested_event_ids {"_id":"evt-slow"}');
      expect(seen).toContain('find ingest_claims {"_id":"evt-slow"}');
      expect(seen.join('\n')).not.toMatch(/\$in/);
      expect(p.calls).toEqual(ids);
    } finally {
      await watched.close();
    }
  });

  it('when the winner cannot publish, it fails (retriable) and a waiting request of another instance publishes', async () => {
    const a = new EventIdLedger(db, { instance: 'a' }), b = new EventIdLedger(db, { instance: 'b', pollMs: 20 });
    const p = publisher({ delayMs: 150, fail: 1 });
    const first = a.acceptOnce('evt-fail', 'REG-2', p.publish('evt-fail'));
    await sleep(50); // a holds the claim and is publishing
    const waiting = b.acceptOnce('evt-fail', 'REG-2', p.publish('evt-fail'));
    await expect(first).rejects.toMatchObject({ retriable: true });
    expect(await waiting).toBe('accepted');
    expect(p.calls).toEqual(['evt-fail', 'evt-fail']);
    expect(await a.acceptOnce('evt-fail', 'REG-2', p.publish('evt-fail'))).toBe('duplicate');
  });

  it('in one instance, a request that shared a failed attempt tries again itself', async () => {
    const a = new EventIdLedger(db);
    const p = publisher({ delayMs: 100, fail: 1 });
    const rs = await Promise.allSettled(Array.from({ length: 4 }, () => a.acceptOnce('evt-fail-local', 'REG-3', p.publish('evt-fail-local'))));
    expect(outcomes(rs)).toEqual(['accepted', 'duplicate', 'duplicate', 'error: produce failed: broker down']);
    expect(p.calls).toHaveLength(2);
  });

  it('a request that waits too long for another holder answers a retriable error; a stale claim is taken over', async () => {
    const a = new EventIdLedger(db, { waitMs: 300, pollMs: 20, staleMs: 60_000 });
    await a.claims.insertOne({ _id: 'evt-stuck', at: new Date(), instance: 'crashed' });
    const p = publisher();
    const err = await a.acceptOnce('evt-stuck', 'REG-4', p.publish('evt-stuck')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(/being accepted by another request/);
    expect(p.calls).toEqual([]);
    // The holder crashed long ago (claim older than staleMs, no done record): taken over and published.
    await a.claims.insertOne({ _id: 'evt-crashed', at: new Date(Date.now() - 61_000), instance: 'crashed' });
    expect(await a.acceptOnce('evt-crashed', 'REG-4', p.publish('evt-crashed'))).toBe('accepted');
    expect(await a.claims.findOne({ _id: 'evt-crashed' })).toMatchObject({ instance: expect.not.stringMatching(/^crashed$/) });
    expect(p.calls).toEqual(['evt-crashed']);
  });
});
