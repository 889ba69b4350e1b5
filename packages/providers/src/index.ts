////////// @sicantik/providers: the six WhatsApp providers as pure request builders,
// response readers and webhook verifiers. No I/O: callers send HttpRequests and
// hand back HttpResponses / WebhookRequests.

export * from './types';
export { PROVIDER_ADAPTERS, configuredProviders } from './registry';
export { ProviderConfigError } from './shared/errors';
export { META_GRAPH_VERSION } from './meta/config';
export { allProviderParameters, defaultProviderTemplates, positionalValues, providerParameters, providerTemplateIssues, providerTemplatesOf, templateMappingFields, type TemplateMappingRecord } from './templates';
