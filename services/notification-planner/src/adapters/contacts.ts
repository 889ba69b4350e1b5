import type { Admin, Kafka } from 'kafkajs';
import { TransientError, normalizePhone } from '@sicantik/core';
import { followTopic, runBatchConsumer, untilAvailable, type KafkaDeps, type OutMessage, type RunningBatchConsumer } from '@sicantik/kafka';
import type { Logger, Metrics } from '@sicantik/observability';
import { contactEventKey, retentionFactKey, type SchemaCodec, type TopicName } from '@sicantik/schemas';
import { contactFacts } from '../domain/retention';
import { classify, emptySubject, type ConsentSettings, type PermitStaff, type SubjectState } from '../domain/consent';
import type { DirectoryEntry } from '../domain/decide';
import type { PlannerMemory } from './memory';

////////// The consent classifier: a consumer of contact.events in its own group
// contact.events is keyed by subject (contactEventKey), so one partition holds all of a
// person's events in order: the webhook receiver's MESSAGE_RECEIVED, the dispatcher's
// MESSAGE_SENT and this classifier's own outputs. Per partition this instance owns:
//   1. on assignment, the state of its subjects is rebuilt by replaying the partition
//      from its start up to the group's committed offset (classify, discard outputs:
//      nothing is emitted again);
//   2. then each batch is classified from the committed offset on; its outputs
//      (OPTED_IN / OPTED_OUT / HELP_REQUESTED / REPLY_UNMATCHED / WRONG_NUMBER on
//      contact.events, with the same key; answers and notices on notification.requests)
//      are produced in one request before the offset is committed (runBatchConsumer).
// A crash before the commit classifies the batch again from the same state: the same
// ids (derived from the causing event; the day's answer from subject + day), absorbed
// downstream. The classifier's own events read back change nothing (`written`).

/** The classifier's fetches wait up to this long for CONSENT_FETCH_MIN_BYTES of records (ms). */
const CONSENT_FETCH_WAIT_MS = 250;
const CONSENT_FETCH_MIN_BYTES = 64 * 1024;

export interface ConsentClassifierDeps extends KafkaDeps {
  memory: PlannerMemory;
  settings: ConsentSettings;
  groupId: string;
  /** Unique per restore, e.g. `<prefix>planner-consent-restore-<instance>-<pid>-<time>`. */
  restoreGroupId(partition: number): string;
  /** ISO 3166 regions of staff numbers (the planner's ALLOWED_COUNTRIES). */
  allowedCountries: readonly string[];
}

/** Active staff handling a permit's type (the planner's directory and permit state), reachable and not opted out. */
function permitStaff(memory: PlannerMemory, allowedCountries: readonly string[], pendaftaranId: string): PermitStaff {
  const jenisIzin = memory.permits.get(pendaftaranId)?.rec.state.jenis_izin ?? null;
  const handles = (e: DirectoryEntry) => e.role === 'STAFF' && e.active && (e.jenisIzin.includes('*') || (jenisIzin !== null && e.jenisIzin.some((j) => j.toLowerCase() === jenisIzin.toLowerCase())));
  const optedOut = memory.contacts().optedOut;
  const staff: PermitStaff['staff'] = [];
  for (const e of memory.directoryEntries()) {
    if (!handles(e)) continue;
    const p = normalizePhone(e.phone, { allowedCountries });
    if (p.ok && !optedOut.has(p.e164)) staff.push({ id: e.id, name: e.name, phone: p.e164, subjectId: e.subjectId ?? null });
  }
  return { jenisIzin, staff };
}

export class ConsentClassifier {
  private readonly subjects = new Map<string, { partition: number; state: SubjectState }>();
  private readonly restoring = new Map<number, Promise<void>>();
  private consumer: RunningBatchConsumer | null = null;
  private readonly classified;

  constructor(private readonly d: ConsentClassifierDeps) {
    this.classified = new d.metrics.client.Counter({
      name: 'sicantik_consent_classified_total', help: 'Consent classifier outputs by kind (OPTED_IN, OPTED_OUT, HELP_REQUESTED, REPLY_UNMATCHED, WRONG_NUMBER)',
      labelNames: ['kind'], registers: [d.metrics.registry],
    });
  }

  /** The state of one subject (tests, admin). */
  subject(key: string): SubjectState | undefined { return this.subjects.get(key)?.state; }

  private staffOf = (reg: string): PermitStaff => permitStaff(this.d.memory, this.d.allowedCountries, reg);

  /** Replays a partition up to the group's committed offset into the subjects' state, emitting nothing. */
  private restored(partition: number): Promise<void> {
    let r = this.restoring.get(partition);
    if (!r) {
      r = (async () => {
        const topic = this.d.codec.topic('contact.events');
        const offsets = await untilAvailable(() => this.d.admin.fetchOffsets({ groupId: this.d.groupId, topics: [topic] }));
        const committed = BigInt(offsets[0]?.partitions.find((p) => p.partition === partition)?.offset ?? '-1');
        for (const [k, v] of this.subjects) if (v.partition === partition) this.subjects.delete(k);
        let records = 0;
        if (committed > 0n) {
          await followTopic({
            kafka: this.d.kafka, admin: this.d.admin, codec: this.d.codec, topic: 'contact.events', partitions: [partition], groupId: this.d.restoreGroupId(partition),
            onMessage: (e, { offset }) => {
              if (BigInt(offset) >= committed) return;
              const key = contactEventKey(e);
              const cur = this.subjects.get(key)?.state ?? emptySubject();
              this.subjects.set(key, { partition, state: classify(cur, e, this.d.settings, this.staffOf).state });
              records++;
            },
          });
        }
        this.d.logger.info({ partition, records, upTo: committed.toString() }, 'consent state restored from contact.events');
      })();
      this.restoring.set(partition, r);
      r.catch(() => this.restoring.delete(partition));
    }
    return r;
  }

  async start(): Promise<void> {
    const topic = this.d.codec.topic('contact.events');
    this.consumer = await runBatchConsumer({
      kafka: this.d.kafka, codec: this.d.codec, producer: this.d.producer, logger: this.d.logger, metrics: this.d.metrics, groupId: this.d.groupId,
      // Off the notifications' path (every sent message is a MESSAGE_SENT here): batches of
      // up to CONSENT_FETCH_WAIT_MS of records, not one or two, so a produce and an offset
      // commit serve many records; a reply is classified at most that much later.
      minBytes: CONSENT_FETCH_MIN_BYTES, maxWaitMs: CONSENT_FETCH_WAIT_MS,
      onAssignment: (a) => {
        const assigned = a[topic] ?? [];
        // A partition lost, or assigned again later, is rebuilt from Kafka: another instance may have classified meanwhile.
        for (const p of [...this.restoring.keys()]) {
          if (assigned.includes(p)) continue;
          this.restoring.delete(p);
          for (const [k, v] of this.subjects) if (v.partition === p) this.subjects.delete(k);
        }
        for (const p of assigned) void this.restored(p).catch((e: Error) => this.d.logger.warn({ partition: p, err: e.message }, 'consent restore not finished; retried with the next batch'));
      },
      handlers: {
        'contact.events': async ({ partition, records }) => {
          try {
            await this.restored(partition);
          } catch (e) {
            throw new TransientError(`consent state of partition ${partition} not restored: ${(e as Error).message}`);
          }
          const draft = new Map<string, SubjectState>();
          const out: OutMessage<TopicName>[] = [];
          const counts = new Map<string, number>();
          for (const r of records) {
            const e = r.value;
            const key = contactEventKey(e);
            const cur = draft.get(key) ?? this.subjects.get(key)?.state ?? emptySubject();
            const { state, out: o } = classify(cur, e, this.d.settings, this.staffOf);
            draft.set(key, state);
            for (const ev of o.events) {
              out.push({ topic: 'contact.events', key: contactEventKey(ev), value: ev });
              counts.set(ev.kind, (counts.get(ev.kind) ?? 0) + 1);
            }
            for (const q of o.requests) out.push({ topic: 'notification.requests', key: q.pendaftaran_id || q.recipient.id, value: q });
          }
          // subject.retention: each subject's latest contact event (its outputs come back as records of a later batch).
          for (const f of contactFacts(records.map((r) => r.value))) out.push({ topic: 'subject.retention', key: retentionFactKey(f), value: f });
          return {
            out,
            done: () => {
              for (const [k, state] of draft) this.subjects.set(k, { partition, state });
              for (const [kind, n] of counts) this.classified.inc({ kind }, n);
            },
          };
        },
      },
    });
  }

  async stop(): Promise<void> { await this.consumer?.stop(); }
}
