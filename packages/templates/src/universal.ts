import type { TemplateDefinition } from './defaults';

////////// Seed 004: the universal template set and per-provider parameter formats
// Universal templates use generic named parameters ({{partner_name}},
// {{permit_number}}, ...) so one template serves every provider. The seed names
// the set (permit_reminder, renewal_approved, meta_opt_in_request, besides
// permit_ready and status_update, which seed 000 already defines) but gives no
// texts: the texts below are the project's, in the seed's style. Each provider's
// own template for a code (e.g. Meta's twin) is in packages/providers; parameters
// follow the variables' order.

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
    language: 'id',
    category: 'UTILITY',
  },
  {
    code: 'renewal_approved',
    body: '✅ Perpanjangan Izin Disetujui\n\nYth. Bapak/Ibu {{partner_name}},\n\nPerpanjangan izin {{permit_type}} Anda telah disetujui.\n📄 No. Surat Baru: {{new_permit_number}}\n📅 Berlaku: {{valid_from}} s/d {{valid_until}} ({{validity_years}} tahun)\n\nDownload dokumen:\n🔗 {{download_link}}\n\nDPMPTSP Kabupaten Karo',
    variables: ['partner_name', 'permit_type', 'new_permit_number', 'valid_from', 'valid_until', 'validity_years', 'download_link'],
    language: 'id',
    category: 'UTILITY',
  },
  {
    code: 'meta_opt_in_request',
    body: '📲 Notifikasi WhatsApp Resmi\n\nYth. Bapak/Ibu {{partner_name}},\n\nDPMPTSP Kabupaten Karo mengirim kabar perizinan Anda (No. {{registration_number}}) melalui WhatsApp resmi. Agar tetap menerimanya, aktifkan dengan membuka tautan berikut lalu kirim pesan MULAI:\n🔗 {{opt_in_link}}\n\nBalas BERHENTI kapan saja untuk berhenti menerima notifikasi.\n\nDPMPTSP Kabupaten Karo',
    variables: ['partner_name', 'registration_number', 'opt_in_link'],
    language: 'id',
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
