import { messageRefOf } from './projections/messageRef';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { MongoClient } from 'mongodb';
import jwt from 'jsonwebtoken';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import twilio from 'twilio';
import { coPartitionedAssigner, runBatchConsumer, startInfra, type Infra, type RunningBatchConsumer } from '@sicantik/kafka';
import { legacyKey, listen, opsRouter } from '@sicantik/observability';
import { PROVIDER_NAMES, configuredProviders, type ProviderName } from '@sicantik/providers';
import { contactEventKey, type ContactEvent, type DeliveryStatusReported, type NotificationDispatchRecorded } from '@sicantik/schemas';
import { silentLogger, stack, uniq, waitFor } from '../../../../test/support';
import { createSimulator } from '../../../../tools/provider-simulator/src/app';
import { SECRETS, SIMULATOR_PROVIDERS } from '../../../../tools/provider-simulator/src/testHarness';
import { DecisionProjection } from './projections/decisions';
import { NotificationProjection, type NotificationDoc } from './projections/store';
import { Serial } from './projections/writer';
import { createApp } from './http';
import { webhookRejectedCounter, webhookRouter } from './webhooks';

////////// Every provider's webhooks through the tracker, over real HTTP, signed by the
// provider simulator (tools/provider-simulator: its own signing code, checked there
// against the providers' SDKs), into real Kafka topics and the real projection on
// FerretDB. Forgeries come from a second simulator that does not know our secrets.
// Per provider: valid, forged, tampered, replayed, out of order, inbound keywords.

const STATS_TOKEN = 'it-stats-token-00000001';
const META_VERIFY_TOKEN = 'it-meta-verify-token';
/** The tracker's receive-role environment: the simulator's secrets. */
const TRACKER_ENV = {
  META_APP_SECRET: SECRETS.metaAppSecret, META_VERIFY_TOKEN,
  TWILIO_AUTH_TOKEN: SECRETS.twilioAuthToken,
  BIRD_WEBHOOK_SECRET: SECRETS.birdWebhookSecret,
  VONAGE_SIGNATURE_SECRET: SECRETS.vonageSignatureSecret,
  FONNTE_WEBHOOK_TOKEN: SECRETS.fonnteWebhookToken,
  WATZAP_WEBHOOK_TOKEN: SECRETS.watzapWebhookToken,
};
const URL_TOKEN: Partial<Record<ProviderName, string>> = { fonnte: SECRETS.fonnteWebhookToken, watzap: SECRETS.watzapWebhookToken };
/** Providers whose status webhooks carry no event time (the tracker uses the time it received the request). */
const NO_TIME: ReadonlySet<ProviderName> = new Set(['twilio', 'fonnte']);
/** Providers whose signature is time-bound, so a replay after 5 minutes is refused. */
const TIME_BOUND: ReadonlySet<ProviderName> = new Set(['bird', 'vonage']);

const hex = (n: number) => randomBytes(n).toString('hex');
/** A message id in the provider's own format. */
const messageId = (p: ProviderName): string => ({
  meta: () => `wamid.HBgN${hex(12).toUpperCase()}`, twilio: () => `SM${hex(16)}`, bird: () => randomUUID(), vonage: () => randomUUID(),
  fonnte: () => String(80_000_000 + Math.floor(Math.random() * 1e7)), watzap: () => `3EB0${hex(8).toUpperCase()}`,
})[p]();

/** Every phone number used here; none may appear in full in the tracker's log. */
const phones: string[] = [];
const phone = () => { const p = `+62812${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`; phones.push(p); return p; };

interface SimRecord { provider: string; kind: string; event: string; messageId?: string; url: string; status: number | null; body: string; headers: Record<string, string> }

describe('delivery-tracker webhooks of every provider (simulator-signed, real HTTP, Kafka and projection)', () => {
  let infra: Infra;
  let mongo: MongoClient;
  let projectionConsumer: RunningBatchConsumer;
  let reader: Consumer;
  let server: Server;
  let trackerUrl: string;
  let sim: ReturnType<typeof createSimulator>; let simServer: Server; let simUrl: string;
  let forger: ReturnType<typeof createSimulator>; let forgerServer: Server; let forgerUrl: string;
  const dbName = uniq('it_webhooks_');
  const statuses: DeliveryStatusReported[] = [];
  const contacts: ContactEvent[] = [];
  let log = '';
  let clockOffsetMs = 0;

  const listenOn = (app: { listen: (port: number, host: string, cb: () => void) => Server }) =>
    new Promise<{ server: Server; url: string }>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve({ server: s, url: `http://127.0.0.1:${(s.address() as AddressInfo).port}` })); });

  beforeAll(async () => {
    const prefix = `${uniq('it-webhooks-')}.`;
    infra = await startInfra('delivery-tracker', {
      SERVICE_INSTANCE: 'it', LOG_LEVEL: 'silent', KAFKA_BROKERS: stack.brokers, SCHEMA_REGISTRY_URL: stack.registryUrl,
      TOPIC_PREFIX: prefix, TOPIC_PARTITIONS: 1, TOPIC_REPLICATION_FACTOR: 1,
    }, ['notification.dispatch', 'delivery.status', 'contact.events']);
    mongo = await MongoClient.connect(stack.mongoUrl);
    const serial = new Serial();
    const projection = new NotificationProjection(mongo.db(dbName), {}, { serial, messageRefOf: messageRefOf(Buffer.alloc(32, 7)) });
    await projection.init();
    const decisions = new DecisionProjection(mongo.db(dbName), projection.col, { serial });
    await decisions.init();
    // The projection as main.ts runs it.
    projectionConsumer = await runBatchConsumer({
      kafka: infra.kafka, codec: infra.codec, groupId: `${prefix}delivery-tracker-projection`, producer: infra.producer, logger: silentLogger(), metrics: infra.metrics,
      partitionAssigners: [coPartitionedAssigner], maxWaitMs: 100,
      handlers: { 'notification.dispatch': (b) => projection.apply(b), 'delivery.status': (b) => projection.apply(b) },
    });
    // Everything produced, decoded.
    const kafka = new Kafka({ brokers: stack.brokers, clientId: uniq('it-reader-'), logLevel: logLevel.NOTHING });
    reader = kafka.consumer({ groupId: uniq('it-reader-'), maxWaitTimeInMs: 100 });
    await reader.connect();
    await reader.subscribe({ topics: [`${prefix}delivery.status`, `${prefix}contact.events`], fromBeginning: true });
    await reader.run({ eachMessage: async ({ topic, message }) => {
      if (topic.endsWith('delivery.status')) statuses.push(await infra.codec.decode('delivery.status', message.value!));
      else contacts.push(await infra.codec.decode('contact.events', message.value!));
    } });

    const logger = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, cb) { log += String(chunk); cb(); } }));
    const app = createApp({
      logger, projection, decisions, now: () => new Date(Date.now() + clockOffsetMs), keys: legacyKey('STATS_API_TOKEN', STATS_TOKEN, 'operator'),
      ops: opsRouter(infra.metrics, []),
      publish: (events) => infra.producer.send(events.map((e) => ({ topic: 'delivery.status' as const, key: e.providerMessageId, value: e }))),
      publishContacts: (events) => infra.producer.send(events.map((e) => ({ topic: 'contact.events' as const, key: contactEventKey(e), value: e }))),
      providers: configuredProviders(TRACKER_ENV, { roles: ['receive'] }),
      onRejected: webhookRejectedCounter(infra.metrics),
    });
    server = (await listen(app, 0)).server;
    trackerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const simConfig = { statuses: [], webhookDelayMs: 0, webhookBaseUrl: `${trackerUrl}/webhooks`, webhookAttempts: 1, seed: 7 };
    sim = createSimulator({
      ...simConfig, metaAccessToken: SECRETS.metaAccessToken, metaAppSecret: SECRETS.metaAppSecret,
      providers: SIMULATOR_PROVIDERS,
    });
    ({ server: simServer, url: simUrl } = await listenOn(sim.app));
    // Signs exactly as the providers do, with secrets that are not ours (the simulator's defaults).
    forger = createSimulator({ ...simConfig, metaAccessToken: 'forger-token', metaAppSecret: 'forger-meta-app-secret' });
    ({ server: forgerServer, url: forgerUrl } = await listenOn(forger.app));
  });

  afterAll(async () => {
    for (const [s, srv] of [[sim, simServer], [forger, forgerServer]] as const) { s?.close(); srv?.closeAllConnections(); await new Promise((r) => srv?.close(r)); }
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await reader?.disconnect();
    await projectionConsumer?.stop();
    await infra?.close();
    await mongo?.db(dbName).dropDatabase();
    await mongo?.close();
  });

  ////////// Helpers

  const post = async (base: string, path: string, body: unknown) => {
    const r = await fetch(`${base}/_sim${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: await r.json() as { webhookStatus: number | null; id?: string; messageId?: string } };
  };
  /** The simulator reports one status now, signed as the provider signs it. */
  const report = (p: ProviderName, id: string, status: string, o: { by?: string; url?: string } = {}) =>
    post(o.by ?? simUrl, '/status', { provider: p, messageId: id, to: '+6281100009999', status, ...(o.url ? { url: o.url } : {}) });
  /** The last webhook the simulator delivered for a message (body and headers exactly as sent). */
  const delivered = async (p: ProviderName, id: string): Promise<SimRecord> => {
    const all = await (await fetch(`${simUrl}/_sim/webhooks?provider=${p}&messageId=${encodeURIComponent(id)}`)).json() as SimRecord[];
    return all[all.length - 1]!;
  };
  /** The URL the simulator called (its records mask Fonnte/Watzap tokens). */
  const hookUrl = (p: ProviderName) => `${trackerUrl}/webhooks/${p}${URL_TOKEN[p] ? `?token=${encodeURIComponent(URL_TOKEN[p])}` : ''}`;
  /** Sends a recorded webhook again, as is or altered. */
  const resend = async (rec: SimRecord, o: { body?: string; url?: string; headers?: Record<string, string> } = {}) => {
    const r = await fetch(o.url ?? hookUrl(rec.provider as ProviderName), { method: 'POST', headers: o.headers ?? rec.headers, body: o.body ?? rec.body });
    return { status: r.status, text: await r.text() };
  };
  const statusesOf = (id: string) => statuses.filter((e) => e.providerMessageId === id);
  const doc = async (notificationId: string): Promise<NotificationDoc | undefined> => {
    const r = await fetch(`${trackerUrl}/v1/stats/notifications/${notificationId}`, { headers: { Authorization: `Bearer ${STATS_TOKEN}` } });
    return r.status === 200 ? await r.json() as NotificationDoc : undefined;
  };
  /** The dispatcher's record that a provider accepted the message under this id (the projection's join key). */
  const accepted = async (p: ProviderName, providerMessageId: string) => {
    const notificationId = randomUUID();
    const e: NotificationDispatchRecorded = {
      eventId: randomUUID(), occurredAt: Date.now() - 60_000, correlationId: notificationId, causationId: null, notificationId, pendaftaran_id: 'REG-IT-1',
      scenario: 'permit_ready', templateCode: 'permit_ready', recipientKind: 'APPLICANT', provider: p, status: 'ACCEPTED', providerMessageId, attempt: 1, errorCode: null, reason: null,
    };
    await infra.producer.send([{ topic: 'notification.dispatch', key: notificationId, value: e }]);
    return notificationId;
  };
  const rejected = async (p: string, reason: string): Promise<number> => {
    const text = await (await fetch(`${trackerUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('sicantik_webhook_rejected_total{') && l.includes(`provider="${p}"`) && l.includes(`reason="${reason}"`));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  /**
   * A valid status for a fresh message, waited for in delivery.status and in the
   * projection. One partition per topic: everything produced or applied before it
   * has been produced or applied by then.
   */
  const barrier = async (p: ProviderName) => {
    const id = messageId(p);
    const n = await accepted(p, id);
    expect((await report(p, id, 'sent')).body.webhookStatus).toBe(200);
    await waitFor(async () => (await doc(n))?.sentAt, { what: `${p} barrier in the projection` });
  };
  const waitStatuses = (id: string, n: number) => waitFor(async () => statusesOf(id).length >= n && statusesOf(id), { what: `${n} delivery.status for ${id}` });

  ////////// Per provider

  describe.each(PROVIDER_NAMES.map((p) => [p]))('%s', (p) => {
    let validId: string;
    let validNotification: string;

    it('valid: the signed status reaches delivery.status with its fields and the projection', async () => {
      validId = messageId(p);
      validNotification = await accepted(p, validId);
      const before = Date.now();
      expect((await report(p, validId, 'sent')).body.webhookStatus).toBe(200);
      const [e] = await waitStatuses(validId, 1);
      expect(e).toMatchObject({ provider: p, providerMessageId: validId, correlationId: validId, causationId: null, status: 'SENT', errorCode: null, errorTitle: null });
      expect(e!.receivedAt).toBeGreaterThanOrEqual(before);
      if (NO_TIME.has(p)) expect([e!.providerTimestamp, e!.occurredAt]).toEqual([null, e!.receivedAt]);
      else expect(e!.providerTimestamp).toBe(e!.occurredAt);
      if (!NO_TIME.has(p)) expect(Math.abs(e!.providerTimestamp! - before)).toBeLessThan(5_000);
      const d = await waitFor(async () => { const x = await doc(validNotification); return x?.sentAt && x; }, { what: 'projection sent' });
      expect(d).toMatchObject({ status: 'sent', provider: p, providerMessageId: validId });

      // A failure report carries the provider's code and reason.
      const failedId = messageId(p);
      expect((await report(p, failedId, 'failed')).body.webhookStatus).toBe(200);
      const [f] = await waitStatuses(failedId, 1);
      expect(f).toMatchObject({ provider: p, status: 'FAILED' });
      expect(f!.errorCode).toMatch(new RegExp(`^${p}:.+`));
      expect(f!.errorTitle).toEqual(expect.any(String));
    });

    it('forged: signed with a secret that is not ours → 401, counted, nothing produced', async () => {
      const before = await rejected(p, 'signature');
      const id = messageId(p);
      const r = await report(p, id, 'delivered', { by: forgerUrl });
      expect(r.body.webhookStatus).toBe(401);
      expect(await rejected(p, 'signature')).toBe(before + 1);
      await barrier(p);
      expect(statusesOf(id)).toEqual([]);
    });

    it('tampered: a signed request altered after signing → 401, nothing produced', async () => {
      const rec = await delivered(p, validId);
      const otherId = messageId(p);
      const before = await rejected(p, 'signature');
      if (URL_TOKEN[p]) {
        // Fonnte and Watzap sign nothing: the URL's secret is all there is, and a wrong one is
        // refused. Their body itself cannot be protected (docs/webhooks.md).
        const token = URL_TOKEN[p];
        const wrong = `${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}`;
        expect((await resend(rec, { url: `${trackerUrl}/webhooks/${p}?token=${wrong}` })).status).toBe(401);
        expect((await resend(rec, { url: `${trackerUrl}/webhooks/${p}/${wrong}` })).status).toBe(401);
        expect((await resend(rec, { url: `${trackerUrl}/webhooks/${p}` })).status).toBe(401); // no token at all
        expect(await rejected(p, 'signature')).toBe(before + 2);
      } else {
        expect(rec.body).toContain(validId);
        expect((await resend(rec, { body: rec.body.split(validId).join(otherId) })).status).toBe(401);
        // Same body, signature of another body (the status word changed): also refused.
        const other = await delivered(p, statuses.find((e) => e.provider === p && e.status === 'FAILED')!.providerMessageId);
        expect((await resend(rec, { headers: { ...rec.headers, ...signatureHeaders(other.headers) } })).status).toBe(401);
        expect(await rejected(p, 'signature')).toBe(before + 2);
      }
      await barrier(p);
      expect(statusesOf(otherId)).toEqual([]);
    });

    it(TIME_BOUND.has(p) ? 'replayed: 10 minutes later → 401 stale; at once → the same event, no second effect' : 'replayed: a day later → accepted, the same event id, no second effect', async () => {
      const rec = await delivered(p, validId);
      const [original] = statusesOf(validId);
      const docBefore = await doc(validNotification);
      if (TIME_BOUND.has(p)) {
        const before = await rejected(p, 'stale');
        clockOffsetMs = 10 * 60_000;
        try { expect((await resend(rec)).status).toBe(401); } finally { clockOffsetMs = 0; }
        expect(await rejected(p, 'stale')).toBe(before + 1);
      } else {
        clockOffsetMs = 24 * 3600_000;
        try { expect((await resend(rec)).status).toBe(200); } finally { clockOffsetMs = 0; }
        const [, again] = await waitStatuses(validId, 2);
        // The same event: same id, same provider time. Providers without a time: the time this request
        // arrived (a day later; reception keeps no state), which the projection ignores (earliest kept, below).
        expect(again).toEqual(NO_TIME.has(p) ? { ...original, receivedAt: again!.receivedAt, occurredAt: again!.receivedAt } : { ...original, receivedAt: again!.receivedAt });
        expect(again!.receivedAt).toBeGreaterThan(original!.receivedAt + 23 * 3600_000);
      }
      // A duplicate delivered at once (as a provider retrying does) is accepted by everyone: the same event again.
      expect((await resend(rec)).status).toBe(200);
      const all = await waitStatuses(validId, TIME_BOUND.has(p) ? 2 : 3);
      expect(new Set(all.map((e) => e.eventId))).toEqual(new Set([original!.eventId]));
      await barrier(p);
      expect(await doc(validNotification)).toEqual(docBefore);
    });

    it('out of order: delivered, then sent → stays delivered (sent still recorded)', async () => {
      const id = messageId(p);
      const n = await accepted(p, id);
      expect((await report(p, id, 'delivered')).body.webhookStatus).toBe(200);
      expect((await report(p, id, 'sent')).body.webhookStatus).toBe(200);
      expect((await waitStatuses(id, 2)).map((e) => e.status)).toEqual(['DELIVERED', 'SENT']);
      const d = await waitFor(async () => { const x = await doc(n); return x?.sentAt && x?.deliveredAt && x; }, { what: 'both statuses projected' });
      expect(d).toMatchObject({ status: 'delivered', provider: p, providerMessageId: id });
      // And read then delivered: stays read.
      expect((await report(p, id, 'read')).body.webhookStatus).toBe(200);
      expect((await report(p, id, 'delivered')).body.webhookStatus).toBe(200);
      await waitStatuses(id, 4);
      await barrier(p);
      expect(await doc(n)).toMatchObject({ status: 'read' });
    });

    it('inbound: each reply is one MESSAGE_RECEIVED with its proof, under this provider (the planner classifies it)', async () => {
      const from = phone();
      for (const [i, text] of ['BERHENTI', 'Mulai'].entries()) {
        const r = await post(simUrl, '/inbound', { provider: p, from, text });
        expect([r.status, r.body.webhookStatus]).toEqual([200, 200]);
        const evs = await waitFor(async () => { const x = contacts.filter((e) => e.phone === from); return x.length === i + 1 && x; }, { what: `${text} from ${p}` });
        expect(evs.map((e) => [e.provider, e.kind, e.text])[i]).toEqual([p, 'MESSAGE_RECEIVED', text]);
        expect(evs[i]!.providerMessageId).toBe(evs[i]!.correlationId);
        expect(evs[i]!.providerMessageId).toEqual(expect.any(String));
      }
    });
  });

  ////////// Provider-specific and general

  it('Meta handshake: the right verify token echoes the challenge; a wrong one is refused and counted', async () => {
    const url = `${trackerUrl}/webhooks/meta`;
    expect((await post(simUrl, '/meta/verify', { verifyToken: META_VERIFY_TOKEN, url })).body).toEqual({ status: 200, echoed: true });
    const before = await rejected('meta', 'handshake');
    expect((await post(simUrl, '/meta/verify', { verifyToken: 'not-our-verify-token', url })).body).toEqual({ status: 403, echoed: false });
    expect(await rejected('meta', 'handshake')).toBe(before + 1);
    expect((await fetch(`${trackerUrl}/webhooks/twilio`)).status).toBe(405);
  });

  it('Fonnte and Watzap: the secret as the last path segment works too', async () => {
    for (const p of ['fonnte', 'watzap'] as const) {
      const id = messageId(p);
      expect((await report(p, id, 'delivered', { url: `${trackerUrl}/webhooks/${p}/${URL_TOKEN[p]}` })).body.webhookStatus).toBe(200);
      expect((await waitStatuses(id, 1))[0]).toMatchObject({ provider: p, status: 'DELIVERED' });
    }
  });

  it('Vonage: an unsigned callback → 503 (Vonage retries it), counted as missing, nothing produced', async () => {
    const rec = await delivered('vonage', statuses.find((e) => e.provider === 'vonage')!.providerMessageId);
    const otherId = randomUUID();
    const before = await rejected('vonage', 'missing');
    const headers = Object.fromEntries(Object.entries(rec.headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
    expect((await resend(rec, { headers, body: rec.body.split(rec.messageId!).join(otherId) })).status).toBe(503);
    expect(await rejected('vonage', 'missing')).toBe(before + 1);
    await barrier('vonage');
    expect(statusesOf(otherId)).toEqual([]);
  });

  it('unknown provider names and token paths of signing providers → 404', async () => {
    for (const path of ['/webhooks/whatsapp', '/webhooks/messagebird', '/webhooks/meta/abc', '/webhooks/twilio/abc']) {
      expect([path, (await fetch(`${trackerUrl}${path}`, { method: 'POST', body: '{}' })).status]).toEqual([path, 404]);
    }
  });

  it('logs name the provider and the reason only: no secret, no URL token, no full phone number', () => {
    expect(log).toContain('"reason":"signature"');
    expect(log).toContain('inbound message recorded');
    for (const text of ['BERHENTI', 'Mulai']) expect(log).not.toContain(text); // never the text of a reply
    for (const secret of [...Object.values(TRACKER_ENV), SECRETS.metaAppSecret]) expect(log).not.toContain(secret);
    for (const p of phones) { expect(log).not.toContain(p); expect(log).not.toContain(p.slice(1)); }
  });
});

/** The signature-carrying headers of a recorded webhook. */
function signatureHeaders(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).filter(([k]) => /^(x-hub-signature-256|x-twilio-signature|webhook-(id|timestamp|signature)|authorization)$/i.test(k)));
}

describe('delivery-tracker webhooks behind a proxy and with few providers (no Kafka)', () => {
  const events: DeliveryStatusReported[] = [];
  const counted: string[] = [];
  const app = (providers: NodeJS.Dict<string>, publicBaseUrl?: string) => {
    const a = express();
    a.use('/webhooks', webhookRouter({
      logger: silentLogger(), providers: configuredProviders(providers, { roles: ['receive'] }), now: () => new Date(),
      publish: async (e) => { events.push(...e); }, publishContacts: async () => undefined,
      onRejected: (p, r) => { counted.push(`${p}:${r}`); },
      ...(publicBaseUrl ? { publicBaseUrl } : {}),
    }));
    return a;
  };
  const serve = async (a: express.Express) => {
    const s = await new Promise<Server>((r) => { const x = a.listen(0, '127.0.0.1', () => r(x)); });
    return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, close: () => new Promise((r) => { s.closeAllConnections(); s.close(r); }) };
  };

  it('Twilio signs the public URL: verified with WEBHOOK_PUBLIC_BASE_URL (path prefix, query kept), refused without it', async () => {
    const env = { TWILIO_AUTH_TOKEN: 'proxy-twilio-auth-token' };
    const behind = await serve(app(env, 'https://notif.example.go.id/tracker/'));
    const direct = await serve(app(env));
    try {
      const params = { MessageSid: `SM${hex(16)}`, MessageStatus: 'delivered', AccountSid: 'AC0123', To: 'whatsapp:+6281234567890', From: 'whatsapp:+14155238886' };
      const path = '/webhooks/twilio?src=a%20b';
      // The official SDK as the oracle: the signature Twilio sends for the URL configured at Twilio.
      const signature = twilio.getExpectedTwilioSignature(env.TWILIO_AUTH_TOKEN, `https://notif.example.go.id/tracker${path}`, params);
      const send = (base: string) => fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signature }, body: new URLSearchParams(params).toString() });
      const ok = await send(behind.url);
      expect([ok.status, ok.headers.get('content-type'), await ok.text()]).toEqual([200, 'text/xml; charset=utf-8', '<?xml version="1.0" encoding="UTF-8"?><Response></Response>']);
      expect(events.map((e) => [e.provider, e.providerMessageId, e.status])).toEqual([['twilio', params.MessageSid, 'DELIVERED']]);
      expect((await send(direct.url)).status).toBe(401);
      // Rebuilt from the request when no public base is set: signed for the address it was sent to.
      const local = twilio.getExpectedTwilioSignature(env.TWILIO_AUTH_TOKEN, `${direct.url}${path}`, params);
      expect((await fetch(`${direct.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': local }, body: new URLSearchParams(params).toString() })).status).toBe(200);
      expect(counted).toEqual(['twilio:signature']);
    } finally { await behind.close(); await direct.close(); }
  });

  it('every provider: a correctly signed body that is not in its format → 400 unparseable, counted, nothing produced; the same body unverified → 401 (Vonage unsigned: 503)', async () => {
    const env = {
      META_APP_SECRET: 'fmt-meta-app-secret', TWILIO_AUTH_TOKEN: 'fmt-twilio-auth-token', BIRD_WEBHOOK_SECRET: `whsec_${Buffer.from('fmt-bird-signing-secret-0123456789').toString('base64')}`,
      VONAGE_SIGNATURE_SECRET: 'fmt-vonage-signature-secret', FONNTE_WEBHOOK_TOKEN: 'fmt-fonnte-url-token-0001', WATZAP_WEBHOOK_TOKEN: 'fmt-watzap-url-token-0001',
    };
    const s = await serve(app(env));
    events.length = 0;
    counted.length = 0;
    try {
      // Each provider's own signing (the providers' SDKs and node:crypto as oracles), over a body that is not its format.
      const signed = (p: ProviderName, body: string, secret: string): { url: string; headers: Record<string, string> } => {
        const url = `${s.url}/webhooks/${p}`;
        const nowSec = Math.floor(Date.now() / 1000);
        switch (p) {
          case 'meta': return { url, headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` } };
          case 'twilio': return { url, headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(secret, url, Object.fromEntries(new URLSearchParams(body))) } };
          case 'bird': return { url, headers: { 'Content-Type': 'application/json', 'webhook-id': 'msg_fmt', 'webhook-timestamp': String(nowSec), 'webhook-signature': new Webhook(secret).sign('msg_fmt', new Date(nowSec * 1000), body) } };
          case 'vonage': return { url, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${jwt.sign({ iat: nowSec, payload_hash: createHash('sha256').update(body).digest('hex') }, secret, { algorithm: 'HS256' })}` } };
          case 'fonnte': case 'watzap': return { url: `${url}?token=${secret}`, headers: { 'Content-Type': 'application/json' } };
        }
      };
      const cases: [ProviderName, string, string, string][] = [
        ['meta', '{"object":"whatsapp_business_account",', env.META_APP_SECRET, 'not-the-meta-secret'],
        ['twilio', '{"MessageSid":"SM0123","MessageStatus":"delivered"}', env.TWILIO_AUTH_TOKEN, 'not-the-twilio-token'],
        ['bird', 'type=whatsapp.delivered', env.BIRD_WEBHOOK_SECRET, `whsec_${Buffer.from('not-the-bird-secret-0123456789ab').toString('base64')}`],
        ['vonage', '<status>delivered</status>', env.VONAGE_SIGNATURE_SECRET, 'not-the-vonage-secret'],
        ['fonnte', 'device=6281100000003&id=80367170&status=sent', env.FONNTE_WEBHOOK_TOKEN, 'not-the-fonnte-token'],
        ['watzap', '{"type":"message_ack","data":', env.WATZAP_WEBHOOK_TOKEN, 'not-the-watzap-token'],
      ];
      expect(cases.map(([p]) => p).sort()).toEqual([...PROVIDER_NAMES].sort());
      const post = async (t: { url: string; headers: Record<string, string> }, body: string) => {
        const r = await fetch(t.url, { method: 'POST', headers: t.headers, body });
        return [r.status, await r.json()];
      };
      for (const [p, body, secret, wrong] of cases) {
        expect([p, ...await post(signed(p, body, secret), body)]).toEqual([p, 400, { error: 'bad_request', reason: 'unparseable' }]);
        expect([p, ...await post(signed(p, body, wrong), body)]).toEqual([p, 401, { error: 'unauthorized', reason: 'signature' }]);
        const unsigned = p === 'fonnte' || p === 'watzap' ? { url: `${s.url}/webhooks/${p}`, headers: { 'Content-Type': 'application/json' } } : { url: `${s.url}/webhooks/${p}`, headers: { 'Content-Type': signed(p, body, secret).headers['Content-Type']! } };
        expect([p, ...await post(unsigned, body)]).toEqual([p, p === 'vonage' ? 503 : 401, { error: 'unauthorized', reason: 'missing' }]);
      }
      expect(counted).toEqual(cases.flatMap(([p]) => [`${p}:unparseable`, `${p}:signature`, `${p}:missing`]));
      expect(events).toEqual([]);
    } finally { await s.close(); }
  });

  it('a body over 1 MB → 413, and the failure is logged without the URL and its token', async () => {
    let out = '';
    const logger = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, cb) { out += String(chunk); cb(); } }));
    const token = 'fonnte-secret-token-in-path';
    const a = express();
    a.use('/webhooks', webhookRouter({
      logger, providers: configuredProviders({ FONNTE_WEBHOOK_TOKEN: token }, { roles: ['receive'] }), now: () => new Date(),
      publish: async () => undefined, publishContacts: async () => undefined, onRejected: () => undefined,
    }));
    const s = await serve(a);
    try {
      const r = await fetch(`${s.url}/webhooks/fonnte/${token}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `{"x":"${'a'.repeat(1_100_000)}"}` });
      expect(r.status).toBe(413);
      expect(out).toContain('"provider":"fonnte"');
      expect(out).not.toContain(token);
    } finally { await s.close(); }
  });

  it('a provider this tracker is not configured for → 404, counted as not_configured', async () => {
    counted.length = 0;
    const only = await serve(app({ FONNTE_WEBHOOK_TOKEN: 'fonnte-token-0123456789' }));
    try {
      expect((await fetch(`${only.url}/webhooks/meta`, { method: 'POST', body: '{}' })).status).toBe(404);
      expect((await fetch(`${only.url}/webhooks/meta?hub.mode=subscribe`)).status).toBe(404);
      expect(counted).toEqual(['meta:not_configured', 'meta:not_configured']);
    } finally { await only.close(); }
  });
});
