////////// The provider kind: one closed union of names, one message shape, one outcome shape.
// Everything here is data: adapters build requests and read responses, the
// dispatcher and the tracker do the I/O.

export const PROVIDER_NAMES = ['meta', 'twilio', 'bird', 'vonage', 'fonnte', 'watzap'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export function isProviderName(s: string): s is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(s);
}

/** A rendered notification, provider-neutral. */
export interface OutboundMessage {
  notificationId: string;
  /** E.164, e.g. "+6281234567890" (the planner already normalised it). */
  toE164: string;
  /** The rendered Indonesian free text, used where no provider template is mapped. */
  text: string;
  /** Our template code; each provider's config maps it to its own template. */
  templateCode: string;
  /** Generic named parameters, in template order. */
  parameters: readonly { name: string; value: string }[];
  /** Language of the rendered text and template, e.g. "id". */
  language: string;
  /**
   * Whether free-form text may be sent (the dispatcher's routing decides it: the contact's
   * last inbound message is less than 24 h old, Meta's customer-service window). Meta sends
   * the code's approved template when one is mapped; without one it sends text only when
   * this is not false, and otherwise refuses before any request (PROVIDER_CONFIG: the next
   * provider). Undefined (an operator's test send): text allowed, as before.
   */
  freeForm?: boolean;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  /** '' for GET. */
  body: string;
}

export interface HttpResponse {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: string;
}

/**
 * What a failure means for routing:
 * - retry: this provider, later (rate limit, outage, transient error);
 * - fallback: this provider cannot serve this message (no template or window,
 *   account/auth/quota problem at this provider, recipient unreachable through
 *   it), another provider in the chain may (e.g. Meta 131026/131047, Twilio 63016);
 * - permanent: nobody can (the request or recipient itself is bad: invalid
 *   number or parameters, the user blocked marketing, ...).
 */
export type Disposition = 'retry' | 'fallback' | 'permanent';

export type SendOutcome =
  | {
      kind: 'accepted';
      providerMessageId: string;
      /** True when the provider returns no id and we made one up (Watzap). */
      synthetic?: true;
    }
  | {
      kind: 'failed';
      disposition: Disposition;
      /** "<provider>:<code>" with the provider's own code, or "http:<status>" when it gave none. */
      errorCode: string;
      reason: string;
      /** From Retry-After or the provider's documented back-off. */
      retryAfterMs?: number;
    };

export type DeliveryStatus = 'sent' | 'delivered' | 'read' | 'failed';

export interface StatusEvent {
  kind: 'status';
  providerMessageId: string;
  status: DeliveryStatus;
  /** The provider's event time, when it gives one (Twilio does not). */
  at?: Date;
  errorCode?: string;
  reason?: string;
  /** For failed statuses with a code: the same classification as a failed send. */
  disposition?: Disposition;
  /** Our notification id, when the provider echoes it back (Vonage client_ref, Bird metadata). */
  notificationId?: string;
}

export interface InboundEvent {
  kind: 'inbound';
  fromE164: string;
  text: string;
  providerMessageId: string;
  at?: Date;
  /**
   * The provider message id of the message this one answered (a WhatsApp reply or a
   * quick-reply button), where the provider says so: Meta `context.id`, Twilio
   * `OriginalRepliedMessageSid`, Vonage `context.message_uuid`. Bird, Watzap and Fonnte
   * give none in their inbound webhooks.
   */
  contextId?: string;
}

export type WebhookEvent = StatusEvent | InboundEvent;

/** An incoming webhook exactly as received. */
export interface WebhookRequest {
  /** Full public URL as the provider called it (scheme, host, path, query). */
  url: string;
  method: string;
  /** Header names lower-cased. */
  headers: Record<string, string | undefined>;
  rawBody: Buffer;
  query: Record<string, string | string[] | undefined>;
}

/**
 * Why a webhook was not accepted. Not verified: no credential (`missing`), a wrong one
 * (`signature`), too old or new (`stale`), a credential that cannot be read or a request
 * that cannot be verified (`malformed`). Verified, but the body is not in the provider's
 * format (JSON for Meta, Bird, Vonage, Fonnte, Watzap; form-encoded or, with bodySHA256,
 * JSON for Twilio): `unparseable`.
 */
export type WebhookRejection = 'missing' | 'signature' | 'stale' | 'malformed' | 'unparseable';

/** A fixed HTTP answer. */
export interface WebhookReply {
  status: number;
  contentType: string;
  body: string;
}

/**
 * How a provider's webhook endpoint answers, so the receiving route knows nothing of any
 * provider: the same for every instance of a provider (data, no secrets).
 */
export interface WebhookDescriptor {
  /**
   * The provider signs nothing and its secret may ride as the URL's last path segment
   * (/webhooks/<provider>/<secret>) as well as in ?token= (Fonnte, Watzap). Others: such a path is not theirs.
   */
  readonly urlSecretSegment: boolean;
  /** The HTTP status for each rejection (a verified but unparseable body: 400; unverified: 401; Vonage's unsigned callback: 503, which Vonage retries). */
  readonly rejectionStatus: Readonly<Record<WebhookRejection, number>>;
  /** The answer to an accepted webhook when the provider reads it (Twilio: TwiML); undefined: the receiver's own summary. */
  readonly successReply?: WebhookReply;
}

export type WebhookResult =
  | { ok: true; events: WebhookEvent[]; /** Entries we do not map (other event types, intermediate statuses). */ ignored: number }
  | { ok: false; reason: WebhookRejection };

/** Reply for a subscription handshake (Meta's GET hub.challenge). */
export interface HandshakeReply {
  status: number;
  body: string;
}

export type ConnectionResult = { ok: true; detail: string } | { ok: false; reason: string };

/** A cheap authenticated call that proves the credentials work, and how to read its answer. */
export interface ConnectionCheck {
  request: HttpRequest;
  /** What a success proves, for operators. */
  checks: string;
  interpret(res: HttpResponse): ConnectionResult;
}

export type LookupResult =
  | { kind: 'found'; status: DeliveryStatus | 'accepted'; errorCode?: string }
  | { kind: 'not_found' }
  | { kind: 'error'; disposition: Disposition; reason: string };

/** A provider bound to its configuration: pure functions, secrets held in a closure. */
export interface Provider {
  readonly name: ProviderName;
  /** How its webhook endpoint answers (the same as its adapter's). */
  readonly webhook: WebhookDescriptor;
  /** The recipient as this provider writes it on the wire. */
  wirePhone(e164: string): string;
  buildSend(msg: OutboundMessage): HttpRequest;
  parseSendResponse(msg: OutboundMessage, res: HttpResponse): SendOutcome;
  /** Verifies the raw request (constant time) and, only if it verifies, parses it. */
  handleWebhook(req: WebhookRequest, now: Date): WebhookResult;
  /** Subscription handshake (Meta only); undefined where the provider has none. */
  handshake?(req: WebhookRequest): HandshakeReply;
  testConnection(): ConnectionCheck;
  /** Status by provider message id, for resolving in-doubt sends; absent where the provider has none. */
  statusLookup?: {
    build(providerMessageId: string): HttpRequest;
    parse(res: HttpResponse): LookupResult;
  };
}

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * What a service uses a provider for: the dispatcher sends (and tests the
 * connection, looks statuses up), the tracker receives webhooks. Each role reads
 * only its own credentials, so neither service needs the other's secrets.
 */
export type ProviderRole = 'send' | 'receive';
/** Reads a secret file (Docker/Kubernetes secrets); injected so config stays testable. */
export type ReadSecretFile = (path: string) => string;

/** A template's parameter, generic: its name and value, in the template's order. */
export interface TemplateParameter {
  name: string;
  value: string;
}

export interface ProviderAdapter {
  readonly name: ProviderName;
  /** The key of the template parameter at this position (0-based) in the map that shows what the provider receives (parameters.ts). */
  parameterKey(index: number): string;
  /**
   * The provider's own template for one of our template codes when the template record names
   * none (a new or seeded template), e.g. Meta's approved twin; undefined: the provider has no default.
   */
  defaultTemplateName?(code: string): string | undefined;
  /** Why the provider would refuse this as one of its template names; undefined: it would not. */
  templateNameIssue?(name: string): string | undefined;
  /** How its webhook endpoint answers; known without any configuration (a route can answer 404 for a path the provider never uses). */
  readonly webhook: WebhookDescriptor;
  /** Environment variables the adapter reads per role (each credential also as NAME_FILE). */
  readonly envVars: Readonly<Record<ProviderRole, readonly string[]>>;
  /**
   * undefined when none of the variables of these roles is set; throws
   * ProviderConfigError when some are. Methods of a role not configured throw
   * ProviderConfigError when called.
   */
  fromEnv(env: Env, readSecretFile: ReadSecretFile, roles: ReadonlySet<ProviderRole>): Provider | undefined;
}

/** An adapter from its config reader and its provider factory (the same wiring for every provider). */
export function defineAdapter<C>(o: {
  name: ProviderName;
  envVars: ProviderAdapter['envVars'];
  webhook: WebhookDescriptor;
  /** Default: positional "1", "2", ... */
  parameterKey?: (index: number) => string;
  defaultTemplateName?: (code: string) => string | undefined;
  templateNameIssue?: (name: string) => string | undefined;
  configFromEnv(env: Env, readSecretFile: ReadSecretFile, roles: ReadonlySet<ProviderRole>): C | undefined;
  create(cfg: C): Provider;
}): ProviderAdapter {
  return {
    name: o.name,
    envVars: o.envVars,
    webhook: o.webhook,
    parameterKey: o.parameterKey ?? ((i) => String(i + 1)),
    ...(o.defaultTemplateName ? { defaultTemplateName: o.defaultTemplateName } : {}),
    ...(o.templateNameIssue ? { templateNameIssue: o.templateNameIssue } : {}),
    fromEnv(env, readSecretFile, roles) {
      const cfg = o.configFromEnv(env, readSecretFile, roles);
      return cfg && o.create(cfg);
    },
  };
}
