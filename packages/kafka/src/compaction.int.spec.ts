import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { dlqTopicOf, ERASURE_COMPACTION_LAG_MS, SchemaCodec, type SubjectKey } from '@sicantik/schemas';
import { stack, uniq, waitFor } from '../../../test/support';
import { compactionLagConfig, compactionNudge, EventProducer, ensureTopics, NUDGE_KEY } from './client';
import { followTopic } from './follow';

////////// Tombstones through our producer and followTopic, and topics with max.compaction.lag.ms
// that really drop a tombstoned key's record on a quiet topic (issue 16, erasure).

describe('tombstones and compaction within max.compaction.lag.ms', () => {
  const prefix = `${uniq('it-compact-')}.`;
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'it-compact', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: prefix });
  const producer = EventProducer.create(kafka, codec);
  const topic = codec.topic('subject.keys');
  const key = (subjectId: string): SubjectKey => ({ subjectId, wrappedKey: Buffer.alloc(60, 1).toString('base64'), masterKeyId: 'k1', createdAt: 1_796_000_000_000 });
  /** Every record of the topic from its beginning: [key, value or null]. */
  const readAll = async () => {
    const seen: [string | null, string | null][] = [];
    await followTopic({ kafka, admin, codec, topic: 'subject.keys', groupId: uniq(`${prefix}read-`),
      onMessage: (v, m) => { seen.push([m.key, v.subjectId]); }, onTombstone: (k) => { seen.push([k, null]); } });
    return seen;
  };

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(admin, { prefix, partitions: 2, replicationFactor: 1 }, ['subject.keys', 'subject.index']);
    await codec.register(['subject.keys']);
    await producer.connect();
  });
  afterAll(async () => {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic, codec.topic('subject.index')] }).catch(() => undefined);
    await admin.disconnect();
  });

  it("creates the catalogue's erasure topics with the compaction settings of their maxCompactionLagMs (24 h)", async () => {
    const wanted = ['cleanup.policy', 'max.compaction.lag.ms', 'segment.ms', 'delete.retention.ms'];
    const r = await admin.describeConfigs({ includeSynonyms: false, resources: [topic, codec.topic('subject.index')].map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: wanted })) });
    for (const res of r.resources) {
      expect(Object.fromEntries(res.configEntries.map((e) => [e.configName, e.configValue]))).toEqual({
        'cleanup.policy': 'compact', 'max.compaction.lag.ms': String(18 * 3600_000), 'segment.ms': String(6 * 3600_000), 'delete.retention.ms': String(ERASURE_COMPACTION_LAG_MS),
      });
    }
    expect(compactionLagConfig(undefined)).toEqual([]);
  });

  it('a topic created before with plain compaction gets the settings at the next start-up; the others are left alone', async () => {
    const p2 = `${uniq('it-compact-old-')}.`;
    const old = `${p2}subject.index`;
    await admin.createTopics({ topics: [{ topic: old, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }], waitForLeaders: true });
    try {
      await ensureTopics(admin, { prefix: p2, partitions: 2, replicationFactor: 1 }, ['subject.index', 'template.events']);
      const r = await admin.describeConfigs({ includeSynonyms: false, resources: [old, `${p2}template.events`].map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy', 'max.compaction.lag.ms', 'segment.ms'] })) });
      const byName = Object.fromEntries(r.resources.map((res) => [res.resourceName, Object.fromEntries(res.configEntries.map((e) => [e.configName, e.configValue]))]));
      expect(byName[old]).toEqual({ 'cleanup.policy': 'compact', 'max.compaction.lag.ms': String(18 * 3600_000), 'segment.ms': String(6 * 3600_000) });
      expect(byName[`${p2}template.events`]!['max.compaction.lag.ms']).toBe('9223372036854775807'); // the broker's default: not set
    } finally {
      await admin.deleteTopics({ topics: [old, `${p2}template.events`, dlqTopicOf(old), dlqTopicOf(`${p2}template.events`)] }).catch(() => undefined);
    }
  });

  it('a topic that already compacts sooner than required (a test\'s seconds) keeps its settings', async () => {
    const p3 = `${uniq('it-compact-fast-')}.`;
    const fast = `${p3}subject.keys`;
    const entries = [{ name: 'cleanup.policy', value: 'compact' }, ...compactionLagConfig(2000)];
    await admin.createTopics({ topics: [{ topic: fast, numPartitions: 1, replicationFactor: 1, configEntries: entries }], waitForLeaders: true });
    try {
      await ensureTopics(admin, { prefix: p3, partitions: 1, replicationFactor: 1 }, ['subject.keys']);
      const r = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: fast, configNames: entries.map((e) => e.name) }] });
      expect(Object.fromEntries(r.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]))).toEqual(Object.fromEntries(entries.map((e) => [e.name, e.value])));
    } finally {
      await admin.deleteTopics({ topics: [fast, dlqTopicOf(fast)] }).catch(() => undefined);
    }
  });

  it('a tombstoned key\'s record is gone from a quiet topic once the lag has passed (with the nudges), the tombstone and the live key stay', async () => {
    // The same rules with a lag of 4 s instead of 24 h (segment.ms 1 s, max.compaction.lag.ms 3 s).
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, ...compactionLagConfig(4000)] }] });
    await producer.send([{ topic: 'subject.keys', key: 's-erased', value: key('s-erased') }, { topic: 'subject.keys', key: 's-kept', value: key('s-kept') }]);
    await producer.sendTombstones([{ topic: 'subject.keys', key: 's-erased' }]);
    const before = await readAll();
    expect(before).toEqual([['s-erased', 's-erased'], ['s-kept', 's-kept'], ['s-erased', null]]);
    // Quiet from here on but for the nudges (one append per partition per second here, per hour in services).
    const after = await waitFor(async () => {
      await compactionNudge(admin, producer.producer, [topic]);
      const seen = (await readAll()).filter(([k]) => k !== NUDGE_KEY);
      return seen.some(([k, v]) => k === 's-erased' && v !== null) ? false : seen;
    }, { timeoutMs: 120_000, intervalMs: 1000, what: "the erased key's record compacted away" });
    expect(after).toEqual([['s-kept', 's-kept'], ['s-erased', null]]);
  });
});
