import Handlebars from 'handlebars';
import { ValidationError } from '@sicantik/core';
import type { TemplateEvent } from '@sicantik/schemas';
import { providerTemplateIssues } from '@sicantik/providers';
import { DEFAULT_TEMPLATES, templateVariables } from '@sicantik/templates';

////////// Checks a template edit before it is saved (pure)
// A seed template's variables are what the planner provides for its scenario:
// an edit may not use a variable the planner never sends (it could not render)
// nor drop one (the message would lose information). A new template declares
// its variables, and its body must use exactly those.

export interface TemplateInput {
  body: string;
  variables?: string[];
  /** Each provider's own template for the code, by provider name (its deprecated aliases already folded in). */
  providerTemplates?: Record<string, string>;
  category?: string;
}

export function validateTemplate(code: string, input: TemplateInput, current: TemplateEvent | undefined): { variables: string[] } {
  const issues: { path: string; message: string }[] = [];
  if (!/^[a-z][a-z0-9_]{2,63}$/.test(code)) issues.push({ path: 'code', message: 'must be 3-64 characters: lower-case letters, digits, _' });
  let used: { name: string; list: boolean }[] = [];
  try {
    Handlebars.precompile(input.body, { strict: true });
    used = templateVariables(input.body);
  } catch (e) {
    issues.push({ path: 'body', message: `not a valid template: ${(e as Error).message.split('\n')[0]}` });
  }
  if (issues.length) throw new ValidationError('invalid template', issues);
  const names = used.map((u) => u.name);
  const seed = DEFAULT_TEMPLATES.find((d) => d.code === code);
  const required = seed?.variables ?? input.variables ?? current?.variables;
  if (!required) throw new ValidationError('invalid template', [{ path: 'variables', message: 'a new template must declare its variables' }]);
  const unknown = names.filter((n) => !required.includes(n));
  const missing = required.filter((r) => !names.includes(r));
  if (unknown.length) issues.push({ path: 'body', message: `unknown variable(s): ${unknown.join(', ')} (known: ${required.join(', ')})` });
  if (missing.length) issues.push({ path: 'body', message: `missing required variable(s): ${missing.join(', ')}` });
  // Each provider's own rules for its template names (packages/providers).
  issues.push(...providerTemplateIssues(input.providerTemplates ?? {}));
  if (issues.length) throw new ValidationError('invalid template', issues);
  return { variables: names };
}

/** Sample values for previews, by variable name. */
export const SAMPLE: Record<string, string> = {
  nama_pemohon: 'Budi Sembiring', jenis_izin: 'Izin Usaha Mikro', no_surat: '503/123/DPMPTSP/2026', tanggal_terbit: '2026-11-22',
  link_download: 'https://sicantik.karokab.go.id/izin/REG-2026-000123.pdf', jumlah: '1', pendaftaran_id: 'REG-2026-000123',
  link_dashboard: 'https://sicantik.karokab.go.id/dashboard', nama_pejabat: 'Drs. Kepala Dinas', link_approval: 'https://sicantik.karokab.go.id/approve/123',
  status_lama: 'Verifikasi', status_baru: 'Survey Lapangan', timestamp: '22 November 2026 09.30 WIB', link_detail: 'https://sicantik.karokab.go.id/dashboard/REG-2026-000123',
  waktu_pending: '1 hari 2 jam', tanggal_berakhir: '2027-02-20', sisa_hari: '90', link_perpanjangan: 'https://sicantik.karokab.go.id/perpanjangan',
  kontak_dpmptsp: '(0628) 20655', link_opt_in: 'https://wa.me/6281100000000?text=MULAI', no_surat_baru: '503/124/DPMPTSP/2027', tanggal_mulai: '2027-02-21', masa_berlaku: '3',
};
export const SAMPLE_ROW = { jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi Sembiring', pendaftaran_id: 'REG-2026-000123', waktu_pending: '1 hari 2 jam' };
