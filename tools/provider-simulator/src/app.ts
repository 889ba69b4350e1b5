import axios from 'axios';
import express, { type Request, type Response } from 'express';
import { docsRouter, loadOpenApi, openApiPathFrom } from '@sicantik/observability';
import { randomInt } from 'node:crypto';
import {
  PROVIDERS, isProvider, resolveConfig, type ProviderName, type RateLimitSpec, type SimConfig, type WebhookPlan,
} from './config';
import { Faults, RateLimiter, parseFault, type FaultInput, type FaultRule } from './faults';
import { createBird } from './providers/bird';
import { createFonnte } from './providers/fonnte';
import { createMeta } from './providers/meta';
import { createTwilio } from './providers/twilio';
import type { ProviderSim, Reply, SendInput, SimMessage } from './providers/types';
import { createVonage } from './providers/vonage';
import { createWatzap } from './providers/watzap';
import { isObj, maskPhone, maskUrl, nowMs, prng, readBody, redactHeaders, sleep, toE164 } from './util';
import { formatRetryPolicy, retrySchedule } from './retryPolicy';
import { WebhookSender, type WebhookRecord } from './webhooks';

////////// Provider simulator: speaks the six providers' send APIs (Meta, Twilio, Bird,
// Vonage, Fonnte, Watzap) under /<provider>/…, records every request for tests, injects
// faults and provider-side rate limits, and calls back status and inbound webhooks signed
// (or, for the gateways, token-protected) exactly as each provider does. /_sim/* is the
// admin API; README.md documents it.

export type { SimConfig } from './config';

/** @public In createSimulator's return type (declaration emit needs it exported). */
export interface Recorded {
  /** Increasing per request. */
  seq: number;
  provider: ProviderName;
  /** send; lookup (a message's status); account (the credential checks a "test connection" uses). */
  kind: 'send' | 'lookup' | 'account';
  method: string;
  path: string;
  /** Credentials reduced to their scheme (`Bearer [redacted]`). */
  headers: Record<string, string>;
  /** The parsed body (JSON, form or multipart); secrets in it (Watzap's keys) redacted. */
  body: unknown;
  /** Arrival, ISO; atMs is the same instant in ms with sub-ms precision. */
  at: string;
  atMs: number;
  respondedAtMs?: number;
  responseStatus: number;
  /** Whether the credentials were accepted. */
  auth?: boolean;
  /** E.164; recipients when a send names several (Fonnte). */
  recipient?: string;
  recipients?: string[];
  /** The provider message id returned (the first; messageIds when several). */
  messageId?: string;
  messageIds?: string[];
  /** The fault rule that shaped the answer, or the rate limit that refused it. */
  fault?: { id: string; kind: string };
  rateLimited?: boolean;
}

/** @public In createSimulator's return type. */
export interface LegacyFailure { httpStatus: number; code: number; message: string }

const PLAN_KEYS = ['enabled', 'url', 'statuses', 'delayMs', 'jitterMs', 'duplicate', 'outOfOrder', 'failCode'] as const;

function parsePlan(v: Record<string, unknown>): Partial<WebhookPlan> | string {
  const out: Partial<WebhookPlan> = {};
  for (const k of PLAN_KEYS) {
    const x = v[k];
    if (x === undefined) continue;
    if (k === 'enabled' || k === 'outOfOrder') { if (typeof x !== 'boolean') return `${k} must be true or false`; out[k] = x; }
    else if (k === 'url') { if (typeof x !== 'string' || !/^https?:\/\//.test(x)) return 'url must be an http(s) URL'; out.url = x; }
    else if (k === 'statuses') { if (!Array.isArray(x) || !x.every((s) => typeof s === 'string')) return 'statuses must be a list of words'; out.statuses = x as string[]; }
    else if (k === 'delayMs' || k === 'jitterMs') { if (typeof x !== 'number' || x < 0) return `${k} must be a non-negative number`; out[k] = x; }
    else if (k === 'duplicate') { if (typeof x !== 'boolean' && (typeof x !== 'number' || x < 0 || x > 1)) return 'duplicate must be true, false or a probability 0..1'; out.duplicate = x; }
    else if (k === 'failCode') { if (typeof x !== 'number' && typeof x !== 'string') return 'failCode must be a number or a string'; out.failCode = x; }
  }
  return out;
}

export function createSimulator(cfg: SimConfig, log: (msg: string, extra?: object) => void = () => undefined) {
  const rc = resolveConfig(cfg);
  const random = prng(rc.seed);
  const sims: Record<ProviderName, ProviderSim> = {
    meta: createMeta(rc.providers.meta),
    twilio: createTwilio(rc.providers.twilio),
    bird: createBird(rc.providers.bird),
    vonage: createVonage(rc.providers.vonage),
    fonnte: createFonnte(rc.providers.fonnte),
    watzap: createWatzap(rc.providers.watzap),
  };

  const recorded: Recorded[] = [];
  const webhooks: WebhookRecord[] = [];
  /** Legacy scripted failures: the next N Meta sends answer with this Meta error. */
  const failures: LegacyFailure[] = [];
  const faults = new Faults(random);
  const limiter = new RateLimiter();
  const messages = new Map<string, SimMessage>();
  const planOverrides: { all: Partial<WebhookPlan>; byProvider: Partial<Record<ProviderName, Partial<WebhookPlan>>> } = { all: {}, byProvider: {} };
  const held = new Set<Response>();
  let seq = 0;

  const resetLimits = () => { limiter.clear(); for (const r of rc.rateLimits) limiter.set(r); };
  resetLimits();

  const capped = <T>(arr: T[], item: T) => {
    arr.push(item);
    if (arr.length > rc.maxRecorded * 1.1) arr.splice(0, arr.length - rc.maxRecorded);
  };
  const sender = new WebhookSender({ retry: (p) => retrySchedule(p, rc.webhookRetry[p]), timeScale: rc.webhookTimeScale, random, log, record: (r) => capped(webhooks, r) });
  const remember = (m: SimMessage) => {
    messages.set(m.id, m);
    if (messages.size > rc.maxRecorded) messages.delete(messages.keys().next().value as string);
  };

  const planFor = (sim: ProviderSim, fault?: FaultRule): WebhookPlan => {
    const p: WebhookPlan = { ...rc.plan, ...planOverrides.all, ...planOverrides.byProvider[sim.name], ...fault?.webhook };
    if (fault?.kind === 'fail_later') {
      if (!fault.webhook?.statuses) p.statuses = ['sent', 'failed'];
      p.failCode = fault.code ?? p.failCode ?? sim.defaultFailCode;
    }
    return p;
  };

  const send = (res: Response, r: Reply) => {
    if (res.headersSent || res.destroyed) return;
    res.status(r.status);
    for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v);
    if (typeof r.body === 'string') res.type(r.contentType ?? 'text/plain').send(r.body);
    else if (r.contentType) res.type(r.contentType).send(JSON.stringify(r.body));
    else res.json(r.body);
  };

  const queryOf = (req: Request): Record<string, string> =>
    Object.fromEntries(Object.entries(req.query).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const messageView = { get: (id: string) => messages.get(id), list: () => [...messages.values()] };

  const redactBody = (provider: ProviderName, body: unknown): unknown => {
    if (provider !== 'watzap' || !isObj(body)) return body;
    return { ...body, ...('api_key' in body ? { api_key: '[redacted]' } : {}), ...('number_key' in body ? { number_key: '[redacted]' } : {}) };
  };

  const app = express();
  app.disable('x-powered-by');
  // /openapi.json, /openapi.yaml and /docs (the simulator's openapi.yaml, checked here: a bad one stops the start).
  app.use(docsRouter(loadOpenApi(openApiPathFrom(__dirname))));

  ////////// Provider endpoints

  const handleSend = (sim: ProviderSim) => async (req: Request, res: Response) => {
    const atMs = nowMs();
    const rec: Recorded = {
      seq: ++seq, provider: sim.name, kind: 'send', method: req.method, path: req.path, headers: redactHeaders(req.headers),
      body: undefined, at: new Date(atMs).toISOString(), atMs, responseStatus: 0,
    };
    capped(recorded, rec);
    const reply = (r: Reply) => { rec.responseStatus = r.status; rec.respondedAtMs = nowMs(); send(res, r); };
    let body: unknown;
    try {
      ({ body } = await readBody(req));
    } catch (e) {
      return reply({ status: (e as { status?: number }).status ?? 400, body: { error: (e as Error).message } });
    }
    rec.body = redactBody(sim.name, body);
    const input: SendInput = { params: req.params as Record<string, string>, query: queryOf(req), headers: req.headers, body };
    const denied = sim.authenticate(input);
    rec.auth = !denied;
    if (denied) return reply(denied);
    const parsed = sim.parse(input);
    if (!parsed.ok) return reply(parsed.reply);
    const { recipients } = parsed.value;
    rec.recipient = recipients[0];
    if (recipients.length > 1) rec.recipients = recipients;

    if (sim.name === 'meta') {
      const f = failures.shift();
      if (f) return reply({ status: f.httpStatus, body: { error: { message: f.message, type: 'OAuthException', code: f.code, fbtrace_id: 'SIM' } } });
    }
    const fault = faults.match(sim.name, recipients);
    if (fault) {
      rec.fault = { id: fault.id, kind: fault.kind };
      if (fault.delayMs) {
        await sleep(fault.delayMs);
        if (res.destroyed) { rec.responseStatus = 0; return; }
      }
      if (fault.kind === 'timeout') {
        held.add(res);
        res.on('close', () => held.delete(res));
        return; // never answered: the caller's timeout decides
      }
      if (fault.kind === 'rate_limit' || fault.kind === 'permanent' || fault.kind === 'server_error') {
        return reply(sim.error(fault.kind, { code: fault.code, httpStatus: fault.httpStatus, message: fault.message, scope: fault.scope }));
      }
    }
    const limit = limiter.take(sim.name, recipients[0]!, Date.now());
    if (limit) {
      rec.rateLimited = true;
      return reply(sim.error('rate_limit', { code: limit.code, httpStatus: limit.httpStatus, scope: limit.scope }));
    }
    const { reply: ok, messages: accepted } = sim.accept(input, parsed.value);
    rec.messageId = accepted[0]?.id;
    if (accepted.length > 1) rec.messageIds = accepted.map((m) => m.id);
    reply(ok);
    const plan = planFor(sim, fault);
    for (const a of accepted) {
      const m: SimMessage = {
        provider: sim.name, id: a.id, to: a.to, from: parsed.value.from, createdAtMs: atMs, statusCallback: parsed.value.statusCallback,
        clientRef: parsed.value.clientRef, echo: parsed.value.echo, statuses: [],
      };
      remember(m);
      void sender.run(sim, m, plan);
    }
  };

  for (const name of PROVIDERS) {
    const sim = sims[name];
    app.post(sim.sendPath, handleSend(sim));
    for (const route of sim.extraRoutes ?? []) {
      app[route.method](route.path, async (req: Request, res: Response) => {
        const atMs = nowMs();
        const rec: Recorded = {
          seq: ++seq, provider: name, kind: route.kind, method: req.method, path: req.path, headers: redactHeaders(req.headers), body: undefined,
          at: new Date(atMs).toISOString(), atMs, responseStatus: 0,
        };
        capped(recorded, rec);
        let body: unknown;
        if (route.method === 'post') {
          try { ({ body } = await readBody(req)); } catch { body = undefined; }
          rec.body = redactBody(name, body);
        }
        const r = route.handle({ params: req.params as Record<string, string>, query: queryOf(req), headers: req.headers, body }, messageView);
        rec.responseStatus = r.status;
        rec.respondedAtMs = nowMs();
        send(res, r);
      });
    }
  }

  ////////// Admin API: recordings

  const admin = express.Router();
  admin.use(express.json({ limit: '1mb' }));
  const bad = (res: Response, error: string) => { res.status(400).json({ error }); };
  const q = (req: Request, k: string) => (typeof req.query[k] === 'string' ? (req.query[k] as string) : undefined);

  admin.get('/requests', (req, res) => {
    const provider = q(req, 'provider');
    const kind = q(req, 'kind');
    const to = q(req, 'to');
    const since = Number(q(req, 'since') ?? NaN);
    const toE = to ? toE164(to) : undefined;
    res.json(recorded.filter((r) => (!provider || r.provider === provider) && (!kind || r.kind === kind)
      && (!toE || r.recipient === toE || r.recipients?.includes(toE)) && (Number.isNaN(since) || r.atMs >= since)));
  });
  // Legacy: clears recordings and scripted failures (see POST /_sim/reset for everything).
  admin.delete('/requests', (_req, res) => { recorded.length = 0; webhooks.length = 0; failures.length = 0; res.status(204).end(); });
  admin.get('/webhooks', (req, res) => {
    const provider = q(req, 'provider');
    const kind = q(req, 'kind');
    const messageId = q(req, 'messageId');
    res.json(webhooks.filter((w) => (!provider || w.provider === provider) && (!kind || w.kind === kind) && (!messageId || w.messageId === messageId)));
  });
  admin.get('/messages', (req, res) => {
    const provider = q(req, 'provider');
    const to = q(req, 'to');
    const toE = to ? toE164(to) : undefined;
    res.json([...messages.values()].filter((m) => (!provider || m.provider === provider) && (!toE || m.to === toE)));
  });
  admin.get('/messages/:id', (req, res) => {
    const m = messages.get(req.params.id);
    if (m) res.json(m); else res.status(404).json({ error: 'no such message' });
  });

  ////////// Admin API: faults and rate limits

  // Legacy: POST /_sim/failures [{httpStatus, code, message}] → the next Meta sends answer with these errors.
  admin.post('/failures', (req, res) => { failures.push(...(req.body as LegacyFailure[])); res.json({ queued: failures.length }); });
  admin.post('/faults', (req, res) => {
    const items: unknown[] = Array.isArray(req.body) ? req.body : [req.body];
    const parsed: FaultInput[] = [];
    for (const it of items) {
      const f = parseFault(it);
      if (typeof f === 'string') return bad(res, f);
      if (f.webhook) {
        const p = parsePlan(f.webhook as Record<string, unknown>);
        if (typeof p === 'string') return bad(res, `webhook: ${p}`);
        f.webhook = p;
      }
      parsed.push(f);
    }
    res.status(201).json({ faults: parsed.map((f) => faults.add(f)) });
  });
  admin.get('/faults', (_req, res) => { res.json(faults.list()); });
  admin.delete('/faults/:id', (req, res) => { res.status(faults.remove(req.params.id) ? 204 : 404).end(); });
  admin.delete('/faults', (_req, res) => { faults.clear(); res.status(204).end(); });

  admin.get('/rate-limits', (_req, res) => { res.json(limiter.list()); });
  admin.put('/rate-limits/:provider', (req, res) => {
    const provider = req.params.provider;
    const b = isObj(req.body) ? req.body : {};
    if (!isProvider(provider)) return bad(res, 'unknown provider');
    if (!Number.isInteger(b.limit) || (b.limit as number) < 0) return bad(res, 'limit must be a non-negative integer');
    if (typeof b.windowMs !== 'number' || b.windowMs <= 0) return bad(res, 'windowMs must be a positive number');
    if (b.scope !== undefined && b.scope !== 'account' && b.scope !== 'recipient') return bad(res, 'scope must be account or recipient');
    const spec: RateLimitSpec = {
      provider, limit: b.limit as number, windowMs: b.windowMs, scope: (b.scope as 'account' | 'recipient' | undefined) ?? 'account',
      ...(typeof b.code === 'number' || typeof b.code === 'string' ? { code: b.code } : {}),
      ...(Number.isInteger(b.httpStatus) ? { httpStatus: b.httpStatus as number } : {}),
    };
    limiter.set(spec);
    res.json(spec);
  });
  admin.delete('/rate-limits/:provider', (req, res) => {
    const provider = req.params.provider;
    const scope = q(req, 'scope');
    if (!isProvider(provider)) return bad(res, 'unknown provider');
    limiter.remove(provider, scope === 'account' || scope === 'recipient' ? scope : undefined);
    res.status(204).end();
  });
  admin.delete('/rate-limits', (_req, res) => { limiter.clear(); res.status(204).end(); });

  admin.get('/held', (_req, res) => { res.json({ held: held.size }); });
  admin.delete('/held', (_req, res) => { const n = releaseHeld(); res.json({ released: n }); });

  ////////// Admin API: webhooks

  const effectivePlans = () => Object.fromEntries(PROVIDERS.map((p) => {
    const plan = planFor(sims[p]);
    const url = plan.url ?? sims[p].statusUrl({ provider: p, id: '', to: '', createdAtMs: 0, statuses: [] });
    return [p, { ...plan, url: url ? maskUrl(url, sims[p].urlSecrets()) : null }];
  }));
  admin.get('/webhook-plan', (_req, res) => { res.json(effectivePlans()); });
  admin.put('/webhook-plan', (req, res) => {
    const b = isObj(req.body) ? req.body : {};
    if (b.provider !== undefined && !isProvider(b.provider)) return bad(res, 'unknown provider');
    const p = parsePlan(b);
    if (typeof p === 'string') return bad(res, p);
    if (isProvider(b.provider)) planOverrides.byProvider[b.provider] = { ...planOverrides.byProvider[b.provider], ...p };
    else planOverrides.all = { ...planOverrides.all, ...p };
    res.json(effectivePlans());
  });
  admin.delete('/webhook-plan', (_req, res) => { planOverrides.all = {}; planOverrides.byProvider = {}; res.status(204).end(); });

  // One status webhook now, for a known message or (with provider and to) an unknown id.
  admin.post('/status', async (req, res) => {
    const b = isObj(req.body) ? req.body : {};
    const id = typeof b.messageId === 'string' ? b.messageId : undefined;
    const status = typeof b.status === 'string' ? b.status : undefined;
    if (!id || !status) return bad(res, 'give {"messageId": "…", "status": "delivered"} (and provider, to for an id the simulator did not issue)');
    let m = messages.get(id);
    if (!m) {
      if (!isProvider(b.provider) || typeof b.to !== 'string') return bad(res, 'unknown messageId: give provider and to as well');
      m = { provider: b.provider, id, to: toE164(b.to), createdAtMs: nowMs(), statuses: [] };
    }
    const sim = sims[m.provider];
    const code = typeof b.code === 'number' || typeof b.code === 'string' ? b.code : (status === 'failed' ? sim.defaultFailCode : undefined);
    const url = (typeof b.url === 'string' ? b.url : undefined) ?? planFor(sim).url ?? sim.statusUrl(m);
    if (!url) return res.status(409).json({ error: `no callback URL configured for ${m.provider}` });
    m.statuses.push({ status, atMs: nowMs(), ...(code !== undefined ? { code } : {}) });
    const webhookStatus = await sender.deliver(sim, 'status', status, m.id, sim.statusWebhook(m, status, code, url));
    res.status(webhookStatus !== null && webhookStatus < 300 ? 200 : 502).json({ messageId: m.id, webhookStatus });
  });

  // A citizen's reply, as the provider delivers it: POST /_sim/inbound {"provider":"twilio","from":"+62…","text":"BERHENTI"}
  // (provider defaults to meta).
  admin.post('/inbound', async (req, res) => {
    const { from, text, name, provider, url } = (req.body ?? {}) as { from?: unknown; text?: unknown; name?: unknown; provider?: unknown; url?: unknown };
    if (typeof from !== 'string' || !/^(\+|0)?\d{8,15}$/.test(from) || typeof text !== 'string' || !text) {
      return bad(res, 'give {"from": "+62…", "text": "…"} (and optionally "provider")');
    }
    if (provider !== undefined && !isProvider(provider)) return bad(res, 'unknown provider');
    const sim = sims[(provider as ProviderName | undefined) ?? 'meta'];
    const target = (typeof url === 'string' ? url : undefined) ?? planOverrides.byProvider[sim.name]?.url ?? planOverrides.all.url ?? sim.inboundUrl();
    if (!target) { res.status(502).json({ id: null, webhookStatus: null, error: `no callback URL configured for ${sim.name}` }); return; }
    const w = sim.inboundWebhook({ from: toE164(from), text, name: typeof name === 'string' ? name : 'Simulated citizen' }, target);
    const webhookStatus = await sender.deliver(sim, 'inbound', 'inbound', w.id, w);
    log('inbound reply delivered', { provider: sim.name, from: maskPhone(toE164(from)), webhookStatus });
    res.status(webhookStatus === 200 ? 200 : 502).json({ id: w.id, webhookStatus });
  });

  // Meta's subscription check against the callback URL: GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…
  admin.post('/meta/verify', async (req, res) => {
    const b = isObj(req.body) ? req.body : {};
    const url = (typeof b.url === 'string' ? b.url : undefined) ?? rc.providers.meta.webhookUrl;
    if (typeof b.verifyToken !== 'string' || !url) return bad(res, 'give {"verifyToken": "…"} (and url when META_WEBHOOK_URL is not set)');
    const challenge = String(randomInt(1e9, 2e9));
    try {
      const r = await axios.get(url, {
        params: { 'hub.mode': 'subscribe', 'hub.verify_token': b.verifyToken, 'hub.challenge': challenge }, validateStatus: () => true, timeout: 5000, responseType: 'text',
      });
      res.json({ status: r.status, echoed: r.status === 200 && String(r.data) === challenge });
    } catch (e) {
      res.status(502).json({ error: (e as Error).message });
    }
  });

  ////////// Admin API: everything else

  admin.get('/config', (_req, res) => {
    const c = rc.providers;
    res.json({
      providers: {
        meta: { send: `/meta/{version}/${c.meta.phoneNumberId}/messages`, phoneNumberId: c.meta.phoneNumberId, wabaId: c.meta.wabaId },
        twilio: { send: `/twilio/2010-04-01/Accounts/${c.twilio.accountSid}/Messages.json`, accountSid: c.twilio.accountSid, from: c.twilio.from, apiKeySid: c.twilio.apiKeySid ?? null },
        bird: { send: '/bird/v1/whatsapp/messages', workspaceId: c.bird.workspaceId, from: c.bird.from },
        vonage: { send: '/vonage/v1/messages', apiKey: c.vonage.apiKey, applicationId: c.vonage.applicationId, from: c.vonage.from, jwtVerifiedWithPublicKey: !!c.vonage.publicKey },
        fonnte: { send: '/fonnte/send', device: c.fonnte.device },
        watzap: { send: '/watzap/v1/send_message', device: c.watzap.device },
      },
      webhooks: effectivePlans(),
      rateLimits: limiter.list(),
      webhookAttempts: rc.webhookAttempts,
      webhookRetry: Object.fromEntries(PROVIDERS.map((p) => [p, formatRetryPolicy(rc.webhookRetry[p])])),
      webhookTimeScale: rc.webhookTimeScale,
    });
  });
  admin.post('/reset', (_req, res) => { reset(); res.status(204).end(); });

  app.use('/_sim', admin);
  app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });

  function releaseHeld(): number {
    const n = held.size;
    for (const r of held) r.socket?.destroy();
    held.clear();
    return n;
  }
  /** Back to the configured state: recordings, messages, faults, limits, plan overrides, pending webhooks, held connections. */
  function reset(): void {
    sender.cancelAll();
    recorded.length = 0;
    webhooks.length = 0;
    failures.length = 0;
    messages.clear();
    faults.clear();
    resetLimits();
    planOverrides.all = {};
    planOverrides.byProvider = {};
    releaseHeld();
  }
  /** Stops timers and drops held connections, so a server using `app` can close. */
  function close(): void {
    sender.cancelAll();
    releaseHeld();
  }

  return { app, recorded, webhooks, failures, faults, limiter, messages, reset, close };
}
