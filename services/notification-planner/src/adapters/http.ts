import type express from 'express';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { zodIssues } from '@sicantik/config';
import { deterministicId, normalizePhone, type PhoneRules } from '@sicantik/core';
import { authenticatedApp, logPersonalRead, maskerOf, requireRole, type ApiKey, type Logger } from '@sicantik/observability';
import type { DirectoryEntryUpdated } from '@sicantik/schemas';
import type { RunSummary } from './planner';
import type { PlannerMemory } from './memory';

////////// Admin API (API keys with roles, README "Roles and API keys"): schedule runs for a
// date, the staff/official directory, a number's opt-in state. Reads (directory, contacts):
// analyst, who gets numbers masked and names as initials (an operator or admin gets them as
// stored, logged with the key's name); schedule runs and directory changes: admin.

export interface AdminDeps {
  /** Runs a schedule through every partition's owner and resolves with the summed summary (or the refusal). */
  runSchedule(c: { kind: 'DAILY'; date: string } | { kind: 'DOCUMENT_DIGEST'; from: number; to: number }): Promise<RunSummary>;
  memory: PlannerMemory;
  publishDirectory(e: DirectoryEntryUpdated): Promise<void>;
  /** The person's subject for a number (issue 16): found or allocated. */
  subjectFor?(e164: string): Promise<string>;
  now(): Date;
  /** The keys the admin API accepts (config.ts: API_KEYS and ADMIN_API_TOKEN). */
  keys: readonly ApiKey[];
  /** Which numbers the directory accepts (the planner's allowed countries). */
  phoneRules?: PhoneRules;
  logger: Logger;
  ops: express.Router;
}

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date yyyy-MM-dd');
const directoryBody = z.object({
  role: z.enum(['STAFF', 'OFFICIAL']),
  name: z.string().trim().min(1).max(200),
  // Checked by normalizePhone below, which says what is wrong ("abc" is not "too short").
  phone: z.string().trim().min(1, 'must not be empty').max(64, 'is too long (at most 64 characters)'),
  jenisIzin: z.array(z.string().trim().min(1)).min(1, 'must name at least one permit type, or "*"'),
  active: z.boolean().default(true),
  /** Issue 16: the person's IANA zone for working hours (default: the office's). */
  zone: z.string().refine((v) => IANAZone.isValidZone(v), 'is not an IANA time zone (e.g. Asia/Jakarta, Asia/Makassar)').nullable().default(null),
}).strict();


export function createAdminApp(deps: AdminDeps): express.Express {
  const { app, router: admin } = authenticatedApp({ ops: deps.ops, mount: '/v1/admin', keys: deps.keys, logger: deps.logger });
  const analyst = requireRole('analyst');
  const adminRole = requireRole('admin');

  admin.post('/schedules/daily/run', adminRole, async (req, res) => {
    const p = z.object({ date: isoDate }).safeParse(req.body);
    if (!p.success) { res.status(400).json({ error: 'validation_failed', issues: zodIssues(p.error) }); return; }
    res.json({ date: p.data.date, ...(await deps.runSchedule({ kind: 'DAILY', date: p.data.date })) });
  });
  admin.post('/schedules/document-digest/run', adminRole, async (req, res) => {
    const p = z.object({ from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) }).safeParse(req.body);
    if (!p.success) { res.status(400).json({ error: 'validation_failed', issues: zodIssues(p.error) }); return; }
    res.json(await deps.runSchedule({ kind: 'DOCUMENT_DIGEST', from: Date.parse(p.data.from), to: Date.parse(p.data.to) }));
  });

  admin.get('/directory', analyst, (req, res) => {
    const m = maskerOf(req);
    const entries = deps.memory.directoryEntries();
    logPersonalRead(deps.logger, req, entries.length);
    res.json(m.unmasked ? entries : entries.map((e) => ({ ...e, name: m.name(e.name), phone: m.phone(e.phone) })));
  });
  admin.put('/directory/:id', adminRole, async (req, res) => {
    const p = directoryBody.safeParse(req.body);
    if (!p.success) { res.status(400).json({ error: 'validation_failed', issues: zodIssues(p.error) }); return; }
    const phone = normalizePhone(p.data.phone, deps.phoneRules);
    if (!phone.ok) { res.status(400).json({ error: 'validation_failed', issues: [{ path: 'phone', message: phone.reason }] }); return; }
    const now = deps.now();
    const id = req.params.id;
    const e: DirectoryEntryUpdated = {
      eventId: deterministicId('sicantik.event', 'DirectoryEntryUpdated', id, now.toISOString()), occurredAt: now.getTime(), correlationId: `admin:${id}`, causationId: null,
      entryId: id, role: p.data.role, name: p.data.name, phone: phone.e164, jenisIzin: p.data.jenisIzin, active: p.data.active, zone: p.data.zone,
      subjectId: deps.subjectFor ? await deps.subjectFor(phone.e164) : null,
    };
    await deps.publishDirectory(e);
    // Applied here too, so the caller can rely on it at once; the topic stays the source of truth.
    deps.memory.putDirectory({ id, role: e.role, name: e.name, phone: e.phone, jenisIzin: e.jenisIzin, active: e.active, zone: p.data.zone, subjectId: e.subjectId ?? null });
    res.status(200).json({ id, role: e.role, name: e.name, jenisIzin: e.jenisIzin, active: e.active, zone: p.data.zone });
  });
  // Opt-in state of a number as the planner sees it (from contact.events).
  admin.get('/contacts/:phone', analyst, async (req, res) => {
    const phone = normalizePhone(req.params.phone, deps.phoneRules);
    if (!phone.ok) { res.status(400).json({ error: 'validation_failed', issues: [{ path: 'phone', message: phone.reason }] }); return; }
    const c = deps.memory.contact(phone.e164);
    const m = maskerOf(req);
    logPersonalRead(deps.logger, req, 1);
    res.json({ phone: m.phone(phone.e164), optedOut: c?.optedOut ?? false, since: c ? new Date(c.at).toISOString() : null, provider: c?.provider ?? null });
  });
  return app;
}
