import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { MongoClient } from 'mongodb';
import pino from 'pino';
import { createMetrics, keyRing, opsRouter, parseApiKeys } from '@sicantik/observability';
import { stack, uniq, waitFor } from '../../../../test/support';
import { lagFixture, type LagFixture } from '../../../../test/support/lagFixture';
import { createApp } from './http';
import { LagMonitor } from './lag';
import { DecisionProjection } from './projections/decisions';
import { messageRefOf } from './projections/messageRef';
import { NotificationProjection } from './projections/store';

////////// GET /v1/ops/lag (the dashboard's consumer lag) on the real broker: groups with known
// lags (offsets committed with the admin client), a group that never commits, real HTTP.

const ANALYST = 'analyst-key-0000000001';

describe('the tracker\'s lag endpoint', () => {
  const prefix = `${uniq('it-lag-')}.`;
  const db = uniq('it_lag_');
  let fx: LagFixture; let admin: LagFixture['admin']; let producer: LagFixture['producer']; let topic: string;
  let client: MongoClient; let server: Server; let url: string; let lag: LagMonitor;

  beforeAll(async () => {
    fx = await lagFixture(prefix);
    ({ admin, producer, topic } = fx);
    client = await MongoClient.connect(stack.mongoUrl);
    const notes = new NotificationProjection(client.db(db), {}, { messageRefOf: messageRefOf(Buffer.alloc(32, 7)) });
    await notes.init();
    const decisions = new DecisionProjection(client.db(db), notes.col);
    await decisions.init();
    lag = new LagMonitor({ admin, prefix, intervalMs: 200, window: 150, firstGapMs: 300 });
    const app = createApp({
      role: 'projection', ops: opsRouter(createMetrics('it-lag'), []), logger: pino({ level: 'silent' }), projection: notes, decisions, lag,
      keys: keyRing(parseApiKeys(`dash:analyst:${ANALYST}`)),
    });
    server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await lag.stop();
    await new Promise((r) => server.close(r));
    await fx.close();
    await client.db(db).dropDatabase(); await client.close();
  });

  const get = async (key?: string) => {
    const r = await fetch(`${url}/v1/ops/lag`, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
    return { status: r.status, body: await r.json() as Record<string, unknown> };
  };

  it('needs a key', async () => {
    expect((await get()).status).toBe(401);
    expect((await get('not-a-key-0000000000')).status).toBe(401);
  });

  it('every group of the deployment with its lag per partition and status; the follower listed apart; later requests use the background readings', async () => {
    const started = Date.now();
    const r = await get(ANALYST);
    expect(r.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300); // the first request waits for two readings
    const body = r.body as unknown as { prefix: string; samples: number; from: number; asOf: number; groups: { group: string; status: string; lag: number; partitions: unknown[] }[]; uncommitted: string[] };
    expect(body.prefix).toBe(prefix);
    expect(body.samples).toBe(2);
    expect(body.asOf - body.from).toBeGreaterThanOrEqual(300);
    expect(body.groups).toEqual([
      { group: `${prefix}behind`, status: 'stalled', lag: 6, partitions: [
        { topic: 'permit.events', partition: 0, committed: 4, end: 10, lag: 6, lagChange: 0, committedPerSecond: 0, status: 'stalled' },
        { topic: 'permit.events', partition: 1, committed: 4, end: 4, lag: 0, lagChange: 0, committedPerSecond: 0, status: 'idle' },
      ] },
      { group: `${prefix}done`, status: 'idle', lag: 0, partitions: [
        { topic: 'permit.events', partition: 0, committed: 10, end: 10, lag: 0, lagChange: 0, committedPerSecond: 0, status: 'idle' },
        { topic: 'permit.events', partition: 1, committed: 4, end: 4, lag: 0, lagChange: 0, committedPerSecond: 0, status: 'idle' },
      ] },
    ]);
    expect(body.uncommitted).toEqual([`${prefix}follower`]);
    // The group moves on (2 records still waiting) and a record arrives for `done`: the background readings see both.
    await producer.send({ topic, messages: [{ partition: 1, value: 'b4' }] });
    await admin.setOffsets({ groupId: `${prefix}behind`, topic, partitions: [{ partition: 0, offset: '8' }, { partition: 1, offset: '5' }] });
    let later = body;
    await waitFor(async () => {
      later = (await get(ANALYST)).body as unknown as typeof body;
      return later.samples > 2 && later.groups[0]!.partitions.some((p) => (p as { committed: number }).committed === 8);
    }, { what: 'a background reading after the change' });
    expect(later.groups).toEqual([
      { group: `${prefix}behind`, status: 'catching up', lag: 2, partitions: [
        expect.objectContaining({ partition: 0, committed: 8, end: 10, lag: 2, lagChange: -4, status: 'catching up' }),
        expect.objectContaining({ partition: 1, committed: 5, end: 5, lag: 0, lagChange: 0, status: 'ok' }),
      ] },
      { group: `${prefix}done`, status: 'stalled', lag: 1, partitions: [
        expect.objectContaining({ partition: 0, lag: 0, status: 'idle' }),
        expect.objectContaining({ partition: 1, committed: 4, end: 5, lag: 1, lagChange: 1, status: 'stalled' }),
      ] },
    ]);
  });
});
