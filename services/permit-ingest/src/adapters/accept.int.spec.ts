import { MongoClient, type Db } from 'mongodb';
import { z } from 'zod';
import { startInfra, type Infra } from '@sicantik/kafka';
import { ERASED, privacyEnv, privacySettings, startPrivacy, type Privacy } from '@sicantik/privacy';
import type { PermitEvent, PermitPayload } from '@sicantik/schemas';
import { PRIVACY_TEST_ENV, stack, uniq, waitFor } from '../../../../test/support';
import { permitEventAcceptor } from './accept';
import { EventIdLedger, permitSubjectKey } from './dedupe';

////////// An event with the applicant's name but no number, on the wire (real Kafka, registry, FerretDB):
// encrypted under the applicant's subject recorded with the permit's earlier event, and
// read as erased once that subject is erased; without a known subject its name is left out.

const NAME = 'Sitorus Namaunik Pemohon';
const NEW_NAME = 'Ginting Namabaru Pemohon';
const PHONE = '0812-7000-1601', E164 = '+6281270001601';
const NEW_PHONE = '0812-7000-1602', NEW_E164 = '+6281270001602';

describe('permit-ingest: the applicant\'s name in events without a number (real Kafka, registry, FerretDB)', () => {
  let infra: Infra; let core: Privacy; let mongo: MongoClient; let db: Db; let prefix: string;
  const closers: (() => Promise<unknown>)[] = [];
  const finds: string[] = [];
  let seq = 0;
  const ev = (reg: string, payload: PermitPayload): PermitEvent => ({ eventId: `it-${prefix.slice(0, -1)}-${++seq}`, occurredAt: Date.parse('2026-12-07T03:00:00Z'), correlationId: `c-${seq}`, causationId: null, source: 'sicantik', pendaftaran_id: reg, payload });
  const registered = (reg: string) => ev(reg, { type: 'PermitRegistered', jenis_izin: 'PBG', nama_pemohon: NAME, telepon_pemohon: PHONE, status: 'baru' });
  const pending = (reg: string) => ev(reg, { type: 'DocumentPendingSignature', document_id: `DOC-${seq}`, jenis_izin: 'PBG', nama_pemohon: NAME, pendingSince: Date.parse('2026-12-07T02:00:00Z') });
  const approval = (reg: string, name = NAME) => ev(reg, { type: 'ApprovalRequested', jenis_izin: 'PBG', nama_pemohon: name, no_surat: null, link_approval: 'https://sicantik.test/approve/1', pejabat_id: null });

  /** Every record of permit.events: its raw key and value bytes (and headers), and the value decoded by a fresh process (its own key ring). */
  async function readAll(): Promise<{ raw: Buffer; event: PermitEvent }[]> {
    const reader = await startInfra('permit-ingest', { SERVICE_INSTANCE: 'it-reader', LOG_LEVEL: 'silent', KAFKA_BROKERS: stack.brokers, SCHEMA_REGISTRY_URL: stack.registryUrl, TOPIC_PREFIX: prefix, TOPIC_PARTITIONS: 2, TOPIC_REPLICATION_FACTOR: 1 }, []);
    const privacy = await startPrivacy({ kafka: reader.kafka, admin: reader.admin, codec: reader.codec, settings: privacySettings(z.object(privacyEnv).parse(PRIVACY_TEST_ENV)), topicPrefix: prefix, service: 'permit-ingest', instance: 'it-reader', nudge: false });
    const consumer = reader.kafka.consumer({ groupId: uniq(`${prefix}raw-`), maxWaitTimeInMs: 200 });
    const topic = reader.codec.topic('permit.events');
    const ends = await reader.admin.fetchTopicOffsets(topic);
    const total = ends.reduce((n, e) => n + Number(e.high) - Number(e.low), 0);
    const out: { raw: Buffer; event: PermitEvent }[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => {
        const raw = Buffer.concat([message.key ?? Buffer.alloc(0), message.value!, ...Object.entries(message.headers ?? {}).flatMap(([k, v]) => [Buffer.from(k), ...[v].flat().map((x) => Buffer.from(x ?? ''))])]);
        out.push({ raw, event: await reader.codec.decode('permit.events', message.value!) });
      } });
      await waitFor(async () => out.length >= total, { what: 'permit.events read to its end' });
    } finally { await consumer.disconnect(); await privacy.close(); await reader.close(); }
    return out;
  }
  const byId = (records: { raw: Buffer; event: PermitEvent }[], e: PermitEvent) => records.find((r) => r.event.eventId === e.eventId)!;
  const nameOf = (e: PermitEvent) => ('nama_pemohon' in e.payload ? e.payload.nama_pemohon : undefined);

  beforeAll(async () => {
    prefix = `${uniq('it-ingname-')}.`;
    infra = await startInfra('permit-ingest', { SERVICE_INSTANCE: 'it', LOG_LEVEL: 'silent', KAFKA_BROKERS: stack.brokers, SCHEMA_REGISTRY_URL: stack.registryUrl, TOPIC_PREFIX: prefix, TOPIC_PARTITIONS: 2, TOPIC_REPLICATION_FACTOR: 1 }, ['permit.events', 'subject.keys', 'subject.index']);
    core = await startPrivacy({ kafka: infra.kafka, admin: infra.admin, codec: infra.codec, settings: privacySettings(z.object(privacyEnv).parse(PRIVACY_TEST_ENV)), topicPrefix: prefix, service: 'permit-ingest', instance: 'it', registry: true, nudge: false });
    mongo = await MongoClient.connect(stack.mongoUrl, { monitorCommands: true });
    mongo.on('commandStarted', (c) => { if (c.commandName === 'find') finds.push(String((c.command as { filter?: { _id?: unknown } }).filter?._id)); });
    db = mongo.db(prefix.slice(0, -1).replace(/[^a-z0-9_]/gi, '_'));
  }, 120_000);
  afterAll(async () => {
    for (const c of closers) await c();
    await db?.dropDatabase(); await mongo?.close(); await core?.close(); await infra?.close();
  });

  /** An ingest instance as main.ts wires it, over the shared ledger database. */
  const instance = (name: string, opts: { subjectTtlMs?: number } = {}) => {
    const ledger = new EventIdLedger(db, { instance: name, ...opts });
    return { ledger, accept: permitEventAcceptor({ ledger, subjects: core.subjects!, send: async (e) => { await infra.producer.send([{ topic: 'permit.events', key: e.pendaftaran_id, value: e }]); } }) };
  };

  it('encrypts the name of DocumentPendingSignature and ApprovalRequested under the applicant\'s subject, across instances; erased with it', async () => {
    const a = instance('a'), b = instance('b');
    const reg = registered('REG-IT-1'), doc = pending('REG-IT-1'), appr = approval('REG-IT-1');
    const unknownDoc = pending('REG-IT-UNKNOWN'), unknownAppr = approval('REG-IT-UNKNOWN');
    expect(await a.accept(reg)).toBe('accepted');
    // The other instance reads the subject the first one recorded (one document by _id).
    expect(await Promise.all([b.accept(doc), a.accept(appr), b.accept(unknownDoc), a.accept(unknownAppr)])).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
    expect(await b.accept(doc)).toBe('duplicate');
    const subjectId = core.subjects!.lookup(E164);
    expect(subjectId).toEqual(expect.any(String));
    expect(await a.ledger.permits.findOne({ _id: permitSubjectKey('REG-IT-1') })).toMatchObject({ kind: 'permit-subject', pendaftaran_id: 'REG-IT-1', subjectId });

    const before = await readAll();
    expect([reg, doc, appr, unknownDoc, unknownAppr].map((e) => [byId(before, e).event.subjectId, nameOf(byId(before, e).event)])).toEqual([
      [subjectId, NAME], [subjectId, NAME], [subjectId, NAME], [null, ''], [null, ''],
    ]);
    // On the wire: not a byte of the name (nor of the number) in any record's key, value or headers.
    for (const r of before) for (const needle of [NAME, 'Namaunik', E164, '81270001601']) expect(r.raw.includes(needle)).toBe(false);
    expect(before).toHaveLength(5);

    expect(await core.subjects!.erase(E164)).toBe(subjectId);
    const after = await readAll();
    expect([reg, doc, appr, unknownDoc].map((e) => [byId(after, e).event.subjectId, nameOf(byId(after, e).event)])).toEqual([
      [subjectId, ERASED], [subjectId, ERASED], [subjectId, ERASED], [null, ''],
    ]);
  }, 120_000);

  it('a contact change moves the permit\'s subject; a second registration with another number does not', async () => {
    const a = instance('a');
    expect(await a.accept(registered('REG-IT-2'))).toBe('accepted');
    const first = core.subjects!.lookup(E164);
    expect(await a.accept(ev('REG-IT-2', { type: 'PermitIssued', no_surat: '503/9', jenis_izin: 'PBG', nama_pemohon: NAME, telepon_pemohon: NEW_PHONE, tanggal_terbit: '2026-12-07', link_download: 'https://sicantik.test/x.pdf', tanggal_berakhir: null }))).toBe('accepted');
    expect((await a.ledger.permits.findOne({ _id: permitSubjectKey('REG-IT-2') }))?.subjectId).toBe(first);
    expect(await a.accept(ev('REG-IT-2', { type: 'ApplicantContactChanged', nama_pemohon: NEW_NAME, telepon_pemohon: NEW_PHONE }))).toBe('accepted');
    const moved = core.subjects!.lookup(NEW_E164);
    expect([moved, moved === first]).toEqual([expect.any(String), false]);
    expect((await a.ledger.permits.findOne({ _id: permitSubjectKey('REG-IT-2') }))?.subjectId).toBe(moved);
    const appr = approval('REG-IT-2', NEW_NAME);
    expect(await a.accept(appr)).toBe('accepted');
    const records = await readAll();
    expect([byId(records, appr).event.subjectId, nameOf(byId(records, appr).event)]).toEqual([moved, NEW_NAME]);
    for (const r of records) expect(r.raw.includes('Namabaru')).toBe(false);
  }, 120_000);

  it('each instance reads a permit\'s subject once and keeps it (for subjectTtlMs): what another instance replaced is seen once it expires', async () => {
    const a = instance('a'), b = instance('b', { subjectTtlMs: 300 });
    expect(await a.accept(registered('REG-IT-3'))).toBe('accepted');
    const first = core.subjects!.lookup(E164);
    finds.length = 0;
    // The instance that recorded it reads nothing; the other one reads it once.
    expect(await Promise.all([a.accept(pending('REG-IT-3')), a.accept(approval('REG-IT-3')), b.accept(pending('REG-IT-3'))])).toEqual(['accepted', 'accepted', 'accepted']);
    expect(await b.accept(approval('REG-IT-3'))).toBe('accepted');
    expect(finds.filter((f) => f === permitSubjectKey('REG-IT-3'))).toEqual([permitSubjectKey('REG-IT-3')]);
    expect(await a.accept(ev('REG-IT-3', { type: 'ApplicantContactChanged', nama_pemohon: null, telepon_pemohon: NEW_PHONE }))).toBe('accepted');
    const moved = core.subjects!.lookup(NEW_E164);
    expect([await a.ledger.permitSubject('REG-IT-3'), await b.ledger.permitSubject('REG-IT-3')]).toEqual([moved, first]);
    await new Promise((r) => setTimeout(r, 350));
    expect(await b.ledger.permitSubject('REG-IT-3')).toBe(moved);
  }, 120_000);
});
