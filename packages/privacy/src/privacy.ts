import type { Admin, Kafka, Producer } from 'kafkajs';
import { COMPACTION_NUDGE_MS, compactionNudge, ensureTopics, type TopicLayout } from '@sicantik/kafka';
import type { Logger } from '@sicantik/observability';
import type { SchemaCodec, SubjectKey } from '@sicantik/schemas';
import { wrapKey } from './crypto';
import { KeyRing } from './keyring';
import { PersonalData } from './personal';
import { SubjectRegistry } from './registry';
import type { PrivacySettings } from './settings';

////////// One call for a service: key ring, codec hook, subject registry, compaction nudges

export interface PrivacyDeps {
  kafka: Kafka;
  admin: Admin;
  codec: SchemaCodec;
  settings: PrivacySettings;
  /** TOPIC_PREFIX (transactional ids and reader groups). */
  topicPrefix: string;
  /** Names the reader groups: `<prefix>privacy-<service>-<instance>-<pid>-<time>`. */
  service: string;
  instance: string;
  logger?: Logger;
  now?: () => number;
  /** Start the subject registry (services that turn phone numbers into subjects); default true. */
  registry?: boolean;
  /** Append a nudge to subject.keys and subject.index every COMPACTION_NUDGE_MS so they compact on time when quiet; default true. */
  nudge?: boolean;
  /** When given, subject.keys and subject.index are created first if missing (else startInfra's topic list must include them). */
  layout?: TopicLayout;
}

export interface Privacy {
  ring: KeyRing;
  /** Null when started with registry: false. */
  subjects: SubjectRegistry | null;
  /** The codec hook, already set on deps.codec. */
  personal: PersonalData;
  close(): Promise<void>;
}

export async function startPrivacy(d: PrivacyDeps): Promise<Privacy> {
  if (d.layout) await ensureTopics(d.admin, d.layout, ['subject.keys', 'subject.index']);
  await d.codec.register(['subject.keys', 'subject.index']);
  const group = (what: string) => `${d.topicPrefix}privacy-${what}-${d.service}-${d.instance}-${process.pid}-${Date.now()}`;
  const ring = await KeyRing.start({ kafka: d.kafka, admin: d.admin, codec: d.codec, masterKeys: d.settings.masterKeys, groupId: group('keys'), logger: d.logger });
  let subjects: SubjectRegistry | null = null;
  try {
    if (d.registry !== false) subjects = await SubjectRegistry.start({ kafka: d.kafka, admin: d.admin, codec: d.codec, ring, settings: d.settings, topicPrefix: d.topicPrefix, groupId: group('index'), logger: d.logger, now: d.now });
  } catch (e) { await ring.stop(); throw e; }
  const personal = new PersonalData(ring);
  d.codec.usePersonalData(personal);
  let nudger: Producer | null = null;
  let timer: NodeJS.Timeout | null = null;
  if (d.nudge !== false) {
    const producer = d.kafka.producer({ allowAutoTopicCreation: false });
    nudger = producer;
    await producer.connect();
    const topics = [d.codec.topic('subject.keys'), d.codec.topic('subject.index')];
    timer = setInterval(() => {
      compactionNudge(d.admin, producer, topics).catch((e: unknown) => d.logger?.warn({ err: (e as Error).message }, 'compaction nudge failed; next one in an hour'));
    }, COMPACTION_NUDGE_MS);
    timer.unref();
  }
  return {
    ring, subjects, personal,
    close: async () => {
      if (timer) clearInterval(timer);
      // The codec keeps its hook: a consumer still draining during shutdown encrypts with the
      // keys in memory (or fails retriably), never writes plaintext.
      await subjects?.stop();
      await ring.stop();
      await nudger?.disconnect().catch(() => undefined);
    },
  };
}

/**
 * Master key rotation: writes a new record, wrapped by the first (current) master key, for
 * every live subject key wrapped by another one. Afterwards the old master key can leave
 * PRIVACY_MASTER_KEYS (once every instance runs with the new one first). A subject erased
 * while this ran is tombstoned again after its re-wrapped record, so a rotation never
 * brings an erased key back.
 */
export async function rewrapKeys(d: { ring: KeyRing; codec: SchemaCodec; producer: Producer; settings: PrivacySettings; now?: () => number; logger?: Logger }): Promise<{ rewrapped: number; unchanged: number; erasedMeanwhile: number }> {
  await d.ring.catchUp();
  const current = d.settings.masterKeys[0]!;
  const todo = [...d.ring.live()].filter((s) => s.masterKeyId !== current.id);
  const unchanged = d.ring.size - todo.length;
  const topic = d.codec.topic('subject.keys');
  const now = d.now?.() ?? Date.now();
  const written: string[] = [];
  for (let i = 0; i < todo.length; i += 500) {
    const messages: { key: string; value: Buffer }[] = [];
    for (const { subjectId } of todo.slice(i, i + 500)) {
      const raw = d.ring.rawKeyOf(subjectId);
      if (!raw) continue; // erased meanwhile
      const rec: SubjectKey = { subjectId, wrappedKey: wrapKey(current, subjectId, raw), masterKeyId: current.id, createdAt: now };
      messages.push({ key: subjectId, value: d.codec.encode('subject.keys', rec) });
      written.push(subjectId);
    }
    if (messages.length) await d.producer.send({ topic, acks: -1, messages });
  }
  // Everything before our records is read now: a tombstone among it came before our record and must be repeated.
  await d.ring.catchUp();
  const again = written.filter((s) => d.ring.state(s) === 'erased');
  if (again.length) await d.producer.send({ topic, acks: -1, messages: again.map((s) => ({ key: s, value: null })) });
  d.logger?.info({ rewrapped: written.length - again.length, unchanged, erasedMeanwhile: again.length, masterKey: current.id }, 'subject keys re-wrapped');
  return { rewrapped: written.length - again.length, unchanged, erasedMeanwhile: again.length };
}
