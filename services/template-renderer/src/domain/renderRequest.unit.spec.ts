import type { NotificationRequested, TemplateEvent } from '@sicantik/schemas';
import { DEFAULT_TEMPLATES } from '@sicantik/templates';
import { renderRequest } from './renderRequest';

////////// The rendered event: control and invisible characters in a variable reach neither the text nor any provider's parameters

const t = DEFAULT_TEMPLATES.find((x) => x.code === 'permit_ready')!;
const template: TemplateEvent = { eventId: 't', occurredAt: 0, correlationId: 'c', causationId: null, ...t, version: 1, active: true, providerTemplates: { meta: 'sicantik_permit_ready' }, metaTemplateName: 'sicantik_permit_ready' };
const request = (nama_pemohon: string): NotificationRequested => ({
  eventId: 'q-1', occurredAt: Date.parse('2026-11-22T02:00:00Z'), correlationId: 'c', causationId: null, notificationId: 'n-1', scenario: 'permit_ready', templateCode: 'permit_ready',
  pendaftaran_id: 'REG-1', recipient: { kind: 'APPLICANT', id: 'REG-1', name: nama_pemohon, phone: '+6281234567890' }, locale: 'id', items: [],
  variables: { nama_pemohon, jenis_izin: 'PBG', no_surat: '503/1', tanggal_terbit: '2026-11-22', link_download: 'https://d.test/1.pdf' },
});

describe('rendered event', () => {
  it('a name with NUL, zero-width space, RTL override, BOM and soft hyphen is rendered and sent to every provider without them', () => {
    const e = renderRequest(request('\uFEFFBu\u0000di\u200B Sembi\u00ADring\u202E'), template);
    const clean = renderRequest(request('Budi Sembiring'), template);
    expect(e.outcome).toBe('RENDERED');
    expect(e.text).toBe(clean.text);
    expect(e.text).toContain('Budi Sembiring');
    expect(e.parameters).toEqual(clean.parameters);
    expect(e.providerParameters).toEqual(clean.providerParameters);
    expect(e.providerParameters?.meta).toMatchObject({ 1: 'Budi Sembiring' });
    const values = Object.values(e.providerParameters ?? {}).flatMap((m) => Object.values(m));
    expect(values.filter((v) => /[\p{Cc}\p{Cf}]/u.test(v))).toEqual([]);
    expect(e.text).not.toMatch(/[\u0000\u200B\u202E\uFEFF\u00AD]/);
  });

  it('is provider-neutral: the text\'s language from the template, no provider\'s template name (a failed render too)', () => {
    const e = renderRequest(request('Budi'), { ...template, language: 'en_US' });
    expect(e).toMatchObject({ outcome: 'RENDERED', language: 'en_US' });
    expect(Object.keys(e).filter((k) => /meta/i.test(k))).toEqual([]);
    expect(renderRequest(request('Budi'), template).language).toBe('id');
    const failed = renderRequest(request('Budi'), { ...template, active: false });
    expect(failed).toMatchObject({ outcome: 'FAILED', language: 'id' });
    expect(Object.keys(failed).filter((k) => /meta/i.test(k))).toEqual([]);
    expect(renderRequest(request('Budi'), undefined)).toMatchObject({ outcome: 'FAILED', language: 'id' });
  });
});

describe('timing and subject pass through (issue 16)', () => {
  const timed: NotificationRequested = {
    ...request('Budi'), recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi', phone: '+6281234567890', subjectId: 'subj-1' },
    notBefore: Date.parse('2026-12-08T00:00:00Z'), deferReason: 'QUIET_HOURS', supersedeKey: 'status:REG-1:APPLICANT:REG-1:1796652000000', staleAfter: Date.parse('2027-01-06T16:59:59.999Z'),
  };
  const copied = { notBefore: Date.parse('2026-12-08T00:00:00Z'), deferReason: 'QUIET_HOURS', supersedeKey: 'status:REG-1:APPLICANT:REG-1:1796652000000', staleAfter: Date.parse('2027-01-06T16:59:59.999Z') };
  it('a rendered notification carries the request\'s notBefore, deferReason, supersedeKey, staleAfter and recipient subjectId', () => {
    const e = renderRequest(timed, template);
    expect(e).toMatchObject({ outcome: 'RENDERED', ...copied });
    expect(e.recipient.subjectId).toBe('subj-1');
  });
  it('so does a failed one (the dispatcher records it with the same timing)', () => {
    expect(renderRequest(timed, undefined)).toMatchObject({ outcome: 'FAILED', ...copied, recipient: { subjectId: 'subj-1' } });
  });
  it('a request written before issue 16 (no such fields) renders with them null', () => {
    expect(renderRequest(request('Budi'), template)).toMatchObject({ notBefore: null, deferReason: null, supersedeKey: null, staleAfter: null });
  });
});
