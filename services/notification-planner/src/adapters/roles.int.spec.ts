import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createMetrics, keyRing, legacyKey, opsRouter, parseApiKeys } from '@sicantik/observability';
import { createAdminApp } from './http';
import { PlannerMemory } from './memory';

////////// Roles on the planner's admin API over real HTTP: the directory as an analyst (masked) and an operator (logged)

const ANALYST = 'analyst-key-0000000001';
const OPERATOR = 'operator-key-000000001';
const ADMIN = 'legacy-admin-token-0001';
const PHONE = '+6281234567890';

describe('planner admin API roles (real HTTP)', () => {
  let server: Server; let url: string; let log = '';
  beforeAll(async () => {
    const memory = new PlannerMemory();
    memory.putDirectory({ id: 'kadis', role: 'OFFICIAL', name: 'Budi Santoso Ginting', phone: PHONE, jenisIzin: ['*'], active: true, zone: null, subjectId: null });
    memory.putContact(PHONE, true, Date.parse('2026-11-22T02:00:00Z'), 'meta');
    const keys = keyRing(parseApiKeys(`dash:analyst:${ANALYST},sre:operator:${OPERATOR}`), legacyKey('ADMIN_API_TOKEN', ADMIN, 'admin'));
    const app = createAdminApp({
      keys, memory, now: () => new Date(0), ops: opsRouter(createMetrics('it-planner-roles'), []),
      logger: pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { log += String(chunk); cb(); } })),
      runSchedule: () => Promise.reject(new Error('no schedule runs in this test')), publishDirectory: () => Promise.reject(new Error('nothing published in this test')),
    });
    server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => { await new Promise((r) => server.close(r)); });
  beforeEach(() => { log = ''; });
  const call = async (method: string, path: string, key: string, body?: unknown) => {
    const r = await fetch(`${url}${path}`, { method, headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: r.status, body: await r.json() as unknown };
  };
  const reads = () => log.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'unmasked personal data read')
    .map(({ keyName, role, route, records }) => ({ keyName, role, route, records }));

  it('an analyst sees the directory with the number masked and the name as initials, and the contact masked; nothing logged', async () => {
    expect(await call('GET', '/v1/admin/directory', ANALYST)).toEqual({ status: 200, body: [
      { id: 'kadis', role: 'OFFICIAL', name: 'B. S. G.', phone: '+62812****7890', jenisIzin: ['*'], active: true, zone: null, subjectId: null },
    ] });
    expect(await call('GET', '/v1/admin/contacts/081234567890', ANALYST)).toEqual({ status: 200, body: { phone: '+62812****7890', optedOut: true, since: '2026-11-22T02:00:00.000Z', provider: 'meta' } });
    expect(reads()).toEqual([]);
  });

  it('an operator sees them as stored; each read logged once with the key\'s name and never the key or the number', async () => {
    expect((await call('GET', '/v1/admin/directory', OPERATOR)).body).toEqual([expect.objectContaining({ name: 'Budi Santoso Ginting', phone: PHONE })]);
    expect((await call('GET', '/v1/admin/contacts/081234567890', OPERATOR)).body).toMatchObject({ phone: PHONE });
    expect(reads()).toEqual([
      { keyName: 'sre', role: 'operator', route: 'GET /v1/admin/directory', records: 1 },
      { keyName: 'sre', role: 'operator', route: 'GET /v1/admin/contacts/:phone', records: 1 },
    ]);
    for (const s of [OPERATOR, ANALYST, ADMIN, PHONE, PHONE.slice(1), 'Budi']) expect(log).not.toContain(s);
  });

  it('directory changes and schedule runs need admin: 403 naming the role for an operator', async () => {
    const forbidden = { status: 403, body: { error: 'forbidden', requiredRole: 'admin', message: 'this needs the role admin (or higher); the key sre has the role operator' } };
    expect(await call('PUT', '/v1/admin/directory/kadis', OPERATOR, { role: 'STAFF', name: 'X', phone: PHONE, jenisIzin: ['*'] })).toEqual(forbidden);
    expect(await call('POST', '/v1/admin/schedules/daily/run', OPERATOR, { date: '2026-11-30' })).toEqual(forbidden);
    expect((await call('PUT', '/v1/admin/directory/kadis', ADMIN, { role: 'STAFF', name: 'X', phone: 'abc', jenisIzin: ['*'] })).status).toBe(400); // past the role check
  });
});
