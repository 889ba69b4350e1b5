import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import * as path from 'node:path';
import express from 'express';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { EventProducer } from '@sicantik/kafka';
import { SchemaCodec, type NotificationDispatchRecorded } from '@sicantik/schemas';
import { createSimulator } from '../../tools/provider-simulator/src/app';
import { PRIVACY_TEST_ENV, freePort, readDecoded, renderedNotifications, stack, uniq, waitFor } from '../support';

////////// provider-dispatcher (built output, a process) with two providers, killed (SIGKILL)
// while the simulator is slow to answer, and restarted.
// Meta for the contacts who opted in (contact.events, followed by the dispatcher), Fonnte
// with the opt-in link for the others, nothing for a number that opted out after the
// dispatcher started (recorded SKIPPED, not FAILED). Each send is held 600 ms by the
// simulator, so calls are in flight when the process dies. Afterwards: no number
// reached a provider twice, every notification has exactly one final outcome, an
// accepted one went to the provider its routing says, and the sends that may have gone
// out before the kill are IN_DOUBT and listed by the admin API and the CLI. A second
// wave posted after the restart is sent, each exactly once.

const root = path.resolve(__dirname, '..', '..');
const N = 60;
const phone = (i: number) => `+628130000${String(i).padStart(4, '0')}`;
const optedIn = (i: number) => i % 3 === 0;
/** The second wave (posted after the restart): numbers that never opted in. */
const M = 9;
const phone2 = (i: number) => `+6281300009${String(i).padStart(3, '0')}`;
const FINAL = new Set(['ACCEPTED', 'FAILED', 'IN_DOUBT', 'SKIPPED']);
const TOKEN = 'e2e-dispatch-admin-token-01';
const OPT_IN_LINK = 'https://wa.me/6281100000000?text=MULAI';

describe('provider-dispatcher with several providers, killed mid-send', () => {
  const id = uniq('');
  const prefix = `e2e-dprov-${id}.`;
  const logDir = path.join(root, '.stack', 'e2e', `dispatch-providers-${id}`);
  const logFile = path.join(logDir, 'provider-dispatcher.log');
  const kafka = new Kafka({ brokers: stack.brokers, clientId: uniq('e2e-dprov-'), logLevel: logLevel.NOTHING });
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
  const producer = EventProducer.create(kafka, codec);
  let reader: Consumer | undefined;
  let dispatchedCaughtUp: () => Promise<void> = async () => undefined;
  let server: Server | undefined;
  let proc: ChildProcess | undefined;
  let env: Record<string, string>;
  let opsUrl = '';
  const dispatched: NotificationDispatchRecorded[] = [];
  /** Requests that reached a provider: recipient (E.164) → [provider, text or template]. */
  const arrivals = new Map<string, { provider: string; message: string }[]>();
  let inFlight = 0;
  const DELAY_MS = 600;

  const launch = () => {
    const out = fs.openSync(logFile, 'a');
    proc = spawn(process.execPath, ['dist/main.js'], { cwd: path.join(root, 'services/provider-dispatcher'), env, stdio: ['ignore', out, out] });
  };
  const log = () => fs.readFileSync(logFile, 'utf8');
  const runningCount = () => log().split('\n').filter((l) => l.includes('provider-dispatcher running')).length;
  const adminCall = async (method: string, p: string, body?: unknown) => {
    const r = await fetch(`${opsUrl}/v1/admin${p}`, { method, headers: { Authorization: `Bearer ${TOKEN}`, ...(body ? { 'Content-Type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
    return r.json() as Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const contactEvent = (p: string, kind: 'OPTED_IN' | 'OPTED_OUT') => ({
    topic: 'contact.events' as const, key: p,
    value: { eventId: uniq('ce-'), occurredAt: Date.now(), correlationId: 'e2e', causationId: null, provider: 'meta', phone: p, kind, text: kind === 'OPTED_IN' ? 'MULAI' : 'BERHENTI' },
  });

  beforeAll(async () => {
    fs.mkdirSync(logDir, { recursive: true });
    const sim = createSimulator({
      metaAccessToken: 'e2e-meta-access-token', metaAppSecret: 'e2e-meta-app-secret', statuses: [], webhookDelayMs: 0,
      providers: { fonnte: { token: 'e2e-fonnte-token-0001', webhookToken: 'e2e-fonnte-webhook-token' } },
    });
    const app = express();
    const slow = (provider: string, to: (b: Record<string, string>) => string, message: (b: Record<string, unknown>) => string): express.RequestHandler => (req, _res, next) => {
      const b = req.body as Record<string, string>;
      const list = arrivals.get(to(b)) ?? [];
      list.push({ provider, message: message(b) });
      arrivals.set(to(b), list);
      inFlight++;
      setTimeout(() => { inFlight--; next(); }, DELAY_MS);
    };
    app.use('/meta', express.json(), slow('meta', (b) => b.to!, (b) => (b.template as { name: string }).name));
    app.use('/fonnte/send', express.urlencoded({ extended: false }), slow('fonnte', (b) => `+${b.target}`, (b) => String(b.message)));
    app.use(sim.app);
    const simPort = await freePort();
    server = await new Promise<Server>((resolve) => { const s = app.listen(simPort, '127.0.0.1', () => resolve(s)); });
    const opsPort = await freePort();
    opsUrl = `http://127.0.0.1:${opsPort}`;
    env = {
      ...PRIVACY_TEST_ENV,
      PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', KAFKA_BROKERS: stack.brokers.join(','), SCHEMA_REGISTRY_URL: stack.registryUrl,
      TOPIC_PREFIX: prefix, TOPIC_PARTITIONS: '3', OPS_PORT: String(opsPort), ADMIN_API_TOKEN: TOKEN,
      META_BASE_URL: `http://127.0.0.1:${simPort}/meta`, META_ACCESS_TOKEN: 'e2e-meta-access-token', META_PHONE_NUMBER_ID: '100000000000001',
      FONNTE_BASE_URL: `http://127.0.0.1:${simPort}/fonnte`, FONNTE_TOKEN: 'e2e-fonnte-token-0001',
      PROVIDER_CHAIN: 'meta,fonnte', OPT_IN_LINK, OPT_IN_TEXT: 'Aktifkan notifikasi resmi: {link}',
      RATE_LIMITS: 'meta=off,fonnte=off', PROVIDER_TIMEOUT_MS: '20000', RETRY_DELAY_MS: '200',
      // Several batches per partition, several calls in flight per batch.
      DISPATCH_BATCH_MAX: '10', PROVIDER_CONCURRENCY: '4',
    };
    // The opt-in state the dispatcher reads from contact.events at start.
    await codec.register(['contact.events', 'notification.rendered', 'notification.dispatch']);
    await producer.connect();
    launch();
    await waitFor(async () => runningCount() === 1, { timeoutMs: 90_000, what: 'provider-dispatcher running' });
    await producer.send(Array.from({ length: N }, (_, i) => i).filter(optedIn).map((i) => contactEvent(phone(i), 'OPTED_IN')));
    ({ consumer: reader, untilCaughtUp: dispatchedCaughtUp } = await readDecoded({ kafka, codec, groupPrefix: prefix, topic: 'notification.dispatch', onValue: (v) => { dispatched.push(v); } }));
  });

  afterAll(async () => {
    proc?.kill('SIGKILL');
    await reader?.disconnect();
    await producer.disconnect();
    await new Promise((r) => server ? server.close(r) : r(undefined));
  });

  it('routes by the opt-in state it follows on contact.events, sends each number at most once across a kill -9, and reports the in-doubt sends', async () => {
    // The followed opt-in state, seen through the admin API's dry-run routing.
    await waitFor(async () => (await adminCall('POST', '/test-send', { to: phone(N - 1 - ((N - 1) % 3)), dryRun: true })).decision.reason === 'OPTED_IN', { what: 'opt-ins followed' });
    const optedOut = N - 1; // not opted in: would go through Fonnte
    await producer.send([contactEvent(phone(optedOut), 'OPTED_OUT')]);
    await waitFor(async () => (await adminCall('POST', '/test-send', { to: phone(optedOut), dryRun: true })).decision.reason === 'OPTED_OUT', { what: 'the opt-out followed' });

    const notifications = renderedNotifications({ id, n: N, phone, parameter: 'nama_pemohon' });
    await producer.send(notifications.map((value) => ({ topic: 'notification.rendered' as const, key: value.pendaftaran_id, value })));

    // Kill it while a later batch's calls are in flight (an earlier batch already accepted).
    await waitFor(async () => dispatched.some((e) => e.status === 'ACCEPTED') && inFlight >= 2, { timeoutMs: 60_000, intervalMs: 10, what: 'a batch accepted and calls in flight' });
    const exited = new Promise((r) => proc!.once('exit', r));
    proc!.kill('SIGKILL');
    await exited;
    // Every claim it wrote before dying, read back (the reader is asynchronous; nothing is written while it is down).
    await dispatchedCaughtUp();
    const arrivedBeforeKill = new Map([...arrivals].map(([k, v]) => [k, v.length]));

    launch();
    await waitFor(async () => runningCount() === 2, { timeoutMs: 90_000, what: 'provider-dispatcher running again' });
    const finals = () => {
      const m = new Map<string, Map<string, NotificationDispatchRecorded>>();
      for (const e of dispatched) if (FINAL.has(e.status)) (m.get(e.notificationId) ?? m.set(e.notificationId, new Map()).get(e.notificationId)!).set(e.eventId, e);
      return m;
    };
    await waitFor(async () => notifications.every((n) => finals().has(n.notificationId)), { timeoutMs: 120_000, what: 'a final outcome for every notification' });
    // A second wave, posted only now: whatever the kill interrupted, the restarted
    // dispatcher must send new work (to numbers that never opted in: Fonnte, with the link).
    const secondWave = renderedNotifications({ id: `${id}-w2`, n: M, phone: phone2, parameter: 'nama_pemohon' });
    await producer.send(secondWave.map((value) => ({ topic: 'notification.rendered' as const, key: value.pendaftaran_id, value })));
    await waitFor(async () => finals().size === N + M, { timeoutMs: 120_000, what: 'a final outcome for every notification of the second wave' });
    await new Promise((r) => setTimeout(r, DELAY_MS + 1500)); // nothing more may arrive

    // At most once at any provider, per number.
    expect([...arrivals].filter(([, v]) => v.length > 1)).toEqual([]);
    const inDoubt: string[] = [];
    for (const [i, n] of notifications.entries()) {
      const f = finals().get(n.notificationId)!;
      expect([n.notificationId, f.size]).toEqual([n.notificationId, 1]); // exactly one final outcome
      const e = [...f.values()][0]!;
      const reached = arrivals.get(n.recipient.phone) ?? [];
      if (i === optedOut) {
        expect([e.status, e.provider, e.errorCode, e.routeReason, reached.length]).toEqual(['SKIPPED', 'none', null, 'OPTED_OUT', 0]);
      } else if (e.status === 'ACCEPTED') {
        expect([n.notificationId, e.provider, reached.length]).toEqual([n.notificationId, optedIn(i) ? 'meta' : 'fonnte', 1]);
        expect(reached[0]!.message).toBe(optedIn(i) ? 'sicantik_permit_ready' : `Izin Anda telah terbit.\n\nAktifkan notifikasi resmi: ${OPT_IN_LINK}`);
        expect(e.routeReason).toBe(optedIn(i) ? 'OPTED_IN' : 'NOT_OPTED_IN');
      } else {
        // Only a notification claimed before the kill, sent at most once (in flight or not yet called then), never after.
        // (claimed by the killed process: the restarted one claims nothing it finds claimed; a claim produced just
        // before the kill may reach the topic after the read above)
        expect([n.notificationId, e.status, dispatched.some((x) => x.notificationId === n.notificationId && x.status === 'SENDING'), reached.length === (arrivedBeforeKill.get(n.recipient.phone) ?? 0)]).toEqual([n.notificationId, 'IN_DOUBT', true, true]);
        inDoubt.push(n.notificationId);
      }
    }
    expect(inDoubt.length).toBeGreaterThan(0);
    // The second wave: every one accepted once, by Fonnte with the opt-in link, none in doubt.
    expect(secondWave.map((n) => {
      const f = [...finals().get(n.notificationId)!.values()];
      const reached = arrivals.get(n.recipient.phone) ?? [];
      return [n.notificationId, f.length, f[0]!.status, f[0]!.provider, f[0]!.routeReason, reached.length, reached[0]?.message];
    })).toEqual(secondWave.map((n) => [n.notificationId, 1, 'ACCEPTED', 'fonnte', 'NOT_OPTED_IN', 1, `Izin Anda telah terbit.\n\nAktifkan notifikasi resmi: ${OPT_IN_LINK}`]));

    // The operator sees exactly those, from the admin API and from the CLI.
    const listed = await adminCall('GET', '/in-doubt');
    expect(listed.items.map((x: { notificationId: string }) => x.notificationId).sort()).toEqual([...inDoubt].sort());
    const cli = (...args: string[]) => JSON.parse(execFileSync(process.execPath, [path.join(root, 'services/provider-dispatcher/dist/cli.js'), ...args], { env: { ...process.env, DISPATCHER_URL: opsUrl, ADMIN_API_TOKEN: TOKEN }, encoding: 'utf8' }));
    expect(cli('in-doubt')).toEqual(listed);
    const providers = cli('providers');
    expect(providers).toMatchObject({ chain: ['meta', 'fonnte'], optInRequired: expect.arrayContaining(['meta']), optInLink: OPT_IN_LINK });
    expect(providers.providers.map((p: { name: string; circuit: { state: string } }) => [p.name, p.circuit.state])).toEqual([['meta', 'closed'], ['fonnte', 'closed']]);
  });
});
