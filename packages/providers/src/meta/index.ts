import { defineAdapter, type Provider, type ProviderAdapter } from '../types';
import { META_ENV, metaConfigFromEnv, metaTemplateNameIssue, metaTemplateTwin, type MetaConfig } from './config';
import { metaBuildSend, metaHandleWebhook, metaHandshake, metaParseSendResponse, metaTestConnection, metaWirePhone, META_WEBHOOK } from './meta';

export function createMetaProvider(cfg: MetaConfig): Provider {
  return {
    name: 'meta',
    webhook: META_WEBHOOK,
    wirePhone: metaWirePhone,
    buildSend: (msg) => metaBuildSend(cfg, msg),
    parseSendResponse: (_msg, res) => metaParseSendResponse(res),
    handleWebhook: (req) => metaHandleWebhook(cfg, req),
    handshake: (req) => metaHandshake(cfg, req),
    testConnection: () => metaTestConnection(cfg),
    // Meta has no message-status lookup: in-doubt sends are resolved by webhooks or an operator.
  };
}

export const metaAdapter: ProviderAdapter = defineAdapter({
  name: 'meta', webhook: META_WEBHOOK,
  defaultTemplateName: metaTemplateTwin,
  templateNameIssue: metaTemplateNameIssue,
  envVars: META_ENV, configFromEnv: metaConfigFromEnv, create: createMetaProvider,
});
