import { randomBytes } from 'node:crypto';
import { ConfigResourceTypes, Kafka, logLevel, type Admin } from 'kafkajs';
import { compactionLagConfig, compactionNudge, ensureTopics, followTopic } from '@sicantik/kafka';
import { SchemaCodec, type NotificationRendered } from '@sicantik/schemas';
import { stack, uniq, waitFor } from '../../../test/support';
import { ERASED, isEncrypted } from './crypto';
import { KeyRing } from './keyring';
import { rewrapKeys, startPrivacy, type Privacy } from './privacy';
import type { MasterKey, PrivacySettings } from './settings';

////////// Subjects against the real broker and registry: one subject per number with two
// instances allocating at once, erasure, the key ring's catch-up, master key rotation.

const prefix = `${uniq('it-privacy-')}.`;
const layout = { prefix, partitions: 3, replicationFactor: 1 };
const k1: MasterKey = { id: 'k1', key: randomBytes(32) };
const k2: MasterKey = { id: 'k2', key: randomBytes(32) };
const indexKey = randomBytes(32);
const numbers = Array.from({ length: 50 }, (_, i) => `+62812${String(5_550_000 + i).padStart(7, '0')}`);

interface Instance { kafka: Kafka; admin: Admin; codec: SchemaCodec; privacy: Privacy }
const instances: Instance[] = [];
/** One service instance: its own Kafka client, admin, codec and privacy (nothing shared with the others). */
async function instance(name: string, settings: PrivacySettings = { masterKeys: [k1], indexKey }, registry = true): Promise<Instance> {
  const kafka = new Kafka({ brokers: stack.brokers, clientId: `it-privacy-${name}`, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
  await codec.register(['notification.rendered', 'subject.keys', 'subject.index']);
  const privacy = await startPrivacy({ kafka, admin, codec, settings, topicPrefix: prefix, service: 'it', instance: name, registry, nudge: false });
  const i = { kafka, admin, codec, privacy };
  instances.push(i);
  return i;
}
const stop = async (i: Instance) => {
  instances.splice(instances.indexOf(i), 1);
  await i.privacy.close();
  await i.admin.disconnect();
};

const rendered = (subjectId: string, phone: string): NotificationRendered => ({
  eventId: `e-${phone.slice(-4)}`, occurredAt: 1_796_000_000_000, correlationId: 'c-1', causationId: null, notificationId: `n-${phone.slice(-4)}`, scenario: 'permit_ready', templateCode: 'permit_ready', templateVersion: 1,
  pendaftaran_id: 'REG-1', recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi Santoso', phone, subjectId }, outcome: 'RENDERED',
  text: `Yth. Budi Santoso (${phone}), izin Anda siap.`, parameters: [{ name: 'nama', value: 'Budi Santoso' }], language: 'id', failureReason: null,
  providerParameters: { meta: { '1': 'Budi Santoso' } }, notBefore: null, deferReason: null, supersedeKey: null, staleAfter: null,
});

/** Every live record of subject.index / subject.keys read from the beginning by a fresh reader. */
async function liveRecords(i: Instance, topic: 'subject.index' | 'subject.keys'): Promise<Map<string, string>> {
  const live = new Map<string, string>();
  await followTopic({ kafka: i.kafka, admin: i.admin, codec: i.codec, topic, groupId: uniq(`${prefix}check-`),
    onMessage: (v, m) => { live.set(m.key!, 'subjectId' in v ? v.subjectId : ''); }, onTombstone: (k) => { if (k) live.delete(k); } });
  return live;
}

describe('subjects, erasure and keys against the real broker', () => {
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    const kafka = new Kafka({ brokers: stack.brokers, clientId: 'it-privacy-setup', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, layout, ['notification.rendered', 'subject.keys', 'subject.index']);
    await admin.disconnect();
    [a, b] = await Promise.all([instance('a'), instance('b')]);
  });
  afterAll(async () => {
    for (const i of [...instances]) await stop(i);
    const kafka = new Kafka({ brokers: stack.brokers, clientId: 'it-privacy-teardown', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  it('two instances allocating the same 50 numbers at once give exactly one subject per number (and a third one too)', async () => {
    const e = await instance('e');
    /** Asks for every number in the order given, all at once; the subjects in `numbers` order. */
    const allocate = async (i: Instance, order: number[]) => {
      const got = await Promise.all(order.map((j) => i.privacy.subjects!.subjectFor(numbers[j]!)));
      const out: string[] = [];
      order.forEach((j, k) => { out[j] = got[k]!; });
      return out;
    };
    const idx = numbers.map((_, j) => j);
    const [fromA, fromB, fromE] = await Promise.all([allocate(a, idx), allocate(b, [...idx].reverse()), allocate(e, idx.map((j) => (j * 7) % 50))]);
    expect(fromB).toEqual(fromA);
    expect(fromE).toEqual(fromA);
    expect(new Set(fromA).size).toBe(50);
    // What the topics hold, read by a fresh reader: 50 index entries and 50 keys, the same subjects.
    const index = await liveRecords(a, 'subject.index');
    expect(index.size).toBe(50);
    expect(numbers.map((n) => index.get(a.privacy.subjects!.blindIndexOf(n)))).toEqual(fromA);
    const keys = await liveRecords(a, 'subject.keys');
    expect([...keys.keys()].sort()).toEqual([...fromA].sort());
    // Between them the instances committed each allocation once.
    expect(a.privacy.subjects!.stats.allocated + b.privacy.subjects!.stats.allocated + e.privacy.subjects!.stats.allocated).toBe(50);
    await stop(e);
    // A second call is served from memory: no transaction, the same subject.
    const before = { ...a.privacy.subjects!.stats };
    expect(await a.privacy.subjects!.subjectFor(numbers[7]!)).toBe(fromA[7]);
    expect(a.privacy.subjects!.lookup(numbers[7]!)).toBe(fromA[7]);
    expect(a.privacy.subjects!.stats).toEqual(before);
  });

  it('one catch-up right after an allocation returns finds its key, while allocators of every partition commit at once', async () => {
    // A read_committed reader reads no further than the last stable offset: the first record of a
    // transaction still open. Were keys written inside the allocators' transactions, a key committed
    // by one partition's allocator would stay unreadable behind another's open transaction on the
    // same subject.keys partition, and a catch-up would conclude "erased" for a subject just made.
    const r = await instance('reader', { masterKeys: [k1], indexKey }, false);
    const misses: string[] = [];
    const check = async (s: string) => { await r.privacy.ring.catchUp(); if (r.privacy.ring.state(s) !== 'live') misses.push(s); };
    for (let wave = 0; wave < 16; wave++) {
      const wanted = Array.from({ length: 24 }, (_, j) => `+62813${String(7_000_000 + wave * 100 + j).padStart(7, '0')}`);
      await Promise.all(wanted.map((n, j) => (j % 2 ? a : b).privacy.subjects!.subjectFor(n).then(check)));
    }
    expect(misses).toEqual([]);
    await stop(r);
  });

  it("a key ring that misses a subject another instance just allocated catches up and decrypts; the codec hook encrypts on the wire", async () => {
    const phone = '+6281299990001';
    const s = await a.privacy.subjects!.subjectFor(phone);
    const buf = a.codec.encode('notification.rendered', rendered(s, phone));
    expect(buf.includes(Buffer.from(phone))).toBe(false);
    expect(buf.includes(Buffer.from('Budi'))).toBe(false);
    const c = await instance('c', { masterKeys: [k1], indexKey }, false);
    expect(c.privacy.ring.state(s)).toBe('live'); // read at start
    expect(await c.codec.decode('notification.rendered', buf)).toEqual(rendered(s, phone));
    expect(c.codec.decodeKnown('notification.rendered', buf)).toEqual(rendered(s, phone)); // writer schema known now: no await
    // One allocated after c started: c's ring has usually not read it yet (a miss); decode() catches up.
    const s2 = await a.privacy.subjects!.subjectFor('+6281299990002');
    const buf2 = a.codec.encode('notification.rendered', rendered(s2, '+6281299990002'));
    if (c.privacy.ring.state(s2) === 'unknown') expect(c.codec.decodeKnown('notification.rendered', buf2)).toBeUndefined();
    await expect(c.codec.decode('notification.rendered', buf2)).resolves.toEqual(rendered(s2, '+6281299990002'));
    expect(c.privacy.ring.state(s2)).toBe('live');
    // A codec without the hook sees ciphertext (and the subject id).
    const plain = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
    const raw = await plain.decode('notification.rendered', buf2);
    expect(raw.recipient.subjectId).toBe(s2);
    expect(isEncrypted(raw.recipient.phone)).toBe(true);
    await stop(c);
  });

  it('erasure tombstones the key and the index entry; data of the old subject reads ERASED; the number then gets a new subject', async () => {
    const phone = numbers[3]!;
    const old = await a.privacy.subjects!.subjectFor(phone);
    const before = a.codec.encode('notification.rendered', rendered(old, phone));
    expect(await b.privacy.subjects!.erase(phone)).toBe(old);
    expect(b.privacy.ring.state(old)).toBe('erased');
    expect(await b.privacy.subjects!.erase('+6281200000000')).toBeNull();
    // The other instance learns it from the topic.
    await a.privacy.ring.catchUp();
    expect(a.privacy.ring.state(old)).toBe('erased');
    const read = await a.codec.decode('notification.rendered', before);
    expect(read.recipient).toEqual({ kind: 'APPLICANT', id: 'REG-1', name: ERASED, phone: ERASED, subjectId: old });
    expect(read.text).toBe(ERASED);
    expect(a.privacy.personal.erased('notification.rendered', read)).toBe(true);
    // Writing for the erased subject writes no personal data.
    const after = a.codec.encode('notification.rendered', rendered(old, phone));
    expect(after.includes(Buffer.from(phone))).toBe(false);
    expect((await a.codec.decode('notification.rendered', after)).recipient.phone).toBe(ERASED);
    // The topics: tombstones for both.
    expect((await liveRecords(a, 'subject.keys')).has(old)).toBe(false);
    expect((await liveRecords(a, 'subject.index')).has(a.privacy.subjects!.blindIndexOf(phone))).toBe(false);
    // A new permit with that number starts a new subject, on either instance, the same one.
    const fresh = await a.privacy.subjects!.subjectFor(phone);
    expect(fresh).not.toBe(old);
    expect(await b.privacy.subjects!.subjectFor(phone)).toBe(fresh);
    // A fresh key ring never sees the old subject live.
    const d = await instance('d', { masterKeys: [k1], indexKey }, false);
    expect(await d.privacy.ring.resolve(old)).toBe('erased');
    expect(await d.privacy.ring.resolve(fresh)).toBe('live');
    await stop(d);
  });

  it("an erasure stopped after the key's tombstone (the index entry still names the subject): the number gets a new subject, and erasing again completes it", async () => {
    const phone = numbers[5]!;
    const old = await a.privacy.subjects!.subjectFor(phone);
    const bi = a.privacy.subjects!.blindIndexOf(phone);
    // The first step of an erasure alone: the key's tombstone, written the way the registry writes it.
    await a.privacy.subjects!.writeKeys([{ key: old, value: null }]);
    await b.privacy.ring.catchUp();
    expect(b.privacy.ring.state(old)).toBe('erased');
    expect((await liveRecords(b, 'subject.index')).get(bi)).toBe(old);
    // The entry names an erased subject: an allocation makes a new one, on either instance the same.
    const fresh = await b.privacy.subjects!.subjectFor(phone);
    expect(fresh).not.toBe(old);
    expect(await a.privacy.subjects!.subjectFor(phone)).toBe(fresh);
    expect((await liveRecords(a, 'subject.index')).get(bi)).toBe(fresh);
    // And an erasure of a number whose entry names an erased subject tombstones the entry.
    const other = numbers[6]!;
    const s6 = await a.privacy.subjects!.subjectFor(other);
    await a.privacy.subjects!.writeKeys([{ key: s6, value: null }]);
    await a.privacy.ring.catchUp();
    expect(await a.privacy.subjects!.erase(other)).toBe(s6);
    expect((await liveRecords(a, 'subject.index')).has(a.privacy.subjects!.blindIndexOf(other))).toBe(false);
  });

  it("after compaction the erased subject's wrapped key and index entry are gone from the topics (only the tombstones' keys stay, until delete.retention.ms)", async () => {
    const phone = numbers[4]!;
    const old = await a.privacy.subjects!.subjectFor(phone);
    const bi = a.privacy.subjects!.blindIndexOf(phone);
    // The catalogue's rules (packages/kafka compactionLagConfig) at a 4 s lag instead of 24 h.
    await a.admin.alterConfigs({ validateOnly: false, resources: ['subject.keys', 'subject.index'].map((t) => ({ type: ConfigResourceTypes.TOPIC, name: `${prefix}${t}`, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, ...compactionLagConfig(4000)] })) });
    expect(await a.privacy.subjects!.erase(phone)).toBe(old);
    const nudger = a.kafka.producer();
    await nudger.connect();
    /** Every value of both topics, from the beginning, as text. */
    const rawValues = async () => {
      const out: string[] = [];
      for (const t of ['subject.keys', 'subject.index'] as const) {
        await followTopic({ kafka: a.kafka, admin: a.admin, codec: a.codec, topic: t, groupId: uniq(`${prefix}raw-`), onMessage: (v) => { out.push(JSON.stringify(v)); } });
      }
      return out;
    };
    await waitFor(async () => {
      await compactionNudge(a.admin, nudger, [`${prefix}subject.keys`, `${prefix}subject.index`]);
      const all = await rawValues();
      return !all.some((v) => v.includes(old) || v.includes(bi));
    }, { timeoutMs: 150_000, intervalMs: 1000, what: "the erased subject's records compacted away" });
    await nudger.disconnect();
    // The others are still there.
    expect((await liveRecords(a, 'subject.index')).size).toBeGreaterThanOrEqual(49);
  });

  it('master key rotation: re-wrapped with the new key, data written before still decrypts with the old key removed', async () => {
    const phone = '+6281299990003';
    const s = await a.privacy.subjects!.subjectFor(phone);
    const before = a.codec.encode('notification.rendered', rendered(s, phone));
    // The new key first, the old one after it; rewrap.
    const rot = await instance('rot', { masterKeys: [k2, k1], indexKey }, false);
    const producer = rot.kafka.producer();
    await producer.connect();
    const r = await rewrapKeys({ ring: rot.privacy.ring, codec: rot.codec, producer, settings: { masterKeys: [k2, k1], indexKey } });
    await producer.disconnect();
    expect(r.rewrapped).toBe(rot.privacy.ring.size);
    expect(r.unchanged).toBe(0);
    expect([...rot.privacy.ring.live()].every((x) => x.masterKeyId === 'k2')).toBe(true);
    await stop(rot);
    // Without the old key: a fresh instance reads the data written before the rotation.
    const only2 = await instance('k2-only', { masterKeys: [k2], indexKey });
    expect(await only2.codec.decode('notification.rendered', before)).toEqual(rendered(s, phone));
    expect(await only2.privacy.subjects!.subjectFor(phone)).toBe(s);
    await stop(only2);
    // And an instance with the old key alone refuses to start, naming the key it lacks.
    const kafka = new Kafka({ brokers: stack.brokers, clientId: 'it-privacy-k1', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
    await codec.register(['subject.keys']);
    await expect(KeyRing.start({ kafka, admin, codec, masterKeys: [k1], groupId: uniq(`${prefix}k1-`) })).rejects.toMatchObject({ code: 'MASTER_KEY_MISSING', message: expect.stringContaining('k2') });
    await admin.disconnect();
  });
});
