import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import axios from 'axios';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import type { PrivacyRequestRecorded } from '@sicantik/schemas';
import { stack, uniq, waitFor } from '../support';
import { nameNeedle, phoneForms, scanFiles, withDecodedIds, type Needle } from '../support/personalData';
import { AUTH, readTopics, startSystem, type System } from '../support/system';

////////// Erasure (issue 16, UU PDP): a citizen gets a permit_ready message, asks for erasure;
// then no byte of any topic (keys, values, headers; Meta message ids decoded), no database
// document and no service log holds their number (E.164, national, digits-only) or name once
// compaction has run (also after a reply of theirs: inbound message ids encode the number too);
// the projections rebuild and the planner and dispatcher restart; the
// counters are unchanged; a later notification for them is not sent (SUBJECT_ERASED).

const NAME = 'Rudi Perangin-angin';
const E164 = '+6281277889900';
const needles: Needle[] = [
  ...phoneForms(E164).map((f) => ({ label: `the number as ${f}`, pattern: new RegExp(`(?<![0-9])${f.replace('+', '\\+')}(?![0-9])`) })),
  nameNeedle(NAME),
];

interface Summary { total: number; byStatus: Record<string, number> }

describe('erasure of a citizen\'s personal data', () => {
  let sys: System;
  const http = axios.create({ validateStatus: () => true });
  const reg = uniq('REG-ERASE-');
  const summary = async (url: string) => (await http.get<Summary>(`${url}/v1/stats/summary`, { headers: AUTH.stats })).data;
  const decisions = async () => (await http.get<{ decisions: { decision: string; reasonCode: string | null; scenario: string; message: { status: string } | null }[] }>(`${sys.trackerUrl}/v1/stats/decisions?pendaftaran_id=${reg}`, { headers: AUTH.stats })).data.decisions;
  const post = (type: string, id: string, data: Record<string, unknown>) => http.post(`${sys.ingestUrl}/v1/permit-events`, { event_id: `${reg}-${id}`, type, occurred_at: new Date().toISOString(), pendaftaran_id: reg, data }, { headers: AUTH.ingest });

  let before: Summary;
  let rebuiltUrl: string | undefined;
  const rebuildDb = () => `${sys.db('delivery-tracker')}_rebuilt`;
  const rebuildGroup = () => `${sys.prefix}tracker-rebuilt`;
  beforeAll(async () => { sys = await startSystem({}, { compactionLagMs: 2000 }); });
  afterAll(async () => { await sys?.stop(); });

  it('after erasure nothing holds the number or the name once compaction has run; rebuild and restarts work; counters unchanged; a later notification is SUBJECT_ERASED', async () => {
    // A permit issued to the citizen: the message is sent and delivered.
    expect((await post('PermitIssued', 'issued', { no_surat: '503/77/2026', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: NAME, telepon_pemohon: '0812-7788-9900', tanggal_terbit: '2026-11-22', link_download: 'https://sicantik.test/x.pdf' })).status).toBe(202);
    // The name again without the number: permit-ingest encrypts it under the permit's applicant subject.
    expect((await post('DocumentPendingSignature', 'pending', { document_id: 'DOC-77', jenis_izin: 'Izin Usaha Mikro', nama_pemohon: NAME, pending_since: new Date().toISOString() })).status).toBe(202);
    await waitFor(async () => (await decisions()).some((d) => d.scenario === 'permit_ready' && d.message?.status === 'delivered'), { timeoutMs: 90_000, intervalMs: 500, what: 'permit_ready delivered' });
    // The citizen answers through Meta (a wamid that encodes the number, the profile name in the
    // webhook): recorded, opted in, and the confirmation sent and delivered through Meta.
    const reply = await http.post<{ id: string; webhookStatus: number }>(`${sys.simUrl}/_sim/inbound`, { provider: 'meta', from: E164, text: 'ya saya setuju', name: NAME });
    expect([reply.status, reply.data.webhookStatus, Buffer.from(reply.data.id.slice('wamid.'.length), 'base64').includes(E164.slice(1))]).toEqual([200, 200, true]);
    before = await waitFor(async () => { const s = await summary(sys.trackerUrl); return s.total === 2 && s.byStatus.delivered === 2 && s; }, { timeoutMs: 90_000, intervalMs: 500, what: 'the opt-in confirmation delivered' });

    // The request: carried out, recorded with the subject.
    const erased = await http.post(`${sys.trackerUrl}/v1/privacy/erasure`, { phone: '0812 7788 9900' }, { headers: AUTH.admin });
    expect([erased.status, erased.data.status]).toEqual([202, 'DONE']);
    const requests: PrivacyRequestRecorded[] = [];
    const stopReading = await readTopics(sys, ['privacy.requests'], (_t, v) => { requests.push(v as PrivacyRequestRecorded); });
    const subjectId = await waitFor(async () => requests.find((r) => r.status === 'DONE')?.subjectId, { what: 'the DONE record' });
    await stopReading();

    // A later notification for that person: planned for the erased subject, so skipped.
    expect((await post('PermitStatusChanged', 'status', { status_lama: 'terbit', status_baru: 'diarsipkan', changed_at: new Date().toISOString(), link_detail: null })).status).toBe(202);
    await waitFor(async () => (await decisions()).some((d) => d.decision === 'SKIPPED' && d.reasonCode === 'SUBJECT_ERASED'), { timeoutMs: 60_000, what: 'SKIPPED SUBJECT_ERASED' });

    // Compaction: the subject's key record is gone from subject.keys (only its tombstone may stay a while).
    const kafka = new Kafka({ brokers: stack.brokers, clientId: uniq('e2e-erasure-'), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer();
    await producer.connect();
    type Raw = { topic: string; key: Buffer | null; value: Buffer | null; headers: Buffer[] };
    /**
     * Every record of the topics as they are now, raw, with one consumer: read until each
     * partition reaches its end, or (transaction markers and compacted gaps are never
     * delivered) nothing came for 3 s after joining.
     */
    const rawRecords = async (topics: string[]): Promise<Raw[]> => {
      const ends = (await Promise.all(topics.map(async (topic) => (await admin.fetchTopicOffsets(topic)).map((e) => ({ topic, ...e }))))).flat().filter((e) => BigInt(e.high) > BigInt(e.low));
      const out: Raw[] = [];
      if (ends.length === 0) return out;
      const consumer = kafka.consumer({ groupId: uniq('e2e-erasure-read-'), maxWaitTimeInMs: 100 });
      const read = new Map<string, bigint>();
      let joined = false; let last = Date.now();
      consumer.on(consumer.events.GROUP_JOIN, () => { joined = true; last = Date.now(); });
      await consumer.connect();
      await consumer.subscribe({ topics: [...new Set(ends.map((e) => e.topic))], fromBeginning: true });
      await consumer.run({ eachMessage: async ({ topic, partition, message }) => {
        out.push({ topic, key: message.key, value: message.value, headers: Object.values(message.headers ?? {}).flat().filter((h): h is Buffer => Buffer.isBuffer(h)) });
        read.set(`${topic}:${partition}`, BigInt(message.offset) + 1n);
        last = Date.now();
      } });
      await waitFor(async () => ends.every((e) => (read.get(`${e.topic}:${e.partition}`) ?? 0n) >= BigInt(e.high)) || (joined && Date.now() - last > 3000), { timeoutMs: 90_000, intervalMs: 50, what: 'topics read' });
      await consumer.disconnect();
      return out;
    };
    // Bytes above 0x7f (Avro lengths and varints) read as latin1 letters would hide a name
    // next to them from the needle's word boundaries: they are read as spaces.
    const asciiOnly = (b: Buffer) => b.toString('latin1').replace(/[\x80-\xff]/g, ' ');
    try {
      await waitFor(async () => {
        // A record appended to each partition rolls the segment that holds the key, so the cleaner can compact it.
        await producer.send({ topic: `${sys.prefix}subject.keys`, messages: [{ key: '~roll', value: null }] });
        const keys = await rawRecords([`${sys.prefix}subject.keys`]);
        return !keys.some((r) => r.key?.toString() === subjectId && r.value !== null);
      }, { timeoutMs: 120_000, intervalMs: 3000, what: 'subject.keys compacted' });

      // The byte search: every topic's keys, values and headers.
      const found: string[] = [];
      const search = (where: string, text: string) => { const t = withDecodedIds(text); for (const n of needles) if (n.pattern.test(t)) found.push(`${where}: ${n.label}`); };
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(sys.prefix)).sort();
      for (const r of await rawRecords(topics)) {
        for (const [part, b] of [['key', r.key], ['value', r.value], ...r.headers.map((h) => ['header', h] as const)] as const) if (b) search(`${r.topic.slice(sys.prefix.length)} ${part}`, asciiOnly(b));
      }
      // Every collection of the system's databases.
      const mongo = await MongoClient.connect(stack.mongoUrl);
      try {
        for (const service of ['permit-ingest', 'delivery-tracker', 'provider-dispatcher', 'notification-planner']) {
          const db = mongo.db(sys.db(service));
          for (const c of await db.listCollections().toArray()) for (const doc of await db.collection(c.name).find({}).toArray()) search(`${sys.db(service)}.${c.name}`, JSON.stringify(doc));
        }
      } finally { await mongo.close(); }
      // Every service log.
      for (const f of scanFiles(Object.values(sys.logs), needles)) found.push(`${path.basename(f.file)}:${f.line}: ${f.needle}`);
      expect([...new Set(found)]).toEqual([]);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }

    // The planner and the dispatcher restart; every projection rebuilds from the topics; the counters are unchanged.
    for (const s of ['notification-planner', 'provider-dispatcher']) {
      const log = sys.logs[s]!;
      const lines = fs.readFileSync(log, 'utf8').split('\n').length;
      await sys.restart(s);
      await waitFor(async () => fs.readFileSync(log, 'utf8').split('\n').slice(lines - 1).some((l) => l.includes(`${s} running`)), { timeoutMs: 90_000, what: `${s} running again` });
    }
    const r = spawnSync(process.execPath, ['dist/rebuild.js'], { cwd: path.join(__dirname, '../../services/delivery-tracker'), env: { ...sys.env, MONGO_DB: rebuildDb(), CONSUMER_GROUP: rebuildGroup() }, encoding: 'utf8', timeout: 120_000 });
    expect([r.status, r.stderr.split('\n').filter((l) => /failed/.test(l))]).toEqual([0, []]);
    rebuiltUrl = await sys.addInstance('delivery-tracker', { MONGO_DB: rebuildDb(), CONSUMER_GROUP: rebuildGroup() });
    expect((await summary(rebuiltUrl)).total).toBe(before.total);
    expect(await summary(sys.trackerUrl)).toEqual(before);
  }, 420_000);

  // The rebuild joins a delivery status to its notification by providerMessageRef (a keyed
  // hash of the provider message id, written by the dispatcher in the clear), not by the id
  // itself (encrypted with the erased key): the erased person's statuses still count.
  it('a rebuild after erasure has the live counters', async () => {
    expect(rebuiltUrl).toBeDefined();
    expect(await summary(rebuiltUrl!)).toEqual(before);
  });
});
