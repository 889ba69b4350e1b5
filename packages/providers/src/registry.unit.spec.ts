import { isRetriable } from '@sicantik/core';
import fc from 'fast-check';
import { PROVIDER_ADAPTERS, PROVIDER_NAMES, ProviderConfigError, configuredProviders, isProviderName, type Provider, type ProviderName } from './index';
import { e164FromInternational } from './shared/phone';
import { MESSAGE, noSecretFiles } from './testkit.spec';

const FULL_ENV = {
  META_ACCESS_TOKEN: 'meta-token', META_PHONE_NUMBER_ID: '106540352242922', META_APP_SECRET: 'meta-app-secret',
  TWILIO_ACCOUNT_SID: 'AC' + 'a'.repeat(32), TWILIO_AUTH_TOKEN: 'twilio-token', TWILIO_WHATSAPP_FROM: '+14155238886',
  BIRD_API_KEY: 'bk_eu1_key', BIRD_WHATSAPP_FROM: '+6281100000000', BIRD_WEBHOOK_SECRET: `whsec_${Buffer.from('0123456789abcdef').toString('base64')}`,
  VONAGE_API_KEY: 'k', VONAGE_API_SECRET: 's', VONAGE_WHATSAPP_FROM: '6281100000000', VONAGE_SIGNATURE_SECRET: 'sig',
  FONNTE_TOKEN: 'fonnte-token', FONNTE_WEBHOOK_TOKEN: 'fonnte-url-secret-0001',
  WATZAP_API_KEY: 'wk', WATZAP_NUMBER_KEY: 'wn', WATZAP_WEBHOOK_TOKEN: 'watzap-url-secret-0001',
};

describe('registry', () => {
  it('is one list: every name has exactly its adapter', () => {
    expect(Object.keys(PROVIDER_ADAPTERS)).toEqual([...PROVIDER_NAMES]);
    for (const n of PROVIDER_NAMES) expect(PROVIDER_ADAPTERS[n].name).toBe(n);
    expect(isProviderName('bird')).toBe(true);
    expect(isProviderName('messagebird')).toBe(false);
  });

  it('configuredProviders: none when nothing is set, all six (in order) when all are', () => {
    expect(configuredProviders({}, { readSecretFile: noSecretFiles })).toEqual([]);
    expect(configuredProviders(FULL_ENV, { readSecretFile: noSecretFiles }).map((p) => p.name)).toEqual([...PROVIDER_NAMES]);
    expect(configuredProviders({ FONNTE_TOKEN: 'x', FONNTE_WEBHOOK_TOKEN: 'fonnte-url-secret-0001' }, { readSecretFile: noSecretFiles }).map((p) => p.name)).toEqual(['fonnte']);
  });

  it.each(PROVIDER_NAMES.map((n) => [n]))('%s: partial config fails clearly, not retriable, without echoing the value', (name) => {
    const first = PROVIDER_ADAPTERS[name as ProviderName].envVars.send[0]!;
    const sentinel = 'SENTINEL-secret-value-123';
    let err: unknown;
    try { configuredProviders({ [first]: sentinel }, { readSecretFile: noSecretFiles }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ProviderConfigError);
    expect(isRetriable(err)).toBe(false);
    expect((err as Error).message).toMatch(new RegExp(`^${name} provider: `));
    expect((err as Error).message).not.toContain(sentinel);
  });

  it('reads credentials from *_FILE (trailing newline trimmed); refuses both forms and unreadable files', () => {
    const files: Record<string, string> = { '/run/secrets/fonnte': 'file-token\n', '/run/secrets/url': 'url-secret-from-file-0001\n' };
    const read = (p: string) => { const v = files[p]; if (v === undefined) throw new Error(`ENOENT ${p}`); return v; };
    const [p] = configuredProviders({ FONNTE_TOKEN_FILE: '/run/secrets/fonnte', FONNTE_WEBHOOK_TOKEN_FILE: '/run/secrets/url' }, { readSecretFile: read });
    expect(p!.buildSend(MESSAGE).headers.authorization).toBe('file-token');
    expect(() => configuredProviders({ FONNTE_TOKEN: 'a', FONNTE_TOKEN_FILE: '/run/secrets/fonnte', FONNTE_WEBHOOK_TOKEN: 'url-secret-0000000001' }, { readSecretFile: read })).toThrow(/either FONNTE_TOKEN or FONNTE_TOKEN_FILE/);
    expect(() => configuredProviders({ FONNTE_TOKEN_FILE: '/nope', FONNTE_WEBHOOK_TOKEN: 'url-secret-0000000001' }, { readSecretFile: read })).toThrow(/cannot read the file named by FONNTE_TOKEN_FILE/);
  });

  it('roles: the dispatcher reads only send credentials, the tracker only webhook ones', () => {
    const dispatcherEnv = { META_ACCESS_TOKEN: 'meta-token', META_PHONE_NUMBER_ID: '106540352242922' };
    const trackerEnv = { META_APP_SECRET: 'meta-app-secret', META_VERIFY_TOKEN: 'verify' };
    const [sender] = configuredProviders(dispatcherEnv, { roles: ['send'], readSecretFile: noSecretFiles });
    expect(sender!.buildSend(MESSAGE).url).toBe('https://graph.facebook.com/v23.0/106540352242922/messages');
    expect(() => sender!.handleWebhook({ url: 'https://t/webhooks/meta', method: 'POST', headers: { 'x-hub-signature-256': 'sha256=' + '0'.repeat(64) }, rawBody: Buffer.from('{}'), query: {} }, new Date()))
      .toThrow(/meta provider: not configured to receive webhooks in this service \(META_APP_SECRET not set\)/);
    const [receiver] = configuredProviders(trackerEnv, { roles: ['receive'], readSecretFile: noSecretFiles });
    expect(receiver!.handshake!({ url: 'https://t/webhooks/meta?hub.mode=subscribe&hub.verify_token=verify&hub.challenge=7', method: 'GET', headers: {}, rawBody: Buffer.alloc(0), query: { 'hub.mode': 'subscribe', 'hub.verify_token': 'verify', 'hub.challenge': '7' } })).toEqual({ status: 200, body: '7' });
    expect(() => receiver!.buildSend(MESSAGE)).toThrow(ProviderConfigError);
    // Each role looks only at its own variables: send credentials alone do not configure a receiver, and vice versa.
    expect(configuredProviders(dispatcherEnv, { roles: ['receive'], readSecretFile: noSecretFiles })).toEqual([]);
    expect(configuredProviders(trackerEnv, { roles: ['send'], readSecretFile: noSecretFiles })).toEqual([]);
    // Both roles of every provider from FULL_ENV, split by service.
    expect(configuredProviders(FULL_ENV, { roles: ['send'], readSecretFile: noSecretFiles }).map((p) => p.name)).toEqual([...PROVIDER_NAMES]);
    expect(configuredProviders(FULL_ENV, { roles: ['receive'], readSecretFile: noSecretFiles }).map((p) => p.name)).toEqual([...PROVIDER_NAMES]);
  });

  it('a bad base URL is refused', () => {
    expect(() => configuredProviders({ ...FULL_ENV, META_BASE_URL: 'ftp://x' }, { readSecretFile: noSecretFiles })).toThrow(/META_BASE_URL must be http\(s\)/);
  });
});

describe('wire phone formats', () => {
  const providers = Object.fromEntries(configuredProviders(FULL_ENV, { readSecretFile: noSecretFiles }).map((p) => [p.name, p])) as Record<ProviderName, Provider>;
  /** Read back the way inbound webhooks read numbers. */
  const back = (name: ProviderName, wire: string) => e164FromInternational(name === 'twilio' ? wire.replace(/^whatsapp:/, '') : wire);

  it('spells +6281234567890 as each provider documents it', () => {
    expect(Object.fromEntries(PROVIDER_NAMES.map((n) => [n, providers[n].wirePhone('+6281234567890')]))).toEqual({
      meta: '+6281234567890', twilio: 'whatsapp:+6281234567890', bird: '+6281234567890', vonage: '6281234567890', fonnte: '6281234567890', watzap: '6281234567890',
    });
  });

  it('property: every wire format reads back to the same E.164', () => {
    const e164 = fc.tuple(fc.integer({ min: 1, max: 9 }), fc.stringMatching(/^\d{7,14}$/)).map(([d, rest]) => `+${d}${rest}`);
    fc.assert(fc.property(e164, fc.constantFrom(...PROVIDER_NAMES), (n, name) => back(name, providers[name].wirePhone(n)) === n));
  });

  it('a recipient that is not E.164 is a validation error (never retried), with the number masked', () => {
    for (const name of PROVIDER_NAMES) {
      let err: unknown;
      try { providers[name].buildSend({ ...MESSAGE, toE164: '081234567890' }); } catch (e) { err = e; }
      expect(isRetriable(err)).toBe(false);
      expect((err as Error).message).not.toContain('081234567890');
    }
  });
});
