import fc from 'fast-check';
import { fillSeed, seedTemplate } from '../../../test/support';
// The providers' parameter maps as an oracle that no provider receives a cleaned-away character.
import { allProviderParameters } from '@sicantik/providers';
import { CONSENT_TEMPLATES, DEFAULT_TEMPLATES, GENERIC_PARAMETERS, MissingVariableError, UNIVERSAL_TEMPLATES, cleanText, formatTanggal, render, sanitizeMetaParameter, usedVariables } from './index';

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

const SEED_000 = DEFAULT_TEMPLATES.filter((t) => !UNIVERSAL_TEMPLATES.includes(t) && !CONSENT_TEMPLATES.includes(t));

describe('every seed template', () => {
  const rowFields: Record<string, string[]> = { document_pending: ['jenis_izin', 'nama_pemohon', 'pendaftaran_id'], reminder: ['jenis_izin', 'nama_pemohon', 'waktu_pending'] };
  it.each(SEED_000.map((t) => [t.code, t] as const))('%s equals the seed text and declares exactly the variables it uses', (code, t) => {
    expect(usedVariables(t.body)).toEqual(t.variables);
    const scalars = t.variables.filter((v) => v !== 'dokumen');
    const sample = Object.fromEntries(scalars.map((n) => [n, `<${n}>`]));
    const row = Object.fromEntries((rowFields[code] ?? []).map((n) => [n, `<${n}>`]));
    const items = rowFields[code] ? [row] : [];
    expect(render(t, sample, items).text).toBe(fillSeed(seedTemplate(code), { ...sample, ...row }));
  });
});

describe('consent answers (issue 16)', () => {
  const byCode = (c: string) => CONSENT_TEMPLATES.find((t) => t.code === c)!;
  it('the four consent templates: Indonesian, utility, exactly their declared variables', () => {
    expect(CONSENT_TEMPLATES.map((t) => [t.code, t.language, t.category, usedVariables(t.body)])).toEqual([
      ['consent_opted_in', 'id', 'UTILITY', ['kontak_dpmptsp']],
      ['consent_opted_out', 'id', 'UTILITY', ['kontak_dpmptsp']],
      ['consent_help', 'id', 'UTILITY', ['kontak_dpmptsp']],
      ['consent_wrong_number_staff', 'id', 'UTILITY', ['nomor_pemohon', 'pendaftaran_id', 'jenis_izin', 'link_dashboard']],
    ]);
    for (const t of CONSENT_TEMPLATES) expect(usedVariables(t.body)).toEqual(t.variables);
  });
  it('the help answer says what the service is, how to stop, and the office\'s contact', () => {
    const r = render(byCode('consent_help'), { kontak_dpmptsp: '(0628) 20655' });
    expect(r.text).toContain('layanan notifikasi otomatis perizinan DPMPTSP Kabupaten Karo');
    expect(r.text).toContain('Balas BERHENTI untuk berhenti');
    expect(r.text).toContain('Pertanyaan: 📞 (0628) 20655');
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

describe('seed 004: universal templates with generic named parameters', () => {
  const byCode = (c: string) => DEFAULT_TEMPLATES.find((t) => t.code === c)!;
  it('the set (language id, utility; their Meta twins are in packages/providers) uses exactly its declared variables', () => {
    expect(UNIVERSAL_TEMPLATES.map((t) => [t.code, t.language, t.category])).toEqual([
      ['permit_reminder', 'id', 'UTILITY'],
      ['renewal_approved', 'id', 'UTILITY'],
      ['meta_opt_in_request', 'id', 'UTILITY'],
    ]);
    // No provider's name or mapping in a template definition.
    for (const t of DEFAULT_TEMPLATES) expect(Object.keys(t).sort()).toEqual(['body', 'category', 'code', 'language', 'variables', ...(t.version ? ['version'] : [])].sort());
    for (const t of UNIVERSAL_TEMPLATES) {
      expect(usedVariables(t.body)).toEqual(t.variables);
      for (const v of t.variables) expect(GENERIC_PARAMETERS[v]).toEqual(expect.any(String)); // every generic name has a SICANTIK source
    }
    expect(['permit_ready', 'status_update'].every((c) => DEFAULT_TEMPLATES.some((t) => t.code === c))).toBe(true);
  });
  it('permit_reminder renders from the planner\'s expiry-warning variables, in Meta order, with Indonesian dates', () => {
    const r = render(byCode('permit_reminder'), { nama_pemohon: 'Sari Br Karo', jenis_izin: 'PBG', no_surat: '503/8/2026', tanggal_berakhir: '2027-03-01', sisa_hari: '30', link_perpanjangan: 'https://p.test/x', kontak_dpmptsp: '(0628) 20655' });
    expect(r.text).toBe('⚠️ Peringatan Masa Berlaku Izin\n\nYth. Bapak/Ibu Sari Br Karo,\n\nIzin PBG Anda dengan No. Surat 503/8/2026 berlaku sampai 1 Maret 2027 (sisa 30 hari).\n\nAjukan perpanjangan:\n🔗 https://p.test/x\n\nHubungi kami:\n📞 (0628) 20655\n\nDPMPTSP Kabupaten Karo');
    expect(r.parameters.map((p) => p.value)).toEqual(['Sari Br Karo', 'PBG', '503/8/2026', '1 Maret 2027', '30', 'https://p.test/x', '(0628) 20655']);
  });
  it('renewal_approved and meta_opt_in_request render; a generic value given directly wins over its source', () => {
    const r = render(byCode('renewal_approved'), { nama_pemohon: 'Sari', jenis_izin: 'PBG', no_surat_baru: '503/9', tanggal_mulai: '2027-03-01', tanggal_berakhir: '2030-02-28', masa_berlaku: '3', link_download: 'https://d.test/b.pdf' });
    expect(r.text).toContain('📅 Berlaku: 1 Maret 2027 s/d 28 Februari 2030 (3 tahun)');
    const o = render(byCode('meta_opt_in_request'), { nama_pemohon: 'Sari', partner_name: 'Ibu Sari', pendaftaran_id: 'REG-1', link_opt_in: 'https://wa.me/6281100000000?text=MULAI' });
    expect(o.parameters).toEqual([{ name: 'partner_name', value: 'Ibu Sari' }, { name: 'registration_number', value: 'REG-1' }, { name: 'opt_in_link', value: 'https://wa.me/6281100000000?text=MULAI' }]);
    expect(() => render(byCode('meta_opt_in_request'), { nama_pemohon: 'Sari', pendaftaran_id: 'REG-1' })).toThrow('opt_in_link');
  });
});

describe('cleanText: control and invisible characters never reach the text or any provider parameter', () => {
  // A ZWJ is allowed only inside an emoji sequence: after a pictographic (with its skin tone or VS16) and before one.
  const ZWJ_IN_EMOJI = /(?<=\p{Extended_Pictographic}[\u{1F3FB}-\u{1F3FF}\uFE0F]?)\u200D(?=\p{Extended_Pictographic})/gu;
  const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Noncharacter_Code_Point}]/u;
  const family = '👨\u200D👩\u200D👧\u200D👦';

  it.each([
    ['NUL', 'Bu\u0000di', 'Budi'], ['zero-width space', 'Budi\u200BSembiring', 'BudiSembiring'], ['right-to-left override', '\u202EBudi Sembiring', 'Budi Sembiring'],
    ['BOM', '\uFEFFBudi', 'Budi'], ['soft hyphen', 'Sembi\u00ADring', 'Sembiring'], ['word joiner, LRM, RLM, isolates', 'B\u2060u\u200Ed\u200Fi\u2066\u2069', 'Budi'],
    ['C1 control', 'Bu\u009Bdi', 'Budi'], ['noncharacters and a lone surrogate', 'Bu\uFFFE\uFFFFd\uD800i\u{10FFFF}', 'Budi'],
    ['newline, CR, tab become one space', 'Budi\r\n\tSembiring', 'Budi Sembiring'], ['NEL and line separator too', 'Budi\u0085Sembiring\u2028Karo', 'Budi Sembiring Karo'],
    ['at most four spaces in a row, trimmed', '  Budi         Sembiring \n', 'Budi    Sembiring'], ['NFC', 'Jose\u0301', 'Jos\u00E9'],
    ['ZWJ outside an emoji sequence', 'Bu\u200Ddi 👨\u200D', 'Budi 👨'],
  ])('%s', (_what, input, want) => { expect(cleanText(input)).toBe(want); });

  it('keeps emoji sequences joined by ZWJ: a family, with skin tone, with VS16', () => {
    for (const e of [family, '👩🏽\u200D💻', '❤\uFE0F\u200D🔥', '🏳\uFE0F\u200D🌈']) expect(cleanText(`Keluarga ${e}`)).toBe(`Keluarga ${e}`);
  });

  it('keeps ordinary Indonesian text unchanged', () => {
    for (const t of ['Budi  Sembiring', 'Sari Br Karo', '503/123/DPMPTSP/2026', 'https://p.test/x?a=1&b=2', '(0628) 20655', 'Izin Usaha Mikro – PBG']) expect(cleanText(t)).toBe(t);
  });

  const specials = ['\u0000', '\u200B', '\u200D', '\u202E', '\uFEFF', '\u00AD', '\uFE0F', '\u{1F3FD}', '👨', '👩', '❤', 'a', ' ', '\n', '\t', '\uD83D', '\uDC68', '\u0301', '\uFFFF'];
  const text = fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 4 }), fc.constantFrom(...specials)), { maxLength: 30 }).map((xs) => xs.join(''));
  it('property: no Cc, Cf, lone surrogate or noncharacter remains except a ZWJ inside an emoji sequence; NFC; idempotent', () => {
    fc.assert(fc.property(text, (s) => {
      const out = cleanText(s);
      expect(out.replace(ZWJ_IN_EMOJI, '')).not.toMatch(FORBIDDEN);
      expect(out).not.toMatch(/ {5}/);
      expect(out).toBe(out.normalize('NFC'));
      expect(cleanText(out)).toBe(out);
    }), { numRuns: 500 });
  });

  it('property: Meta parameters obey the same rule, also when cut to the length cap', () => {
    fc.assert(fc.property(text, fc.integer({ min: 2, max: 40 }), (s, max) => {
      const out = sanitizeMetaParameter(s, max);
      expect(out.replace(ZWJ_IN_EMOJI, '')).not.toMatch(FORBIDDEN);
      expect(out.length).toBeLessThanOrEqual(max);
    }), { numRuns: 500 });
  });

  it('a render with such a name gives full text, Meta parameters and every provider\'s parameters without them', () => {
    const dirty = '\uFEFFBu\u0000di\u200B \u202ESembi\u00ADring\u2066\r\n';
    const r = render(permitReady, { ...vars, nama_pemohon: dirty, jenis_izin: `Izin\tUsaha ${family}` });
    expect(r.text).toBe(render(permitReady, { ...vars, nama_pemohon: 'Budi Sembiring', jenis_izin: `Izin Usaha ${family}` }).text);
    expect(r.parameters.slice(0, 2)).toEqual([{ name: 'nama_pemohon', value: 'Budi Sembiring' }, { name: 'jenis_izin', value: `Izin Usaha ${family}` }]);
    for (const [provider, map] of Object.entries(allProviderParameters(r.parameters))) {
      expect([provider, Object.values(map).filter((v) => v.replace(ZWJ_IN_EMOJI, '').match(FORBIDDEN))]).toEqual([provider, []]);
    }
    expect(allProviderParameters(r.parameters).meta!['1']).toBe('Budi Sembiring');
  });

  it('digest rows are cleaned too; template bodies keep their newlines', () => {
    const docPending = DEFAULT_TEMPLATES.find((t) => t.code === 'document_pending')!;
    const r = render(docPending, { jumlah: '1', link_dashboard: 'https://d.test' }, [{ jenis_izin: 'PBG\u0000', nama_pemohon: 'Sa\u200Bri\n', pendaftaran_id: '\u202EREG-2' }]);
    expect(r.text).toContain('1. PBG - Sari\n   No: REG-2\n');
    expect(r.parameters[1]).toEqual({ name: 'dokumen', value: 'PBG - Sari - REG-2' });
  });
});
