import type { TemplateDefinition } from './defaults';

////////// Consent answers (issue 16): what the planner's consent classifier sends
// Indonesian texts, free-form (UTILITY). A confirmation once per change of consent
// (opted in / opted out), one short answer to BANTUAN/HELP and unknown replies (at most
// once a day per number), and the staff notice when someone answers BUKAN SAYA. The
// office's contact is the planner's KONTAK_DPMPTSP; the texts are editable like every
// template (the renderer's admin API).

export const CONSENT_TEMPLATES: TemplateDefinition[] = [
  {
    code: 'consent_opted_in',
    body: '✅ Terima kasih, persetujuan Anda telah kami catat.\n\nAnda akan menerima notifikasi perizinan dari DPMPTSP Kabupaten Karo melalui WhatsApp. Untuk berhenti kapan saja, balas BERHENTI.\n\nInformasi: 📞 {{kontak_dpmptsp}}\n\nDPMPTSP Kabupaten Karo',
    variables: ['kontak_dpmptsp'],
    language: 'id',
    category: 'UTILITY',
  },
  {
    code: 'consent_opted_out',
    body: 'Anda telah berhenti menerima notifikasi WhatsApp dari DPMPTSP Kabupaten Karo. Untuk menerimanya lagi, balas MULAI.\n\nInformasi: 📞 {{kontak_dpmptsp}}\n\nDPMPTSP Kabupaten Karo',
    variables: ['kontak_dpmptsp'],
    language: 'id',
    category: 'UTILITY',
  },
  {
    code: 'consent_help',
    body: 'ℹ️ Ini layanan notifikasi otomatis perizinan DPMPTSP Kabupaten Karo (SICANTIK): kami mengabarkan status permohonan izin Anda. Pesan ini tidak dibaca petugas.\n\nBalas BERHENTI untuk berhenti, MULAI untuk menerima lagi, atau BUKAN SAYA jika nomor ini bukan milik pemohon.\n\nPertanyaan: 📞 {{kontak_dpmptsp}}\n\nDPMPTSP Kabupaten Karo',
    variables: ['kontak_dpmptsp'],
    language: 'id',
    category: 'UTILITY',
  },
  {
    code: 'consent_wrong_number_staff',
    body: '⚠️ Nomor Pemohon Mungkin Salah\n\nPemilik nomor {{nomor_pemohon}} membalas "bukan saya" atas pesan untuk permohonan berikut:\n📄 No: {{pendaftaran_id}}\n📋 Jenis: {{jenis_izin}}\n\nPesan ke nomor ini untuk permohonan tersebut dihentikan. Mohon periksa dan perbarui nomor pemohon:\n🔗 {{link_dashboard}}\n\nSICANTIK Companion',
    variables: ['nomor_pemohon', 'pendaftaran_id', 'jenis_izin', 'link_dashboard'],
    language: 'id',
    category: 'UTILITY',
  },
];
