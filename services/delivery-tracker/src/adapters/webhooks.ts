import express from 'express';
import { maskPhone } from '@sicantik/core';
import type { Logger, Metrics } from '@sicantik/observability';
import { PROVIDER_ADAPTERS, isProviderName, type Provider, type ProviderName, type WebhookRejection, type WebhookRequest } from '@sicantik/providers';
import type { ContactEvent, DeliveryStatusReported } from '@sicantik/schemas';
import { trackerEvents } from '../domain/webhookEvents';

////////// Provider webhooks: /webhooks/:provider (and /webhooks/:provider/:token)
// Every provider's webhook is verified and parsed by @sicantik/providers over the raw
// body bytes, the lower-cased headers and the full public URL as the provider called
// it (a provider may sign the URL). This route knows no provider: how each one answers (a
// URL secret as the last path segment or not, the HTTP status of each rejection, the
// reply to an accepted webhook) is its WebhookDescriptor. By default anything
// unverified gets 401 and a verified body that is not in the provider's format 400;
// either is counted in sicantik_webhook_rejected_total and has no effect. Logs carry
// the provider and the reason only: never a URL (a URL may carry a secret), a header,
// a body or a full phone number.
// Reception keeps no state (the receiver role runs as several instances, restarts at
// any time): what a request carried and when it arrived go to Kafka, nothing else. An
// inbound message is recorded as received (MESSAGE_RECEIVED with its proof), never
// classified here: the planner's consent classifier reads it from contact.events.

/** Why a webhook had no effect, as counted: the providers' reasons, plus a handshake refused and a provider not configured here. */
type RejectReason = WebhookRejection | 'handshake' | 'not_configured';

export interface WebhookDeps {
  logger: Logger;
  /** Providers configured to receive (configuredProviders(env, { roles: ['receive'] })). */
  providers: readonly Provider[];
  /** WEBHOOK_PUBLIC_BASE_URL: the URL a provider called is this plus the request's path and query. */
  publicBaseUrl?: string;
  publish(events: DeliveryStatusReported[]): Promise<void>;
  publishContacts(events: ContactEvent[]): Promise<void>;
  now(): Date;
  onRejected(provider: ProviderName, reason: RejectReason): void;
}

/** sicantik_webhook_rejected_total{provider,reason}, as the onRejected of WebhookDeps. */
export function webhookRejectedCounter(metrics: Metrics): WebhookDeps['onRejected'] {
  const c = new metrics.client.Counter({
    name: 'sicantik_webhook_rejected_total',
    help: 'Provider webhooks with no effect: not verified (reason: missing, signature, stale, malformed, handshake, not_configured) or verified but not in the provider\'s format (unparseable)',
    labelNames: ['provider', 'reason'], registers: [metrics.registry],
  });
  return (provider, reason) => c.inc({ provider, reason });
}

/** The URL as the provider called it: the configured public base, else the scheme of the connection and the Host header. */
function publicUrl(req: express.Request, publicBaseUrl: string | undefined): string {
  if (publicBaseUrl) return publicBaseUrl.replace(/\/+$/, '') + req.originalUrl;
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${req.originalUrl}`;
}

function webhookRequest(req: express.Request, publicBaseUrl: string | undefined): WebhookRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return {
    url: publicUrl(req, publicBaseUrl),
    method: req.method,
    headers,
    rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
    query: req.query as WebhookRequest['query'],
  };
}

/** Mounted at /webhooks. */
export function webhookRouter(deps: WebhookDeps): express.Router {
  const byName = new Map((deps.providers ?? []).map((p) => [p.name, p])); // ?? []: an app built only to list its routes
  const r = express.Router();

  /** Finds the route's provider (res.locals.provider), or answers 404 before any body is read. */
  const provider: express.RequestHandler = (req, res, next) => {
    const name = String(req.params.provider);
    // A secret as the last path segment only for a provider that takes one there (known without its configuration).
    if (!isProviderName(name) || (req.params.token !== undefined && !PROVIDER_ADAPTERS[name].webhook.urlSecretSegment)) {
      res.status(404).json({ error: 'not_found' });
      return;
    }
    const p = byName.get(name);
    if (!p) {
      deps.onRejected(name, 'not_configured');
      deps.logger.warn({ provider: name, reason: 'not_configured' }, 'webhook for a provider not configured to receive here');
      res.status(404).json({ error: 'provider_not_configured' });
      return;
    }
    res.locals.provider = p;
    next();
  };
  const reject = (res: express.Response, provider: ProviderName, reason: RejectReason, status: number) => {
    deps.onRejected(provider, reason);
    deps.logger.warn({ provider, reason }, 'webhook rejected');
    res.status(status).json({ error: reason === 'unparseable' ? 'bad_request' : 'unauthorized', reason });
  };

  // A subscription handshake (a GET) where the provider has one (Provider.handshake); 405 elsewhere.
  const handshake: express.RequestHandler = (req, res) => {
    const p = res.locals.provider as Provider;
    if (!p.handshake) { res.status(405).set('Allow', 'POST').json({ error: 'method_not_allowed' }); return; }
    const reply = p.handshake(webhookRequest(req, deps.publicBaseUrl));
    if (reply.status !== 200) { reject(res, p.name, 'handshake', reply.status); return; }
    res.status(200).type('text/plain').send(reply.body);
  };

  // Raw bytes of any content type (JSON, form): signatures are over the body as sent.
  const raw = express.raw({ type: () => true, limit: '1mb' });
  const receive: express.RequestHandler = async (req, res) => {
    const p = res.locals.provider as Provider;
    const now = deps.now();
    const result = p.handleWebhook(webhookRequest(req, deps.publicBaseUrl), now);
    if (!result.ok) {
      reject(res, p.name, result.reason, p.webhook.rejectionStatus[result.reason]);
      return;
    }
    const { statuses, contacts } = trackerEvents({ provider: p.name, receivedAt: now.getTime() }, result.events);
    try {
      await deps.publish(statuses);
      await deps.publishContacts(contacts);
    } catch (e) {
      deps.logger.error({ provider: p.name, err: (e as Error).message }, 'could not store webhook events; the provider will retry');
      res.status(503).json({ error: 'unavailable' });
      return;
    }
    for (const c of contacts) deps.logger.info({ provider: p.name, contact: maskPhone(c.phone) }, 'inbound message recorded');
    const reply = p.webhook.successReply;
    if (reply) { res.status(reply.status).type(reply.contentType).send(reply.body); return; }
    res.status(200).json({ accepted: statuses.length, ignored: result.ignored, inbound: contacts.length });
  };

  r.get('/:provider', provider, handshake);
  r.post('/:provider', provider, raw, receive);
  r.post('/:provider/:token', provider, raw, receive);
  // Our own handler for this router's errors (e.g. a body too large or cut off): the
  // shared one logs the path, which may hold a provider's URL secret.
  r.use(((err, req, res, _next) => {
    const e = err as Error & { status?: number; type?: string };
    const status = typeof e.status === 'number' && e.status >= 400 && e.status < 500 ? e.status : 500;
    const name = req.path.split('/')[1] ?? '';
    deps.logger[status >= 500 ? 'error' : 'warn']({ provider: isProviderName(name) ? name : 'unknown', err: e.type ?? e.message }, 'webhook request failed');
    if (!res.headersSent) res.status(status).json({ error: status === 413 ? 'too_large' : status >= 500 ? 'internal_error' : 'bad_request' });
  }) as express.ErrorRequestHandler);
  return r;
}
