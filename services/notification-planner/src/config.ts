import { baseEnv, loadConfig, port, z } from '@sicantik/config';
import { parseCountryList } from '@sicantik/core';
import { DEFAULT_PHRASES, PhraseConfigError, compilePhrases, type ConsentPhrases } from './domain/consent';

/** A comma-separated phrase list; empty: the Indonesian default. */
const phraseList = (fallback: readonly string[]) => z.string().default(fallback.join(',')).transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean));

export const configSchema = z.object({
  ...baseEnv,
  /** Defaults to TOPIC_PREFIX + 'notification-planner', so prefixed deployments never share a group. */
  CONSUMER_GROUP: z.string().min(1).optional(),
  HTTP_PORT: port(8092),
  /** How long an admin schedule run waits for every partition's owner to report it done. */
  COMMAND_TIMEOUT_MS: z.coerce.number().int().min(1000).default(120_000),
  ADMIN_API_TOKEN: z.string().min(16, 'must be at least 16 characters'),
  LINK_DASHBOARD: z.url().default('https://sicantik.karokab.go.id/dashboard'),
  LINK_PERPANJANGAN: z.url().default('https://sicantik.karokab.go.id/perpanjangan'),
  KONTAK_DPMPTSP: z.string().min(3).default('(0628) 20655'),
  REMINDER_AFTER_HOURS: z.coerce.number().int().min(1).default(24),
  SCHEDULER_ENABLED: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
  /** Scenario -> template code, e.g. "permit_expiry_warning=permit_reminder,permit_renewal_approved=renewal_approved" (seed 004 set). */
  SCENARIO_TEMPLATES: z.string().default('').transform((v, ctx) => {
    const out: Record<string, string> = {};
    for (const pair of v.split(',').map((x) => x.trim()).filter(Boolean)) {
      const m = /^([a-z][a-z0-9_]*)=([a-z][a-z0-9_]*)$/.exec(pair);
      if (!m) { ctx.addIssue({ code: 'custom', message: `"${pair}" is not scenario=template_code` }); return z.NEVER; }
      out[m[1]!] = m[2]!;
    }
    return out;
  }),
  /** Seed 004: send meta_opt_in_request once to each new applicant number. */
  OPT_IN_REQUEST_ENABLED: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** ISO 3166 regions whose phone numbers may be messaged, e.g. "ID" (default) or "ID,MY"; other numbers are skipped (COUNTRY_NOT_ALLOWED). */
  ALLOWED_COUNTRIES: z.string().default('ID').transform((v, ctx) => {
    const r = parseCountryList(v);
    if (!r.ok) { ctx.addIssue({ code: 'custom', message: `unknown region code(s): ${r.unknown.join(', ')} (use ISO 3166 codes such as ID, MY)` }); return z.NEVER; }
    if (r.countries.length === 0) { ctx.addIssue({ code: 'custom', message: 'must name at least one region, e.g. ID' }); return z.NEVER; }
    return r.countries;
  }),
  /** Where an applicant opts in: a wa.me link to the official number with the MULAI keyword prefilled. */
  LINK_OPT_IN: z.url().default('https://wa.me/6281100000000?text=MULAI'),
  // Consent classifier (contact.events -> OPTED_IN/OPTED_OUT/HELP_REQUESTED/REPLY_UNMATCHED/WRONG_NUMBER): docs/consent.md.
  /** Run the consent classifier in this instance. */
  CONSENT_CLASSIFIER_ENABLED: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /** Send the consent confirmations, the daily answer and the wrong-number staff notices; false: record the classification only. */
  CONSENT_ANSWERS_ENABLED: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /** Defaults to TOPIC_PREFIX + 'notification-planner-consent'. */
  CONSENT_CONSUMER_GROUP: z.string().min(1).optional(),
  /** A bare YA counts as consent this many hours after an opt-in request (or at any time as its reply, by context id). */
  CONSENT_OPT_IN_ANSWER_HOURS: z.coerce.number().int().min(1).max(24 * 30).default(72),
  CONSENT_OPT_OUT_PHRASES: phraseList(DEFAULT_PHRASES.optOut),
  CONSENT_OPT_IN_PHRASES: phraseList(DEFAULT_PHRASES.optIn),
  CONSENT_BARE_YES_PHRASES: phraseList(DEFAULT_PHRASES.bareYes),
  CONSENT_HELP_PHRASES: phraseList(DEFAULT_PHRASES.help),
  CONSENT_WRONG_NUMBER_PHRASES: phraseList(DEFAULT_PHRASES.wrongNumber),
  CONSENT_NEGATION_WORDS: phraseList(DEFAULT_PHRASES.negations),
}).superRefine((c, ctx) => {
  try { compilePhrases(consentPhrases(c)); } catch (e) {
    if (!(e instanceof PhraseConfigError)) throw e;
    ctx.addIssue({ code: 'custom', path: ['CONSENT_OPT_IN_PHRASES'], message: e.message });
  }
});
export type Config = z.infer<typeof configSchema>;
/** The consent phrase families of a configuration. */
export function consentPhrases(c: { CONSENT_OPT_OUT_PHRASES: string[]; CONSENT_OPT_IN_PHRASES: string[]; CONSENT_BARE_YES_PHRASES: string[]; CONSENT_HELP_PHRASES: string[]; CONSENT_WRONG_NUMBER_PHRASES: string[]; CONSENT_NEGATION_WORDS: string[] }): ConsentPhrases {
  return { optOut: c.CONSENT_OPT_OUT_PHRASES, optIn: c.CONSENT_OPT_IN_PHRASES, bareYes: c.CONSENT_BARE_YES_PHRASES, help: c.CONSENT_HELP_PHRASES, wrongNumber: c.CONSENT_WRONG_NUMBER_PHRASES, negations: c.CONSENT_NEGATION_WORDS };
}
export const readConfig = (env = process.env): Config => loadConfig(configSchema, env);
