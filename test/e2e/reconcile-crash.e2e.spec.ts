import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { EventProducer } from '@sicantik/kafka';
import { configuredProviders, type ProviderName } from '@sicantik/providers';
import { SchemaCodec, type DeliveryStatusReported, type NotificationDispatchRecorded, type ReconcileEntry } from '@sicantik/schemas';
import { SECRETS, startHarness, type Harness } from '../../tools/provider-simulator/src/testHarness';
import { fetchExecutor } from '../../services/provider-dispatcher/src/adapters/http/executor';
import { ProviderGateway } from '../../services/provider-dispatcher/src/adapters/providers/gateway';
import { PRIVACY_TEST_ENV, freePort, readDecoded, stack, testMessageRef, uniq, waitFor } from '../support';

////////// The dispatcher's reconciler killed (SIGKILL) while it holds accepted messages
// The dispatcher runs as a process (built output). The provider simulator's webhooks are
// refused, so no report of its messages ever reaches Kafka. Accepted messages of Twilio
// (status API) and Fonnte (none) are recorded; once the reconciler has them on its
// changelog it is killed, before they are due, and started again: the new process
// restores them and resolves each once: DELIVERED from Twilio's status API, NO_REPORT for
// Fonnte.

const root = path.resolve(__dirname, '..', '..');
const AFTER_MS = 8000;

describe('reconciler killed while messages await their report', () => {
  const id = uniq('');
  const prefix = `e2e-rec-${id}.`;
  const logDir = path.join(root, '.stack', 'e2e', `reconcile-crash-${id}`);
  const logFile = path.join(logDir, 'provider-dispatcher.log');
  const kafka = new Kafka({ brokers: stack.brokers, clientId: uniq('e2e-rec-'), logLevel: logLevel.NOTHING });
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
  const producer = EventProducer.create(kafka, codec);
  const readers: Consumer[] = [];
  let sim: Harness;
  let gateway: ProviderGateway;
  let proc: ChildProcess | undefined;
  let env: Record<string, string>;
  const statuses: DeliveryStatusReported[] = [];
  const entries: ReconcileEntry[] = [];

  const launch = () => {
    const out = fs.openSync(logFile, 'a');
    proc = spawn(process.execPath, ['dist/main.js'], { cwd: path.join(root, 'services/provider-dispatcher'), env, stdio: ['ignore', out, out] });
  };
  const log = () => fs.readFileSync(logFile, 'utf8');
  const runningCount = () => log().split('\n').filter((l) => l.includes('provider-dispatcher running')).length;

  beforeAll(async () => {
    fs.mkdirSync(logDir, { recursive: true });
    sim = await startHarness({ statuses: ['sent', 'delivered'], webhookDelayMs: 20, webhookAttempts: 1 });
    sim.setReceiverStatus(503);
    const providerEnv = {
      TWILIO_ACCOUNT_SID: SECRETS.twilioAccountSid, TWILIO_AUTH_TOKEN: SECRETS.twilioAuthToken, TWILIO_WHATSAPP_FROM: '+14155238886', TWILIO_BASE_URL: `${sim.url}/twilio`,
      FONNTE_TOKEN: SECRETS.fonnteToken, FONNTE_BASE_URL: `${sim.url}/fonnte`,
    };
    gateway = new ProviderGateway({ providers: configuredProviders(providerEnv, { roles: ['send'] }), executor: fetchExecutor, timeoutMs: 5000, breaker: { errorPercent: 50, volume: 1000, windowMs: 10_000, resetMs: 60_000 } });
    env = {
      ...PRIVACY_TEST_ENV,
      PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', KAFKA_BROKERS: stack.brokers.join(','), SCHEMA_REGISTRY_URL: stack.registryUrl,
      TOPIC_PREFIX: prefix, TOPIC_PARTITIONS: '3', OPS_PORT: String(await freePort()), PROVIDER_CHAIN: 'twilio,fonnte', ...providerEnv,
      RECONCILE_AFTER_MS: String(AFTER_MS), RECONCILE_GIVE_UP_MS: '120000', RECONCILE_LOOKUP_BACKOFF_MS: '500', RECONCILE_TICK_MS: '200', FETCH_MAX_WAIT_MS: '100',
    };
    launch();
    await waitFor(async () => runningCount() === 1, { timeoutMs: 90_000, what: 'provider-dispatcher running' });
    await codec.register(['notification.dispatch', 'delivery.status', 'dispatch.reconcile']); // the same schemas the dispatcher registered
    await producer.connect();
    readers.push((await readDecoded({ kafka, codec, groupPrefix: prefix, topic: 'delivery.status', onValue: (v) => { statuses.push(v); } })).consumer);
    readers.push((await readDecoded({ kafka, codec, groupPrefix: prefix, topic: 'dispatch.reconcile', onValue: (v) => { entries.push(v); } })).consumer);
  });

  afterAll(async () => {
    proc?.kill('SIGKILL');
    for (const r of readers) await r.disconnect();
    await producer.disconnect();
    gateway.close();
    await sim.close();
  });

  it('restores the awaiting messages after the kill and resolves each once', async () => {
    let n = 0;
    const accept = async (provider: ProviderName): Promise<NotificationDispatchRecorded> => {
      const i = ++n;
      const r = await gateway.send(provider, { notificationId: `${id}-n-${i}`, toE164: `+6281277800${String(i).padStart(3, '0')}`, text: 'Perizinan Anda telah selesai diproses.', templateCode: 'permit_ready', parameters: [], language: 'id' });
      if (r.kind !== 'accepted') throw new Error(`${provider} did not accept: ${JSON.stringify(r)}`);
      return {
        eventId: `${id}-d-${i}`, occurredAt: Date.now(), correlationId: `${id}-c-${i}`, causationId: null, notificationId: `${id}-n-${i}`, pendaftaran_id: `REG-${id}-${i}`,
        scenario: 'permit_ready', templateCode: 'permit_ready', recipientKind: 'APPLICANT', provider, status: 'ACCEPTED', providerMessageId: r.providerMessageId, attempt: 1, errorCode: null, reason: null,
      };
    };
    const accepted: NotificationDispatchRecorded[] = [];
    for (let i = 0; i < 6; i++) accepted.push(await accept(i % 2 === 0 ? 'twilio' : 'fonnte'));
    await producer.send(accepted.map((value) => ({ topic: 'notification.dispatch' as const, key: value.pendaftaran_id, value })));

    // Every message awaiting on the changelog: then the kill, before any is due.
    await waitFor(async () => accepted.every((d) => entries.some((e) => e.providerMessageId === d.providerMessageId && e.acceptedAt !== null)), { timeoutMs: 60_000, what: 'awaiting entries on dispatch.reconcile' });
    expect(Date.now() - Math.min(...accepted.map((d) => d.occurredAt))).toBeLessThan(AFTER_MS);
    const exited = new Promise((r) => proc!.once('exit', r));
    proc!.kill('SIGKILL');
    await exited;
    expect(statuses).toEqual([]);

    launch();
    await waitFor(async () => runningCount() === 2, { timeoutMs: 90_000, what: 'provider-dispatcher running again' });
    // A delivery status names its message by the ref only (also in providerMessageId: the id is never written there).
    const of = (d: NotificationDispatchRecorded) => statuses.filter((s) => s.providerMessageRef === testMessageRef(d.provider, d.providerMessageId!) && s.providerMessageId === s.providerMessageRef);
    await waitFor(async () => accepted.every((d) => of(d).length > 0), { timeoutMs: 120_000, what: 'a status for every accepted message' });
    await new Promise((r) => setTimeout(r, 3000)); // nothing more may come
    expect(accepted.map((d) => [d.provider, of(d).map((s) => [s.status, s.source])])).toEqual(accepted.map((d) => [d.provider, [d.provider === 'twilio' ? ['DELIVERED', 'LOOKUP'] : ['NO_REPORT', 'RECONCILER']]]));
    // The restarted process found them on the changelog.
    const restored = log().split('\n').filter((l) => l.includes('reconciler state restored')).map((l) => JSON.parse(l) as { entries: number; pid: number });
    expect(restored.filter((r) => r.pid === proc!.pid).reduce((sum, r) => sum + r.entries, 0)).toBeGreaterThanOrEqual(accepted.length);
  });
});
