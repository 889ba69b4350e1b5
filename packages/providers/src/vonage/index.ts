import type { Provider, ProviderAdapter } from '../types';
import { VONAGE_ENV, vonageConfigFromEnv, type VonageConfig } from './config';
import { vonageBuildSend, vonageHandleWebhook, vonageParseSendResponse, vonageTestConnection, vonageWirePhone } from './vonage';

export function createVonageProvider(cfg: VonageConfig): Provider {
  return {
    name: 'vonage',
    wirePhone: vonageWirePhone,
    buildSend: (msg) => vonageBuildSend(cfg, msg),
    parseSendResponse: (_msg, res) => vonageParseSendResponse(res),
    handleWebhook: (req, now) => vonageHandleWebhook(cfg, req, now),
    testConnection: () => vonageTestConnection(cfg),
    // No message-status lookup is documented for the Messages API: reconcile by webhooks (client_ref).
  };
}

export const vonageAdapter: ProviderAdapter = {
  name: 'vonage',
  envVars: VONAGE_ENV,
  fromEnv(env, readSecretFile, roles) {
    const cfg = vonageConfigFromEnv(env, readSecretFile, roles);
    return cfg && createVonageProvider(cfg);
  },
};
