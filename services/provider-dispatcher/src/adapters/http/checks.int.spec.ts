import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMetrics, legacyKey, opsRouter } from '@sicantik/observability';
import { PROVIDER_NAMES, configuredProviders, type ProviderName } from '@sicantik/providers';
import { simulatorSendEnv, startHarness, type Harness } from '../../../../../tools/provider-simulator/src/testHarness';
import { silentLogger } from '../../../../../test/support';
import { main, type CliIo } from '../../cli';
import { ContactBook } from '../../domain/contacts';
import { Pacer, parseRates } from '../../domain/pacing';
import type { OperatorDeps } from '../operators';
import { ProviderGateway } from '../providers/gateway';
import { createAdminApp } from './admin';
import { fetchExecutor } from './executor';

////////// Every provider's connection check (POST /v1/admin/providers/:name/check, and the
// sicantik-dispatcher CLI's `check`) against the provider simulator over real HTTP, with
// the same credentials on both sides: every one answers ok:true. One wrong credential per
// provider: ok:false with that provider's reason, and the CLI exits 1.

const TOKEN = 'it-checks-admin-token-0001';

/** One wrong credential per provider, and the reason its check gives (the simulator's answer, read by the adapter). */
const WRONG: Record<ProviderName, { env: Record<string, string>; reason: string }> = {
  meta: { env: { META_ACCESS_TOKEN: 'not-the-meta-token' }, reason: 'meta:190: Invalid OAuth access token.' },
  twilio: { env: { TWILIO_AUTH_TOKEN: 'not-the-twilio-token' }, reason: 'twilio:20003: Authenticate' },
  bird: { env: { BIRD_API_KEY: 'bk_eu1_not_the_key' }, reason: 'bird:unauthenticated: The API key is missing or invalid.' },
  vonage: { env: { VONAGE_API_SECRET: 'not-the-vonage-secret' }, reason: 'http:401: You did not provide correct credentials.' },
  fonnte: { env: { FONNTE_TOKEN: 'not-the-fonnte-token' }, reason: 'token invalid' },
  watzap: { env: { WATZAP_NUMBER_KEY: 'notTheNumberKey0' }, reason: 'the number key is not one of this API key\'s numbers' },
};

describe('every provider\'s connection check against the simulator', () => {
  let sim: Harness;
  const apps: { server: Server; gateway: ProviderGateway }[] = [];

  /** The dispatcher's admin API with these providers configured (send role, as main.ts reads them). */
  const adminApi = async (env: Record<string, string>): Promise<string> => {
    const providers = configuredProviders(env, { roles: ['send'] });
    const gateway = new ProviderGateway({ providers, executor: fetchExecutor, timeoutMs: 5000, breaker: { errorPercent: 50, volume: 100, windowMs: 10_000, resetMs: 30_000 } });
    const configured = providers.map((p) => p.name);
    const pacer = new Pacer({ rates: parseRates(''), pairRates: new Map(), quotas: new Map(), partitions: 1 });
    pacer.setOwned(1);
    const contacts = new ContactBook();
    const operators: OperatorDeps = {
      routing: { chain: configured, optInRequired: new Set() }, configured, sender: gateway, contact: (p) => contacts.of(p), pacer, now: () => Date.now(),
      budgetUse: { owned: () => [0], usedToday: () => 0 }, inDoubt: async () => new Map(), settings: {},
    };
    const app = createAdminApp({ operators, keys: legacyKey('ADMIN_API_TOKEN', TOKEN, 'admin'), logger: silentLogger(), ops: opsRouter(createMetrics('it-checks'), []) });
    const server = await new Promise<Server>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
    apps.push({ server, gateway });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const check = async (api: string, name: string) => {
    const r = await fetch(`${api}/v1/admin/providers/${name}/check`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
    return { status: r.status, body: await r.json() as { provider: string; ok: boolean; reason?: string; detail?: string; checks: string } };
  };
  /** The CLI in this process, against an admin API; its exit status and what it printed. */
  const cli = async (api: string, ...args: string[]) => {
    let out = '';
    let err = '';
    const io: CliIo = { out: (s) => { out += s; }, err: (s) => { err += s; }, env: { DISPATCHER_URL: api, ADMIN_API_TOKEN: TOKEN } };
    const code = await main(['node', 'sicantik-dispatcher', ...args], io);
    return { code, out, err };
  };

  beforeAll(async () => { sim = await startHarness({ statuses: [] }); });
  afterAll(async () => {
    for (const a of apps) { a.gateway.close(); a.server.closeAllConnections(); await new Promise((r) => a.server.close(r)); }
    await sim.close();
  });

  it('the right credentials: every configured provider answers ok:true (Watzap finds its number key among the API key\'s numbers)', async () => {
    const api = await adminApi(simulatorSendEnv(sim.url));
    const results = await Promise.all(PROVIDER_NAMES.map((name) => check(api, name)));
    expect(results.map((r) => [r.body.provider, r.status, r.body.ok, r.body.reason])).toEqual(PROVIDER_NAMES.map((name) => [name, 200, true, undefined]));
    expect(results.find((r) => r.body.provider === 'watzap')!.body.detail).toBe('number connected, licence until 2099-12-31 00:00:00');
    // Each check was an account read at the simulator, nothing was sent.
    const kinds = (await sim.admin<{ provider: string; kind: string }[]>('GET', '/requests')).body;
    expect(new Set(kinds.map((k) => k.provider))).toEqual(new Set(PROVIDER_NAMES));
    expect(new Set(kinds.map((k) => k.kind))).toEqual(new Set(['account']));
    // The CLI prints the same answer and exits 0.
    const watzap = await cli(api, 'check', 'watzap');
    expect([watzap.code, JSON.parse(watzap.out).ok, watzap.err]).toEqual([0, true, '']);
  });

  it.each(PROVIDER_NAMES.map((p) => [p]))('%s: one wrong credential → ok:false with the provider\'s reason, and the CLI exits 1', async (name) => {
    const wrong = WRONG[name];
    const api = await adminApi({ ...simulatorSendEnv(sim.url), ...wrong.env });
    const r = await check(api, name);
    expect([r.status, r.body.provider, r.body.ok]).toEqual([200, name, false]);
    expect(r.body.reason).toBe(wrong.reason);
    // Never the credential itself in the answer.
    for (const v of Object.values(wrong.env)) expect(JSON.stringify(r.body)).not.toContain(v);
    const c = await cli(api, 'check', name);
    expect([c.code, JSON.parse(c.out)]).toEqual([1, expect.objectContaining({ provider: name, ok: false, reason: wrong.reason })]);
  });

  it('the CLI\'s test-send exits 1 when the provider did not accept it, 0 when it did', async () => {
    const wrong = await adminApi({ ...simulatorSendEnv(sim.url), ...WRONG.watzap.env });
    const refused = await cli(wrong, 'test-send', '--to', '0812-0000-3333', '--provider', 'watzap');
    expect([refused.code, JSON.parse(refused.out)]).toEqual([1, expect.objectContaining({ accepted: false, result: expect.objectContaining({ kind: 'failed', errorCode: 'watzap:1003' }) })]);
    const right = await adminApi(simulatorSendEnv(sim.url));
    const sent = await cli(right, 'test-send', '--to', '0812-0000-3333', '--provider', 'watzap');
    expect([sent.code, JSON.parse(sent.out).accepted]).toEqual([0, true]);
    // An error answer (an unknown provider: 400) exits 1 with the answer on stderr.
    const bad = await cli(right, 'check', 'whatsapp');
    expect([bad.code, bad.out]).toEqual([1, '']);
    expect(bad.err).toMatch(/^sicantik-dispatcher: 400 from .*\/v1\/admin\/providers\/whatsapp\/check: /);
  });
});
