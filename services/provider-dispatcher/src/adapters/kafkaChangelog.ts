import type { Admin, Kafka } from 'kafkajs';
import { followTopic, untilAvailable } from '@sicantik/kafka';
import type { SchemaCodec } from '@sicantik/schemas';
import type { ChangelogReader } from './ledgerPartitions';

////////// dispatch.ledger on Kafka: end offsets, and a partition-filtered read from the beginning

export function kafkaChangelog(o: { kafka: Kafka; admin: Admin; codec: SchemaCodec; readerGroup: () => string }): ChangelogReader {
  const topic = o.codec.topic('dispatch.ledger');
  return {
    async endOffsets(partitions) {
      const offsets = await untilAvailable(() => o.admin.fetchTopicOffsets(topic), 10_000);
      const wanted = new Set(partitions);
      return new Map(offsets.filter((x) => wanted.has(x.partition)).map((x) => [x.partition, BigInt(x.high)]));
    },
    async read(partitions, ends, onRecord) {
      if (![...ends.values()].some((e) => e > 0n)) return 0;
      let records = 0;
      await followTopic({
        kafka: o.kafka, admin: o.admin, codec: o.codec, topic: 'dispatch.ledger', partitions, groupId: o.readerGroup(),
        // Records written after the end offsets were taken belong to a later check.
        onMessage: (value, { partition, offset }) => {
          if (BigInt(offset) >= (ends.get(partition) ?? 0n)) return;
          onRecord(partition, value);
          records++;
        },
      });
      return records;
    },
  };
}
