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
  it('converts status-change times to epoch millis', () => {
    const ev = toPermitEvent({ ...good, type: 'PermitStatusChanged', data: { status_lama: 'draft', status_baru: 'proses', changed_at: '2026-11-22T10:00:00+07:00' } });
    expect(ev.payload).toEqual({ type: 'PermitStatusChanged', status_lama: 'draft', status_baru: 'proses', changedAt: Date.parse('2026-11-22T03:00:00Z'), link_detail: null });
  });
});
