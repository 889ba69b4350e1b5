import fc from 'fast-check';
import { fillSeed, seedTemplate } from '../../../test/support';
import { DEFAULT_TEMPLATES, MissingVariableError, formatTanggal, render, sanitizeMetaParameter, usedVariables } from './index';

const permitReady = DEFAULT_TEMPLATES.find((t) => t.code === 'permit_ready')!;
const vars = {
  nama_pemohon: 'Budi Sembiring', jenis_izin: 'Izin Usaha Mikro', no_surat: '503/123/DPMPTSP/2026',
  tanggal_terbit: '2026-11-22', link_download: 'https://sicantik.karokab.go.id/izin/REG-1.pdf',
};

describe('permit_ready', () => {
  it('renders exactly the seed text', () => {
    const expected = fillSeed(seedTemplate('permit_ready'), { ...vars, tanggal_terbit: '22 November 2026' });
    expect(render(permitReady, vars).text).toBe(expected);
  });
  it('gives Meta parameters in the template variable order', () => {
    expect(render(permitReady, vars).parameters).toEqual([
      { name: 'nama_pemohon', value: 'Budi Sembiring' }, { name: 'jenis_izin', value: 'Izin Usaha Mikro' },
      { name: 'no_surat', value: '503/123/DPMPTSP/2026' }, { name: 'tanggal_terbit', value: '22 November 2026' },
      { name: 'link_download', value: 'https://sicantik.karokab.go.id/izin/REG-1.pdf' },
    ]);
  });
  it('rejects a request that misses a variable, naming it', () => {
    const { link_download: _l, ...partial } = vars;
    expect(() => render(permitReady, partial)).toThrow(MissingVariableError);
    expect(() => render(permitReady, partial)).toThrow('link_download');
  });
});

describe('every seed template', () => {
  const rowFields: Record<string, string[]> = { document_pending: ['jenis_izin', 'nama_pemohon', 'pendaftaran_id'], reminder: ['jenis_izin', 'nama_pemohon', 'waktu_pending'] };
  it.each(DEFAULT_TEMPLATES.map((t) => [t.code, t] as const))('%s equals the seed text and declares exactly the variables it uses', (code, t) => {
    expect(usedVariables(t.body)).toEqual(t.variables);
    const scalars = t.variables.filter((v) => v !== 'dokumen');
    const sample = Object.fromEntries(scalars.map((n) => [n, `<${n}>`]));
    const row = Object.fromEntries((rowFields[code] ?? []).map((n) => [n, `<${n}>`]));
    const items = rowFields[code] ? [row] : [];
    expect(render(t, sample, items).text).toBe(fillSeed(seedTemplate(code), { ...sample, ...row }));
  });
});

describe('digests', () => {
  const docPending = DEFAULT_TEMPLATES.find((t) => t.code === 'document_pending')!;
  const rows = [
    { jenis_izin: 'Izin Usaha Mikro', nama_pemohon: 'Budi', pendaftaran_id: 'REG-1' },
    { jenis_izin: 'PBG', nama_pemohon: 'Sari', pendaftaran_id: 'REG-2' },
  ];
  it('lists every document, numbered, in one message', () => {
    const r = render(docPending, { jumlah: '2', link_dashboard: 'https://d.test' }, rows);
    expect(r.text).toBe('🔔 Notifikasi Dokumen Baru\n\nAda 2 dokumen menunggu tanda tangan digital:\n\n1. Izin Usaha Mikro - Budi\n   No: REG-1\n2. PBG - Sari\n   No: REG-2\n\nSilakan proses melalui dashboard:\n🔗 https://d.test\n\nSICANTIK Companion');
    expect(r.parameters).toEqual([{ name: 'jumlah', value: '2' }, { name: 'dokumen', value: 'Izin Usaha Mikro - Budi - REG-1; PBG - Sari - REG-2' }, { name: 'link_dashboard', value: 'https://d.test' }]);
  });
  it('a digest with no rows is a missing variable', () => {
    expect(() => render(docPending, { jumlah: '0', link_dashboard: 'x' }, [])).toThrow('dokumen');
  });
});

describe('Indonesian dates', () => {
  it.each([['2026-11-22', '22 November 2026'], ['2024-02-29', '29 Februari 2024'], ['2026-08-17', '17 Agustus 2026']])('%s -> %s', (iso, id) => {
    expect(formatTanggal(iso)).toBe(id);
  });
});

describe('Meta parameter sanitising', () => {
  it('property: never newlines/tabs, never more than four spaces in a row, bounded length', () => {
    fc.assert(fc.property(fc.string({ maxLength: 2000 }), (s) => {
      const out = sanitizeMetaParameter(s);
      expect(out).not.toMatch(/[\n\r\t]/);
      expect(out).not.toMatch(/ {5}/);
      expect(out.length).toBeLessThanOrEqual(1024);
    }));
  });
  it('keeps ordinary text unchanged', () => {
    expect(sanitizeMetaParameter('Budi  Sembiring')).toBe('Budi  Sembiring');
    expect(sanitizeMetaParameter('a\n\tb       c')).toBe('a b    c');
  });
});
