import * as fs from 'node:fs';
import * as path from 'node:path';
import type {
  AwaitingReport, ContactEvent, DirectoryEntryUpdated, DispatchDeadLettered, DispatchRetryScheduled, PlannerDecisionRecorded, DeliveryStatusReported, NotificationDispatchRecorded, NotificationRendered,
  NotificationRequested, PermitEvent, PlannerCommand, PlannerStateRecord, PrivacyRequestRecorded, ReconcileEntry, SubjectIndexEntry, SubjectKey, SubjectRetentionFact, TemplateEvent,
} from './types';

////////// Topic catalogue: one Avro schema per topic value (schemas/<topic>.avsc)

export interface TopicValues {
  'permit.events': PermitEvent;
  'notification.requests': NotificationRequested;
  'notification.rendered': NotificationRendered;
  'notification.dispatch': NotificationDispatchRecorded;
  'delivery.status': DeliveryStatusReported;
  'contact.events': ContactEvent;
  'template.events': TemplateEvent;
  'planner.decisions': PlannerDecisionRecorded;
  'directory.events': DirectoryEntryUpdated;
  'planner.state': PlannerStateRecord;
  'planner.commands': PlannerCommand;
  'dispatch.ledger': NotificationDispatchRecorded;
  'dispatch.retry.1': DispatchRetryScheduled;
  'dispatch.retry.2': DispatchRetryScheduled;
  'dispatch.retry.3': DispatchRetryScheduled;
  'dispatch.dead-letter': DispatchDeadLettered;
  'dispatch.awaiting-report': AwaitingReport;
  'dispatch.reconcile': ReconcileEntry;
  'subject.keys': SubjectKey;
  'subject.index': SubjectIndexEntry;
  'privacy.requests': PrivacyRequestRecorded;
  'subject.retention': SubjectRetentionFact;
}
export type TopicName = keyof TopicValues;

/**
 * copartitioned: a compacted topic that still has the layout's partition count (a
 * changelog of per-partition state); other compacted topics have one partition.
 */
export interface TopicSpec {
  name: TopicName; compacted: boolean; keyedBy: string; copartitioned?: boolean;
  /** A compacted topic whose records are also deleted this long after they were written (cleanup.policy compact,delete). */
  retentionMs?: number;
  /** A compacted topic whose superseded records and tombstones must be compacted away within this time (max.compaction.lag.ms). */
  maxCompactionLagMs?: number;
}

/** How soon an erased subject's key and blind-index entries are compacted away (at most 24 hours, UU PDP erasure). */
export const ERASURE_COMPACTION_LAG_MS = 24 * 3600_000;

/** How long the dispatcher's reconciler remembers a message after its last change (dispatch.reconcile's retention). */
export const RECONCILE_RETENTION_MS = 30 * 24 * 3600_000;
export const TOPICS: Record<TopicName, TopicSpec> = {
  'permit.events': { name: 'permit.events', compacted: false, keyedBy: 'pendaftaran_id' },
  'notification.requests': { name: 'notification.requests', compacted: false, keyedBy: 'pendaftaran_id' },
  'notification.rendered': { name: 'notification.rendered', compacted: false, keyedBy: 'pendaftaran_id' },
  'notification.dispatch': { name: 'notification.dispatch', compacted: false, keyedBy: 'pendaftaran_id' },
  'delivery.status': { name: 'delivery.status', compacted: false, keyedBy: 'providerMessageRef' },
  'contact.events': { name: 'contact.events', compacted: false, keyedBy: 'phone' },
  'template.events': { name: 'template.events', compacted: true, keyedBy: 'code' },
  'planner.decisions': { name: 'planner.decisions', compacted: false, keyedBy: 'pendaftaran_id' },
  'directory.events': { name: 'directory.events', compacted: true, keyedBy: 'entryId' },
  'planner.state': { name: 'planner.state', compacted: true, keyedBy: 'key', copartitioned: true },
  'planner.commands': { name: 'planner.commands', compacted: false, keyedBy: 'commandId' },
  // The dispatcher's ledger (changelog, co-partitioned with notification.rendered): per notification id, the record that set its state.
  'dispatch.ledger': { name: 'dispatch.ledger', compacted: true, keyedBy: 'notificationId', copartitioned: true },
  // The dispatcher's delayed attempts, one topic per delay tier so that not-before grows along each partition;
  // each record on the partition of its notification.rendered record (the ledger partition that owns it).
  'dispatch.retry.1': { name: 'dispatch.retry.1', compacted: false, keyedBy: 'pendaftaran_id', copartitioned: true },
  'dispatch.retry.2': { name: 'dispatch.retry.2', compacted: false, keyedBy: 'pendaftaran_id', copartitioned: true },
  'dispatch.retry.3': { name: 'dispatch.retry.3', compacted: false, keyedBy: 'pendaftaran_id', copartitioned: true },
  // Notifications the dispatcher gave up on (FAILED), with the reason.
  'dispatch.dead-letter': { name: 'dispatch.dead-letter', compacted: false, keyedBy: 'pendaftaran_id' },
  // The dispatcher's reconciler: ACCEPTED dispatch records re-keyed by the provider message ref, a keyed hash of the id (co-partitioned with delivery.status
  // by key), and its changelog (per provider message ref, on the partition of its delivery.status records).
  'dispatch.awaiting-report': { name: 'dispatch.awaiting-report', compacted: false, keyedBy: 'providerMessageRef' },
  'dispatch.reconcile': { name: 'dispatch.reconcile', compacted: true, keyedBy: 'providerMessageRef', copartitioned: true, retentionMs: RECONCILE_RETENTION_MS },
  // The privacy model (issue 16): each person's data key, and the blind index from phone number to subject; erasure tombstones both.
  'subject.keys': { name: 'subject.keys', compacted: true, keyedBy: 'subjectId', maxCompactionLagMs: ERASURE_COMPACTION_LAG_MS },
  'subject.index': { name: 'subject.index', compacted: true, keyedBy: 'blindIndex', copartitioned: true, maxCompactionLagMs: ERASURE_COMPACTION_LAG_MS },
  // Access and erasure requests with their deadline.
  'privacy.requests': { name: 'privacy.requests', compacted: false, keyedBy: 'requestId' },
  // Why each subject's key is still needed: per subject and source of facts, until when (the tracker's key-expiry job folds them).
  'subject.retention': { name: 'subject.retention', compacted: true, keyedBy: 'subjectId|source' },
};

/** The dispatcher's retry topics, by delay tier (1-based); their schemas are generated from one template (generate.ts). */
export const DISPATCH_RETRY_TOPICS = ['dispatch.retry.1', 'dispatch.retry.2', 'dispatch.retry.3'] as const satisfies readonly TopicName[];
export type DispatchRetryTopic = (typeof DISPATCH_RETRY_TOPICS)[number];
export const TOPIC_NAMES = Object.keys(TOPICS) as TopicName[];

/** Dead-letter topic of a topic a service consumes. */
export const dlqTopicOf = (physicalTopic: string) => `${physicalTopic}.dlq`;

export function schemasDir(): string {
  if (process.env.SCHEMAS_DIR) return process.env.SCHEMAS_DIR;
  // packages/schemas/{src,dist} -> repo root /schemas
  return path.resolve(__dirname, '..', '..', '..', 'schemas');
}

export function loadSchema(topic: TopicName, dir = schemasDir()): Record<string, unknown> {
  const file = path.join(dir, `${topic}.avsc`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}
