import { PROVIDER_NAMES, isProviderName, type ProviderName, type TemplateParameter } from './types';
import { PROVIDER_ADAPTERS } from './registry';

////////// Templates as each provider sees them: parameter formats and template mappings
// Our templates are provider-neutral (packages/templates: a code, a text, generic named
// parameters in order). What a provider makes of one lives here, with its adapter.

/**
 * What one provider receives as a template's parameters, in the template's order, as a flat
 * string map (every format fits one Avro map of maps): positional "1", "2", ... for most
 * (Meta {{1}}; Twilio ContentVariables; Bird's platform API and Vonage take the values as a
 * list in that order; Watzap {"1": ..}); Fonnte "var1", "var2", ... ({var1} in the text).
 * The dispatcher builds each request from the generic parameters itself; these maps show
 * operators what each provider receives.
 */
export function providerParameters(provider: ProviderName, params: readonly TemplateParameter[]): Record<string, string> {
  const key = PROVIDER_ADAPTERS[provider].parameterKey;
  const out: Record<string, string> = {};
  params.forEach((p, i) => { out[key(i)] = p.value; });
  return out;
}

/** Every provider's map (providerParameters), by provider name. */
export function allProviderParameters(params: readonly TemplateParameter[]): Record<string, Record<string, string>> {
  return Object.fromEntries(PROVIDER_NAMES.map((p) => [p, providerParameters(p, params)]));
}

/** The values of a provider's map back in order ("1".."n" or "var1".."varn"). */
export function positionalValues(map: Record<string, string>): string[] {
  const idx = (k: string) => Number(k.replace(/^var/, ''));
  return Object.keys(map).filter((k) => /^(var)?\d+$/.test(k)).sort((a, b) => idx(a) - idx(b)).map((k) => map[k]!);
}

/** A template record as far as its provider mapping goes (TemplateEvent of @sicantik/schemas). */
export interface TemplateMappingRecord {
  providerTemplates?: Readonly<Record<string, string>> | null;
  /** Deprecated alias of providerTemplates.meta (events written before providerTemplates). */
  metaTemplateName?: string | null;
}

/**
 * Each provider's template for a template record, by provider name: its providerTemplates,
 * and for events written before that field, Meta's name from the deprecated metaTemplateName.
 */
export function providerTemplatesOf(t: TemplateMappingRecord): Record<string, string> {
  const out: Record<string, string> = { ...(t.providerTemplates ?? {}) };
  if (out.meta === undefined && t.metaTemplateName) out.meta = t.metaTemplateName;
  return out;
}

/** The mapping a template gets when nobody named one (a seeded or new template): each provider's default, where it has one. */
export function defaultProviderTemplates(code: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of PROVIDER_NAMES) {
    const name = PROVIDER_ADAPTERS[p].defaultTemplateName?.(code);
    if (name !== undefined) out[p] = name;
  }
  return out;
}

/** What is wrong with a template mapping: providers that do not exist, names a provider would refuse. */
export function providerTemplateIssues(map: Readonly<Record<string, string>>, path = 'providerTemplates'): { path: string; message: string }[] {
  return Object.entries(map).flatMap(([p, name]) => {
    if (!isProviderName(p)) return [{ path: `${path}.${p}`, message: `not a provider (one of ${PROVIDER_NAMES.join(', ')})` }];
    const issue = PROVIDER_ADAPTERS[p].templateNameIssue?.(name);
    return issue ? [{ path: `${path}.${p}`, message: issue }] : [];
  });
}

/** A mapping as a template record writes it: providerTemplates, and the deprecated metaTemplateName alias ('' when Meta has none) for readers of the older schema. */
export function templateMappingFields(map: Readonly<Record<string, string>>): { providerTemplates: Record<string, string>; metaTemplateName: string } {
  return { providerTemplates: { ...map }, metaTemplateName: map.meta ?? '' };
}
