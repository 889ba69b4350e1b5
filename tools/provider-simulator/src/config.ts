import { parseRetryPolicy, type RetryPolicy } from './retryPolicy';

////////// Configuration: the six providers' credentials, callback URLs and the
// webhook plan, with defaults; configFromEnv reads them from the environment.

export const PROVIDERS = ['meta', 'twilio', 'bird', 'vonage', 'fonnte', 'watzap'] as const;
export type ProviderName = (typeof PROVIDERS)[number];
export const isProvider = (v: unknown): v is ProviderName => typeof v === 'string' && (PROVIDERS as readonly string[]).includes(v);

/** Lifecycle statuses the simulator reports; each provider renders them in its own words. */
type Status = 'sent' | 'delivered' | 'read' | 'failed';

export interface MetaConfig {
  accessToken: string;
  appSecret: string;
  /** Where status and inbound webhooks go (the tracker's /webhooks/meta). */
  webhookUrl?: string;
  phoneNumberId: string;
  displayPhoneNumber: string;
  wabaId: string;
}
export interface TwilioConfig {
  accountSid: string;
  authToken: string;
  /** Optional API key credentials (Basic ApiKeySid:ApiKeySecret); callbacks are still signed with the auth token. */
  apiKeySid?: string;
  apiKeySecret?: string;
  /** Status callbacks when the send carried no StatusCallback. */
  webhookUrl?: string;
  /** The sender's "a message comes in" URL (defaults to webhookUrl). */
  inboundWebhookUrl?: string;
  /** Our WhatsApp sender, `whatsapp:+…`. */
  from: string;
}
export interface BirdConfig {
  /** Bearer access key (`bk_…`). */
  apiKey: string;
  /** Standard Webhooks signing secret (`whsec_` + base64). */
  webhookSecret: string;
  workspaceId: string;
  webhookUrl?: string;
  /** Our WhatsApp number, `+…`. */
  from: string;
}
export interface VonageConfig {
  apiKey: string;
  apiSecret: string;
  applicationId: string;
  /** PEM public key of the application; when set, Bearer JWTs are verified with it (RS256). */
  publicKey?: string;
  /** Account signature secret: signs webhooks (HS256 JWT with payload_hash). */
  signatureSecret: string;
  webhookUrl?: string;
  /** Our WhatsApp number, digits without `+`. */
  from: string;
}
export interface FonnteConfig {
  token: string;
  /** The linked device's number. */
  device: string;
  /** Fonnte signs nothing: this token rides in the callback URL. */
  webhookToken: string;
  webhookUrl?: string;
}
export interface WatzapConfig {
  apiKey: string;
  numberKey: string;
  webhookToken: string;
  webhookUrl?: string;
  /** The linked device's number, `62…`. */
  device: string;
}
interface ProvidersConfig {
  meta: MetaConfig;
  twilio: TwilioConfig;
  bird: BirdConfig;
  vonage: VonageConfig;
  fonnte: FonnteConfig;
  watzap: WatzapConfig;
}

/** How status webhooks are sent for an accepted message. */
export interface WebhookPlan {
  enabled: boolean;
  /** Overrides the provider's callback URL (e.g. a test's own receiver). */
  url?: string;
  /** In order; `failed` carries failCode. Unknown words are passed through as the provider's status. */
  statuses: string[];
  /** Wait before each status. */
  delayMs: number;
  /** Random extra wait, 0..jitterMs, per status. */
  jitterMs: number;
  /** true, or a probability 0..1: each webhook is delivered twice. */
  duplicate: boolean | number;
  /** Deliver the statuses newest first (e.g. delivered before sent), after one delay. */
  outOfOrder: boolean;
  /** The provider's failure code for `failed` (defaults per provider). */
  failCode?: number | string;
}

export interface RateLimitSpec {
  provider: ProviderName;
  /** Accepted requests per window. */
  limit: number;
  windowMs: number;
  /** account: all requests; recipient: per recipient number (Meta's pair rate). */
  scope?: 'account' | 'recipient';
  /** The provider's rate-limit code to answer with (defaults per provider and scope). */
  code?: number | string;
  httpStatus?: number;
}

type Partialize<T> = { [K in keyof T]?: Partial<T[K]> };

/** The simulator's options. The first five are the original Meta-only ones and keep their meaning. */
export interface SimConfig {
  metaAccessToken: string;
  metaAppSecret: string;
  metaWebhookUrl?: string;
  /** Statuses to report back for each accepted message, in order. */
  statuses: string[];
  webhookDelayMs: number;
  /** Everything else per provider (credentials, numbers, callback URLs); defaults below. */
  providers?: Partialize<ProvidersConfig>;
  /** `<base>/<provider>` for every provider without its own webhookUrl (Fonnte/Watzap add `?token=`). */
  webhookBaseUrl?: string;
  /** Defaults of the webhook plan besides statuses and delay. */
  webhook?: Partial<Pick<WebhookPlan, 'jitterMs' | 'duplicate' | 'outOfOrder'>>;
  /** Attempts per webhook while the receiver answers 5xx or is unreachable (the default policy fixed:N; default 5). */
  webhookAttempts?: number;
  /** Every provider's webhook retry policy (retryPolicy.ts); default fixed:webhookAttempts. */
  webhookRetry?: RetryPolicy;
  /** Per provider, over webhookRetry (e.g. meta real, fonnte none). */
  webhookRetryByProvider?: Partial<Record<ProviderName, RetryPolicy>>;
  /** Multiplies the delays of the real policies when waited (e.g. 0.0002: Meta's 7 days in about 2 minutes); default 1. */
  webhookTimeScale?: number;
  rateLimits?: RateLimitSpec[];
  /** Seeds the PRNG behind percentage faults, jitter and duplicates. */
  seed?: number;
  /** Oldest recorded requests/webhooks/messages are dropped beyond this. */
  maxRecorded?: number;
}

export interface ResolvedConfig {
  providers: ProvidersConfig;
  plan: WebhookPlan;
  webhookAttempts: number;
  /** The retry policy of each provider's webhooks. */
  webhookRetry: Record<ProviderName, RetryPolicy>;
  webhookTimeScale: number;
  rateLimits: RateLimitSpec[];
  seed: number;
  maxRecorded: number;
}

const BIRD_DEFAULT_SECRET = `whsec_${Buffer.from('sim-bird-webhook-signing-secret').toString('base64')}`;

function defaultProviders(metaAccessToken: string, metaAppSecret: string): ProvidersConfig {
  return {
    meta: { accessToken: metaAccessToken, appSecret: metaAppSecret, phoneNumberId: '100000000000001', displayPhoneNumber: '6281100000000', wabaId: '100000000000002' },
    twilio: { accountSid: 'AC5ea872f6da5a21de157d80997a64bd33', authToken: 'sim-twilio-auth-token', from: 'whatsapp:+14155238886' },
    bird: { apiKey: 'bk_sim_access_key', webhookSecret: BIRD_DEFAULT_SECRET, workspaceId: 'b0b1b2b3-0000-4000-8000-000000000001', from: '+6281100000001' },
    vonage: { apiKey: 'simvonagekey', apiSecret: 'sim-vonage-api-secret', applicationId: 'aaaaaaaa-bbbb-4ccc-8ddd-000000000001', signatureSecret: 'sim-vonage-signature-secret', from: '6281100000002' },
    fonnte: { token: 'sim-fonnte-token', device: '6281100000003', webhookToken: 'sim-fonnte-webhook-token' },
    watzap: { apiKey: 'SIMWATZAPAPIKEY0', numberKey: 'simWatzapNumKey0', webhookToken: 'sim-watzap-webhook-token', device: '6281100000004' },
  };
}

const TOKENED: Partial<Record<ProviderName, true>> = { fonnte: true, watzap: true };

export function resolveConfig(cfg: SimConfig): ResolvedConfig {
  const d = defaultProviders(cfg.metaAccessToken, cfg.metaAppSecret);
  const p = cfg.providers ?? {};
  const providers: ProvidersConfig = {
    meta: { ...d.meta, ...p.meta, accessToken: cfg.metaAccessToken, appSecret: cfg.metaAppSecret, webhookUrl: p.meta?.webhookUrl ?? cfg.metaWebhookUrl },
    twilio: { ...d.twilio, ...p.twilio },
    bird: { ...d.bird, ...p.bird },
    vonage: { ...d.vonage, ...p.vonage },
    fonnte: { ...d.fonnte, ...p.fonnte },
    watzap: { ...d.watzap, ...p.watzap },
  };
  for (const name of Object.keys(providers) as ProviderName[]) {
    const c = providers[name] as { webhookUrl?: string; webhookToken?: string };
    if (!c.webhookUrl && cfg.webhookBaseUrl) {
      const base = `${cfg.webhookBaseUrl.replace(/\/+$/, '')}/${name}`;
      c.webhookUrl = TOKENED[name] ? `${base}?token=${encodeURIComponent(c.webhookToken ?? '')}` : base;
    } else if (c.webhookUrl && c.webhookToken) {
      c.webhookUrl = c.webhookUrl.replace('{token}', encodeURIComponent(c.webhookToken));
    }
  }
  return {
    providers,
    plan: {
      enabled: true, statuses: cfg.statuses, delayMs: cfg.webhookDelayMs,
      jitterMs: cfg.webhook?.jitterMs ?? 0, duplicate: cfg.webhook?.duplicate ?? false, outOfOrder: cfg.webhook?.outOfOrder ?? false,
    },
    webhookAttempts: cfg.webhookAttempts ?? 5,
    webhookRetry: Object.fromEntries(PROVIDERS.map((name) => [name, cfg.webhookRetryByProvider?.[name] ?? cfg.webhookRetry ?? { kind: 'fixed', attempts: Math.max(1, cfg.webhookAttempts ?? 5) }])) as Record<ProviderName, RetryPolicy>,
    webhookTimeScale: cfg.webhookTimeScale ?? 1,
    rateLimits: cfg.rateLimits ?? [],
    seed: cfg.seed ?? (Date.now() & 0xffffffff),
    maxRecorded: cfg.maxRecorded ?? 2_000_000,
  };
}

////////// Environment

/** `meta=80/1000,meta:recipient=1/6000,fonnte=60/60000` → rate limits. */
export function parseRateLimits(spec: string | undefined): RateLimitSpec[] {
  if (!spec) return [];
  return spec.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const m = /^(\w+)(?::(account|recipient))?=(\d+)\/(\d+)$/.exec(s);
    if (!m || !isProvider(m[1])) throw new Error(`SIM_RATE_LIMITS: cannot read "${s}" (want provider[:recipient]=N/windowMs)`);
    return { provider: m[1], scope: (m[2] as 'account' | 'recipient' | undefined) ?? 'account', limit: Number(m[3]), windowMs: Number(m[4]) };
  });
}

const num = (v: string | undefined, dflt: number, name: string): number => {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${v}"`);
  return n;
};

/** A sender number as the dispatcher's variables write it (`whatsapp:`, `+` optional), as `+<digits>`; undefined when unset. */
const senderE164 = (v: string | undefined): string | undefined => {
  const digits = v?.trim().replace(/^whatsapp:/, '').trim().replace(/^\+/, '');
  return digits ? `+${digits}` : undefined;
};

/** Each provider's own retry setting (named in full, so the docs test finds them). */
const RETRY_VARIABLE: Readonly<Record<ProviderName, string>> = {
  meta: 'SIM_WEBHOOK_RETRY_META', twilio: 'SIM_WEBHOOK_RETRY_TWILIO', bird: 'SIM_WEBHOOK_RETRY_BIRD',
  vonage: 'SIM_WEBHOOK_RETRY_VONAGE', fonnte: 'SIM_WEBHOOK_RETRY_FONNTE', watzap: 'SIM_WEBHOOK_RETRY_WATZAP',
};

/** SIM_WEBHOOK_RETRY and SIM_WEBHOOK_RETRY_<PROVIDER> (real, none or fixed:N). */
function retryFromEnv(env: NodeJS.ProcessEnv): Pick<SimConfig, 'webhookRetry' | 'webhookRetryByProvider'> {
  const read = (name: string) => (env[name] ? parseRetryPolicy(env[name]!, name) : undefined);
  const byProvider: Partial<Record<ProviderName, RetryPolicy>> = {};
  for (const p of PROVIDERS) {
    const r = read(RETRY_VARIABLE[p]);
    if (r) byProvider[p] = r;
  }
  const all = read('SIM_WEBHOOK_RETRY');
  return { ...(all ? { webhookRetry: all } : {}), webhookRetryByProvider: byProvider };
}

export function configFromEnv(env: NodeJS.ProcessEnv): SimConfig & { port: number; host: string } {
  const dup = env.SIM_WEBHOOK_DUPLICATE;
  const timeScale = num(env.SIM_WEBHOOK_TIME_SCALE, 1, 'SIM_WEBHOOK_TIME_SCALE');
  if (timeScale === 0) throw new Error('SIM_WEBHOOK_TIME_SCALE must be above 0, got "0"');
  // Our sender per provider: the simulator's own variable, else the dispatcher's (one environment can serve both).
  const twilioFrom = env.TWILIO_FROM || (senderE164(env.TWILIO_WHATSAPP_FROM) && `whatsapp:${senderE164(env.TWILIO_WHATSAPP_FROM)}`);
  const birdFrom = env.BIRD_FROM || senderE164(env.BIRD_WHATSAPP_FROM);
  const vonageFrom = env.VONAGE_FROM || senderE164(env.VONAGE_WHATSAPP_FROM)?.slice(1);
  const strip = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
  return {
    port: num(env.SIM_PORT, 8099, 'SIM_PORT'),
    host: env.SIM_HOST ?? '127.0.0.1',
    metaAccessToken: env.META_ACCESS_TOKEN ?? 'sim-meta-access-token',
    metaAppSecret: env.META_APP_SECRET ?? 'sim-meta-app-secret',
    metaWebhookUrl: env.META_WEBHOOK_URL,
    statuses: (env.SIM_STATUSES ?? 'sent,delivered').split(',').map((s) => s.trim()).filter(Boolean),
    webhookDelayMs: num(env.SIM_WEBHOOK_DELAY_MS, 200, 'SIM_WEBHOOK_DELAY_MS'),
    webhookBaseUrl: env.SIM_WEBHOOK_BASE_URL || undefined,
    webhook: {
      jitterMs: num(env.SIM_WEBHOOK_JITTER_MS, 0, 'SIM_WEBHOOK_JITTER_MS'),
      duplicate: dup === 'true' ? true : dup ? num(dup, 0, 'SIM_WEBHOOK_DUPLICATE') : false,
      outOfOrder: env.SIM_WEBHOOK_OUT_OF_ORDER === 'true',
    },
    webhookAttempts: num(env.SIM_WEBHOOK_ATTEMPTS, 5, 'SIM_WEBHOOK_ATTEMPTS'),
    ...retryFromEnv(env),
    webhookTimeScale: timeScale,
    rateLimits: parseRateLimits(env.SIM_RATE_LIMITS),
    seed: env.SIM_SEED ? num(env.SIM_SEED, 0, 'SIM_SEED') : undefined,
    maxRecorded: env.SIM_MAX_RECORDED ? num(env.SIM_MAX_RECORDED, 0, 'SIM_MAX_RECORDED') : undefined,
    providers: {
      meta: strip({ phoneNumberId: env.META_PHONE_NUMBER_ID, displayPhoneNumber: env.META_DISPLAY_PHONE_NUMBER, wabaId: env.META_WABA_ID }),
      twilio: strip({
        accountSid: env.TWILIO_ACCOUNT_SID, authToken: env.TWILIO_AUTH_TOKEN, apiKeySid: env.TWILIO_API_KEY_SID, apiKeySecret: env.TWILIO_API_KEY_SECRET,
        webhookUrl: env.TWILIO_WEBHOOK_URL, inboundWebhookUrl: env.TWILIO_INBOUND_WEBHOOK_URL, from: twilioFrom,
      }),
      bird: strip({ apiKey: env.BIRD_API_KEY, webhookSecret: env.BIRD_WEBHOOK_SECRET, workspaceId: env.BIRD_WORKSPACE_ID, webhookUrl: env.BIRD_WEBHOOK_URL, from: birdFrom }),
      vonage: strip({
        apiKey: env.VONAGE_API_KEY, apiSecret: env.VONAGE_API_SECRET, applicationId: env.VONAGE_APPLICATION_ID, publicKey: env.VONAGE_PUBLIC_KEY?.replace(/\\n/g, '\n'),
        signatureSecret: env.VONAGE_SIGNATURE_SECRET, webhookUrl: env.VONAGE_WEBHOOK_URL, from: vonageFrom,
      }),
      fonnte: strip({ token: env.FONNTE_TOKEN, device: env.FONNTE_DEVICE, webhookToken: env.FONNTE_WEBHOOK_TOKEN, webhookUrl: env.FONNTE_WEBHOOK_URL }),
      watzap: strip({ apiKey: env.WATZAP_API_KEY, numberKey: env.WATZAP_NUMBER_KEY, webhookToken: env.WATZAP_WEBHOOK_TOKEN, webhookUrl: env.WATZAP_WEBHOOK_URL, device: env.WATZAP_DEVICE }),
    },
  };
}
