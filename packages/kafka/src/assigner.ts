import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

////////// Co-partitioned assignment
// Partition p of every subscribed topic goes to the same member (members sorted by
// id, p modulo their number), so a service that keeps state per partition gets the
// same partition number of its input topics and of its changelog. kafkajs' default
// round robin spreads topic-partitions over members without that guarantee.

export const CO_PARTITIONED = 'sicantik-co-partitioned';

/** Pure: member id → topic → partitions. */
export function coPartition(memberIds: string[], partitionsByTopic: Record<string, number>): Record<string, Record<string, number[]>> {
  const members = [...memberIds].sort();
  const out: Record<string, Record<string, number[]>> = Object.fromEntries(members.map((m) => [m, {}]));
  if (members.length === 0) return out;
  for (const [topic, n] of Object.entries(partitionsByTopic)) {
    for (let p = 0; p < n; p++) ((out[members[p % members.length]!]![topic] ??= [])).push(p);
  }
  return out;
}

export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: CO_PARTITIONED,
  version: 1,
  async assign({ members, topics }) {
    const counts: Record<string, number> = {};
    for (const t of topics) counts[t] = cluster.findTopicPartitionMetadata(t).length;
    const plan = coPartition(members.map((m) => m.memberId), counts);
    return members.map((m) => ({
      memberId: m.memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: plan[m.memberId] ?? {}, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: CO_PARTITIONED, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
  },
});
