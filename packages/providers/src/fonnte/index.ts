import { defineAdapter, type Provider, type ProviderAdapter } from '../types';
import { FONNTE_ENV, fonnteConfigFromEnv, type FonnteConfig } from './config';
import { fonnteBuildSend, fonnteHandleWebhook, fonnteParseSendResponse, fonnteTestConnection, fonnteWirePhone, FONNTE_WEBHOOK } from './fonnte';

export function createFonnteProvider(cfg: FonnteConfig): Provider {
  return {
    name: 'fonnte',
    webhook: FONNTE_WEBHOOK,
    wirePhone: fonnteWirePhone,
    buildSend: (msg) => fonnteBuildSend(cfg, msg),
    parseSendResponse: (_msg, res) => fonnteParseSendResponse(res),
    handleWebhook: (req) => fonnteHandleWebhook(cfg, req),
    testConnection: () => fonnteTestConnection(cfg),
    // Fonnte's /status lookup is deprecated in favour of the status webhook; not offered.
  };
}

export const fonnteAdapter: ProviderAdapter = defineAdapter({
  name: 'fonnte', webhook: FONNTE_WEBHOOK,
  // The "template" is the message text with {var1}, {var2}, ... placeholders (target number|name|var1...).
  parameterKey: (i) => `var${i + 1}`,
  envVars: FONNTE_ENV, configFromEnv: fonnteConfigFromEnv, create: createFonnteProvider,
});
