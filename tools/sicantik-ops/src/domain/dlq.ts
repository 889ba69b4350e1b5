import { maskPhone } from '@sicantik/core';

////////// Poison records on `<topic>.dlq`: what is there, what was re-driven (pure)
// A dead-lettered record (packages/kafka batchConsumer) keeps its original key, value and
// headers and adds dlq.reason, dlq.error, dlq.error.name, dlq.attempts,
// dlq.source.{topic,partition,offset}, dlq.consumer.group and dlq.at headers.
// A re-drive is recorded on the same DLQ topic and partition as a marker record (header
// `dlq.redrive`: "1") that names the DLQ offsets it re-drove (header dlq.redrive.offsets,
// comma-separated): the DLQ is its own ledger, read in one pass, so a record whose offset a
// marker names is not re-driven again.

/** Header that marks a re-drive record on a DLQ topic. */
export const REDRIVE_HEADER = 'dlq.redrive';
/** Header of a re-drive marker: the DLQ offsets (of its partition) it re-drove, comma-separated. */
export const REDRIVE_OFFSETS_HEADER = 'dlq.redrive.offsets';

/** One record read from a DLQ topic, headers as strings (values of dlq.* headers are text). */
export interface DlqEntry {
  dlqTopic: string;
  partition: number;
  offset: string;
  headers: Record<string, string>;
}

export interface PoisonRecord {
  dlqTopic: string;
  partition: number;
  offset: string;
  /** The topic it was read from (physical name). */
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
  reason: string;
  error: string;
  errorName: string;
  consumerGroup: string;
  at: string;
  /** A re-drive marker names this record. */
  redriven: boolean;
}

/** Splits what was read into poison records (marked re-driven or not); markers are not records. */
export function poisonRecords(entries: readonly DlqEntry[]): PoisonRecord[] {
  const redriven = new Set<string>();
  for (const e of entries) {
    if (e.headers[REDRIVE_HEADER] !== '1') continue;
    for (const o of (e.headers[REDRIVE_OFFSETS_HEADER] ?? '').split(',')) if (o) redriven.add(`${e.dlqTopic}|${e.partition}|${o}`);
  }
  return entries.filter((e) => e.headers[REDRIVE_HEADER] !== '1').map((e) => {
    const h = e.headers;
    return {
      dlqTopic: e.dlqTopic, partition: e.partition, offset: e.offset,
      sourceTopic: h['dlq.source.topic'] ?? e.dlqTopic.replace(/\.dlq$/, ''),
      sourcePartition: Number(h['dlq.source.partition'] ?? -1),
      sourceOffset: h['dlq.source.offset'] ?? '',
      reason: h['dlq.reason'] ?? 'UNKNOWN',
      error: h['dlq.error'] ?? '',
      errorName: h['dlq.error.name'] ?? '',
      consumerGroup: h['dlq.consumer.group'] ?? '',
      at: h['dlq.at'] ?? '',
      redriven: redriven.has(`${e.dlqTopic}|${e.partition}|${e.offset}`),
    };
  });
}

export interface DlqCount { sourceTopic: string; reason: string; total: number; redriven: number; pending: number }

/** Counts by source topic and reason (sorted by topic, then reason). */
export function countPoison(records: readonly PoisonRecord[]): DlqCount[] {
  const by = new Map<string, DlqCount>();
  for (const r of records) {
    const k = `${r.sourceTopic}\u0000${r.reason}`;
    const c = by.get(k) ?? { sourceTopic: r.sourceTopic, reason: r.reason, total: 0, redriven: 0, pending: 0 };
    c.total++;
    if (r.redriven) c.redriven++; else c.pending++;
    by.set(k, c);
  }
  return [...by.values()].sort((a, b) => (a.sourceTopic === b.sourceTopic ? a.reason.localeCompare(b.reason) : a.sourceTopic.localeCompare(b.sourceTopic)));
}

/** What a re-drive takes: records not re-driven yet, of the source topic and reason given (physical topic names). */
export function selectForRedrive(records: readonly PoisonRecord[], filter: { sourceTopic?: string; reason?: string }): PoisonRecord[] {
  return records.filter((r) => !r.redriven
    && (filter.sourceTopic === undefined || r.sourceTopic === filter.sourceTopic)
    && (filter.reason === undefined || r.reason === filter.reason));
}

/** The headers a re-driven record goes back with: the original ones (every dlq.* header removed). */
export function originalHeaders<V>(headers: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !k.startsWith('dlq.')));
}

/** Digit runs long enough to be a phone number, masked (@sicantik/core maskPhone) in text the tool prints. */
export function maskDigits(text: string): string {
  return text.replace(/\+?\d[\d\s-]{7,}\d/g, (m) => maskPhone(m));
}
