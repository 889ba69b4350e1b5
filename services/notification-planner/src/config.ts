import { baseEnv, loadConfig, port, z } from '@sicantik/config';
import { IANAZone } from 'luxon';
import { parseCountryList } from '@sicantik/core';
import { privacyEnv } from '@sicantik/privacy';
import { apiKeysSetting, keyRing, legacyKey, type ApiKey } from '@sicantik/observability';
import { DEFAULT_PHRASES, PhraseConfigError, compilePhrases, type ConsentPhrases } from './domain/consent';
import { DEFAULT_HOLIDAYS, parseHolidays } from './domain/holidays';
import { DEFAULT_URGENCY, parseHours, parseUrgency, parseWorkingHours } from './domain/timing';

/** A zod transform from a parser that returns an Error for bad input. */
const parsed = <T>(parse: (v: string) => T | Error) => (v: string, ctx: z.RefinementCtx): T => {
  const r = parse(v);
  if (r instanceof Error) { ctx.addIssue({ code: 'custom', message: r.message }); return z.NEVER; }
  return r;
};

/** A comma-separated phrase list; empty: the Indonesian default. */
const phraseList = (fallback: readonly string[]) => z.string().default(fallback.join(',')).transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean));

export const configSchema = z.object({
  ...baseEnv,
  /** PRIVACY_MASTER_KEYS and PRIVACY_INDEX_KEY (@sicantik/privacy): personal fields are encrypted with per-subject keys. */
  ...privacyEnv,
  /** Defaults to TOPIC_PREFIX + 'notification-planner', so prefixed deployments never share a group. */
  CONSUMER_GROUP: z.string().min(1).optional(),
  HTTP_PORT: port(8092),
  /** How long an admin schedule run waits for every partition's owner to report it done. */
  COMMAND_TIMEOUT_MS: z.coerce.number().int().min(1000).default(120_000),
  /** The admin API's single token of before (required, as before): a key of role admin. */
  ADMIN_API_TOKEN: z.string().min(16, 'must be at least 16 characters'),
  /** More API keys of the admin API with their roles: name:role:key,... (@sicantik/observability roles.ts; README "Roles and API keys"). */
  API_KEYS: apiKeysSetting,
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

  ////////// Issue 16: when messages may go (README: "Quiet hours, working hours, coalescing")
  /** The office's IANA zone: citizens' quiet hours, and staff without a zone of their own in the directory. */
  OFFICE_TIME_ZONE: z.string().default('Asia/Jakarta').refine((v) => IANAZone.isValidZone(v), 'is not an IANA time zone (e.g. Asia/Jakarta)'),
  /** Citizens' quiet hours, HH:MM-HH:MM in the office's zone (may wrap midnight), or off. */
  QUIET_HOURS: z.string().default('21:00-07:00').transform(parsed(parseHours)),
  /** Staff's and officials' working hours, e.g. "Mon-Fri 08:00-16:00", or off. */
  WORKING_HOURS: z.string().default('Mon-Fri 08:00-16:00').transform(parsed(parseWorkingHours)),
  /** Replaces the built-in holiday list (2026 SKB dates, certain 2027 dates): "yyyy-MM-dd=name,yyyy-MM-dd=cuti:name,..."; unset = the built-in list. */
  HOLIDAYS: z.string().optional().transform((v, ctx) => (v === undefined ? [...DEFAULT_HOLIDAYS] : parsed(parseHolidays)(v, ctx))),
  /** Added to the holiday list (e.g. the 2027 SKB's lunar holidays and cuti bersama, a regional holiday). */
  HOLIDAYS_EXTRA: z.string().default('').transform(parsed(parseHolidays)),
  /** Urgency per scenario over the defaults, e.g. "approval_required=URGENT"; URGENT ignores quiet and working hours. */
  URGENCY: z.string().default('').transform(parsed(parseUrgency)).transform((o) => ({ ...DEFAULT_URGENCY, ...o })),
  /** status_update coalescing: sent this long after the last change (0 = no coalescing) ... */
  STATUS_COALESCE_AFTER_MS: z.coerce.number().int().min(0).default(600_000),
  /** ... and at most this long after the first change of the window. */
  STATUS_COALESCE_MAX_MS: z.coerce.number().int().min(0).default(1_800_000),

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
  if (c.STATUS_COALESCE_AFTER_MS > 0 && c.STATUS_COALESCE_MAX_MS < c.STATUS_COALESCE_AFTER_MS) {
    ctx.addIssue({ code: 'custom', path: ['STATUS_COALESCE_MAX_MS'], message: 'must be at least STATUS_COALESCE_AFTER_MS' });
  }
  if (c.WORKING_HOURS && c.WORKING_HOURS.days.length === 0) ctx.addIssue({ code: 'custom', path: ['WORKING_HOURS'], message: 'names no working day' });
  try { compilePhrases(consentPhrases(c)); } catch (e) {
    if (!(e instanceof PhraseConfigError)) throw e;
    ctx.addIssue({ code: 'custom', path: ['CONSENT_OPT_IN_PHRASES'], message: e.message });
  }
});
/** keys: every key the admin API accepts (API_KEYS, and ADMIN_API_TOKEN as admin). */
export type Config = z.infer<typeof configSchema> & { keys: ApiKey[] };
/** The consent phrase families of a configuration. */
export function consentPhrases(c: { CONSENT_OPT_OUT_PHRASES: string[]; CONSENT_OPT_IN_PHRASES: string[]; CONSENT_BARE_YES_PHRASES: string[]; CONSENT_HELP_PHRASES: string[]; CONSENT_WRONG_NUMBER_PHRASES: string[]; CONSENT_NEGATION_WORDS: string[] }): ConsentPhrases {
  return { optOut: c.CONSENT_OPT_OUT_PHRASES, optIn: c.CONSENT_OPT_IN_PHRASES, bareYes: c.CONSENT_BARE_YES_PHRASES, help: c.CONSENT_HELP_PHRASES, wrongNumber: c.CONSENT_WRONG_NUMBER_PHRASES, negations: c.CONSENT_NEGATION_WORDS };
}
export const readConfig = (env = process.env): Config => {
  const cfg = loadConfig(configSchema, env);
  return { ...cfg, keys: keyRing(cfg.API_KEYS, legacyKey('ADMIN_API_TOKEN', cfg.ADMIN_API_TOKEN, 'admin')) };
};
