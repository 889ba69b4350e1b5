import { ValidationError } from '@sicantik/core';
import { DEFAULT_TEMPLATES } from '@sicantik/templates';
import { validateTemplate } from './validateTemplate';

const issues = (f: () => unknown) => { try { f(); } catch (e) { if (e instanceof ValidationError) return e.issues; throw e; } throw new Error('expected a validation error'); };
const permitReady = DEFAULT_TEMPLATES.find((t) => t.code === 'permit_ready')!;

describe('template edits', () => {
  it('accepts a rewording that keeps every variable, in its new order', () => {
    expect(validateTemplate('permit_ready', { body: 'Halo {{nama_pemohon}}: {{no_surat}} {{jenis_izin}} {{tanggal_terbit}} {{link_download}}' }, undefined)).toEqual({ variables: ['nama_pemohon', 'no_surat', 'jenis_izin', 'tanggal_terbit', 'link_download'] });
  });
  it('rejects an unknown variable and a missing required one, naming them', () => {
    expect(issues(() => validateTemplate('permit_ready', { body: `${permitReady.body} {{nomor_hp}}` }, undefined))).toEqual([{ path: 'body', message: expect.stringMatching(/^unknown variable\(s\): nomor_hp/) }]);
    expect(issues(() => validateTemplate('permit_ready', { body: 'Halo {{nama_pemohon}}' }, undefined))).toEqual([{ path: 'body', message: 'missing required variable(s): jenis_izin, no_surat, tanggal_terbit, link_download' }]);
  });
  it('checks each provider\'s template name by that provider\'s rules (packages/providers), and the provider names', () => {
    expect(validateTemplate('permit_ready', { body: permitReady.body, providerTemplates: { meta: 'sicantik_permit_ready_v2', twilio: 'HX0123' } }, undefined)).toEqual({ variables: permitReady.variables });
    expect(issues(() => validateTemplate('permit_ready', { body: permitReady.body, providerTemplates: { meta: 'Permit Ready', sms: 'x' } }, undefined))).toEqual([
      { path: 'providerTemplates.meta', message: 'Meta template names are lower-case letters, digits and _' },
      { path: 'providerTemplates.sms', message: 'not a provider (one of meta, twilio, bird, vonage, fonnte, watzap)' },
    ]);
  });
  it('rejects broken syntax and bad codes', () => {
    expect(issues(() => validateTemplate('permit_ready', { body: 'Halo {{nama_pemohon' }, undefined))[0]!.message).toMatch(/^not a valid template/);
    expect(issues(() => validateTemplate('Bad Code', { body: 'x' }, undefined))[0]!.path).toBe('code');
  });
  it('a new template must declare its variables and use exactly them', () => {
    expect(issues(() => validateTemplate('info_umum', { body: 'Halo {{nama}}' }, undefined))).toEqual([{ path: 'variables', message: 'a new template must declare its variables' }]);
    expect(validateTemplate('info_umum', { body: 'Halo {{nama}}', variables: ['nama'] }, undefined)).toEqual({ variables: ['nama'] });
  });
});
