import { defineAdapter, type Provider, type ProviderAdapter } from '../types';
import { VONAGE_ENV, vonageConfigFromEnv, type VonageConfig } from './config';
import { vonageBuildSend, vonageHandleWebhook, vonageParseSendResponse, vonageTestConnection, vonageWirePhone, VONAGE_WEBHOOK } from './vonage';

export function createVonageProvider(cfg: VonageConfig): Provider {
  return {
    name: 'vonage',
    webhook: VONAGE_WEBHOOK,
    wirePhone: vonageWirePhone,
    buildSend: (msg) => vonageBuildSend(cfg, msg),
    parseSendResponse: (_msg, res) => vonageParseSendResponse(res),
    handleWebhook: (req, now) => vonageHandleWebhook(cfg, req, now),
    testConnection: () => vonageTestConnection(cfg),
    // No message-status lookup is documented for the Messages API: reconcile by webhooks (client_ref).
  };
}

export const vonageAdapter: ProviderAdapter = defineAdapter({ name: 'vonage', webhook: VONAGE_WEBHOOK, envVars: VONAGE_ENV, configFromEnv: vonageConfigFromEnv, create: createVonageProvider });
