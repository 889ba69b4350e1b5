#!/usr/bin/env node
// Field encryption cost (issue 16: "the encryption costs at most 0.2 ms of CPU per event and
// no extra database command"). CPU per event of encode + decode of a typical
// notification.rendered (and a permit.events PermitIssued) through SchemaCodec without and
// with the personal-data hook (@sicantik/privacy's PersonalData), in the same run, in
// alternating rounds; prints both, the difference and the ratio.
// After `npm run build`, with the stack's schema registry running (encode needs registered
// schema ids; nothing is written to Kafka):
//   node bench/privacy.bench.js
//   EVENTS=20000 ROUNDS=5 SUBJECTS=1000 node bench/privacy.bench.js
// The hook's keys come from a map of SUBJECTS unwrapped keys: what KeyRing.keyOf returns once
// a subject's key is cached (a Map lookup). The hot path does no I/O at all (no database
// command, no Kafka request): a miss costs one catch-up read of subject.keys, once per subject
// and process, not measured here.
require('./help')(__filename);
const { randomBytes } = require('node:crypto');
const { SchemaCodec } = require('@sicantik/schemas');
const { PersonalData, dataKeyOf } = require('@sicantik/privacy');

const EVENTS = Number(process.env.EVENTS ?? 20000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SUBJECTS = Number(process.env.SUBJECTS ?? 1000);
const REGISTRY = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const say = (m) => process.stderr.write(`[privacy ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

const subjects = Array.from({ length: SUBJECTS }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
const keys = new Map(subjects.map((s) => [s, dataKeyOf(randomBytes(32))]));
const ring = { keyOf: (s) => keys.get(s), state: (s) => (keys.has(s) ? 'live' : 'erased'), resolve: async (s) => (keys.has(s) ? 'live' : 'erased') };

const name = 'Budi Santoso Sembiring';
const phone = '+6281234567890';
/** A permit_ready notification as the renderer writes it: the seed's text, five parameters, three providers' formats. */
function rendered(i) {
  const params = [['nama_pemohon', name], ['no_surat', `503/${i}/DPMPTSP/2026`], ['jenis_izin', 'Izin Usaha Mikro'], ['tanggal_terbit', '22 November 2026'], ['link_download', `https://sicantik.karokab.go.id/d/${i}.pdf`]];
  return {
    eventId: `e-${i}`, occurredAt: 1_796_000_000_000 + i, correlationId: `c-${i}`, causationId: `p-${i}`, notificationId: `n-${i}`, scenario: 'permit_ready', templateCode: 'permit_ready', templateVersion: 3,
    pendaftaran_id: `REG-${i}`, recipient: { kind: 'APPLICANT', id: `REG-${i}`, name, phone, subjectId: subjects[i % SUBJECTS] }, outcome: 'RENDERED',
    text: `Yth. ${name},\n\nIzin Anda telah terbit dan siap diunduh.\n\nNo. Surat: 503/${i}/DPMPTSP/2026\nJenis Izin: Izin Usaha Mikro\nTanggal Terbit: 22 November 2026\n\nUnduh: https://sicantik.karokab.go.id/d/${i}.pdf\n\nTerima kasih.\nDPMPTSP Kabupaten Karo`,
    parameters: params.map(([n, value]) => ({ name: n, value })), language: 'id', failureReason: null,
    providerParameters: { meta: Object.fromEntries(params.map(([, v], j) => [String(j + 1), v])), watzap: Object.fromEntries(params.map(([, v], j) => [String(j + 1), v])), fonnte: Object.fromEntries(params.map(([, v], j) => [`var${j + 1}`, v])) },
    notBefore: null, deferReason: null, supersedeKey: null, staleAfter: null,
  };
}
function permit(i) {
  return { eventId: `pe-${i}`, occurredAt: 1_796_000_000_000 + i, correlationId: `c-${i}`, causationId: null, source: 'sicantik', pendaftaran_id: `REG-${i}`, subjectId: subjects[i % SUBJECTS],
    payload: { type: 'PermitIssued', no_surat: `503/${i}`, jenis_izin: 'IUM', nama_pemohon: name, telepon_pemohon: phone, tanggal_terbit: '2026-11-22', link_download: `https://x.test/${i}.pdf`, tanggal_berakhir: null } };
}

function cpuMs(fn) {
  const t0 = process.cpuUsage();
  fn();
  const u = process.cpuUsage(t0);
  return (u.user + u.system) / 1000;
}

async function main() {
  const prefix = `bench-privacy-${randomBytes(3).toString('hex')}.`;
  const plain = new SchemaCodec({ registryUrl: REGISTRY, topicPrefix: prefix });
  const hooked = new SchemaCodec({ registryUrl: REGISTRY, topicPrefix: prefix, personalData: new PersonalData(ring) });
  await plain.register(['notification.rendered', 'permit.events']);
  await hooked.register(['notification.rendered', 'permit.events']);
  const results = [];
  for (const [topic, make] of [['notification.rendered', rendered], ['permit.events', permit]]) {
    const values = Array.from({ length: EVENTS }, (_, i) => make(i));
    // Warm up (JIT, writer schemas, resolvers); check the hook round trips and hides the plaintext.
    for (const codec of [plain, hooked]) {
      for (let i = 0; i < 2000; i++) await codec.decode(topic, codec.encode(topic, values[i % EVENTS]));
    }
    const sample = hooked.encode(topic, values[1]);
    if (sample.includes(Buffer.from(phone)) || sample.includes(Buffer.from(name))) throw new Error('plaintext in the encrypted record');
    if (JSON.stringify(hooked.decodeKnown(topic, sample)) !== JSON.stringify(plain.decodeKnown(topic, plain.encode(topic, values[1])))) throw new Error('round trip differs');
    const run = (codec) => cpuMs(() => { for (const v of values) codec.decodeKnown(topic, codec.encode(topic, v)); });
    const off = [];
    const on = [];
    for (let r = 0; r < ROUNDS; r++) { off.push(run(plain) / EVENTS); on.push(run(hooked) / EVENTS); }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const o = median(off);
    const h = median(on);
    const bytes = [plain.encode(topic, values[1]).length, hooked.encode(topic, values[1]).length];
    results.push({ topic, events: EVENTS, rounds: ROUNDS, cpuMsPerEventWithout: +o.toFixed(4), cpuMsPerEventWith: +h.toFixed(4), addedMsPerEvent: +(h - o).toFixed(4), ratio: +(h / o).toFixed(2), bytesWithout: bytes[0], bytesWith: bytes[1] });
    say(`${topic}: without ${o.toFixed(4)} ms, with ${h.toFixed(4)} ms CPU per event (encode + decode): +${(h - o).toFixed(4)} ms, x${(h / o).toFixed(2)}; ${bytes[0]} -> ${bytes[1]} bytes`);
  }
  process.stdout.write(`${JSON.stringify({ node: process.version, subjects: SUBJECTS, results }, null, 2)}\n`);
}

main().catch((e) => { process.stderr.write(`${e.stack ?? e}\n`); process.exit(1); });
