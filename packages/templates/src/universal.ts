import type { TemplateDefinition } from './defaults';
import { PROVIDER_NAMES, type ProviderName } from '@sicantik/providers';

////////// Seed 004: the universal template set and per-provider parameter formats
// Universal templates use generic named parameters ({{partner_name}},
// {{permit_number}}, ...) so one template serves every provider. The seed names
// the set (permit_reminder, renewal_approved, meta_opt_in_request, besides
// permit_ready and status_update, which seed 000 already defines) but gives no
// texts: the texts below are the project's, in the seed's style. Each has a Meta
// twin (name, language id, category utility); its parameter order is the
// variables' order.

/** Generic parameter -> the planner's (SICANTIK) variable it is filled from. */
export const GENERIC_PARAMETERS: Readonly<Record<string, string>> = {
  partner_name: 'nama_pemohon',
  permit_type: 'jenis_izin',
  permit_number: 'no_surat',
  registration_number: 'pendaftaran_id',
  expiry_date: 'tanggal_berakhir',
  days_remaining: 'sisa_hari',
  renewal_link: 'link_perpanjangan',
  office_contact: 'kontak_dpmptsp',
  new_permit_number: 'no_surat_baru',
  valid_from: 'tanggal_mulai',
  valid_until: 'tanggal_berakhir',
  validity_years: 'masa_berlaku',
  download_link: 'link_download',
  opt_in_link: 'link_opt_in',
};

export const UNIVERSAL_TEMPLATES: TemplateDefinition[] = [
  {
    code: 'permit_reminder',
    body: '⚠️ Peringatan Masa Berlaku Izin\n\nYth. Bapak/Ibu {{partner_name}},\n\nIzin {{permit_type}} Anda dengan No. Surat {{permit_number}} berlaku sampai {{expiry_date}} (sisa {{days_remaining}} hari).\n\nAjukan perpanjangan:\n🔗 {{renewal_link}}\n\nHubungi kami:\n📞 {{office_contact}}\n\nDPMPTSP Kabupaten Karo',
    variables: ['partner_name', 'permit_type', 'permit_number', 'expiry_date', 'days_remaining', 'renewal_link', 'office_contact'],
    metaTemplateName: 'sicantik_permit_reminder',
    metaLanguage: 'id',
    category: 'UTILITY',
  },
  {
    code: 'renewal_approved',
    body: '✅ Perpanjangan Izin Disetujui\n\nYth. Bapak/Ibu {{partner_name}},\n\nPerpanjangan izin {{permit_type}} Anda telah disetujui.\n📄 No. Surat Baru: {{new_permit_number}}\n📅 Berlaku: {{valid_from}} s/d {{valid_until}} ({{validity_years}} tahun)\n\nDownload dokumen:\n🔗 {{download_link}}\n\nDPMPTSP Kabupaten Karo',
    variables: ['partner_name', 'permit_type', 'new_permit_number', 'valid_from', 'valid_until', 'validity_years', 'download_link'],
    metaTemplateName: 'sicantik_renewal_approved',
    metaLanguage: 'id',
    category: 'UTILITY',
  },
  {
    code: 'meta_opt_in_request',
    body: '📲 Notifikasi WhatsApp Resmi\n\nYth. Bapak/Ibu {{partner_name}},\n\nDPMPTSP Kabupaten Karo mengirim kabar perizinan Anda (No. {{registration_number}}) melalui WhatsApp resmi. Agar tetap menerimanya, aktifkan dengan membuka tautan berikut lalu kirim pesan MULAI:\n🔗 {{opt_in_link}}\n\nBalas BERHENTI kapan saja untuk berhenti menerima notifikasi.\n\nDPMPTSP Kabupaten Karo',
    variables: ['partner_name', 'registration_number', 'opt_in_link'],
    metaTemplateName: 'sicantik_meta_opt_in_request',
    metaLanguage: 'id',
    category: 'UTILITY',
  },
];

/** Values for a template's variables: given by name, or by the SICANTIK variable a generic name stands for. */
export function resolveVariables(names: readonly string[], variables: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { ...variables };
  for (const n of names) {
    if (out[n] !== undefined && out[n] !== null) continue;
    const src = GENERIC_PARAMETERS[n];
    if (src !== undefined && variables[src] !== undefined && variables[src] !== null) out[n] = variables[src]!;
  }
  return out;
}

////////// Per-provider parameter formats (seed 004 and PROVIDERS.md)
// One entry per provider of the closed list in @sicantik/providers. Every format keeps
// the template's parameter order and is a flat string map, so one Avro field (map of
// maps) carries them all:
// - fonnte: "var1", "var2", ... ({var1} placeholders in the message);
// - every other provider: positional "1", "2", ... (Meta {{1}}; Twilio
//   ContentVariables; Bird's platform API and Vonage take the values as a list in that
//   order; Watzap {"1": ..}).
// The dispatcher builds each provider's request from the generic parameters itself
// (packages/providers); these maps show operators what each provider receives.

export function providerParameters(provider: ProviderName, params: readonly { name: string; value: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  params.forEach((p, i) => { out[provider === 'fonnte' ? `var${i + 1}` : String(i + 1)] = p.value; });
  return out;
}

export function allProviderParameters(params: readonly { name: string; value: string }[]): Record<string, Record<string, string>> {
  return Object.fromEntries(PROVIDER_NAMES.map((p) => [p, providerParameters(p, params)]));
}

/** Positional values of a provider map back in order ("1".."n" or "var1".."varn"). */
export function positionalValues(map: Record<string, string>): string[] {
  const idx = (k: string) => Number(k.replace(/^var/, ''));
  return Object.keys(map).filter((k) => /^(var)?\d+$/.test(k)).sort((a, b) => idx(a) - idx(b)).map((k) => map[k]!);
}
