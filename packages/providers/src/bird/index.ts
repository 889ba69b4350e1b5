import type { Provider, ProviderAdapter } from '../types';
import { BIRD_ENV, birdConfigFromEnv, type BirdConfig } from './config';
import { birdBuildSend, birdHandleWebhook, birdParseSendResponse, birdStatusLookup, birdTestConnection, birdWirePhone } from './bird';

export function createBirdProvider(cfg: BirdConfig): Provider {
  return {
    name: 'bird',
    wirePhone: birdWirePhone,
    buildSend: (msg) => birdBuildSend(cfg, msg),
    parseSendResponse: (_msg, res) => birdParseSendResponse(res),
    handleWebhook: (req, now) => birdHandleWebhook(cfg, req, now),
    testConnection: () => birdTestConnection(cfg),
    statusLookup: birdStatusLookup(cfg),
  };
}

export const birdAdapter: ProviderAdapter = {
  name: 'bird',
  envVars: BIRD_ENV,
  fromEnv(env, readSecretFile, roles) {
    const cfg = birdConfigFromEnv(env, readSecretFile, roles);
    return cfg && createBirdProvider(cfg);
  },
};
