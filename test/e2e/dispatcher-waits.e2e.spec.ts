import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import * as path from 'node:path';
import express from 'express';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { EventProducer } from '@sicantik/kafka';
import { SchemaCodec, type ContactEvent, type NotificationDispatchRecorded, type NotificationRendered } from '@sicantik/schemas';
import { createSimulator } from '../../tools/provider-simulator/src/app';
import { PRIVACY_TEST_ENV, freePort, readDecoded, renderedNotifications, stack, uniq, waitFor } from '../support';

////////// provider-dispatcher: quiet hours (notBefore), urgent messages, and the consent hold (issue 16)
// The dispatcher runs as a process (built output) with Meta alone (the simulator, in this
// process, counting the requests per recipient) and a test clock (SICANTIK_TEST_CLOCK_FILE)
// the test moves. notification.rendered and contact.events records are produced directly
// (the planner's stamps and the consent classifier's events are other parts' work).
//   (a) planned at 22:00 WIB for 07:00: DEFERRED, the dispatcher restarted in between,
//       sent exactly once when the clock says 07:00;
//   (b) urgent (notBefore null) at 23:00: sent at once;
//   (c) a never-asked contact: HELD, nothing sent; sent once after its OPTED_IN; a held
//       60-day expiry warning DROPPED (supersededBy) when the 30-day one arrives.

const root = path.resolve(__dirname, '..', '..');
const H = 3_600_000;
/** 22:00 WIB (15:00 UTC) tomorrow, and 07:00 WIB the morning after. */
const T22 = (() => { const d = new Date(); d.setUTCHours(15, 0, 0, 0); return d.getTime() + 24 * H; })();
const T07 = T22 + 9 * H;

describe('provider-dispatcher: deferred, urgent and held notifications', () => {
  const id = uniq('');
  const prefix = `e2e-waits-${id}.`;
  const logDir = path.join(root, '.stack', 'e2e', `dispatcher-waits-${id}`);
  const logFile = path.join(logDir, 'provider-dispatcher.log');
  const clockFile = path.join(logDir, 'clock');
  const kafka = new Kafka({ brokers: stack.brokers, clientId: uniq('e2e-waits-'), logLevel: logLevel.NOTHING });
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
  const producer = EventProducer.create(kafka, codec);
  const readers: Consumer[] = [];
  let server: Server | undefined;
  let proc: ChildProcess | undefined;
  const dispatched: NotificationDispatchRecorded[] = [];
  const contacts: ContactEvent[] = [];
  /** Requests that reached Meta, by recipient. */
  const arrivals = new Map<string, number>();
  let env: Record<string, string>;

  /** The services' time: the system time + the file's offset. */
  const setClock = (at: number) => fs.writeFileSync(clockFile, String(at - Date.now()));
  const launch = () => {
    const out = fs.openSync(logFile, 'a');
    proc = spawn(process.execPath, ['dist/main.js'], { cwd: path.join(root, 'services/provider-dispatcher'), env, stdio: ['ignore', out, out] });
  };
  const runningCount = () => fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('provider-dispatcher running')).length;
  const statusesOf = (nid: string) => dispatched.filter((e) => e.notificationId === nid).map((e) => e.status);
  const phone = (tag: string) => `+62812${tag}${id.replace(/\D/g, '').padEnd(6, '7').slice(0, 6)}`;
  const one = (nid: string, to: string, over: Partial<NotificationRendered> = {}): NotificationRendered =>
    ({ ...renderedNotifications({ id: `${id}-${nid}`, n: 1, phone: () => to, parameter: 'nama' })[0]!, notificationId: `${id}-${nid}`, ...over });
  const render = (ns: NotificationRendered[]) => producer.send(ns.map((value) => ({ topic: 'notification.rendered' as const, key: value.pendaftaran_id, value })));
  const optIn = (to: string, at: number) => producer.send([{ topic: 'contact.events', key: to, value: {
    eventId: uniq('opt-in-'), occurredAt: at, correlationId: uniq('c-'), causationId: null, provider: 'meta', phone: to, kind: 'OPTED_IN', text: 'MULAI',
    subjectId: null, providerMessageId: null, contextId: null, notificationId: null, pendaftaran_id: null, reason: null, optInRequest: false,
  } }]);
  const quietly = (ms: number) => new Promise((r) => setTimeout(r, ms));

  beforeAll(async () => {
    fs.mkdirSync(logDir, { recursive: true });
    setClock(T22);
    const sim = createSimulator({ metaAccessToken: 'e2e-meta-access-token', metaAppSecret: 'e2e-meta-app-secret', statuses: [], webhookDelayMs: 0 });
    const app = express();
    app.use('/meta', express.json(), (req, _res, next) => {
      const to = (req.body as { to?: string }).to ?? '?';
      arrivals.set(to, (arrivals.get(to) ?? 0) + 1);
      next();
    });
    app.use(sim.app);
    const simPort = await freePort();
    server = await new Promise<Server>((resolve) => { const s = app.listen(simPort, '127.0.0.1', () => resolve(s)); });
    env = {
      PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', KAFKA_BROKERS: stack.brokers.join(','), SCHEMA_REGISTRY_URL: stack.registryUrl,
      TOPIC_PREFIX: prefix, TOPIC_PARTITIONS: '3', OPS_PORT: String(await freePort()), SICANTIK_TEST_CLOCK_FILE: clockFile,
      META_BASE_URL: `http://127.0.0.1:${simPort}/meta`, META_ACCESS_TOKEN: 'e2e-meta-access-token', META_PHONE_NUMBER_ID: '100000000000001',
      PROVIDER_CHAIN: 'meta', RECONCILE: 'off', ...PRIVACY_TEST_ENV,
      // A waiting partition is read again within half a second (the test clock jumps), held ones are swept as often.
      WAIT_RECHECK_MS: '500', HOLD_SWEEP_MS: '500',
    };
    launch();
    await waitFor(async () => runningCount() === 1, { timeoutMs: 90_000, what: 'provider-dispatcher running' });
    await codec.register(['notification.rendered', 'notification.dispatch', 'contact.events']);
    await producer.connect();
    readers.push((await readDecoded({ kafka, codec, groupPrefix: `${prefix}d`, topic: 'notification.dispatch', onValue: (v) => { dispatched.push(v); } })).consumer);
    readers.push((await readDecoded({ kafka, codec, groupPrefix: `${prefix}c`, topic: 'contact.events', onValue: (v) => { contacts.push(v); } })).consumer);
  }, 120_000);

  afterAll(async () => {
    proc?.kill('SIGKILL');
    for (const r of readers) await r.disconnect();
    await producer.disconnect();
    await new Promise((r) => server ? server.close(r) : r(undefined));
  });

  it('(a, b) planned at 22:00 for 07:00: DEFERRED, kept across a restart, sent exactly once at 07:00; an urgent one at 23:00 goes at once', async () => {
    const A = phone('1'); const B = phone('2');
    await optIn(A, T22 - H);
    await optIn(B, T22 - H);
    const night = one('a', A, { notBefore: T07, deferReason: 'QUIET_HOURS' });
    await render([night]);
    await waitFor(async () => statusesOf(night.notificationId).includes('DEFERRED'), { timeoutMs: 30_000, what: 'DEFERRED' });
    expect(dispatched.find((e) => e.notificationId === night.notificationId)).toMatchObject({ status: 'DEFERRED', notBefore: T07, routeReason: 'QUIET_HOURS', provider: 'meta' });

    // Restarted in between (a graceful stop, then a new process restoring its ledger).
    const exited = new Promise((r) => proc!.once('exit', r));
    proc!.kill('SIGTERM');
    await exited;
    launch();
    await waitFor(async () => runningCount() === 2, { timeoutMs: 90_000, what: 'provider-dispatcher running again' });

    // 23:00: an urgent message goes at once; the deferred one still waits.
    setClock(T22 + H);
    const urgent = one('b', B, { notBefore: null });
    await render([urgent]);
    await waitFor(async () => statusesOf(urgent.notificationId).includes('ACCEPTED'), { timeoutMs: 30_000, what: 'the urgent one accepted' });
    expect(arrivals.get(B)).toBe(1);
    await quietly(2000);
    expect(arrivals.get(A)).toBeUndefined();
    expect(statusesOf(night.notificationId)).toEqual(['DEFERRED']);

    // 07:00: sent, exactly once.
    setClock(T07);
    await waitFor(async () => statusesOf(night.notificationId).includes('ACCEPTED'), { timeoutMs: 30_000, what: 'the deferred one accepted at 07:00' });
    await quietly(2000);
    expect(arrivals.get(A)).toBe(1);
    expect(statusesOf(night.notificationId)).toEqual(['DEFERRED', 'SENDING', 'ACCEPTED']);
    expect(dispatched.find((e) => e.notificationId === night.notificationId && e.status === 'SENDING')!.occurredAt).toBeGreaterThanOrEqual(T07);
    expect(contacts.filter((c) => c.kind === 'MESSAGE_SENT').map((c) => c.notificationId).sort()).toEqual([night.notificationId, urgent.notificationId].sort());
  }, 240_000);

  it('(c) Meta alone: a never-asked contact\'s message is HELD, sent once after its OPTED_IN; a held 60-day warning is DROPPED when the 30-day one arrives', async () => {
    const C = phone('3'); const D = phone('4');
    const held = one('c', C);
    await render([held]);
    await waitFor(async () => statusesOf(held.notificationId).includes('HELD'), { timeoutMs: 30_000, what: 'HELD' });
    expect(dispatched.find((e) => e.notificationId === held.notificationId)).toMatchObject({ status: 'HELD', routeReason: 'AWAITING_OPT_IN', provider: 'meta' });
    await quietly(1500);
    expect(arrivals.get(C)).toBeUndefined();

    await optIn(C, T07 + 60_000);
    await waitFor(async () => statusesOf(held.notificationId).includes('ACCEPTED'), { timeoutMs: 30_000, what: 'sent after the opt-in' });
    await quietly(1500);
    expect(arrivals.get(C)).toBe(1);
    expect(statusesOf(held.notificationId)).toEqual(['HELD', 'SENDING', 'ACCEPTED']);

    const key = `permit_expiry_warning|${id}|APPLICANT`;
    const w60 = one('w60', D, { supersedeKey: key });
    const w30 = one('w30', D, { supersedeKey: key, pendaftaran_id: w60.pendaftaran_id });
    await render([w60]);
    await waitFor(async () => statusesOf(w60.notificationId).includes('HELD'), { timeoutMs: 30_000, what: 'the 60-day warning held' });
    await render([w30]);
    await waitFor(async () => statusesOf(w60.notificationId).includes('DROPPED') && statusesOf(w30.notificationId).includes('HELD'), { timeoutMs: 30_000, what: 'the 60-day warning dropped' });
    expect(dispatched.find((e) => e.notificationId === w60.notificationId && e.status === 'DROPPED')).toMatchObject({ routeReason: 'SUPERSEDED', supersededBy: w30.notificationId, supersedeKey: key });
    await quietly(1500);
    expect(arrivals.get(D)).toBeUndefined();
  }, 240_000);
});
