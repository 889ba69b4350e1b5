#!/usr/bin/env node
import { baseEnv, loadConfig, z } from '@sicantik/config';
import { createKafka, EventProducer } from '@sicantik/kafka';
import { createLogger } from '@sicantik/observability';
import { SchemaCodec } from '@sicantik/schemas';
import { KeyRing } from './keyring';
import { rewrapKeys } from './privacy';
import { generatePrivacyEnv, privacyEnv, privacySettings } from './settings';

////////// sicantik-privacy: key generation and master key rotation

const USAGE = `Usage: sicantik-privacy <command>

Commands:
  generate-keys   print a new PRIVACY_MASTER_KEYS and PRIVACY_INDEX_KEY (random; keep them secret)
  rewrap          re-wrap every live subject key with the first key of PRIVACY_MASTER_KEYS
                  (rotation: put the new key first, keep the old one after it, run this,
                  restart the services, then remove the old key)

Settings (environment): PRIVACY_MASTER_KEYS, PRIVACY_INDEX_KEY, KAFKA_BROKERS,
SCHEMA_REGISTRY_URL, TOPIC_PREFIX (packages/privacy/README.md).
`;

/** The CLI's settings: the common ones and the privacy keys. */
export const cliEnv = z.object({ ...baseEnv, ...privacyEnv });

/**
 * Runs the CLI on process.argv-style arguments (node, script, command, ...); returns the
 * exit code. A failure (bad settings, Kafka unreachable) is written to `err`, code 1.
 */
export async function main(argv: readonly string[], env: Record<string, string | undefined> = process.env, out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  try {
    return await run(argv.slice(2), env, out);
  } catch (e) {
    err(`sicantik-privacy: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

async function run(argv: readonly string[], env: Record<string, string | undefined>, out: (s: string) => void): Promise<number> {
  const cmd = argv[0];
  if (argv.some((a) => a === '--help' || a === '-h')) { out(USAGE); return 0; }
  if (!cmd) { out(USAGE); return 2; }
  if (cmd === 'generate-keys') {
    const k = generatePrivacyEnv();
    out(`PRIVACY_MASTER_KEYS=${k.PRIVACY_MASTER_KEYS}\nPRIVACY_INDEX_KEY=${k.PRIVACY_INDEX_KEY}\n`);
    return 0;
  }
  if (cmd !== 'rewrap') { out(`unknown command ${cmd}\n\n${USAGE}`); return 2; }
  const cfg = loadConfig(cliEnv, env);
  const settings = privacySettings(cfg);
  const logger = createLogger('privacy-cli', { level: cfg.LOG_LEVEL, instance: cfg.SERVICE_INSTANCE });
  const kafka = createKafka({ brokers: cfg.KAFKA_BROKERS, clientId: 'sicantik-privacy-cli', logger });
  const admin = kafka.admin();
  await admin.connect();
  const codec = new SchemaCodec({ registryUrl: cfg.SCHEMA_REGISTRY_URL, topicPrefix: cfg.TOPIC_PREFIX });
  await codec.register(['subject.keys', 'subject.index']);
  const producer = EventProducer.create(kafka, codec).producer;
  await producer.connect();
  const ring = await KeyRing.start({ kafka, admin, codec, masterKeys: settings.masterKeys, groupId: `${cfg.TOPIC_PREFIX}privacy-rewrap-${process.pid}-${Date.now()}`, logger });
  try {
    const r = await rewrapKeys({ ring, codec, producer, settings, logger });
    out(`re-wrapped ${r.rewrapped} subject key(s) with master key ${settings.masterKeys[0]!.id}; ${r.unchanged} already were; ${r.erasedMeanwhile} erased meanwhile\n`);
    return 0;
  } finally {
    await ring.stop();
    await producer.disconnect();
    await admin.disconnect();
  }
}

if (require.main === module) void main(process.argv).then((code) => process.exit(code));
