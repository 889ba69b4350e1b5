import { ProviderConfigError } from '@sicantik/providers';
import { PRIVACY_TEST_ENV } from '../../../test/support';
import { readConfig } from './config';

const base = { STATS_API_TOKEN: 's'.repeat(16), ...PRIVACY_TEST_ENV };

describe('tracker configuration', () => {
  it('reads the providers configured to receive, with the Meta names the deployment already uses', () => {
    const cfg = readConfig({ ...base, META_APP_SECRET: 'app-secret-1', META_VERIFY_TOKEN: 'verify-token-1', FONNTE_WEBHOOK_TOKEN: 'f'.repeat(16), META_ACCESS_TOKEN: 'send-role-only' });
    expect(cfg.providers.map((p) => p.name)).toEqual(['meta', 'fonnte']);
    expect(cfg.WEBHOOK_PUBLIC_BASE_URL).toBeUndefined();
  });
  it('needs at least one provider, and says which variables would do', () => {
    expect(() => readConfig({ ...base, META_ACCESS_TOKEN: 'send-role-only', TWILIO_ACCOUNT_SID: 'AC1' })).toThrow(
      /no provider is configured to receive webhooks: set at least one of META_APP_SECRET \(meta\), TWILIO_AUTH_TOKEN \(twilio\), BIRD_WEBHOOK_SECRET \(bird\), VONAGE_SIGNATURE_SECRET \(vonage\), FONNTE_WEBHOOK_TOKEN \(fonnte\), WATZAP_WEBHOOK_TOKEN \(watzap\)/,
    );
  });
  it('a half-configured provider is an error naming the missing variable, never a value', () => {
    expect(() => readConfig({ ...base, META_VERIFY_TOKEN: 'verify-token-1' })).toThrow(ProviderConfigError);
    expect(() => readConfig({ ...base, META_VERIFY_TOKEN: 'verify-token-1' })).toThrow(/META_APP_SECRET/);
    expect(() => readConfig({ ...base, WATZAP_WEBHOOK_TOKEN: 'short' })).toThrow(/at least 16/);
  });
  it('WEBHOOK_PUBLIC_BASE_URL must be an http(s) URL', () => {
    expect(readConfig({ ...base, TWILIO_AUTH_TOKEN: 't', WEBHOOK_PUBLIC_BASE_URL: 'https://notif.example.go.id/tracker' }).WEBHOOK_PUBLIC_BASE_URL).toBe('https://notif.example.go.id/tracker');
    expect(() => readConfig({ ...base, TWILIO_AUTH_TOKEN: 't', WEBHOOK_PUBLIC_BASE_URL: 'ftp://x' })).toThrow(/WEBHOOK_PUBLIC_BASE_URL/);
  });
  it('TRACKER_ROLE: all by default; receiver needs providers but no statistics token; projection needs the token but no provider', () => {
    expect(readConfig({ ...base, TWILIO_AUTH_TOKEN: 't' }).TRACKER_ROLE).toBe('all');
    const receiver = readConfig({ ...PRIVACY_TEST_ENV, TRACKER_ROLE: 'receiver', TWILIO_AUTH_TOKEN: 't' });
    expect([receiver.TRACKER_ROLE, receiver.STATS_API_TOKEN, receiver.providers.map((p) => p.name)]).toEqual(['receiver', undefined, ['twilio']]);
    expect(() => readConfig({ ...PRIVACY_TEST_ENV, TRACKER_ROLE: 'receiver' })).toThrow(/no provider is configured to receive webhooks/);
    const projection = readConfig({ ...base, TRACKER_ROLE: 'projection' });
    expect([projection.TRACKER_ROLE, projection.providers]).toEqual(['projection', []]);
    expect(() => readConfig({ ...PRIVACY_TEST_ENV, TRACKER_ROLE: 'projection' })).toThrow(/STATS_API_TOKEN: is required but not set \(TRACKER_ROLE=projection/);
    expect(() => readConfig({ ...PRIVACY_TEST_ENV, TWILIO_AUTH_TOKEN: 't' })).toThrow(/STATS_API_TOKEN: is required but not set \(TRACKER_ROLE=all/);
    expect(() => readConfig({ ...base, TRACKER_ROLE: 'both', TWILIO_AUTH_TOKEN: 't' })).toThrow(/TRACKER_ROLE/);
  });
  it('API_KEYS: keys with roles next to the legacy tokens (STATS_API_TOKEN operator, ADMIN_API_TOKEN admin); bad entries named, keys never shown', () => {
    const cfg = readConfig({ ...base, TWILIO_AUTH_TOKEN: 't', ADMIN_API_TOKEN: 'a'.repeat(16), API_KEYS: `dash:analyst:${'k'.repeat(16)}` });
    expect(cfg.keys.map((k) => `${k.name}:${k.role}`)).toEqual(['dash:analyst', 'STATS_API_TOKEN:operator', 'ADMIN_API_TOKEN:admin']);
    const keysOnly = readConfig({ ...PRIVACY_TEST_ENV, TRACKER_ROLE: 'projection', API_KEYS: `dash:analyst:${'k'.repeat(16)}` });
    expect(keysOnly.keys.map((k) => k.name)).toEqual(['dash']);
    let err: Error | undefined;
    try { readConfig({ ...base, TWILIO_AUTH_TOKEN: 't', API_KEYS: `dash:analyst:${'k'.repeat(16)},ops:root:short-secret` }); } catch (e) { err = e as Error; }
    expect(err?.message).toContain('API_KEYS: entry[2] (ops): the role must be one of analyst, operator, admin');
    expect(err?.message).toContain('API_KEYS: entry[2] (ops): the key must be at least 16 characters');
    expect(err?.message).not.toContain('short-secret');
    expect(err?.message).not.toContain('k'.repeat(16));
  });
  it('RETENTION_DAYS: 400 by default, 0 turns it off, never negative; the sweep every 60 minutes by default', () => {
    const d = readConfig({ ...base, TWILIO_AUTH_TOKEN: 't' });
    expect([d.RETENTION_DAYS, d.RETENTION_SWEEP_MINUTES]).toEqual([400, 60]);
    expect(readConfig({ ...base, TWILIO_AUTH_TOKEN: 't', RETENTION_DAYS: '0', RETENTION_SWEEP_MINUTES: '5' })).toMatchObject({ RETENTION_DAYS: 0, RETENTION_SWEEP_MINUTES: 5 });
    expect(() => readConfig({ ...base, TWILIO_AUTH_TOKEN: 't', RETENTION_DAYS: '-1' })).toThrow(/RETENTION_DAYS/);
    expect(() => readConfig({ ...base, TWILIO_AUTH_TOKEN: 't', RETENTION_SWEEP_MINUTES: '0' })).toThrow(/RETENTION_SWEEP_MINUTES/);
  });
});
