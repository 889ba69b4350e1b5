import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSimulator } from './app';
import type { SimConfig } from './config';

////////// For tests: the simulator on an ephemeral port, and a receiver that records every
// webhook it is sent (raw body, headers, full URL) in place of the delivery tracker.

export interface Received {
  /** Full URL as requested (what a provider signs for Twilio). */
  url: string;
  path: string;
  headers: Record<string, string>;
  raw: string;
  atMs: number;
}

export const SECRETS = {
  metaAccessToken: 'test-meta-token',
  metaAppSecret: 'test-meta-app-secret',
  twilioAuthToken: 'test-twilio-auth-token',
  twilioAccountSid: 'AC0123456789abcdef0123456789abcdef',
  birdApiKey: 'bk_eu1_test_key',
  birdWebhookSecret: `whsec_${Buffer.from('test-bird-signing-secret-0123456789').toString('base64')}`,
  vonageApiKey: 'testkey1',
  vonageApiSecret: 'test-vonage-secret',
  vonageSignatureSecret: 'test-vonage-signature-secret',
  vonageApplicationId: '11111111-2222-4333-8444-555555555555',
  fonnteToken: 'test-fonnte-token',
  fonnteWebhookToken: 'test-fonnte-hook-token',
  watzapApiKey: 'TESTWATZAPKEY000',
  watzapNumberKey: 'testNumberKey000',
  watzapWebhookToken: 'test-watzap-hook-token',
};

/** The simulator's per-provider settings with the test secrets (Meta's are top-level options). */
export const SIMULATOR_PROVIDERS = {
  twilio: { accountSid: SECRETS.twilioAccountSid, authToken: SECRETS.twilioAuthToken },
  bird: { apiKey: SECRETS.birdApiKey, webhookSecret: SECRETS.birdWebhookSecret },
  vonage: { apiKey: SECRETS.vonageApiKey, apiSecret: SECRETS.vonageApiSecret, signatureSecret: SECRETS.vonageSignatureSecret, applicationId: SECRETS.vonageApplicationId },
  fonnte: { token: SECRETS.fonnteToken, webhookToken: SECRETS.fonnteWebhookToken },
  watzap: { apiKey: SECRETS.watzapApiKey, numberKey: SECRETS.watzapNumberKey, webhookToken: SECRETS.watzapWebhookToken },
} satisfies SimConfig['providers'];

/**
 * The dispatcher's send-role environment for all six providers at a simulator started with
 * SIMULATOR_PROVIDERS (or startHarness): the same secrets on both sides, each provider's
 * base URL under the simulator's prefix, the senders the simulator's defaults name.
 */
export const simulatorSendEnv = (simUrl: string): Record<string, string> => ({
  META_ACCESS_TOKEN: SECRETS.metaAccessToken, META_PHONE_NUMBER_ID: '100000000000001', META_BASE_URL: `${simUrl}/meta`,
  TWILIO_ACCOUNT_SID: SECRETS.twilioAccountSid, TWILIO_AUTH_TOKEN: SECRETS.twilioAuthToken, TWILIO_WHATSAPP_FROM: 'whatsapp:+14155238886', TWILIO_BASE_URL: `${simUrl}/twilio`,
  BIRD_API_KEY: SECRETS.birdApiKey, BIRD_WHATSAPP_FROM: '+6281100000001', BIRD_BASE_URL: `${simUrl}/bird`,
  VONAGE_API_KEY: SECRETS.vonageApiKey, VONAGE_API_SECRET: SECRETS.vonageApiSecret, VONAGE_WHATSAPP_FROM: '6281100000002', VONAGE_BASE_URL: `${simUrl}/vonage`, VONAGE_REST_BASE_URL: `${simUrl}/vonage-rest`,
  FONNTE_TOKEN: SECRETS.fonnteToken, FONNTE_BASE_URL: `${simUrl}/fonnte`,
  WATZAP_API_KEY: SECRETS.watzapApiKey, WATZAP_NUMBER_KEY: SECRETS.watzapNumberKey, WATZAP_BASE_URL: `${simUrl}/watzap/v1`,
});

export async function startHarness(extra: Partial<SimConfig> = {}) {
  const received: Received[] = [];
  let receiverStatus = 200;
  const receiver: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      received.push({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}${req.url}`, path: (req.url ?? '').split('?')[0]!, headers, raw: Buffer.concat(chunks).toString('utf8'), atMs: Date.now() });
      res.statusCode = receiverStatus;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hookBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks`;
  const sim = createSimulator({
    metaAccessToken: SECRETS.metaAccessToken,
    metaAppSecret: SECRETS.metaAppSecret,
    statuses: ['sent', 'delivered'],
    webhookDelayMs: 20,
    webhookBaseUrl: hookBase,
    webhookAttempts: 3,
    seed: 42,
    ...extra,
    providers: { ...SIMULATOR_PROVIDERS, ...extra.providers },
  });
  const server: Server = await new Promise((r) => { const s = sim.app.listen(0, '127.0.0.1', () => r(s)); });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const waitFor = async <T>(fn: () => T | undefined | false, what: string, timeoutMs = 5000): Promise<T> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = fn();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  /** Webhooks received on /webhooks/<provider>, once there are at least n. */
  const hooks = (provider: string, n: number, timeoutMs?: number) =>
    waitFor(() => { const r = received.filter((x) => x.path === `/webhooks/${provider}`); return r.length >= n ? r : undefined; }, `${n} ${provider} webhooks`, timeoutMs);
  const admin = async <T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const r = await fetch(`${url}/_sim${path}`, { method, headers: body === undefined ? {} : { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const close = async () => {
    sim.close();
    server.closeAllConnections();
    receiver.closeAllConnections();
    await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => receiver.close(r))]);
  };
  return {
    sim, url, hookBase, received, waitFor, hooks, admin, close,
    setReceiverStatus: (s: number) => { receiverStatus = s; },
  };
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;
