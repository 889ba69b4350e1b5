import type { ProviderName } from '../config';

////////// What each provider module implements. The app does the generic part
// (recording, faults, rate limits, webhook scheduling); a module knows only its
// provider's wire formats: auth, request body, responses, errors, webhooks.

/** An HTTP answer. A string body is sent as is (with contentType), anything else as JSON. */
export interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface SendInput {
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** What a valid send asks for. Recipients are E.164 (`+62…`), one per message the provider creates. */
interface ParsedSend {
  recipients: string[];
  from?: string;
  /** Twilio's per-message StatusCallback. */
  statusCallback?: string;
  clientRef?: string;
  /** Provider-specific extras the response or webhooks echo (e.g. Twilio's Body). */
  echo?: Record<string, unknown>;
}

type Result<T> = { ok: true; value: T } | { ok: false; reply: Reply };

/** A message the simulator accepted; webhooks refer to it. */
export interface SimMessage {
  provider: ProviderName;
  id: string;
  /** E.164. */
  to: string;
  from?: string;
  createdAtMs: number;
  statusCallback?: string;
  clientRef?: string;
  echo?: Record<string, unknown>;
  /** Statuses reported so far (by webhook), oldest first. */
  statuses: { status: string; atMs: number; code?: number | string }[];
}

export type ErrorKind = 'rate_limit' | 'permanent' | 'server_error';
export interface ErrorOptions {
  code?: number | string;
  httpStatus?: number;
  message?: string;
  /** For rate limits: whole account, or one recipient (Meta 131056). */
  scope?: 'account' | 'recipient';
}

export interface WebhookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

interface InboundInput {
  /** E.164. */
  from: string;
  text: string;
  name: string;
}

export interface ProviderSim {
  name: ProviderName;
  /** Express route of the send endpoint (under the provider's prefix). */
  sendPath: string;
  /** null when the credentials are right. */
  authenticate(input: SendInput): Reply | null;
  parse(input: SendInput): Result<ParsedSend>;
  /** The success answer, with one message (id) per recipient. */
  accept(input: SendInput, parsed: ParsedSend): { reply: Reply; messages: { id: string; to: string }[] };
  error(kind: ErrorKind, opts: ErrorOptions): Reply;
  /** The provider's code for "accepted, later failed" when a fault names none. */
  defaultFailCode: number | string;
  /** The configured callback URL for status webhooks (undefined: none configured). */
  statusUrl(msg: SimMessage): string | undefined;
  inboundUrl(): string | undefined;
  /** Secrets that may appear in callback URLs, masked in recordings. */
  urlSecrets(): string[];
  statusWebhook(msg: SimMessage, status: string, code: number | string | undefined, url: string): WebhookRequest;
  inboundWebhook(input: InboundInput, url: string): WebhookRequest & { id: string };
  /** The provider's other endpoints: status lookups (Twilio, Bird) and the account checks a "test connection" uses. */
  extraRoutes?: ExtraRoute[];
}

interface ExtraRoute {
  method: 'get' | 'post';
  path: string;
  kind: 'lookup' | 'account';
  /** Checks the credentials itself (usually with authenticate). */
  handle(input: SendInput, messages: { get(id: string): SimMessage | undefined; list(): SimMessage[] }): Reply;
}
