import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Kafka, logLevel } from 'kafkajs';
import { EventProducer, ensureTopics } from '@sicantik/kafka';
import { createMetrics, keyRing, legacyKey, loadOpenApi, opsRouter, parseApiKeys, withDocs } from '@sicantik/observability';
import { configuredProviders } from '@sicantik/providers';
import { SchemaCodec, type NotificationRendered } from '@sicantik/schemas';
import { SECRETS, startHarness, type Harness } from '../../../../../tools/provider-simulator/src/testHarness';
import { documentedOperations, servedOperations } from '../../../../../test/support/apiDocs';
import { silentLogger, stack, uniq } from '../../../../../test/support';
import { ContactBook } from '../../domain/contacts';
import { dispatchRecord } from '../../domain/ledger';
import { defaultMetaTemplates } from '../../domain/outbound';
import { Pacer, parseRates } from '../../domain/pacing';
import { kafkaChangelog } from '../kafkaChangelog';
import { LedgerPartitions } from '../ledgerPartitions';
import type { OperatorDeps } from '../operators';
import { fetchExecutor } from './executor';
import { ProviderGateway } from '../providers/gateway';
import { createAdminApp } from './admin';

////////// The admin API against the provider simulator (test connection, test send) and a
// real dispatch.ledger (in-doubt sends); the OpenAPI document equals the served routes.

const TOKEN = 'it-admin-token-000000001';
const ANALYST = 'it-analyst-key-00000001';
const OPERATOR = 'it-operator-key-0000001';
const KEYS = keyRing(parseApiKeys(`dash:analyst:${ANALYST},sre:operator:${OPERATOR}`), legacyKey('ADMIN_API_TOKEN', TOKEN, 'admin'));
const NOT_IN = '+6281200001111';
const IN = '+6281200002222';

describe('provider-dispatcher admin API', () => {
  let sim: Harness;
  let server: Server;
  let url: string;
  let gateway: ProviderGateway;
  const logged: string[] = [];
  const prefix = `${uniq('it-admin-')}.`;
  const kafka = new Kafka({ brokers: stack.brokers, clientId: uniq('it-admin-'), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
  const producer = EventProducer.create(kafka, codec);

  beforeAll(async () => {
    sim = await startHarness({ statuses: [] });
    await admin.connect();
    await ensureTopics(admin, { prefix, partitions: 2, replicationFactor: 1 }, ['dispatch.ledger']);
    await codec.register(['dispatch.ledger']);
    await producer.connect();
    gateway = new ProviderGateway({
      providers: configuredProviders({
        META_ACCESS_TOKEN: SECRETS.metaAccessToken, META_PHONE_NUMBER_ID: '100000000000001', META_BASE_URL: `${sim.url}/meta`, META_TEMPLATES: defaultMetaTemplates(),
        FONNTE_TOKEN: SECRETS.fonnteToken, FONNTE_BASE_URL: `${sim.url}/fonnte`,
      }, { roles: ['send'] }),
      executor: fetchExecutor, timeoutMs: 5000, breaker: { errorPercent: 50, volume: 100, windowMs: 10_000, resetMs: 30_000 },
    });
    const contacts = new ContactBook();
    contacts.apply({ phone: IN, kind: 'OPTED_IN', occurredAt: 1 });
    const pacer = new Pacer({ rates: parseRates('meta=80/s,fonnte=60/min'), pairRates: new Map(), quotas: new Map([['fonnte', 1000]]), partitions: 2 });
    pacer.setOwned(1);
    const ledger = new LedgerPartitions(kafkaChangelog({ kafka, admin, codec, readerGroup: () => uniq(`${prefix}reader-`) }), silentLogger());
    const operators: OperatorDeps = {
      routing: { chain: ['meta', 'fonnte'], optInRequired: new Set(['meta']) }, configured: ['meta', 'fonnte'], sender: gateway,
      contact: (p) => contacts.of(p), pacer, now: () => Date.now(), optInLink: { url: 'https://wa.me/6281100000000?text=MULAI', text: 'Aktifkan: {link}' },
      budgetUse: { owned: () => [1], usedToday: () => 7 }, inDoubt: () => ledger.readAll(2), settings: { retry: { maxAttempts: 3 } },
    };
    const sink = new Writable({ write(chunk, _enc, cb) { logged.push(String(chunk)); cb(); } });
    const app = createAdminApp({ operators, keys: KEYS, logger: pino({ level: 'info' }, sink), ops: opsRouter(createMetrics('it-admin'), []) });
    server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    gateway.close();
    await new Promise((r) => server.close(r));
    await sim.close();
    await producer.disconnect(); await admin.disconnect();
  });

  const call = async (method: string, p: string, body?: unknown, token = TOKEN) => {
    const r = await fetch(`${url}${p}`, { method, headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, body: await r.json() as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  it('answers 401 with WWW-Authenticate without a key or with an unknown one', async () => {
    const none = await fetch(`${url}/v1/admin/providers`);
    expect([none.status, none.headers.get('www-authenticate')]).toEqual([401, 'Bearer realm="sicantik"']);
    expect(await call('GET', '/v1/admin/providers', undefined, 'wrong-token-000000000000')).toEqual({ status: 401, body: { error: 'unauthorized', message: 'the Bearer key is not known' } });
  });

  it('roles: an analyst reads the providers but gets 403 naming the role on operator routes; an operator and the legacy admin token pass', async () => {
    expect((await call('GET', '/v1/admin/providers', undefined, ANALYST)).status).toBe(200);
    const forbidden = { status: 403, body: { error: 'forbidden', requiredRole: 'operator', message: 'this needs the role operator (or higher); the key dash has the role analyst' } };
    expect(await call('GET', '/v1/admin/in-doubt', undefined, ANALYST)).toEqual(forbidden);
    expect(await call('POST', '/v1/admin/test-send', { to: IN, dryRun: true }, ANALYST)).toEqual(forbidden);
    expect(await call('POST', '/v1/admin/providers/meta/check', undefined, ANALYST)).toEqual(forbidden);
    expect((await call('POST', '/v1/admin/test-send', { to: IN, dryRun: true }, OPERATOR)).status).toBe(200);
    expect((await call('GET', '/v1/admin/providers', undefined, TOKEN)).status).toBe(200);
  });

  it('GET /v1/admin/providers: chain, circuits, this instance\'s budgets', async () => {
    const r = await call('GET', '/v1/admin/providers');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ chain: ['meta', 'fonnte'], optInRequired: ['meta'], share: { partitionsOwned: 1, partitions: 2, fraction: 0.5 } });
    const [meta, fonnte] = r.body.providers;
    expect(meta).toMatchObject({ name: 'meta', inChain: true, requiresOptIn: true, statusLookup: false, circuit: { state: 'closed' }, budget: { rate: { limit: 80, periodMs: 1000, share: 0.5, allowance: 40 } } });
    expect(fonnte).toMatchObject({ name: 'fonnte', budget: { rate: { limit: 60, allowance: 30 }, dailyQuota: { quota: 1000, partitionsOwned: 1, allowanceOwned: 500, usedTodayOwned: 7 } } });
  });

  it('POST /v1/admin/providers/:name/check runs the provider\'s test connection at the simulator', async () => {
    const meta = await call('POST', '/v1/admin/providers/meta/check');
    expect(meta.status).toBe(200);
    expect(meta.body).toMatchObject({ provider: 'meta', ok: true, checks: 'the access token is valid and can read the configured phone-number id' });
    const fonnte = await call('POST', '/v1/admin/providers/fonnte/check');
    expect(fonnte.body).toMatchObject({ provider: 'fonnte', ok: true });
    const accounts = await (await fetch(`${sim.url}/_sim/requests?kind=account`)).json() as { provider: string }[];
    expect(accounts.map((a) => a.provider)).toEqual(expect.arrayContaining(['meta', 'fonnte']));
    expect(await call('POST', '/v1/admin/providers/twilio/check')).toMatchObject({ status: 400, body: { issues: [{ path: 'name', message: 'one of meta, fonnte' }] } });
  });

  it('POST /v1/admin/test-send: automatic routing explained (dry run), a real send, a forced provider; the number is masked, never logged in full', async () => {
    const dry = await call('POST', '/v1/admin/test-send', { to: '0812-0000-1111', dryRun: true });
    expect(dry.body).toEqual({
      to: '+628******1111', accepted: false,
      decision: { contact: { optedIn: false, optedOut: false }, chain: ['meta', 'fonnte'], provider: 'fonnte', reason: 'NOT_OPTED_IN', detail: 'fonnte: the contact has not opted in, so a gateway with the opt-in link', optInLinkAppended: true, passedOver: [] },
    });
    const sent = await call('POST', '/v1/admin/test-send', { to: IN, text: 'Uji coba' });
    expect(sent.body).toMatchObject({ accepted: true, decision: { provider: 'meta', reason: 'OPTED_IN' }, result: { kind: 'accepted', providerMessageId: expect.stringMatching(/^wamid\./) } });
    const forced = await call('POST', '/v1/admin/test-send', { to: NOT_IN, provider: 'meta', text: 'Uji coba paksa' });
    expect(forced.body).toMatchObject({ accepted: true, decision: { provider: 'meta', reason: 'FORCED', detail: 'forced to meta by the operator (automatic routing would not use meta: the contact has not opted in)' } });
    const reqs = await (await fetch(`${sim.url}/_sim/requests?kind=send`)).json() as { provider: string; recipient: string; body: { type?: string; text?: { body: string } } }[];
    expect(reqs.filter((q) => q.recipient === IN || q.recipient === NOT_IN).map((q) => [q.provider, q.recipient, q.body.type, q.body.text?.body])).toEqual([['meta', IN, 'text', 'Uji coba'], ['meta', NOT_IN, 'text', 'Uji coba paksa']]);
    expect(await call('POST', '/v1/admin/test-send', { to: 'abc' })).toMatchObject({ status: 400, body: { issues: [{ path: 'to' }] } });
    expect(await call('POST', '/v1/admin/test-send', { to: IN, provider: 'vonage' })).toMatchObject({ status: 400, body: { issues: [{ path: 'provider' }] } });
    expect(await call('POST', '/v1/admin/test-send', { to: IN, extra: 1 })).toMatchObject({ status: 400 });
    const log = logged.join('');
    expect(log).toContain('"msg":"test send"');
    for (const full of [IN, NOT_IN, IN.slice(1), NOT_IN.slice(1)]) expect(log).not.toContain(full);
  });

  it('GET /v1/admin/in-doubt lists every notification whose latest record is IN_DOUBT, from the whole ledger', async () => {
    const n = (i: number): NotificationRendered => ({
      eventId: `r-${i}`, occurredAt: 0, correlationId: 'c', causationId: null, notificationId: `${prefix}n-${i}`, scenario: 'permit_ready', templateCode: 'permit_ready', templateVersion: 1,
      pendaftaran_id: `REG-${i}`, recipient: { kind: 'APPLICANT', id: 'x', name: null, phone: IN }, outcome: 'RENDERED', text: 'x', parameters: [], language: 'id', failureReason: null,
    });
    await producer.send([
      { topic: 'dispatch.ledger', key: n(1).notificationId, partition: 0, value: dispatchRecord(n(1), 'SENDING', 1, 'meta', 1000) },
      { topic: 'dispatch.ledger', key: n(1).notificationId, partition: 0, value: dispatchRecord(n(1), 'IN_DOUBT', 1, 'meta', 2000, { errorCode: 'TIMEOUT', reason: 'no answer within 10000 ms' }) },
      { topic: 'dispatch.ledger', key: n(2).notificationId, partition: 1, value: dispatchRecord(n(2), 'IN_DOUBT', 2, 'fonnte', 3000, { errorCode: 'ECONNRESET' }) },
      { topic: 'dispatch.ledger', key: n(3).notificationId, partition: 1, value: dispatchRecord(n(3), 'SENDING', 1, 'meta', 4000) },
      { topic: 'dispatch.ledger', key: n(3).notificationId, partition: 1, value: dispatchRecord(n(3), 'ACCEPTED', 1, 'meta', 5000) },
    ]);
    const r = await call('GET', '/v1/admin/in-doubt');
    expect(r.body).toEqual({ total: 2, items: [
      { notificationId: n(1).notificationId, pendaftaran_id: 'REG-1', scenario: 'permit_ready', provider: 'meta', attempt: 1, since: new Date(2000).toISOString(), errorCode: 'TIMEOUT', reason: 'no answer within 10000 ms', providerMessageId: null },
      { notificationId: n(2).notificationId, pendaftaran_id: 'REG-2', scenario: 'permit_ready', provider: 'fonnte', attempt: 2, since: new Date(3000).toISOString(), errorCode: 'ECONNRESET', reason: null, providerMessageId: null },
    ] });
    // The unmasked read (provider message ids, the providers' reasons) is logged once, with the key's name, never the key.
    const before = logged.length;
    expect((await call('GET', '/v1/admin/in-doubt', undefined, OPERATOR)).body.total).toBe(2);
    const reads = logged.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'unmasked personal data read');
    expect(reads.map(({ keyName, role, route, records }) => ({ keyName, role, route, records }))).toEqual([{ keyName: 'sre', role: 'operator', route: 'GET /v1/admin/in-doubt', records: 2 }]);
    for (const k of [OPERATOR, ANALYST, TOKEN]) expect(logged.join('')).not.toContain(k);
    expect((await call('GET', '/v1/admin/in-doubt?limit=1')).body.items).toHaveLength(1);
    expect((await call('GET', '/v1/admin/in-doubt?limit=0')).status).toBe(400);
  });

  it('the OpenAPI document lists exactly the operations the app serves', () => {
    const app = createAdminApp({ operators: {} as OperatorDeps, keys: KEYS, logger: silentLogger(), ops: withDocs(opsRouter(createMetrics('docs'), []), loadOpenApi(path.resolve(__dirname, '../../../openapi.yaml'))) });
    expect(documentedOperations(path.resolve(__dirname, '../../../openapi.yaml'))).toEqual(servedOperations(app));
  });
});
