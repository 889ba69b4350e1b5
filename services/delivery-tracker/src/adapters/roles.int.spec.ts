import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { MongoClient } from 'mongodb';
import pino from 'pino';
import { createMetrics, keyRing, legacyKey, opsRouter, parseApiKeys } from '@sicantik/observability';
import type { NotificationDispatchRecorded, NotificationRequested, PlannerDecisionRecorded } from '@sicantik/schemas';
import { stack, uniq } from '../../../../test/support';
import { createApp } from './http';
import { DecisionProjection } from './projections/decisions';
import { messageRefOf } from './projections/messageRef';
import { NotificationProjection } from './projections/store';

////////// Roles on the statistics and privacy APIs: real HTTP, real projections on the database

const ANALYST = 'analyst-key-0000000001';
const OPERATOR = 'operator-key-000000001';
const ADMIN = 'admin-key-000000000001';
const LEGACY_STATS = 'legacy-stats-token-0001';
const LEGACY_ADMIN = 'legacy-admin-token-0001';
const PHONE = '+6281234567890';
const WAMID = 'wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjQ2';
const t0 = Date.parse('2026-11-22T02:00:00Z');

const requested: NotificationRequested = {
  eventId: 'q-n1', occurredAt: t0, correlationId: 'c', causationId: null, notificationId: 'n1', scenario: 'permit_ready', templateCode: 'permit_ready',
  pendaftaran_id: 'REG-1', recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi Santoso', phone: PHONE }, variables: {}, items: [], locale: 'id',
};
const dispatch = (status: NotificationDispatchRecorded['status'], extra: Partial<NotificationDispatchRecorded>): NotificationDispatchRecorded => ({
  eventId: `d-n1-${status}`, occurredAt: t0 + 1000, correlationId: 'c', causationId: null, notificationId: 'n1', pendaftaran_id: 'REG-1',
  scenario: 'permit_ready', templateCode: 'permit_ready', recipientKind: 'APPLICANT', provider: 'meta', status, providerMessageId: null, attempt: 1, errorCode: null, reason: null, ...extra,
});
const decision: PlannerDecisionRecorded = {
  eventId: 'pd-1', occurredAt: t0, correlationId: 'c', causationId: null, decision: 'SKIPPED', scenario: 'permit_ready', pendaftaran_id: 'REG-1',
  notificationId: null, recipientKind: 'APPLICANT', recipientId: 'REG-1', reason: `number ${PHONE} opted out`, reasonCode: 'OPTED_OUT',
};

describe('roles on the tracker statistics and privacy APIs (real HTTP and database)', () => {
  let client: MongoClient; let server: Server; let url: string; const db = uniq('it_roles_');
  let log = '';
  beforeAll(async () => {
    client = await MongoClient.connect(stack.mongoUrl);
    const notes = new NotificationProjection(client.db(db), {}, { messageRefOf: messageRefOf(Buffer.alloc(32, 7)) });
    await notes.init();
    const decisions = new DecisionProjection(client.db(db), notes.col);
    await decisions.init();
    await notes.apply({ topic: 'notification.requests', partition: 0, records: [{ offset: '0', value: requested }] });
    await notes.apply({ topic: 'notification.dispatch', partition: 0, records: [
      { offset: '0', value: dispatch('ACCEPTED', { providerMessageId: WAMID }) },
      { offset: '1', value: dispatch('FAILED', { occurredAt: t0 + 2000, errorCode: 'meta:131026', reason: `recipient ${PHONE} is not on WhatsApp` }) },
    ] });
    await decisions.apply({ topic: 'planner.decisions', partition: 0, records: [{ offset: '0', value: decision }] } as never);
    const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { log += String(chunk); cb(); } }));
    const keys = keyRing(parseApiKeys(`dash:analyst:${ANALYST},sre:operator:${OPERATOR},dpo:admin:${ADMIN}`),
      legacyKey('STATS_API_TOKEN', LEGACY_STATS, 'operator'), legacyKey('ADMIN_API_TOKEN', LEGACY_ADMIN, 'admin'));
    const app = createApp({
      role: 'projection', ops: opsRouter(createMetrics('it-roles'), []), logger, projection: notes, decisions, keys,
      privacy: {
        keys, now: () => t0, newRequestId: () => 'r-1', requests: new Map(), logger,
        publish: () => Promise.reject(new Error('not published in this test')),
      },
    });
    server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await client.db(db).dropDatabase(); await client.close();
  });
  beforeEach(() => { log = ''; });

  const get = async (path: string, key?: string) => {
    const r = await fetch(`${url}${path}`, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
    return { status: r.status, body: await r.json() as Record<string, unknown>, auth: r.headers.get('www-authenticate') };
  };
  const lines = () => log.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

  it('an analyst reads the notification with the provider message id hidden and numbers masked; nothing is logged', async () => {
    const r = await get('/v1/stats/notifications/n1', ANALYST);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ _id: 'n1', status: 'failed', provider: 'meta', errorCode: 'meta:131026', providerMessageId: '****', failureReason: 'recipient +62812****7890 is not on WhatsApp' });
    expect(JSON.stringify(r.body)).not.toContain('1234567890');
    const d = await get('/v1/stats/decisions?pendaftaran_id=REG-1', ANALYST);
    expect(d.status).toBe(200);
    expect((d.body.decisions as { reason: string }[]).map((x) => x.reason)).toEqual(['number +62812****7890 opted out']);
    expect((await get('/v1/stats/summary', ANALYST)).body).toMatchObject({ total: 1, failed: 1 });
    expect(lines().filter((l) => l.msg === 'unmasked personal data read')).toEqual([]);
  });

  it('an analyst gets 403 naming the role on the privacy API (admin)', async () => {
    const r = await get('/v1/privacy/requests', ANALYST);
    expect(r).toMatchObject({ status: 403, body: { error: 'forbidden', requiredRole: 'admin', message: 'this needs the role admin (or higher); the key dash has the role analyst' } });
    expect((await get('/v1/privacy/requests', OPERATOR)).body).toMatchObject({ requiredRole: 'admin', message: 'this needs the role admin (or higher); the key sre has the role operator' });
    expect((await get('/v1/privacy/requests', ADMIN)).status).toBe(200);
    expect((await get('/v1/privacy/requests', LEGACY_ADMIN)).status).toBe(200);
    expect((await get('/v1/privacy/requests', LEGACY_STATS)).status).toBe(403);
  });

  it('an operator reads it unmasked, logged exactly once with the key\'s name and never the key', async () => {
    const r = await get('/v1/stats/notifications/n1', OPERATOR);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ providerMessageId: WAMID, failureReason: `recipient ${PHONE} is not on WhatsApp` });
    const read = lines().filter((l) => l.msg === 'unmasked personal data read');
    expect(read.map(({ keyName, role, route, records }) => ({ keyName, role, route, records })))
      .toEqual([{ keyName: 'sre', role: 'operator', route: 'GET /v1/stats/notifications/:id', records: 1 }]);
    for (const k of [OPERATOR, ANALYST, ADMIN, LEGACY_STATS, LEGACY_ADMIN]) expect(log).not.toContain(k);
  });

  it('the legacy STATS_API_TOKEN is accepted as an operator (unmasked), logged under its variable name', async () => {
    const r = await get('/v1/stats/notifications/n1', LEGACY_STATS);
    expect(r.body).toMatchObject({ providerMessageId: WAMID });
    expect(lines().filter((l) => l.msg === 'unmasked personal data read').map((l) => l.keyName)).toEqual(['STATS_API_TOKEN']);
    expect(log).not.toContain(LEGACY_STATS);
  });

  it('401 with WWW-Authenticate without a key or with an unknown one', async () => {
    expect(await get('/v1/stats/summary')).toEqual({ status: 401, body: { error: 'unauthorized', message: 'a valid Bearer key is required' }, auth: 'Bearer realm="sicantik"' });
    expect(await get('/v1/stats/summary', 'unknown-key-00000000001')).toEqual({ status: 401, body: { error: 'unauthorized', message: 'the Bearer key is not known' }, auth: 'Bearer realm="sicantik", error="invalid_token"' });
    expect(await get('/v1/privacy/requests')).toMatchObject({ status: 401, auth: 'Bearer realm="sicantik"' });
  });
});
