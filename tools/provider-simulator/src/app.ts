import axios from 'axios';
import express from 'express';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';

////////// Provider simulator: speaks the Meta Cloud API send shape, records every
// request it receives (exact bodies, for tests), and calls back signed status
// webhooks (sent, then delivered) the way Meta does; /_sim/inbound plays a
// citizen's reply (e.g. BERHENTI) as a signed inbound-message webhook.

export interface SimConfig {
  metaAccessToken: string;
  metaAppSecret: string;
  metaWebhookUrl?: string;
  /** Statuses to report back for each accepted message, in order. */
  statuses: string[];
  webhookDelayMs: number;
}

export interface Recorded { provider: string; method: string; path: string; headers: Record<string, string>; body: unknown; at: string; responseStatus: number; messageId?: string }

export function signMeta(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function createSimulator(cfg: SimConfig, log: (msg: string, extra?: object) => void = () => undefined) {
  const recorded: Recorded[] = [];
  const webhooks: { url: string; status: number; body: string }[] = [];
  /** Scripted failures: the next N sends answer with this Meta error. */
  const failures: { httpStatus: number; code: number; message: string }[] = [];
  const app = express();
  app.use(express.json({ limit: '1mb' }));

  const metaWebhook = (value: object) => JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: 'WABA-SIM', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp', metadata: { display_phone_number: '6281100000000', phone_number_id: 'SIM' }, ...value,
    } }] }],
  });
  const sendWebhook = async (messageId: string, to: string, status: string) => {
    await postWebhook(metaWebhook({
      statuses: [{ id: messageId, status, timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: to.replace(/^\+/, ''),
        conversation: { id: 'CONV-SIM', origin: { type: 'utility' } }, pricing: { billable: true, pricing_model: 'PMP', category: 'utility' } }],
    }));
  };
  /** Delivers a signed webhook to the tracker, retrying like Meta while it answers 5xx; returns the last status. */
  const postWebhook = async (body: string): Promise<number | null> => {
    if (!cfg.metaWebhookUrl) return null;
    let last: number | null = null;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const r = await axios.post(cfg.metaWebhookUrl, body, {
          headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signMeta(body, cfg.metaAppSecret) },
          validateStatus: () => true, timeout: 5000,
        });
        webhooks.push({ url: cfg.metaWebhookUrl, status: r.status, body });
        last = r.status;
        if (r.status < 500) return last;
      } catch (e) {
        log('webhook delivery failed', { err: (e as Error).message });
      }
      await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
    }
    return last;
  };

  app.post('/meta/:version/:phoneNumberId/messages', (req, res) => {
    const rec: Recorded = {
      provider: 'meta', method: 'POST', path: req.path, headers: { authorization: req.get('authorization') ? '[present]' : '[absent]' },
      body: req.body, at: new Date().toISOString(), responseStatus: 0,
    };
    recorded.push(rec);
    const reply = (status: number, body: unknown) => { rec.responseStatus = status; res.status(status).json(body); };
    if (req.get('authorization') !== `Bearer ${cfg.metaAccessToken}`) {
      return reply(401, { error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190, fbtrace_id: 'SIM' } });
    }
    const b = req.body as { messaging_product?: string; to?: string; type?: string; template?: { name?: string; language?: { code?: string } } };
    if (b?.messaging_product !== 'whatsapp' || !b.to || !b.type || (b.type === 'template' && (!b.template?.name || !b.template.language?.code))) {
      return reply(400, { error: { message: '(#100) Invalid parameter', type: 'OAuthException', code: 100, fbtrace_id: 'SIM' } });
    }
    const fail = failures.shift();
    if (fail) return reply(fail.httpStatus, { error: { message: fail.message, type: 'OAuthException', code: fail.code, fbtrace_id: 'SIM' } });
    const id = `wamid.SIM${randomBytes(12).toString('hex').toUpperCase()}`;
    rec.messageId = id;
    reply(200, { messaging_product: 'whatsapp', contacts: [{ input: b.to, wa_id: b.to.replace(/^\+/, '') }], messages: [{ id, message_status: 'accepted' }] });
    void (async () => {
      for (const s of cfg.statuses) {
        await new Promise((r) => setTimeout(r, cfg.webhookDelayMs));
        await sendWebhook(id, b.to!, s);
      }
    })();
  });

  // Test/inspection API
  app.get('/_sim/requests', (req, res) => {
    const provider = req.query.provider as string | undefined;
    res.json(recorded.filter((r) => !provider || r.provider === provider));
  });
  // A citizen's reply, as Meta would deliver it: POST /_sim/inbound {"from":"+6281234567890","text":"BERHENTI"}.
  app.post('/_sim/inbound', async (req, res) => {
    const { from, text } = (req.body ?? {}) as { from?: unknown; text?: unknown };
    if (typeof from !== 'string' || !/^\+?\d{8,15}$/.test(from) || typeof text !== 'string' || !text) {
      res.status(400).json({ error: 'give {"from": "+62…", "text": "…"}' });
      return;
    }
    const wa = from.replace(/^\+/, '');
    const id = `wamid.SIM-IN-${randomUUID()}`;
    const status = await postWebhook(metaWebhook({
      contacts: [{ wa_id: wa, profile: { name: 'Simulated citizen' } }],
      messages: [{ from: wa, id, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }],
    }));
    res.status(status === 200 ? 200 : 502).json({ id, webhookStatus: status });
  });
  app.get('/_sim/webhooks', (_req, res) => { res.json(webhooks); });
  app.post('/_sim/failures', (req, res) => { failures.push(...(req.body as typeof failures)); res.json({ queued: failures.length }); });
  app.delete('/_sim/requests', (_req, res) => { recorded.length = 0; webhooks.length = 0; failures.length = 0; res.status(204).end(); });
  app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  return { app, recorded, webhooks, failures };
}
