import type { Provider, ProviderAdapter } from '../types';
import { FONNTE_ENV, fonnteConfigFromEnv, type FonnteConfig } from './config';
import { fonnteBuildSend, fonnteHandleWebhook, fonnteParseSendResponse, fonnteTestConnection, fonnteWirePhone } from './fonnte';

export function createFonnteProvider(cfg: FonnteConfig): Provider {
  return {
    name: 'fonnte',
    wirePhone: fonnteWirePhone,
    buildSend: (msg) => fonnteBuildSend(cfg, msg),
    parseSendResponse: (_msg, res) => fonnteParseSendResponse(res),
    handleWebhook: (req) => fonnteHandleWebhook(cfg, req),
    testConnection: () => fonnteTestConnection(cfg),
    // Fonnte's /status lookup is deprecated in favour of the status webhook; not offered.
  };
}

export const fonnteAdapter: ProviderAdapter = {
  name: 'fonnte',
  envVars: FONNTE_ENV,
  fromEnv(env, readSecretFile, roles) {
    const cfg = fonnteConfigFromEnv(env, readSecretFile, roles);
    return cfg && createFonnteProvider(cfg);
  },
};
