////////// Default templates: the exact texts of seed 000 (sicantik_whatsapp guide),
// with {var} written as Handlebars {{var}}. Variables are listed in first-use order,
// which is also the positional order of every provider's parameters ({{1}}, {{2}}, ...;
// each provider's own template for a code, e.g. Meta's twin, is in packages/providers).
// Digests (document_pending, reminder) list their rows with {{#each dokumen}}:
// one row gives exactly the seed text, more rows repeat the seed's row lines.

export interface TemplateDefinition {
  code: string;
  /** Version of the default; a seeded template older than this is replaced by it. */
  version?: number;
  body: string;
  variables: string[];
  /** Language of the text. */
  language: string;
  category: 'UTILITY' | 'MARKETING' | 'AUTHENTICATION';
}

import { CONSENT_TEMPLATES } from './consent';
import { UNIVERSAL_TEMPLATES } from './universal';

/** Seed 000's seven templates, then seed 004's universal ones (universal.ts), then the consent answers (consent.ts). */
export const DEFAULT_TEMPLATES: TemplateDefinition[] = [
  {
    code: "permit_ready",
    body: "Yth. Bapak/Ibu {{nama_pemohon}},\n\nPerizinan Anda telah selesai diproses:\n📋 Jenis: {{jenis_izin}}\n📄 No. Surat: {{no_surat}}\n📅 Tanggal: {{tanggal_terbit}}\n\nDokumen dapat diambil di kantor atau download:\n🔗 {{link_download}}\n\nVerifikasi dokumen: Scan QR code pada dokumen\n\nTerima kasih,\nDPMPTSP Kabupaten Karo",
    variables: ["nama_pemohon", "jenis_izin", "no_surat", "tanggal_terbit", "link_download"],
    language: 'id',
    category: 'UTILITY',
  },
  {
    code: "document_pending",
    version: 2,
    body: "🔔 Notifikasi Dokumen Baru\n\nAda {{jumlah}} dokumen menunggu tanda tangan digital:\n\n{{#each dokumen}}{{nomor @index}}. {{jenis_izin}} - {{nama_pemohon}}\n   No: {{pendaftaran_id}}\n{{/each}}\n\nSilakan proses melalui dashboard:\n🔗 {{link_dashboard}}\n\nSICANTIK Companion",
    variables: ["jumlah", "dokumen", "link_dashboard"],
    language: 'id',
    category: 'UTILITY',
  },
  {
    code: "approval_required",
    body: "🔐 Approval Required\n\nYth. {{nama_pejabat}},\n\nDokumen berikut memerlukan persetujuan Anda:\n📋 {{jenis_izin}}\n👤 Pemohon: {{nama_pemohon}}\n📄 No: {{no_surat}}\n\nApprove via:\n🔗 {{link_approval}}\n\nSICANTIK Companion",
    variables: ["nama_pejabat", "jenis_izin", "nama_pemohon", "no_surat", "link_approval"],
    language: 'id',
    category: 'UTILITY',
  },
  {
    code: "status_update",
    body: "📢 Update Status Perizinan\n\nNo: {{pendaftaran_id}}\nStatus: {{status_lama}} → {{status_baru}}\nWaktu: {{timestamp}}\n\nDetail: {{link_detail}}\n\nDPMPTSP Kab. Karo",
    variables: ["pendaftaran_id", "status_lama", "status_baru", "timestamp", "link_detail"],
    language: 'id',
    category: 'UTILITY',
  },
  {
    code: "reminder",
    version: 2,
    body: "⏰ Reminder: Dokumen Pending\n\n{{jumlah}} dokumen belum diproses:\n\n{{#each dokumen}}- {{jenis_izin}} ({{nama_pemohon}})\n  Pending sejak: {{waktu_pending}}\n{{/each}}\n\nSegera proses: {{link_dashboard}}\n\nSICANTIK Companion",
    variables: ["jumlah", "dokumen", "link_dashboard"],
    language: 'id',
    category: 'UTILITY',
  },
  {
    code: "permit_expiry_warning",
    body: "⚠️ Pengingat Masa Berlaku Izin\n\nYth. Bapak/Ibu {{nama_pemohon}},\n\nIzin Anda akan segera berakhir:\n📋 Jenis: {{jenis_izin}}\n📄 No. Surat: {{no_surat}}\n📅 Berlaku s/d: {{tanggal_berakhir}}\n⏰ Sisa waktu: {{sisa_hari}} hari\n\nSegera ajukan perpanjangan untuk menghindari:\n❌ Izin tidak berlaku\n❌ Sanksi administrasi\n❌ Proses ulang dari awal\n\nAjukan perpanjangan:\n🔗 {{link_perpanjangan}}\n\nHubungi kami:\n📞 {{kontak_dpmptsp}}\n\nDPMPTSP Kabupaten Karo",
    variables: ["nama_pemohon", "jenis_izin", "no_surat", "tanggal_berakhir", "sisa_hari", "link_perpanjangan", "kontak_dpmptsp"],
    language: 'id',
    category: 'UTILITY',
  },
  {
    code: "permit_renewal_approved",
    body: "✅ Perpanjangan Izin Disetujui\n\nYth. Bapak/Ibu {{nama_pemohon}},\n\nPerpanjangan izin Anda telah disetujui:\n📋 Jenis: {{jenis_izin}}\n📄 No. Surat Baru: {{no_surat_baru}}\n📅 Berlaku: {{tanggal_mulai}} s/d {{tanggal_berakhir}}\n🔄 Masa berlaku: {{masa_berlaku}} tahun\n\nDokumen perpanjangan dapat diambil di kantor atau download:\n🔗 {{link_download}}\n\nVerifikasi dokumen: Scan QR code pada dokumen\n\nTerima kasih atas kepatuhan Anda.\n\nDPMPTSP Kabupaten Karo",
    variables: ["nama_pemohon", "jenis_izin", "no_surat_baru", "tanggal_mulai", "tanggal_berakhir", "masa_berlaku", "link_download"],
    language: 'id',
    category: 'UTILITY',
  },
  ...UNIVERSAL_TEMPLATES,
  ...CONSENT_TEMPLATES,
];
