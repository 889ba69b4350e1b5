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
}

export type RecipientKind = 'APPLICANT' | 'STAFF' | 'OFFICIAL';
export interface Recipient { kind: RecipientKind; id: string; name: string | null; phone: string }

export interface NotificationRequested extends Envelope {
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
export interface NotificationRendered extends Envelope {
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

/** SKIPPED: nothing sent on purpose (routeReason says why: OPTED_OUT); final, like ACCEPTED, FAILED and IN_DOUBT. */
export type DispatchStatus = 'SENDING' | 'ACCEPTED' | 'RETRY_SCHEDULED' | 'FAILED' | 'IN_DOUBT' | 'DUPLICATE_SUPPRESSED' | 'SKIPPED';
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
  providerMessageId: string;
  status: DeliveryStatus;
  providerTimestamp: number | null;
  receivedAt: number;
  errorCode: string | null;
  errorTitle: string | null;
  /** Added with default WEBHOOK: absent in older events. */
  source?: ReportSource;
}

/** dispatch.awaiting-report: an ACCEPTED dispatch re-keyed by provider message id. */
export interface AwaitingReport extends Envelope {
  notificationId: string;
  pendaftaran_id: string;
  provider: string;
  providerMessageId: string;
  acceptedAt: number;
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
}

export interface ContactEvent extends Envelope {
  provider: string;
  phone: string;
  kind: 'MESSAGE_RECEIVED' | 'OPTED_IN' | 'OPTED_OUT';
  text: string | null;
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
  decision: 'PLANNED' | 'SKIPPED' | 'CANCELLED';
  scenario: string;
  pendaftaran_id: string;
  notificationId: string | null;
  recipientKind: string | null;
  recipientId: string | null;
  reason: string | null;
  /** Stable code of the reason (added later: absent in the oldest events). */
  reasonCode?: string | null;
}

export interface DirectoryEntryUpdated extends Envelope {
  entryId: string;
  role: 'STAFF' | 'OFFICIAL';
  name: string;
  phone: string;
  jenisIzin: string[];
  active: boolean;
}

/** The planner's changelog record (planner.state): the latest state of one key, as JSON. */
export interface PlannerStateRecord {
  key: string;
  kind: 'PERMIT' | 'RUN' | 'COMMAND_DONE';
  partition: number;
  body: string;
  updatedAt: number;
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
