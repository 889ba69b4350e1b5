import { defineAdapter, type Provider, type ProviderAdapter } from '../types';
import { TWILIO_ENV, twilioConfigFromEnv, type TwilioConfig } from './config';
import { twilioBuildSend, twilioHandleWebhook, twilioParseSendResponse, twilioStatusLookup, twilioTestConnection, twilioWirePhone, TWILIO_WEBHOOK } from './twilio';

export function createTwilioProvider(cfg: TwilioConfig): Provider {
  return {
    name: 'twilio',
    webhook: TWILIO_WEBHOOK,
    wirePhone: twilioWirePhone,
    buildSend: (msg) => twilioBuildSend(cfg, msg),
    parseSendResponse: (_msg, res) => twilioParseSendResponse(res),
    handleWebhook: (req) => twilioHandleWebhook(cfg, req),
    testConnection: () => twilioTestConnection(cfg),
    statusLookup: twilioStatusLookup(cfg),
  };
}

export const twilioAdapter: ProviderAdapter = defineAdapter({ name: 'twilio', webhook: TWILIO_WEBHOOK, envVars: TWILIO_ENV, configFromEnv: twilioConfigFromEnv, create: createTwilioProvider });
