import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { stack, waitFor } from './index';

////////// Consumer groups with known lags under a fresh prefix, for the lag tests (sicantik-ops lag, the tracker's /v1/ops/lag):
// permit.events with 10 records on partition 0 and 4 on partition 1; `behind` committed 4/4
// (6 waiting on partition 0, nothing moves -> stalled), `done` committed 10/4 (idle), and
// `follower` reading everything without committing (the services' throw-away groups).

export interface LagFixture { prefix: string; topic: string; admin: Admin; producer: Producer; close(): Promise<void> }

export async function lagFixture(prefix: string): Promise<LagFixture> {
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'it', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  const follower = kafka.consumer({ groupId: `${prefix}follower` });
  const topic = `${prefix}permit.events`;
  await admin.connect();
  await producer.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
  await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `a${i}` })) });
  await producer.send({ topic, messages: Array.from({ length: 4 }, (_, i) => ({ partition: 1, value: `b${i}` })) });
  await admin.setOffsets({ groupId: `${prefix}behind`, topic, partitions: [{ partition: 0, offset: '4' }, { partition: 1, offset: '4' }] });
  await admin.setOffsets({ groupId: `${prefix}done`, topic, partitions: [{ partition: 0, offset: '10' }, { partition: 1, offset: '4' }] });
  await follower.connect();
  await follower.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  await follower.run({ autoCommit: false, eachMessage: async () => { seen++; } });
  await waitFor(async () => seen >= 14, { what: 'the follower read everything' });
  return {
    prefix, topic, admin, producer,
    close: async () => {
      await follower.disconnect();
      await producer.disconnect();
      await admin.deleteGroups([`${prefix}behind`, `${prefix}done`]).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}
