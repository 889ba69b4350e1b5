import { defineAdapter, type Provider, type ProviderAdapter } from '../types';
import { BIRD_ENV, birdConfigFromEnv, type BirdConfig } from './config';
import { birdBuildSend, birdHandleWebhook, birdParseSendResponse, birdStatusLookup, birdTestConnection, birdWirePhone, BIRD_WEBHOOK } from './bird';

export function createBirdProvider(cfg: BirdConfig): Provider {
  return {
    name: 'bird',
    webhook: BIRD_WEBHOOK,
    wirePhone: birdWirePhone,
    buildSend: (msg) => birdBuildSend(cfg, msg),
    parseSendResponse: (_msg, res) => birdParseSendResponse(res),
    handleWebhook: (req, now) => birdHandleWebhook(cfg, req, now),
    testConnection: () => birdTestConnection(cfg),
    statusLookup: birdStatusLookup(cfg),
  };
}

export const birdAdapter: ProviderAdapter = defineAdapter({ name: 'bird', webhook: BIRD_WEBHOOK, envVars: BIRD_ENV, configFromEnv: birdConfigFromEnv, create: createBirdProvider });
