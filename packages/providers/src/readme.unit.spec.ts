import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROVIDER_ADAPTERS } from './registry';
import { PROVIDER_NAMES, type OutboundMessage } from './types';
import { configuredProviders } from './registry';

////////// packages/providers/README.md stays true: every variable it names is read somewhere
// (a provider adapter, a service's config schema, the simulator's configuration, the local
// scripts), and the number table is what the adapters really send.

const root = path.resolve(__dirname, '../../..');
const readme = fs.readFileSync(path.join(__dirname, '../README.md'), 'utf8');
const read = (p: string) => fs.readFileSync(path.join(root, p), 'utf8');

describe('packages/providers/README.md', () => {
  it('names only variables that exist: an adapter\'s, a service config schema\'s, the simulator\'s or scripts/services.sh\'s', () => {
    const known = new Set<string>(PROVIDER_NAMES.flatMap((n) => [...PROVIDER_ADAPTERS[n].envVars.send, ...PROVIDER_ADAPTERS[n].envVars.receive]));
    for (const m of read('tools/provider-simulator/src/config.ts').matchAll(/env\.([A-Z][A-Z0-9_]+)/g)) known.add(m[1]!);
    for (const s of fs.readdirSync(path.join(root, 'services'))) {
      const cfg = path.join('services', s, 'src/config.ts');
      if (fs.existsSync(path.join(root, cfg))) for (const m of read(cfg).matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)) known.add(m[1]!);
    }
    for (const m of read('packages/config/src/index.ts').matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)) known.add(m[1]!);
    for (const m of read('scripts/services.sh').matchAll(/export ([A-Z][A-Z0-9_]+)=/g)) known.add(m[1]!);
    // Variables are written in code spans or assigned in the shell blocks.
    const named = new Set([...readme.matchAll(/`([A-Z][A-Z0-9]*_[A-Z0-9_]+)`|\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)=/g)].map((m) => m[1] ?? m[2]!));
    expect(named.size).toBeGreaterThan(30);
    expect([...named].filter((v) => !known.has(v) && !known.has(v.replace(/_FILE$/, '')))).toEqual([]);
  });

  it('the number each provider receives is the one the table shows', () => {
    const env = {
      META_ACCESS_TOKEN: 'a', META_PHONE_NUMBER_ID: '1', TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`, TWILIO_AUTH_TOKEN: 't', TWILIO_WHATSAPP_FROM: '14155238886',
      BIRD_API_KEY: 'bk_eu1_x', BIRD_WHATSAPP_FROM: '6281100000001', VONAGE_API_KEY: 'k', VONAGE_API_SECRET: 's', VONAGE_WHATSAPP_FROM: '+6281100000002',
      FONNTE_TOKEN: 't', WATZAP_API_KEY: 'a', WATZAP_NUMBER_KEY: 'b',
    };
    const msg: OutboundMessage = { notificationId: 'n', toE164: '+6281234567890', text: 'x', templateCode: 'not_mapped', parameters: [], language: 'id' };
    const wire = Object.fromEntries(configuredProviders(env, { roles: ['send'], readSecretFile: () => '' }).map((p) => {
      const body = p.buildSend(msg).body;
      const fields = body.startsWith('{') ? JSON.parse(body) as Record<string, string> : Object.fromEntries(new URLSearchParams(body));
      return [p.name, { to: fields.to ?? fields.To ?? fields.target ?? fields.phone_no, from: fields.from ?? fields.From ?? null, countryCode: fields.countryCode }];
    }));
    expect(wire).toEqual({
      meta: { to: '+6281234567890', from: null, countryCode: undefined },
      twilio: { to: 'whatsapp:+6281234567890', from: 'whatsapp:+14155238886', countryCode: undefined },
      bird: { to: '+6281234567890', from: '+6281100000001', countryCode: undefined },
      vonage: { to: '6281234567890', from: '6281100000002', countryCode: undefined },
      fonnte: { to: '6281234567890', from: null, countryCode: '0' },
      watzap: { to: '6281234567890', from: null, countryCode: undefined },
    });
  });
});
