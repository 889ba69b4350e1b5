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
  it.each(DEFAULT_TEMPLATES.map((t) => [t.code, t] as const))('%s equals the seed text and declares exactly the variables it uses', (code, t) => {
    const names = usedVariables(t.body);
    expect(names).toEqual(t.variables);
    const sample = Object.fromEntries(names.map((n) => [n, `<${n}>`]));
    expect(render(t, sample).text).toBe(fillSeed(seedTemplate(code), sample));
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
