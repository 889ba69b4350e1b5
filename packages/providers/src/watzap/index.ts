import { defineAdapter, type Provider, type ProviderAdapter } from '../types';
import { WATZAP_ENV, watzapConfigFromEnv, type WatzapConfig } from './config';
import { watzapBuildSend, watzapHandleWebhook, watzapParseSendResponse, watzapTestConnection, watzapWirePhone, WATZAP_WEBHOOK } from './watzap';

export function createWatzapProvider(cfg: WatzapConfig): Provider {
  return {
    name: 'watzap',
    webhook: WATZAP_WEBHOOK,
    wirePhone: watzapWirePhone,
    buildSend: (msg) => watzapBuildSend(cfg, msg),
    parseSendResponse: (msg, res) => watzapParseSendResponse(msg, res),
    handleWebhook: (req) => watzapHandleWebhook(cfg, req),
    testConnection: () => watzapTestConnection(cfg),
  };
}

export const watzapAdapter: ProviderAdapter = defineAdapter({ name: 'watzap', webhook: WATZAP_WEBHOOK, envVars: WATZAP_ENV, configFromEnv: watzapConfigFromEnv, create: createWatzapProvider });
