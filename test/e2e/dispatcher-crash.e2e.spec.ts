import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import * as path from 'node:path';
import express from 'express';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { EventProducer } from '@sicantik/kafka';
import { SchemaCodec, type NotificationDispatchRecorded } from '@sicantik/schemas';
import { createSimulator } from '../../tools/provider-simulator/src/app';
import { PRIVACY_TEST_ENV, freePort, readDecoded, renderedNotifications, stack, uniq, waitFor } from '../support';
import { FINAL_STATUSES } from '../../services/provider-dispatcher/src/domain/ledger';

////////// provider-dispatcher killed (SIGKILL) mid-batch and restarted
// The dispatcher runs as a process (built output) against a slow provider simulator
// (in this process, each send held 600 ms, so calls are in flight when it dies). It
// keeps its ledger in Kafka only: after the restart it restores it from dispatch.ledger.
// Every notification reaches the provider at most once and ends with exactly one final
// outcome: ACCEPTED, or IN_DOUBT when it was claimed (maybe sent) before the kill.

const root = path.resolve(__dirname, '..', '..');
const N = 90;
const phone = (i: number) => `+628120000${String(i).padStart(4, '0')}`;
/** The second wave, posted after the restart. */
const M = 9;
const phone2 = (i: number) => `+6281200009${String(i).padStart(3, '0')}`;
const FINAL: ReadonlySet<string> = FINAL_STATUSES;

describe('provider-dispatcher killed mid-batch', () => {
  const id = uniq('');
  const prefix = `e2e-crash-${id}.`;
  const logDir = path.join(root, '.stack', 'e2e', `dispatcher-crash-${id}`);
  const logFile = path.join(logDir, 'provider-dispatcher.log');
  const kafka = new Kafka({ brokers: stack.brokers, clientId: uniq('e2e-crash-'), logLevel: logLevel.NOTHING });
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
  const producer = EventProducer.create(kafka, codec);
  let reader: Consumer | undefined;
  let dispatchedCaughtUp: () => Promise<void> = async () => undefined;
  let server: Server | undefined;
  let proc: ChildProcess | undefined;
  const dispatched: NotificationDispatchRecorded[] = [];

  /** Requests that reached the provider, by recipient phone; and the ones not answered yet. */
  const arrivals = new Map<string, number>();
  let inFlight = 0;
  const DELAY_MS = 600;
  let env: Record<string, string>;

  const launch = () => {
    const out = fs.openSync(logFile, 'a');
    proc = spawn(process.execPath, ['dist/main.js'], { cwd: path.join(root, 'services/provider-dispatcher'), env, stdio: ['ignore', out, out] });
  };
  const log = () => fs.readFileSync(logFile, 'utf8');
  const runningCount = () => log().split('\n').filter((l) => l.includes('provider-dispatcher running')).length;

  beforeAll(async () => {
    fs.mkdirSync(logDir, { recursive: true });
    const sim = createSimulator({ metaAccessToken: 'e2e-meta-access-token', metaAppSecret: 'e2e-meta-app-secret', statuses: [], webhookDelayMs: 0 });
    const app = express();
    app.use('/meta', express.json(), (req, res, next) => {
      const to = (req.body as { to?: string }).to ?? '?';
      arrivals.set(to, (arrivals.get(to) ?? 0) + 1);
      inFlight++;
      setTimeout(() => { inFlight--; next(); }, DELAY_MS);
    });
    app.use(sim.app);
    const simPort = await freePort();
    server = await new Promise<Server>((resolve) => { const s = app.listen(simPort, '127.0.0.1', () => resolve(s)); });
    env = {
      ...PRIVACY_TEST_ENV,
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'info',
      KAFKA_BROKERS: stack.brokers.join(','),
      SCHEMA_REGISTRY_URL: stack.registryUrl,
      TOPIC_PREFIX: prefix,
      TOPIC_PARTITIONS: '3',
      OPS_PORT: String(await freePort()),
      META_BASE_URL: `http://127.0.0.1:${simPort}/meta`,
      META_ACCESS_TOKEN: 'e2e-meta-access-token',
      META_PHONE_NUMBER_ID: '100000000000001',
      PROVIDER_TIMEOUT_MS: '20000',
      // Meta alone, contacts who never opted in: sent anyway (the hold is dispatcher-waits.e2e's).
      UNCONSENTED_OPT_IN_PROVIDERS: 'send',
      RETRY_DELAY_MS: '200',
      // Several batches per partition, several calls in flight per batch.
      DISPATCH_BATCH_MAX: '10',
      PROVIDER_CONCURRENCY: '4',
    };
    launch();
    await waitFor(async () => runningCount() === 1, { timeoutMs: 90_000, what: 'provider-dispatcher running' });
    await codec.register(['notification.rendered', 'notification.dispatch']); // the same schemas the dispatcher registered
    await producer.connect();
    ({ consumer: reader, untilCaughtUp: dispatchedCaughtUp } = await readDecoded({ kafka, codec, groupPrefix: prefix, topic: 'notification.dispatch', onValue: (v) => { dispatched.push(v); } }));
  });

  afterAll(async () => {
    proc?.kill('SIGKILL');
    await reader?.disconnect();
    await producer.disconnect();
    await new Promise((r) => server ? server.close(r) : r(undefined));
  });

  it('each notification reaches the provider at most once, and ends with exactly one final outcome', async () => {
    const notifications = renderedNotifications({ id, n: N, phone, parameter: 'nama' });
    await producer.send(notifications.map((value) => ({ topic: 'notification.rendered' as const, key: value.pendaftaran_id, value })));

    // Kill it while a later batch's calls are in flight (an earlier batch already accepted).
    await waitFor(async () => dispatched.some((e) => e.status === 'ACCEPTED') && inFlight >= 2, { timeoutMs: 60_000, intervalMs: 10, what: 'a batch accepted and calls in flight' });
    const exited = new Promise((r) => proc!.once('exit', r));
    proc!.kill('SIGKILL');
    await exited;
    // Every claim it wrote before dying, read back (the reader is asynchronous; nothing is written while it is down).
    await dispatchedCaughtUp();
    const arrivedBeforeKill = new Map(arrivals);
    const claimedBeforeKill = new Set(dispatched.filter((e) => e.status === 'SENDING').map((e) => e.notificationId));

    launch();
    await waitFor(async () => runningCount() === 2, { timeoutMs: 90_000, what: 'provider-dispatcher running again' });
    const finalIds = () => {
      const m = new Map<string, Set<string>>();
      for (const e of dispatched) if (FINAL.has(e.status)) (m.get(e.notificationId) ?? m.set(e.notificationId, new Set()).get(e.notificationId)!).add(e.eventId);
      return m;
    };
    await waitFor(async () => notifications.every((n) => finalIds().has(n.notificationId)), { timeoutMs: 120_000, what: 'a final outcome for every notification' });
    // A second wave, posted only now: the restarted dispatcher sends new work, whenever the kill landed.
    const secondWave = renderedNotifications({ id: `${id}-w2`, n: M, phone: phone2, parameter: 'nama' });
    await producer.send(secondWave.map((value) => ({ topic: 'notification.rendered' as const, key: value.pendaftaran_id, value })));
    await waitFor(async () => finalIds().size === N + M, { timeoutMs: 120_000, what: 'a final outcome for every notification of the second wave' });
    await new Promise((r) => setTimeout(r, DELAY_MS + 1500)); // nothing more may arrive

    // At most once at the provider.
    expect([...arrivals.values()].filter((n) => n > 1)).toEqual([]);
    const finals = finalIds();
    const outcome = new Map<string, NotificationDispatchRecorded>();
    const claimed = new Set(dispatched.filter((e) => e.status === 'SENDING').map((e) => e.notificationId));
    for (const n of notifications) {
      // exactly one final outcome (a re-emission carries the same event id)
      expect([n.notificationId, finals.get(n.notificationId)?.size]).toEqual([n.notificationId, 1]);
      const e = dispatched.find((x) => x.notificationId === n.notificationId && FINAL.has(x.status))!;
      outcome.set(n.notificationId, e);
      const reached = arrivals.get(n.recipient.phone) ?? 0;
      if (e.status === 'ACCEPTED') expect([n.notificationId, reached]).toEqual([n.notificationId, 1]);
      if (e.status === 'IN_DOUBT') {
        // only a claimed notification (by the killed process: the restarted one claims nothing it finds claimed; a claim
        // produced just before the kill may reach the topic after the read above), never sent after the kill
        expect([n.notificationId, claimed.has(n.notificationId), (arrivals.get(n.recipient.phone) ?? 0) === (arrivedBeforeKill.get(n.recipient.phone) ?? 0)]).toEqual([n.notificationId, true, true]);
      }
      expect(e.status === 'FAILED' ? [e.notificationId, e.attempt, e.errorCode, e.reason] : null).toBeNull(); // never FAILED (shows why if it were)
    }
    const by = (s: string) => [...outcome.values()].filter((e) => e.status === s).length;
    // The kill hit calls in flight (claimed, so in doubt); an earlier batch was accepted.
    expect(by('IN_DOUBT')).toBeGreaterThan(0);
    expect(by('ACCEPTED')).toBeGreaterThan(0);
    // The second wave: each accepted exactly once, reached the provider once.
    expect(secondWave.map((n) => [n.notificationId, finals.get(n.notificationId)?.size, dispatched.find((x) => x.notificationId === n.notificationId && FINAL.has(x.status))?.status, arrivals.get(n.recipient.phone)]))
      .toEqual(secondWave.map((n) => [n.notificationId, 1, 'ACCEPTED', 1]));
    // The restarted process restored the claims and outcomes from dispatch.ledger.
    // (all partitions at the assignment, or each partition at its first batch when that came first: summed over the restarted process's lines)
    const restores = log().split('\n').filter((l) => l.includes('ledger restored from the changelog')).map((l) => JSON.parse(l) as { pid: number; records: number });
    const restarted = restores.at(-1)!.pid;
    expect(restores.filter((r) => r.pid === restarted).reduce((n, r) => n + r.records, 0)).toBeGreaterThanOrEqual(claimedBeforeKill.size);
  });
});
