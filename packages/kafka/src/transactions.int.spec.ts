// kafkajs transactions against the real local broker (Kafka 4.1, KRaft,
// transaction.version=2 finalized). Groundwork for "take the database off the write
// path": can consume → produce → offsets run in one Kafka transaction with kafkajs?
// Findings and numbers: docs/kafka-transactions.md; throughput: bench/kafka-transactions.bench.js.
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { stack, uniq, waitFor } from '../../../test/support';

type Seen = { topic: string; partition: number; offset: string; value: string };

describe('kafkajs transactions against Kafka 4.1', () => {
  const prefix = `${uniq('it-tx-')}.`;
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'it-tx', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const topics: string[] = [];
  const producers: Producer[] = [];
  const consumers: Consumer[] = [];

  const topic = async (name: string, numPartitions = 1) => {
    const t = `${prefix}${name}`;
    await admin.createTopics({ topics: [{ topic: t, numPartitions, replicationFactor: 1 }], waitForLeaders: true });
    topics.push(t);
    return t;
  };
  /** The settings the redesign would use: transactional, idempotent, one request in flight. */
  const txProducer = async (transactionalId: string) => {
    const p = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    producers.push(p);
    await p.connect();
    return p;
  };
  /** Reads `from` topics from the beginning in a fresh group until `until` holds; returns what it saw, in order. */
  const read = async (from: string[], readUncommitted: boolean, until: (seen: Seen[]) => boolean, what: string) => {
    const c = kafka.consumer({ groupId: uniq('it-tx-read-'), readUncommitted, maxWaitTimeInMs: 100 });
    consumers.push(c);
    const seen: Seen[] = [];
    await c.connect();
    await c.subscribe({ topics: from, fromBeginning: true });
    await c.run({ autoCommit: false, eachMessage: async ({ topic: t, partition, message }) => { seen.push({ topic: t, partition, offset: message.offset, value: message.value!.toString() }); } });
    try {
      await waitFor(async () => until(seen), { what, timeoutMs: 30_000 });
    } finally {
      await c.disconnect();
    }
    return seen;
  };
  const values = (seen: Seen[], t?: string) => seen.filter((s) => !t || s.topic === t).map((s) => s.value);
  /** The offset ListOffsets(latest) returns; kafkajs's admin asks with READ_COMMITTED, so this is the last stable offset. */
  const lastStable = async (t: string) => (await admin.fetchTopicOffsets(t)).map((p) => [p.partition, p.high]);

  beforeAll(async () => { await admin.connect(); });
  afterAll(async () => {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    for (const p of producers) await p.disconnect().catch(() => undefined);
    if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  it('(a) consume → produce to two topics → offsets commit in one transaction; read_committed sees all, a restarted group resumes after them', async () => {
    const input = await topic('in', 2);
    const outA = await topic('out-a');
    const outB = await topic('out-b');
    const group = uniq('it-tx-loop-');
    const plain = kafka.producer({ allowAutoTopicCreation: false });
    producers.push(plain);
    await plain.connect();
    const seed = async (from: number, to: number) => {
      const ids = Array.from({ length: to - from }, (_, i) => `r${from + i}`);
      await plain.send({ topic: input, acks: -1, messages: ids.map((id, i) => ({ key: id, value: id, partition: (from + i) % 2 })) });
      return ids;
    };
    const producer = await txProducer(uniq('it-tx-loop-'));
    /** One run of the loop: every batch in one transaction (outputs + input offsets); returns the ids it handled. */
    const runLoop = async () => {
      const handled: string[] = [];
      const c = kafka.consumer({ groupId: group, readUncommitted: false, maxWaitTimeInMs: 100 });
      consumers.push(c);
      await c.connect();
      await c.subscribe({ topic: input, fromBeginning: true });
      await c.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (batch.messages.length === 0) return;
          const ids = batch.messages.map((m) => m.value!.toString());
          const tx = await producer.transaction();
          try {
            await tx.sendBatch({ acks: -1, topicMessages: [
              { topic: outA, messages: ids.map((id) => ({ key: id, value: `A:${id}` })) },
              { topic: outB, messages: ids.map((id) => ({ key: id, value: `B:${id}` })) },
            ] });
            await tx.sendOffsets({ consumerGroupId: group, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }] }] });
            await tx.commit();
          } catch (e) {
            if (tx.isActive()) await tx.abort().catch(() => undefined);
            throw e;
          }
          handled.push(...ids);
        },
      });
      return { handled, stop: () => c.disconnect() };
    };

    const first = await seed(0, 30);
    const run1 = await runLoop();
    await waitFor(async () => run1.handled.length >= first.length, { what: 'the first 30 records handled' });
    await run1.stop();
    expect([...run1.handled].sort()).toEqual([...first].sort());
    // The group's offsets were committed by the transactions alone (the consumer never commits).
    const committed = await admin.fetchOffsets({ groupId: group, topics: [input] });
    expect(committed[0]!.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([[0, '15'], [1, '15']]);

    // A restarted member of the group resumes after the committed offsets: nothing handled twice.
    const more = await seed(30, 40);
    const run2 = await runLoop();
    await waitFor(async () => more.every((id) => run2.handled.includes(id)), { what: 'the 10 new records handled' });
    await run2.stop();
    expect([...run2.handled].sort()).toEqual([...more].sort()); // an old id re-read would precede the new ones in its partition

    const all = [...first, ...more];
    const seen = await read([outA, outB], false, (s) => s.length >= 2 * all.length, 'read_committed sees 80 outputs');
    expect(values(seen, outA).sort()).toEqual(all.map((id) => `A:${id}`).sort());
    expect(values(seen, outB).sort()).toEqual(all.map((id) => `B:${id}`).sort());
  });

  it('(b) an aborted transaction is never seen by read_committed (its offsets are not committed either), but is by read_uncommitted', async () => {
    const t = await topic('abort');
    const group = uniq('it-tx-aborted-offsets-');
    const p = await txProducer(uniq('it-tx-abort-'));
    const aborted = await p.transaction();
    await aborted.send({ topic: t, acks: -1, messages: [1, 2, 3].map((i) => ({ key: 'k', value: `aborted-${i}` })) });
    await aborted.sendOffsets({ consumerGroupId: group, topics: [{ topic: t, partitions: [{ partition: 0, offset: '3' }] }] });
    await aborted.abort();
    // The same producer goes on after an abort; its committed record is the end marker the readers wait for.
    const committed = await p.transaction();
    await committed.send({ topic: t, acks: -1, messages: [{ key: 'k', value: 'committed' }] });
    await committed.commit();

    const rc = await read([t], false, (s) => values(s).includes('committed'), 'read_committed reaches the committed record');
    expect(rc.map((s) => [s.offset, s.value])).toEqual([['4', 'committed']]); // offsets 0-2 aborted, 3 is the abort marker
    const ru = await read([t], true, (s) => values(s).includes('committed'), 'read_uncommitted reaches the committed record');
    expect(values(ru)).toEqual(['aborted-1', 'aborted-2', 'aborted-3', 'committed']);
    const offsets = await admin.fetchOffsets({ groupId: group, topics: [t] });
    expect(offsets[0]!.partitions).toEqual([{ partition: 0, offset: '-1', metadata: null }]);
    // Control records take offsets: after 2 transactions of 3 + 1 records the end offset is 6, not 4.
    expect(await lastStable(t)).toEqual([[0, '6']]);
  });

  it('(c) a second producer with the same transactionalId fences the first at its first transaction() (not at connect()); the open transaction is aborted and the first one\'s send and commit fail with INVALID_PRODUCER_EPOCH', async () => {
    const t = await topic('fence');
    const transactionalId = uniq('it-tx-fence-');
    const p1 = await txProducer(transactionalId);
    const tx1 = await p1.transaction();
    await tx1.send({ topic: t, acks: -1, messages: [{ key: 'k', value: 'p1-open' }] });
    const plain = kafka.producer({ allowAutoTopicCreation: false });
    producers.push(plain);
    await plain.connect();
    await plain.send({ topic: t, acks: -1, messages: [{ key: 'k', value: 'plain-after' }] });
    // An open transaction holds the last stable offset at its first record: read_committed
    // consumers see nothing after it, not even the non-transactional record.
    expect(await lastStable(t)).toEqual([[0, '0']]);
    expect(values(await read([t], true, (s) => s.length >= 2, 'read_uncommitted sees both'))).toEqual(['p1-open', 'plain-after']);

    // kafkajs's connect() of a transactional producer only gets a non-transactional
    // (idempotent) producer id; it does not fence anyone yet.
    const p2 = await txProducer(transactionalId);
    expect(await lastStable(t)).toEqual([[0, '0']]);

    // The first transaction() sends InitProducerId with the transactionalId: epoch bump,
    // the coordinator aborts p1's open transaction (abort marker at offset 2).
    const tx2 = await p2.transaction();
    await waitFor(async () => (await lastStable(t))[0]![1] === '3', { what: 'p1\'s transaction aborted', timeoutMs: 10_000 });

    const fenced = { name: 'KafkaJSProtocolError', type: 'INVALID_PRODUCER_EPOCH', retriable: false };
    await expect(tx1.send({ topic: t, acks: -1, messages: [{ key: 'k', value: 'p1-late' }] })).rejects.toMatchObject(fenced);
    await expect(tx1.commit()).rejects.toMatchObject(fenced);
    // p1 is left half-committing: it can neither abort nor start again; it must be thrown away.
    await expect(tx1.abort()).rejects.toThrow('Cannot continue to use transaction once ended');
    await expect(p1.transaction()).rejects.toThrow('Cannot call "beginTransaction" in state "COMMITTING"');

    await tx2.send({ topic: t, acks: -1, messages: [{ key: 'k', value: 'p2' }] });
    await tx2.commit();
    const rc = await read([t], false, (s) => values(s).includes('p2'), 'read_committed reaches p2\'s record');
    expect(values(rc)).toEqual(['plain-after', 'p2']);
  });

  it('(e) kafkajs does not retry CONCURRENT_TRANSACTIONS on sendOffsets: a transaction that starts with sendOffsets right after a commit often fails; abort + retry works', async () => {
    // After EndTxn the coordinator still writes the markers; until it is done it answers
    // AddOffsetsToTxn / AddPartitionsToTxn with CONCURRENT_TRANSACTIONS. kafkajs retries it
    // for AddPartitionsToTxn (inside send, with the producer's retry settings: 300 ms first
    // wait by default) but not for AddOffsetsToTxn (sendOffsets). Seen in 13-40 % of 100
    // back-to-back transactions here, so at least one in 100 is certain in practice.
    const t = await topic('offsets-first');
    const group = uniq('it-tx-offsets-first-');
    const p = await txProducer(uniq('it-tx-offsets-first-'));
    const total = 100;
    const failures: unknown[] = [];
    for (let i = 0; i < total; i++) {
      for (let attempt = 0; ; attempt++) {
        const tx = await p.transaction();
        try {
          await tx.sendOffsets({ consumerGroupId: group, topics: [{ topic: t, partitions: [{ partition: 0, offset: String(i + 1) }] }] });
          await tx.send({ topic: t, acks: -1, messages: [{ key: 'k', value: `r${i}` }] });
          await tx.commit();
          break;
        } catch (e) {
          failures.push(e);
          await tx.abort(); // nothing was added to the transaction: kafkajs ends it locally
          if (attempt >= 20) throw e;
        }
      }
    }
    expect(failures.length).toBeGreaterThan(0);
    for (const e of failures) expect(e).toMatchObject({ name: 'KafkaJSProtocolError', type: 'CONCURRENT_TRANSACTIONS', retriable: true });
    // Every record exactly once, in order, and the group's offset is the last transaction's.
    const rc = await read([t], false, (s) => s.length >= total, 'read_committed sees 100 records');
    expect(values(rc)).toEqual(Array.from({ length: total }, (_, i) => `r${i}`));
    expect((await admin.fetchOffsets({ groupId: group, topics: [t] }))[0]!.partitions[0]!.offset).toBe(String(total));
  });
});
