import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Consumer, Kafka } from 'kafkajs';
import { messageRef } from '@sicantik/privacy';
import type { NotificationRendered, SchemaCodec, TopicName, TopicValues } from '@sicantik/schemas';

////////// Helpers shared by integration and end-to-end tests

export const stack = {
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  registryUrl: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
  mongoUrl: process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017',
};

/**
 * The privacy settings (@sicantik/privacy) every service needs, for tests: fixed test keys
 * (never used anywhere else).
 */
export const PRIVACY_TEST_ENV = {
  PRIVACY_MASTER_KEYS: 'e2e1:jA4DXKxSq4Nuv4cnwE0FQJPt/nRHHNPSB/1htoxPnAY=',
  PRIVACY_INDEX_KEY: 'xeNS/ezEe3vaFOCx6cNTi76+VpjkmVe+mP1MNH23i50=',
};

/**
 * The ref of a provider message id under the test index key (@sicantik/privacy messageRef):
 * what delivery.status records name their message by (key, providerMessageRef and, since
 * the id is never written there, providerMessageId).
 */
export const testMessageRef = (provider: string, providerMessageId: string): string =>
  messageRef(Buffer.from(PRIVACY_TEST_ENV.PRIVACY_INDEX_KEY, 'base64'), provider, providerMessageId);

/** Random names so tests never share topics, groups or databases. */
export const uniq = (prefix: string) => `${prefix}${randomBytes(4).toString('hex')}`;

/**
 * A clock end-to-end tests move across processes: pass `file` as SICANTIK_TEST_CLOCK_FILE
 * (@sicantik/core clockFromEnv); `set(ms)` moves every service's clock to that time (it runs
 * on from there); `remove()` after the system stopped.
 */
export function testClock(name: string): { file: string; set(at: number): void; remove(): void } {
  const file = path.join(os.tmpdir(), `sicantik-${name}-clock-${uniq('')}`);
  fs.writeFileSync(file, '0');
  return { file, set: (at) => fs.writeFileSync(file, String(at - Date.now())), remove: () => fs.rmSync(file, { force: true }) };
}

export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v as T;
    } catch (e) { lastErr = e; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}

/**
 * n free ports, all different: each is held open until all are chosen (ports taken one
 * after the other with freePort can repeat, since each is released before the next).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export function silentLogger() {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pino = require('pino') as typeof import('pino');
  return pino.default({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}

/** The seed's text for a template code, exactly as written in the specification. */
export function seedTemplate(code: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('node:fs') as typeof import('node:fs');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const path = require('node:path') as typeof import('node:path');
  const candidates = [process.env.SEEDS_DIR, path.resolve(__dirname, '../../../shared/seeds'), path.resolve(__dirname, '../fixtures/seeds')].filter(Boolean) as string[];
  for (const dir of candidates) {
    const file = path.join(dir, '000_e57e18fdd1a3855c.txt');
    if (!fs.existsSync(file)) continue;
    const seed = fs.readFileSync(file, 'utf8');
    const m = new RegExp(`\\*\\*Template Code:\\*\\* \`${code}\`\\s*\\n+\`\`\`\\n([\\s\\S]*?)\\n\`\`\``).exec(seed);
    if (!m) throw new Error(`template ${code} not found in seed`);
    return m[1]!;
  }
  throw new Error('seed 000 not found');
}

/** Substitutes {var} placeholders the way the seed writes them. */
export function fillSeed(text: string, vars: Record<string, string>): string {
  return text.replace(/\{(\w+)\}/g, (_, k: string) => {
    if (!(k in vars)) throw new Error(`no value for {${k}}`);
    return vars[k]!;
  });
}

/**
 * Reads a topic from its beginning with a fresh group, decoding every record into
 * `onValue`. `untilCaughtUp()` resolves once every record the topic holds now has been
 * handed over (e.g. after killing its only writer: what it wrote before the kill).
 * Disconnect `consumer` after.
 */
export async function readDecoded<T extends TopicName>(o: { kafka: Kafka; codec: SchemaCodec; groupPrefix: string; topic: T; onValue(v: TopicValues[T]): void }): Promise<{ consumer: Consumer; untilCaughtUp(): Promise<void> }> {
  const consumer = o.kafka.consumer({ groupId: uniq(`${o.groupPrefix}reader-`), maxWaitTimeInMs: 200 });
  const read = new Map<number, bigint>(); // partition -> next offset handed over
  await consumer.connect();
  await consumer.subscribe({ topic: o.codec.topic(o.topic), fromBeginning: true });
  await consumer.run({ eachMessage: async ({ partition, message }) => { o.onValue(await o.codec.decode(o.topic, message.value!)); read.set(partition, BigInt(message.offset) + 1n); } });
  const untilCaughtUp = async () => {
    const admin = o.kafka.admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(o.codec.topic(o.topic));
      await waitFor(async () => ends.every((e) => BigInt(e.high) <= BigInt(e.low) || (read.get(e.partition) ?? 0n) >= BigInt(e.high)), { timeoutMs: 30_000, intervalMs: 20, what: `${o.topic} read to its end` });
    } finally { await admin.disconnect(); }
  };
  return { consumer, untilCaughtUp };
}

/** `n` rendered permit_ready notifications for dispatcher tests: ids `${id}-n-${i}`, to `phone(i)`, one parameter `parameter` = Budi. */
export function renderedNotifications(o: { id: string; n: number; phone(i: number): string; parameter: string }): NotificationRendered[] {
  return Array.from({ length: o.n }, (_, i) => ({
    eventId: `${o.id}-r-${i}`, occurredAt: Date.now(), correlationId: `${o.id}-c-${i}`, causationId: null, notificationId: `${o.id}-n-${i}`,
    scenario: 'permit_ready', templateCode: 'permit_ready', templateVersion: 1, pendaftaran_id: `REG-${o.id}-${i}`,
    recipient: { kind: 'APPLICANT', id: `REG-${i}`, name: 'Budi', phone: o.phone(i) },
    outcome: 'RENDERED', text: 'Izin Anda telah terbit.', parameters: [{ name: o.parameter, value: 'Budi' }], language: 'id', failureReason: null,
  }));
}
