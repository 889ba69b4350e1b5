import { baseEnv, loadConfig, port, z } from '@sicantik/config';
import { parseCountryList } from '@sicantik/core';
import { privacyEnv } from '@sicantik/privacy';

export const configSchema = z.object({
  ...baseEnv,
  /** PRIVACY_MASTER_KEYS and PRIVACY_INDEX_KEY (@sicantik/privacy): personal fields are encrypted with per-subject keys. */
  ...privacyEnv,
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
});
export type Config = z.infer<typeof configSchema>;
export const readConfig = (env = process.env): Config => loadConfig(configSchema, env);
