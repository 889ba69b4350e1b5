import { randomBytes } from 'node:crypto';
import type { IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { Command, InvalidArgumentError } from 'commander';
import { TransientError } from '@sicantik/core';
import { TOPIC_NAMES } from '@sicantik/schemas';
import { countPoison, maskDigits, originalHeaders, poisonRecords, REDRIVE_HEADER, REDRIVE_OFFSETS_HEADER, selectForRedrive, type DlqCount, type DlqEntry, type PoisonRecord } from '../domain/dlq';
import { kafkaOf, loadOpsConfig, progress, UsageError, type CliIo, type OpsConfig } from '../context';

////////// sicantik-ops dlq: poison records on <topic>.dlq (counts, a sample, re-drive)
// A re-drive writes each selected record's original key, value and headers (the dlq.*
// headers removed) back to its source topic and partition, then records itself as a
// marker record on the same DLQ topic and partition (header dlq.redrive=1, the DLQ
// offsets it took in dlq.redrive.offsets, dlq.redrive.at, dlq.redrive.count; a JSON value
// with the same and each record's source). Why there and not on a topic of its own: the
// DLQ is then its own ledger, read in one pass in order (a record and the marker that
// re-drove it are on one partition), kept as long as the records (retention -1), with no
// new topic or schema in every deployment; the DLQ already holds bytes that are not Avro,
// and only this tool reads it. A second `redrive --execute` skips the offsets a marker
// names. A crash after the records and before the marker re-drives them again on the next
// run: consumers absorb the repeat by event id (at-least-once, like every other path).

interface Read { entries: DlqEntry[]; messages: Map<string, KafkaMessage> }
const keyOf = (topic: string, partition: number, offset: string) => `${topic}|${partition}|${offset}`;
const str = (v: IHeaders[string]) => (v === undefined ? undefined : Array.isArray(v) ? v.map(String).join(',') : String(v));

/** Reads every `<prefix>*.dlq` topic to its end offset at the start, with a throw-away group deleted afterwards. */
async function readDlqs(io: CliIo, cfg: OpsConfig, kafka: Kafka): Promise<Read> {
  const admin = kafka.admin();
  await admin.connect();
  const messages = new Map<string, KafkaMessage>();
  const entries: DlqEntry[] = [];
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(cfg.TOPIC_PREFIX) && t.endsWith('.dlq')).sort();
    const targets = new Map<string, bigint>(); // "topic|partition" -> end offset
    let total = 0n;
    for (const t of topics) {
      for (const o of await admin.fetchTopicOffsets(t)) {
        if (BigInt(o.high) > BigInt(o.low)) { targets.set(`${t}|${o.partition}`, BigInt(o.high)); total += BigInt(o.high) - BigInt(o.low); }
      }
    }
    if (targets.size === 0) return { entries, messages };
    const groupId = `${cfg.TOPIC_PREFIX}sicantik-ops-reader-${randomBytes(4).toString('hex')}`;
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 500 });
    const bar = progress(io, 'reading dead letters', Number(total));
    const pending = new Set(targets.keys());
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [...new Set([...targets.keys()].map((k) => k.slice(0, k.lastIndexOf('|'))))], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new TransientError(`reading the dead-letter topics took longer than 120 s (${pending.size} partitions unfinished)`)), 120_000);
        consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const k = `${batch.topic}|${batch.partition}`;
            const end = targets.get(k);
            if (end === undefined) return;
            for (const m of batch.messages) {
              if (BigInt(m.offset) >= end) break;
              const headers: Record<string, string> = {};
              for (const [h, v] of Object.entries(m.headers ?? {})) { const s = str(v); if (s !== undefined) headers[h] = s; }
              entries.push({ dlqTopic: batch.topic, partition: batch.partition, offset: m.offset, headers });
              messages.set(keyOf(batch.topic, batch.partition, m.offset), m);
              bar.tick();
            }
            const last = batch.messages[batch.messages.length - 1];
            if (last && BigInt(last.offset) + 1n >= end) pending.delete(k);
            if (pending.size === 0) { clearTimeout(timer); resolve(); }
          },
        }).catch(reject);
      });
    } finally {
      bar.stop();
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    entries.sort((a, b) => (a.dlqTopic === b.dlqTopic ? (a.partition === b.partition ? Number(BigInt(a.offset) - BigInt(b.offset)) : a.partition - b.partition) : a.dlqTopic.localeCompare(b.dlqTopic)));
    return { entries, messages };
  } finally {
    await admin.disconnect();
  }
}

const logical = (cfg: OpsConfig, physical: string) => (physical.startsWith(cfg.TOPIC_PREFIX) ? physical.slice(cfg.TOPIC_PREFIX.length) : physical);

/** A record's line: where it is, where it came from, why; the key and error with phone-like digits masked; never the value. */
function recordLine(cfg: OpsConfig, r: PoisonRecord, m: KafkaMessage | undefined): string {
  const key = m?.key ? maskDigits(m.key.toString()) : '(none)';
  return `  ${logical(cfg, r.dlqTopic)}[${r.partition}]@${r.offset}  from ${logical(cfg, r.sourceTopic)}[${r.sourcePartition}]@${r.sourceOffset}  reason ${r.reason}  key ${key}  at ${r.at}  group ${r.consumerGroup}${r.redriven ? '  (re-driven)' : ''}\n    error ${r.errorName}: ${maskDigits(r.error)}`;
}
const recordJson = (cfg: OpsConfig, r: PoisonRecord, m: KafkaMessage | undefined) => ({
  dlqTopic: logical(cfg, r.dlqTopic), partition: r.partition, offset: r.offset,
  sourceTopic: logical(cfg, r.sourceTopic), sourcePartition: r.sourcePartition, sourceOffset: r.sourceOffset,
  reason: r.reason, errorName: r.errorName, error: maskDigits(r.error), key: m?.key ? maskDigits(m.key.toString()) : null,
  at: r.at, consumerGroup: r.consumerGroup, redriven: r.redriven,
});
const countLines = (cfg: OpsConfig, counts: DlqCount[]) => counts.length === 0
  ? ['no dead-lettered records']
  : counts.map((c) => `  ${logical(cfg, c.sourceTopic)}  ${c.reason}  total ${c.total}  re-driven ${c.redriven}  pending ${c.pending}`);

/** --topic: a topic of the catalog (logical name) or its physical name; anything else is a usage error. */
function sourceTopicOf(cfg: OpsConfig, t: string | undefined): string | undefined {
  if (t === undefined) return undefined;
  const name = t.startsWith(cfg.TOPIC_PREFIX) && (TOPIC_NAMES as string[]).includes(t.slice(cfg.TOPIC_PREFIX.length)) ? t.slice(cfg.TOPIC_PREFIX.length) : t;
  if (!(TOPIC_NAMES as string[]).includes(name)) throw new UsageError(`unknown topic "${t}": one of ${TOPIC_NAMES.join(', ')}`);
  return `${cfg.TOPIC_PREFIX}${name}`;
}

const count = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('an integer >= 0');
  return n;
};

export function dlqCommand(io: CliIo): Command {
  const dlq = new Command('dlq')
    .enablePositionalOptions() // `dlq redrive --json`: the option is redrive's, not dlq's
    .description('poison records on <topic>.dlq: counts by source topic and reason, a sample; `dlq redrive` puts them back')
    .option('--sample <n>', 'also print the first n records (original topic, partition, offset, reason, error; no payload)', count, 0)
    .option('--json', 'print JSON')
    .addHelpText('after', `
Examples:
  sicantik-ops dlq
  sicantik-ops dlq --sample 5
  sicantik-ops dlq --json`)
    .action(async (o: { sample: number; json?: boolean }) => {
      const cfg = loadOpsConfig(io);
      const kafka = kafkaOf(cfg);
      const { entries, messages } = await readDlqs(io, cfg, kafka);
      const records = poisonRecords(entries);
      const counts = countPoison(records);
      const sample = records.slice(0, o.sample);
      const m = (r: PoisonRecord) => messages.get(keyOf(r.dlqTopic, r.partition, r.offset));
      if (o.json) {
        io.out(`${JSON.stringify({ prefix: cfg.TOPIC_PREFIX, counts: counts.map((c) => ({ ...c, sourceTopic: logical(cfg, c.sourceTopic) })), sample: sample.map((r) => recordJson(cfg, r, m(r))) }, null, 2)}\n`);
        return;
      }
      const lines = ['dead-lettered records by source topic and reason:', ...countLines(cfg, counts)];
      if (o.sample > 0) lines.push(`first ${sample.length} of ${records.length}:`, ...sample.map((r) => recordLine(cfg, r, m(r))));
      io.out(`${lines.join('\n')}\n`);
    });

  dlq.command('redrive')
    .description('put poison records back on their source topic (original key, value, headers); a preview unless --execute')
    .option('--topic <topic>', 'only records from this source topic (e.g. contact.events)')
    .option('--reason <reason>', 'only records dead-lettered for this reason (e.g. BAD_WIRE_FORMAT)')
    .option('--execute', 'write them back and record the re-drive (without it: only show what would be re-driven)')
    .option('--json', 'print JSON')
    .addHelpText('after', `
A record re-driven once is not re-driven again: each re-drive is recorded as a marker record
on the DLQ topic (header dlq.redrive) naming the DLQ offsets it took.

Examples:
  sicantik-ops dlq redrive                                   preview of everything pending
  sicantik-ops dlq redrive --topic contact.events --reason BAD_DATA
  sicantik-ops dlq redrive --topic contact.events --execute`)
    .action(async (o: { topic?: string; reason?: string; execute?: boolean; json?: boolean }) => {
      const cfg = loadOpsConfig(io);
      const sourceTopic = sourceTopicOf(cfg, o.topic);
      const kafka = kafkaOf(cfg);
      const { entries, messages } = await readDlqs(io, cfg, kafka);
      const chosen = selectForRedrive(poisonRecords(entries), { ...(sourceTopic ? { sourceTopic } : {}), ...(o.reason ? { reason: o.reason } : {}) });
      const m = (r: PoisonRecord) => messages.get(keyOf(r.dlqTopic, r.partition, r.offset));
      const markers: { dlqTopic: string; partition: number; offset: string; count: number }[] = [];
      if (o.execute && chosen.length) {
        const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
        await producer.connect();
        const bar = progress(io, 're-driving', chosen.length);
        try {
          for (let i = 0; i < chosen.length; i += 100) {
            const part = chosen.slice(i, i + 100);
            const byTopic = new Map<string, { partition?: number; key: Buffer | null; value: Buffer | null; headers: IHeaders }[]>();
            for (const r of part) {
              const msg = m(r)!;
              const list = byTopic.get(r.sourceTopic) ?? [];
              // Its own partition (the key's, under the producers' partitioner); a record without the header goes by its key.
              list.push({ ...(r.sourcePartition >= 0 ? { partition: r.sourcePartition } : {}), key: msg.key, value: msg.value, headers: originalHeaders(msg.headers ?? {}) as IHeaders });
              byTopic.set(r.sourceTopic, list);
            }
            await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })) });
            bar.tick(part.length);
          }
          bar.stop();
          const byDlq = new Map<string, PoisonRecord[]>();
          for (const r of chosen) {
            const k = `${r.dlqTopic}|${r.partition}`;
            byDlq.set(k, [...(byDlq.get(k) ?? []), r]);
          }
          const at = new Date().toISOString();
          for (const list of byDlq.values()) {
            const { dlqTopic, partition } = list[0]!;
            const [meta] = await producer.send({
              topic: dlqTopic, acks: -1,
              messages: [{
                partition, key: 'sicantik-ops.redrive',
                value: JSON.stringify({ kind: 'redrive', at, records: list.map((r) => ({ offset: r.offset, sourceTopic: r.sourceTopic, sourcePartition: r.sourcePartition, sourceOffset: r.sourceOffset, reason: r.reason })) }),
                headers: { [REDRIVE_HEADER]: '1', [REDRIVE_OFFSETS_HEADER]: list.map((r) => r.offset).join(','), 'dlq.redrive.at': at, 'dlq.redrive.count': String(list.length) },
              }],
            });
            markers.push({ dlqTopic: logical(cfg, dlqTopic), partition, offset: meta?.baseOffset ?? '', count: list.length });
          }
        } finally {
          await producer.disconnect();
        }
      }
      if (o.json) {
        io.out(`${JSON.stringify({ prefix: cfg.TOPIC_PREFIX, executed: Boolean(o.execute), records: chosen.map((r) => recordJson(cfg, r, m(r))), markers }, null, 2)}\n`);
        return;
      }
      const lines: string[] = [];
      if (chosen.length === 0) lines.push('nothing to re-drive');
      else if (!o.execute) lines.push(`would re-drive ${chosen.length} records (preview; --execute to act):`, ...chosen.map((r) => recordLine(cfg, r, m(r))));
      else lines.push(`re-drove ${chosen.length} records:`, ...chosen.map((r) => recordLine(cfg, r, m(r))), ...markers.map((k) => `recorded as a re-drive marker at ${k.dlqTopic}[${k.partition}]@${k.offset} (${k.count} records)`));
      io.out(`${lines.join('\n')}\n`);
    });
  return dlq;
}
