import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startInfra, type Followed, type Infra } from '@sicantik/kafka';
import { legacyKey, opsRouter } from '@sicantik/observability';
import { privacySettings, privacyEnv, startPrivacy, type Privacy } from '@sicantik/privacy';
import { z } from 'zod';
import type { PrivacyRequestRecorded } from '@sicantik/schemas';
import { PRIVACY_TEST_ENV, readDecoded, stack, uniq, waitFor } from '../../../../test/support';
import type { PrivacyRequests } from '../domain/privacyRequests';
import { createApp } from './http';
import { ACCESS_NOT_YET, followPrivacyRequests, type PrivacyDeps } from './privacy';

////////// The privacy admin API over real HTTP into a real privacy.requests topic: requests
// are validated, recorded with their deadline, answered 202 and listed while open; a new
// process (following the topic) lists the same.

const ADMIN = 'it-privacy-admin-token-01';
const auth = { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' };
const t0 = Date.parse('2026-12-07T03:00:00Z');
const H = 3_600_000;

describe('privacy admin API (real HTTP and Kafka)', () => {
  let infra: Infra; let prefix: string; let core: Privacy;
  let log = '';
  let now = t0;
  const running: { server: Server; followed: Followed }[] = [];

  /** A tracker's HTTP edge (projection role) with its own view of privacy.requests, as main.ts wires it. */
  async function tracker(ids: string[], erase = false): Promise<{ url: string; requests: PrivacyRequests }> {
    const requests: PrivacyRequests = new Map();
    const followed = await followPrivacyRequests({ infra, groupPrefix: prefix, requests });
    const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { log += String(chunk); cb(); } }));
    const privacy: PrivacyDeps = {
      keys: legacyKey('ADMIN_API_TOKEN', ADMIN, 'admin'), now: () => now, newRequestId: () => ids.shift()!, requests, logger, ...(erase ? { eraser: core.subjects! } : {}),
      publish: (r) => infra.producer.send([{ topic: 'privacy.requests', key: r.requestId, value: r }]),
    };
    const app = createApp({ role: 'projection', ops: opsRouter(infra.metrics, []), logger, keys: legacyKey('STATS_API_TOKEN', 'it-stats-token-0000001', 'operator'), projection: {} as never, decisions: {} as never, privacy });
    const server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
    running.push({ server, followed });
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
  }
  const post = async (url: string, body: unknown, headers: Record<string, string> = auth) => {
    const r = await fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: r.status, body: await r.json() as Record<string, unknown> };
  };

  beforeAll(async () => {
    prefix = `${uniq('it-privacy-')}.`;
    infra = await startInfra('delivery-tracker', {
      SERVICE_INSTANCE: 'it', LOG_LEVEL: 'silent', KAFKA_BROKERS: stack.brokers, SCHEMA_REGISTRY_URL: stack.registryUrl,
      TOPIC_PREFIX: prefix, TOPIC_PARTITIONS: 2, TOPIC_REPLICATION_FACTOR: 1,
    }, ['privacy.requests', 'subject.keys', 'subject.index']);
    core = await startPrivacy({ kafka: infra.kafka, admin: infra.admin, codec: infra.codec, settings: privacySettings(z.object(privacyEnv).parse(PRIVACY_TEST_ENV)), topicPrefix: prefix, service: 'delivery-tracker', instance: 'it', nudge: false });
  });
  afterAll(async () => {
    await core?.close();
    for (const r of running) { await new Promise((res) => r.server.close(res)); await r.followed.stop(); }
    await infra?.close();
  });

  it('refuses a caller without the admin token, and a body without a usable phone, naming the field; records nothing', async () => {
    const { url } = await tracker([]);
    expect((await post(`${url}/v1/privacy/erasure`, { phone: '081234567890' }, { 'Content-Type': 'application/json' })).status).toBe(401);
    const bad = await Promise.all([
      post(`${url}/v1/privacy/erasure`, {}), post(`${url}/v1/privacy/erasure`, { phone: 81234567890 }), post(`${url}/v1/privacy/access`, { phone: '081234567890', name: 'Budi' }),
      post(`${url}/v1/privacy/access`, { phone: 'abc' }), post(`${url}/v1/privacy/erasure?phone=081234567890`, { phone: '081234567890' }),
    ]);
    expect(bad.map((b) => [b.status, (b.body.issues as { path: string }[]).map((i) => i.path)])).toEqual([
      [400, ['phone']], [400, ['phone']], [400, ['(body)']], [400, ['phone']], [400, ['(query).phone']],
    ]);
    expect((bad[3]!.body.issues as { message: string }[])[0]!.message).toBe('not a valid phone number: (no digits)');
    const r = await fetch(`${url}/v1/privacy/requests`, { headers: auth });
    expect([r.status, await r.json()]).toEqual([200, { open: [], counts: {} }]);
  });

  it('records access and erasure requests with the receive time and the 3 x 24 h deadline, answers 202, lists them open; a second process lists the same', async () => {
    const a = await tracker(['req-access-1', 'req-erasure-1']);
    const access = await post(`${a.url}/v1/privacy/access`, { phone: '0812-3456-7890' });
    now = t0 + 2 * H;
    const erasure = await post(`${a.url}/v1/privacy/erasure`, { phone: '+62 812 3456 7890' });
    expect([access, erasure]).toEqual([
      { status: 202, body: { requestId: 'req-access-1', kind: 'ACCESS', status: 'RECEIVED', receivedAt: '2026-12-07T03:00:00.000Z', deadline: '2026-12-10T03:00:00.000Z', detail: ACCESS_NOT_YET } },
      { status: 202, body: { requestId: 'req-erasure-1', kind: 'ERASURE', status: 'RECEIVED', receivedAt: '2026-12-07T05:00:00.000Z', deadline: '2026-12-10T05:00:00.000Z', detail: expect.stringMatching(/^recorded; erasure is not carried out/) } },
    ]);
    // On the topic, keyed by request id, no number anywhere.
    const seen: PrivacyRequestRecorded[] = [];
    const { consumer, untilCaughtUp } = await readDecoded({ kafka: infra.kafka, codec: infra.codec, groupPrefix: prefix, topic: 'privacy.requests', onValue: (v) => seen.push(v) });
    await untilCaughtUp(); await consumer.disconnect();
    expect(seen.map((r) => [r.requestId, r.kind, r.status, r.receivedAt, r.deadline, r.subjectId])).toEqual([
      ['req-access-1', 'ACCESS', 'RECEIVED', t0, t0 + 72 * H, null], ['req-erasure-1', 'ERASURE', 'RECEIVED', t0 + 2 * H, t0 + 74 * H, null],
    ]);
    expect(JSON.stringify(seen)).not.toMatch(/81234567890/);

    now = t0 + 73 * H;
    const listed = { open: [
      { requestId: 'req-access-1', kind: 'ACCESS', subjectId: null, receivedAt: '2026-12-07T03:00:00.000Z', deadline: '2026-12-10T03:00:00.000Z', hoursLeft: -1, overdue: true, detail: ACCESS_NOT_YET },
      { requestId: 'req-erasure-1', kind: 'ERASURE', subjectId: null, receivedAt: '2026-12-07T05:00:00.000Z', deadline: '2026-12-10T05:00:00.000Z', hoursLeft: 1, overdue: false, detail: expect.any(String) },
    ], counts: { 'ACCESS.RECEIVED': 1, 'ERASURE.RECEIVED': 1 } };
    expect(await (await fetch(`${a.url}/v1/privacy/requests`, { headers: auth })).json()).toEqual(listed);
    const b = await tracker([]);
    await waitFor(async () => b.requests.size === 2, { what: 'the second process follows privacy.requests' });
    expect(await (await fetch(`${b.url}/v1/privacy/requests`, { headers: auth })).json()).toEqual(listed);
    // The log names the request and a masked number only.
    expect(log).toContain('"contact":"+628******7890"');
    expect(log).not.toMatch(/81234567890/);
  });

  it('an erasure with the privacy core: the subject\'s key and index entry are tombstoned, the request DONE with the subject; an unknown number NO_SUBJECT; the number then starts a new subject', async () => {
    const { url } = await tracker(['req-e-2', 'req-e-3'], true);
    now = t0;
    const subject = await core.subjects!.subjectFor('+6281299990001');
    const done = await post(`${url}/v1/privacy/erasure`, { phone: '0812-9999-0001' });
    const none = await post(`${url}/v1/privacy/erasure`, { phone: '0812-9999-0002' });
    expect([done.status, done.body.status, none.status, none.body.status, core.ring.state(subject), core.subjects!.lookup('+6281299990001')]).toEqual([202, 'DONE', 202, 'NO_SUBJECT', 'erased', null]);
    const seen: PrivacyRequestRecorded[] = [];
    const { consumer, untilCaughtUp } = await readDecoded({ kafka: infra.kafka, codec: infra.codec, groupPrefix: prefix, topic: 'privacy.requests', onValue: (v) => seen.push(v) });
    await untilCaughtUp(); await consumer.disconnect();
    expect(seen.filter((r) => r.requestId.startsWith('req-e-')).sort((a, b) => a.requestId.localeCompare(b.requestId)).map((r) => [r.requestId, r.status, r.subjectId, r.deadline - r.receivedAt])).toEqual([
      ['req-e-2', 'RECEIVED', null, 72 * H], ['req-e-2', 'DONE', subject, 72 * H], ['req-e-3', 'RECEIVED', null, 72 * H], ['req-e-3', 'NO_SUBJECT', null, 72 * H],
    ]);
    const again = await core.subjects!.subjectFor('+6281299990001');
    expect([again === subject, core.ring.state(again)]).toEqual([false, 'live']);
  });
});
