import { configFromEnv, parseRateLimits, resolveConfig } from './config';
import { parseForm, parseMultipart, toE164 } from './util';

describe('configuration from the environment', () => {
  it('keeps the original defaults and variables', () => {
    const c = configFromEnv({});
    expect(c).toMatchObject({ port: 8099, host: '127.0.0.1', metaAccessToken: 'sim-meta-access-token', metaAppSecret: 'sim-meta-app-secret', statuses: ['sent', 'delivered'], webhookDelayMs: 200 });
    expect(c.metaWebhookUrl).toBeUndefined();
    const e = configFromEnv({ SIM_PORT: '9000', SIM_STATUSES: 'sent', SIM_WEBHOOK_DELAY_MS: '50', META_WEBHOOK_URL: 'http://t/webhooks/meta', META_APP_SECRET: 's' });
    expect(e).toMatchObject({ port: 9000, statuses: ['sent'], webhookDelayMs: 50, metaWebhookUrl: 'http://t/webhooks/meta', metaAppSecret: 's' });
  });

  it('derives every provider\'s callback URL from SIM_WEBHOOK_BASE_URL, the gateways with their token; explicit URLs win', () => {
    const r = resolveConfig(configFromEnv({
      SIM_WEBHOOK_BASE_URL: 'http://tracker:8091/webhooks/', FONNTE_WEBHOOK_TOKEN: 'tok en', META_WEBHOOK_URL: 'http://m/hook', WATZAP_WEBHOOK_URL: 'http://w/hook/{token}', WATZAP_WEBHOOK_TOKEN: 'wt',
    }));
    expect(r.providers.meta.webhookUrl).toBe('http://m/hook');
    expect(r.providers.twilio.webhookUrl).toBe('http://tracker:8091/webhooks/twilio');
    expect(r.providers.vonage.webhookUrl).toBe('http://tracker:8091/webhooks/vonage');
    expect(r.providers.fonnte.webhookUrl).toBe('http://tracker:8091/webhooks/fonnte?token=tok%20en');
    expect(r.providers.watzap.webhookUrl).toBe('http://w/hook/wt');
  });

  it('our senders: the simulator\'s own variables, else the dispatcher\'s (TWILIO_WHATSAPP_FROM, BIRD_WHATSAPP_FROM, VONAGE_WHATSAPP_FROM) in each provider\'s form', () => {
    const d = resolveConfig(configFromEnv({ TWILIO_WHATSAPP_FROM: '+6281100000009', BIRD_WHATSAPP_FROM: '6281100000008', VONAGE_WHATSAPP_FROM: '+6281100000007' })).providers;
    expect([d.twilio.from, d.bird.from, d.vonage.from]).toEqual(['whatsapp:+6281100000009', '+6281100000008', '6281100000007']);
    expect(resolveConfig(configFromEnv({ TWILIO_WHATSAPP_FROM: 'whatsapp:14155238886' })).providers.twilio.from).toBe('whatsapp:+14155238886');
    const own = resolveConfig(configFromEnv({ TWILIO_FROM: 'whatsapp:+1555', TWILIO_WHATSAPP_FROM: '+6281100000009', BIRD_FROM: '+1', VONAGE_FROM: '2' })).providers;
    expect([own.twilio.from, own.bird.from, own.vonage.from]).toEqual(['whatsapp:+1555', '+1', '2']);
    const none = resolveConfig(configFromEnv({})).providers;
    expect([none.twilio.from, none.bird.from, none.vonage.from]).toEqual(['whatsapp:+14155238886', '+6281100000001', '6281100000002']);
  });

  it('reads credentials, webhook plan and rate limits; fails fast on nonsense', () => {
    const c = configFromEnv({ TWILIO_AUTH_TOKEN: 't', VONAGE_PUBLIC_KEY: 'a\\nb', SIM_WEBHOOK_DUPLICATE: '0.5', SIM_WEBHOOK_OUT_OF_ORDER: 'true', SIM_RATE_LIMITS: 'meta=80/1000, meta:recipient=1/6000' });
    expect(c.providers?.twilio?.authToken).toBe('t');
    expect(c.providers?.vonage?.publicKey).toBe('a\nb');
    expect(c.webhook).toEqual({ jitterMs: 0, duplicate: 0.5, outOfOrder: true });
    expect(c.rateLimits).toEqual([
      { provider: 'meta', scope: 'account', limit: 80, windowMs: 1000 },
      { provider: 'meta', scope: 'recipient', limit: 1, windowMs: 6000 },
    ]);
    expect(() => parseRateLimits('sms=1/1')).toThrow(/SIM_RATE_LIMITS/);
    expect(() => configFromEnv({ SIM_WEBHOOK_DELAY_MS: 'soon' })).toThrow(/SIM_WEBHOOK_DELAY_MS/);
  });
});

describe('wire helpers', () => {
  it.each([
    ['+6281234567890', '+6281234567890'], ['6281234567890', '+6281234567890'], ['081234567890', '+6281234567890'],
    ['whatsapp:+6281234567890', '+6281234567890'], ['0062812 3456-7890', '+6281234567890'], ['6281234567890@c.us', '+6281234567890'],
  ])('%s → %s', (raw, e164) => { expect(toE164(raw)).toBe(e164); });

  it('parses forms (repeated keys as lists) and multipart text fields', () => {
    expect(parseForm('To=whatsapp%3A%2B62&MediaUrl=a&MediaUrl=b')).toEqual({ To: 'whatsapp:+62', MediaUrl: ['a', 'b'] });
    const raw = '--XyZ\r\nContent-Disposition: form-data; name="target"\r\n\r\n0812,0813\r\n--XyZ\r\nContent-Disposition: form-data; name="message"\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n';
    expect(parseMultipart(raw, 'XyZ')).toEqual({ target: '0812,0813', message: 'line1\r\nline2' });
  });
});
