import type { Env, Provider, ProviderAdapter, ProviderName, ProviderRole, ReadSecretFile } from './types';
import { PROVIDER_NAMES } from './types';
import { readSecretFileSync } from './shared/config';
import { birdAdapter } from './bird';
import { fonnteAdapter } from './fonnte';
import { metaAdapter } from './meta';
import { twilioAdapter } from './twilio';
import { vonageAdapter } from './vonage';
import { watzapAdapter } from './watzap';

////////// The one registry, keyed by the closed union of provider names

export const PROVIDER_ADAPTERS: Readonly<Record<ProviderName, ProviderAdapter>> = {
  meta: metaAdapter,
  twilio: twilioAdapter,
  bird: birdAdapter,
  vonage: vonageAdapter,
  fonnte: fonnteAdapter,
  watzap: watzapAdapter,
};

/**
 * The providers configured in this environment for these roles (default both),
 * in PROVIDER_NAMES order. A provider with none of the roles' credential
 * variables set is skipped; one with some but not all throws ProviderConfigError
 * (naming variables, never values). The dispatcher asks for ['send'], the
 * tracker for ['receive'], so neither reads the other's secrets.
 */
export function configuredProviders(
  env: Env,
  options: { roles?: readonly ProviderRole[]; readSecretFile?: ReadSecretFile } = {},
): Provider[] {
  const roles = new Set<ProviderRole>(options.roles ?? ['send', 'receive']);
  const read = options.readSecretFile ?? readSecretFileSync;
  return PROVIDER_NAMES.flatMap((name) => PROVIDER_ADAPTERS[name].fromEnv(env, read, roles) ?? []);
}
