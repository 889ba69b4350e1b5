import { ValidationError } from '@sicantik/core';
import { toPermitEvent } from './validate';

const good = {
  event_id: 'sicantik-evt-0001', type: 'PermitIssued', occurred_at: '2026-11-22T09:00:00+07:00', pendaftaran_id: 'REG-1',
  data: { no_surat: '503/1', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', telepon_pemohon: '0812-3456-7890', tanggal_terbit: '2026-11-22', link_download: 'https://x.test/a.pdf' },
};
const issuesOf = (body: unknown) => {
  try { toPermitEvent(body); } catch (e) { if (e instanceof ValidationError) return e.issues; throw e; }
  throw new Error('expected a validation error');
};

describe('ingest validation', () => {
  it('builds the event with defaults', () => {
    expect(toPermitEvent(good)).toEqual({
      eventId: 'sicantik-evt-0001', occurredAt: Date.parse('2026-11-22T02:00:00Z'), correlationId: 'sicantik-evt-0001', causationId: null,
      source: 'sicantik', pendaftaran_id: 'REG-1',
      payload: { type: 'PermitIssued', ...good.data, tanggal_berakhir: null },
    });
  });
  it.each([
    [{ ...good, event_id: undefined }, 'event_id'],
    [{ ...good, type: 'Nope' }, 'type'],
    [{ ...good, occurred_at: '22/11/2026' }, 'occurred_at'],
    [{ ...good, data: { ...good.data, tanggal_terbit: '2026-02-30x' } }, 'data.tanggal_terbit'],
    [{ ...good, data: { ...good.data, link_download: 'ftp://x' } }, 'data.link_download'],
    [{ ...good, data: { ...good.data, no_surat: '' } }, 'data.no_surat'],
    [{ ...good, data: { ...good.data, extra: 1 } }, 'data'],
  ])('names the bad field (%#: %s)', (body, path) => {
    expect(issuesOf(body).map((i) => i.path)).toContain(path);
  });
  it('rejects unknown top-level fields, naming them', () => {
    const issues = issuesOf({ ...good, foo: 1 });
    expect(issues).toEqual([{ path: '(body)', message: expect.stringContaining('"foo"') }]);
  });

  ////////// The applicant's phone is data: whatever upstream typed is published (the planner decides)
  const phoneOf = (telepon_pemohon: unknown) => (toPermitEvent({ ...good, data: { ...good.data, telepon_pemohon } }).payload as { telepon_pemohon: string | null }).telepon_pemohon;
  it.each([
    ['abc', 'abc'], ['08123', '08123'], ['(0628) 20655', '(0628) 20655'], ['  0812-3456-7890 ', '0812-3456-7890'],
    ['', null], ['   ', null], [null, null], [undefined, null],
  ])('accepts the phone %j as %j', (input, out) => {
    expect(phoneOf(input)).toBe(out);
  });
  it('accepts any phone string in ApplicantContactChanged and PermitRegistered', () => {
    expect(toPermitEvent({ ...good, type: 'ApplicantContactChanged', data: { telepon_pemohon: 'abc' } }).payload).toEqual({ type: 'ApplicantContactChanged', nama_pemohon: null, telepon_pemohon: 'abc' });
    expect(toPermitEvent({ ...good, type: 'PermitRegistered', data: { jenis_izin: 'PBG', nama_pemohon: 'Budi', telepon_pemohon: ' ', status: 'Baru' } }).payload).toMatchObject({ telepon_pemohon: null });
  });
  it.each([
    [12345, 'must be a string or null'],
    [{ no: '0812' }, 'must be a string or null'],
    ['0'.repeat(65), 'is too long (at most 64 characters)'],
  ])('rejects the phone %j with an accurate message', (telepon_pemohon, message) => {
    expect(issuesOf({ ...good, data: { ...good.data, telepon_pemohon } })).toEqual([{ path: 'data.telepon_pemohon', message }]);
  });
  it('never calls a phone "too short"', () => {
    for (const telepon_pemohon of ['abc', '08123', '', 'x', 12345, '0'.repeat(65)]) {
      let messages: string[] = [];
      try { toPermitEvent({ ...good, data: { ...good.data, telepon_pemohon } }); } catch (e) { messages = (e as ValidationError).issues.map((i) => i.message); }
      expect(messages.filter((m) => /too short/.test(m))).toEqual([]);
    }
  });

  it('converts status-change times to epoch millis', () => {
    const ev = toPermitEvent({ ...good, type: 'PermitStatusChanged', data: { status_lama: 'draft', status_baru: 'proses', changed_at: '2026-11-22T10:00:00+07:00' } });
    expect(ev.payload).toEqual({ type: 'PermitStatusChanged', status_lama: 'draft', status_baru: 'proses', changedAt: Date.parse('2026-11-22T03:00:00Z'), link_detail: null });
  });
});
