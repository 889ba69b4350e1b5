////////// Event types (mirror schemas/*.avsc; timestamps are epoch milliseconds)

export interface Envelope {
  eventId: string;
  occurredAt: number;
  correlationId: string;
  causationId: string | null;
}

export interface PermitRegistered { type: 'PermitRegistered'; jenis_izin: string; nama_pemohon: string; telepon_pemohon: string | null; status: string }
export interface PermitStatusChanged { type: 'PermitStatusChanged'; status_lama: string; status_baru: string; changedAt: number; link_detail: string | null }
export interface DocumentPendingSignature { type: 'DocumentPendingSignature'; document_id: string; jenis_izin: string; nama_pemohon: string; pendingSince: number }
export interface ApprovalRequested { type: 'ApprovalRequested'; jenis_izin: string; nama_pemohon: string; no_surat: string | null; link_approval: string; pejabat_id: string | null }
export interface PermitIssued { type: 'PermitIssued'; no_surat: string; jenis_izin: string; nama_pemohon: string; telepon_pemohon: string | null; tanggal_terbit: string; link_download: string; tanggal_berakhir: string | null }
export interface PermitExpiryDateSet { type: 'PermitExpiryDateSet'; no_surat: string; tanggal_berakhir: string }
export interface PermitRenewalApproved { type: 'PermitRenewalApproved'; no_surat_baru: string; tanggal_mulai: string; tanggal_berakhir: string; masa_berlaku_tahun: number; link_download: string }
export interface ApplicantContactChanged { type: 'ApplicantContactChanged'; nama_pemohon: string | null; telepon_pemohon: string | null }

export type PermitPayload =
  | PermitRegistered | PermitStatusChanged | DocumentPendingSignature | ApprovalRequested
  | PermitIssued | PermitExpiryDateSet | PermitRenewalApproved | ApplicantContactChanged;
export type PermitPayloadType = PermitPayload['type'];
export const PERMIT_PAYLOAD_TYPES: readonly PermitPayloadType[] = [
  'PermitRegistered', 'PermitStatusChanged', 'DocumentPendingSignature', 'ApprovalRequested',
  'PermitIssued', 'PermitExpiryDateSet', 'PermitRenewalApproved', 'ApplicantContactChanged',
];

export interface PermitEvent extends Envelope {
  source: string;
  pendaftaran_id: string;
  payload: PermitPayload;
  /** Issue 16: the applicant's subject id (absent/null in older events). */
  subjectId?: string | null;
}

export type RecipientKind = 'APPLICANT' | 'STAFF' | 'OFFICIAL';
export interface Recipient {
  kind: RecipientKind; id: string; name: string | null; phone: string;
  /** The person's pseudonymous subject id (issue 16; absent/null in older events). */
  subjectId?: string | null;
}

/**
 * Time and replacement rules of a notification (issue 16; added with defaults, absent in
 * older events). The planner sets them on notification.requests, the renderer copies
 * them to notification.rendered, the dispatcher obeys them.
 */
export interface NotificationTiming {
  /** Earliest time it may be handed to a provider (quiet hours, working hours, coalescing); null = at once. */
  notBefore?: number | null;
  /** QUIET_HOURS, WORKING_HOURS, HOLIDAY, COALESCING; null when not deferred. */
  deferReason?: string | null;
  /** While held, a later notification with the same key drops this one (SUPERSEDED). */
  supersedeKey?: string | null;
  /** While held, dropped (STALE) after this time. */
  staleAfter?: number | null;
}

export interface NotificationRequested extends Envelope, NotificationTiming {
  notificationId: string;
  scenario: string;
  templateCode: string;
  pendaftaran_id: string;
  recipient: Recipient;
  variables: Record<string, string>;
  /** Rows of a digest (document_pending, reminder); empty otherwise. */
  items: Record<string, string>[];
  locale: string;
}

export interface TemplateParameter { name: string; value: string }
export interface NotificationRendered extends Envelope, NotificationTiming {
  notificationId: string;
  scenario: string;
  templateCode: string;
  templateVersion: number;
  pendaftaran_id: string;
  recipient: Recipient;
  outcome: 'RENDERED' | 'FAILED';
  text: string | null;
  parameters: TemplateParameter[];
  /**
   * Language code of the rendered text, e.g. 'id' (metaLanguage in events written before it,
   * read through the schema's alias). No provider's template name or id: each provider takes
   * those from its own configuration or template mapping.
   */
  language: string;
  failureReason: string | null;
  /** Provider -> parameters in its format (added later: absent in the oldest events, read as {}). */
  providerParameters?: Record<string, Record<string, string>>;
}

/**
 * SKIPPED: nothing sent on purpose (routeReason says why: OPTED_OUT); final, like ACCEPTED, FAILED and IN_DOUBT.
 * Issue 16: DEFERRED (waiting for notBefore; not final), HELD (waiting for the contact's
 * opt-in; not final), DROPPED (a held one superseded, stale or expired; final),
 * SUBJECT_ERASED (the person's key is gone: nothing sent; final).
 */
export type DispatchStatus =
  | 'SENDING' | 'ACCEPTED' | 'RETRY_SCHEDULED' | 'FAILED' | 'IN_DOUBT' | 'DUPLICATE_SUPPRESSED' | 'SKIPPED'
  | 'DEFERRED' | 'HELD' | 'DROPPED' | 'SUBJECT_ERASED';
export interface NotificationDispatchRecorded extends Envelope {
  notificationId: string;
  pendaftaran_id: string;
  scenario: string;
  templateCode: string;
  recipientKind: string;
  provider: string;
  status: DispatchStatus;
  providerMessageId: string | null;
  attempt: number;
  errorCode: string | null;
  reason: string | null;
  // Routing and attempt details (issue 9; added with defaults: absent in older events, read as the defaults).
  /** Attempt number on this provider; `attempt` counts every provider. */
  providerAttempt?: number;
  /** Why this provider (OPTED_IN, NOT_OPTED_IN, FALLBACK, CIRCUIT_OPEN, QUOTA_EXHAUSTED, RETRY, FORCED, OPTED_OUT, ...). */
  routeReason?: string | null;
  routeDetail?: string | null;
  fallbackFrom?: string | null;
  /** Providers ruled out for this notification so far. */
  excludedProviders?: string[];
  /** RETRY_SCHEDULED: the provider of the next attempt. */
  nextProvider?: string | null;
  /** RETRY_SCHEDULED: when the next attempt is due (null: at once). */
  notBefore?: number | null;
  /** A failed attempt's classification: retry, fallback, permanent, in_doubt. */
  disposition?: string | null;
  latencyMs?: number | null;
  /** The opt-in link was appended to the text. */
  optInLink?: boolean;
  /** Issue 16: the recipient's subject id. */
  subjectId?: string | null;
  /** Issue 16: keyed hash of the provider message id (joins without the id itself). */
  providerMessageRef?: string | null;
  /** Issue 16, DEFERRED/HELD: the notification's supersede key. */
  supersedeKey?: string | null;
  /** Issue 16, DROPPED: the notification id that replaced this one. */
  supersededBy?: string | null;
  /** dispatch.ledger only (absent on notification.dispatch): a DEFERRED/HELD entry's notification, so a restored ledger can release it. */
  waiting?: NotificationRendered | null;
}

/** A dispatch attempt waiting for its time on dispatch.retry.<tier>, with the notification itself. */
export interface DispatchRetryScheduled extends Envelope {
  notificationId: string;
  pendaftaran_id: string;
  kind: 'SEND' | 'LOOKUP';
  attempt: number;
  provider: string;
  providerAttempt: number;
  excludedProviders: string[];
  notBefore: number;
  tier: number;
  routeReason: string | null;
  routeDetail: string | null;
  providerMessageId: string | null;
  notification: NotificationRendered;
}

/** A notification the dispatcher gave up on (dispatch.dead-letter). */
export interface DispatchDeadLettered extends Envelope {
  notificationId: string;
  pendaftaran_id: string;
  attempts: number;
  providers: string[];
  lastProvider: string | null;
  errorCode: string | null;
  reason: string;
  notification: NotificationRendered;
}

/**
 * A provider's report, or NO_REPORT: the dispatcher's reconciler found no report a
 * configured time after the provider accepted the message, and the provider has no
 * status lookup API (a lookup's answer is one of the others).
 */
export type DeliveryStatus = 'SENT' | 'DELIVERED' | 'READ' | 'FAILED' | 'NO_REPORT';
/** Where a delivery status came from: the provider's webhook, its status API (the reconciler's lookup), the reconciler's own conclusion (NO_REPORT). */
export type ReportSource = 'WEBHOOK' | 'LOOKUP' | 'RECONCILER';
export interface DeliveryStatusReported extends Envelope {
  provider: string;
  /**
   * The message's ref (equal to providerMessageRef), never the provider's id itself (personal
   * data: Meta's encode the number, and a status names no subject to encrypt it with). Older
   * records hold the id in plain; readers join by providerMessageRef, else by the ref of this.
   */
  providerMessageId: string;
  status: DeliveryStatus;
  providerTimestamp: number | null;
  receivedAt: number;
  errorCode: string | null;
  errorTitle: string | null;
  /** Added with default WEBHOOK: absent in older events. */
  source?: ReportSource;
  /** Keyed hash of the provider message id (the record's key; @sicantik/privacy messageRef); null/absent in older events. */
  providerMessageRef?: string | null;
}

/** dispatch.awaiting-report: an ACCEPTED dispatch re-keyed by provider message id. */
export interface AwaitingReport extends Envelope {
  notificationId: string;
  pendaftaran_id: string;
  provider: string;
  providerMessageId: string;
  acceptedAt: number;
  /** Keyed hash of the provider message id (the record's key); null/absent in older records. */
  providerMessageRef?: string | null;
  /** The recipient's subject: providerMessageId is encrypted with its key (personal.ts). */
  subjectId?: string | null;
}

/** dispatch.reconcile: the reconciler's state of one accepted message (see schemas/dispatch.reconcile.avsc). */
export interface ReconcileEntry {
  providerMessageId: string;
  provider: string;
  notificationId: string | null;
  causationId: string | null;
  acceptedAt: number | null;
  reported: 'SENT' | null;
  lookups: number;
  nextLookupAt: number | null;
  outcome: 'reported' | 'looked_up' | 'sent_only' | 'no_report' | null;
  updatedAt: number;
  /** Keyed hash of the provider message id (the record's key); null/absent in older records. */
  providerMessageRef?: string | null;
  /** The recipient's subject (null while only a report is known): providerMessageId is encrypted with its key (personal.ts). */
  subjectId?: string | null;
}

/**
 * MESSAGE_RECEIVED: an inbound message (recorded by the stateless webhook receiver).
 * Issue 16: MESSAGE_SENT (the dispatcher: a provider accepted a message to this person),
 * and what a consumer partitioned by subject concluded from the messages: OPTED_IN,
 * OPTED_OUT, HELP_REQUESTED, REPLY_UNMATCHED, WRONG_NUMBER.
 */
export type ContactEventKind =
  | 'MESSAGE_RECEIVED' | 'OPTED_IN' | 'OPTED_OUT'
  | 'MESSAGE_SENT' | 'HELP_REQUESTED' | 'REPLY_UNMATCHED' | 'WRONG_NUMBER';
export interface ContactEvent extends Envelope {
  provider: string;
  phone: string;
  kind: ContactEventKind;
  text: string | null;
  // Issue 16 (added with defaults: absent in older events).
  subjectId?: string | null;
  /** Proof: the inbound message's provider id, or the sent message's. */
  providerMessageId?: string | null;
  /** Proof: the provider message id the inbound message answered (Meta context.id, ...). */
  contextId?: string | null;
  notificationId?: string | null;
  pendaftaran_id?: string | null;
  /** Why this classification. */
  reason?: string | null;
  /** MESSAGE_SENT: the message asked for opt-in. */
  optInRequest?: boolean;
}

export interface TemplateEvent extends Envelope {
  code: string;
  version: number;
  active: boolean;
  body: string;
  variables: string[];
  /** Each provider's own template for this code, by provider name (read with providerTemplatesOf of @sicantik/providers). */
  providerTemplates: Record<string, string>;
  /**
   * @deprecated Alias of providerTemplates.meta ('' when none), still written for readers of
   * the older schema; events written before providerTemplates carry Meta's name only here.
   */
  metaTemplateName: string;
  /** Language of the text, e.g. 'id' (metaLanguage in events written before: read through the schema's alias). */
  language: string;
  category: string;
}

export interface PlannerDecisionRecorded extends Envelope {
  /** Issue 16 adds DEFERRED (planned with a later earliest send time) and COALESCED (carried by another message). */
  decision: 'PLANNED' | 'SKIPPED' | 'CANCELLED' | 'DEFERRED' | 'COALESCED';
  scenario: string;
  pendaftaran_id: string;
  notificationId: string | null;
  recipientKind: string | null;
  recipientId: string | null;
  reason: string | null;
  /** Stable code of the reason (added later: absent in the oldest events). */
  reasonCode?: string | null;
  /** DEFERRED: the earliest send time. */
  notBefore?: number | null;
  /** COALESCED: the notification id of the message that carries this change. */
  carriedBy?: string | null;
}

export interface DirectoryEntryUpdated extends Envelope {
  entryId: string;
  role: 'STAFF' | 'OFFICIAL';
  name: string;
  phone: string;
  jenisIzin: string[];
  active: boolean;
  /** Issue 16: the person's subject id (absent/null in older events). */
  subjectId?: string | null;
  /** Issue 16: the person's IANA time zone for working hours; null = the office's (absent/null in older events). */
  zone?: string | null;
}

/** The planner's changelog record (planner.state): the latest state of one key, as JSON. */
export interface PlannerStateRecord {
  key: string;
  kind: 'PERMIT' | 'RUN' | 'COMMAND_DONE';
  partition: number;
  body: string;
  updatedAt: number;
  /** Issue 16: the subject whose key encrypts the body (a permit's applicant); absent/null: plaintext. */
  subjectId?: string | null;
}

/** An admin command to the owner of one permit.events partition (planner.commands). */
export interface PlannerCommand {
  commandId: string;
  kind: 'DAILY' | 'DOCUMENT_DIGEST';
  date: string | null;
  from: number | null;
  to: number | null;
  partition: number;
  partitions: number;
  requestedAt: number;
}

/** subject.keys: a person's data key, wrapped by a master key (a tombstone erases it). */
export interface SubjectKey { subjectId: string; /** base64 */ wrappedKey: string; masterKeyId: string; createdAt: number }
/** subject.index: blind index (keyed hash of the E.164 number) -> subject (a tombstone forgets it). */
export interface SubjectIndexEntry {
  blindIndex: string; subjectId: string; createdAt: number;
  /** When the registry last handed the subject out after a pause of a day or more (null/absent in older records: createdAt); the key-expiry job keeps a subject seen within the retention period. */
  lastSeenAt?: number | null;
}
/** privacy.requests: an access or erasure request, when received and when answered. */
export interface PrivacyRequestRecorded extends Envelope {
  requestId: string;
  kind: 'ACCESS' | 'ERASURE';
  subjectId: string | null;
  receivedAt: number;
  /** receivedAt + 3 x 24 h. */
  deadline: number;
  /** KEPT: a key expiry not carried out (the person was seen again within the retention period). */
  status: 'RECEIVED' | 'DONE' | 'NO_SUBJECT' | 'KEPT';
  detail: string | null;
  /** REQUEST (default, and records written before it existed): asked by the person; RETENTION: the key expired at the end of its retention period. */
  reason?: 'REQUEST' | 'RETENTION';
}
/**
 * subject.retention (compacted, keyed by `<subjectId>|<source>`): one source of facts about a
 * person and until when it holds; the key-expiry job keeps the subject's key until the
 * latest factUntil plus the retention period.
 */
export interface SubjectRetentionFact {
  subjectId: string;
  /** `permit:<pendaftaran_id>`, `directory:<entryId>`, `contact`. */
  source: string;
  /** Until when the fact holds; null: still holds, with no end (a current directory entry). */
  factUntil: number | null;
  /** The time of the event that set it (a replay writes the same record). */
  updatedAt: number;
}
