import axios from 'axios';
import * as avro from 'avsc';
import { stack, uniq } from '../../../test/support';
import { SchemaCodec } from './codec';
import { TOPIC_NAMES, loadSchema } from './catalog';
import type { PermitEvent } from './types';

const ev: PermitEvent = {
  eventId: 'e-1', occurredAt: 1_763_776_800_000, correlationId: 'c-1', causationId: null, source: 'sicantik', pendaftaran_id: 'REG-1',
  payload: { type: 'PermitIssued', no_surat: '503/1', jenis_izin: 'IUM', nama_pemohon: 'Budi', telepon_pemohon: '+6281234567890', tanggal_terbit: '2026-11-22', link_download: 'https://x.test/a.pdf', tanggal_berakhir: null },
};

describe('schema codec against the real registry', () => {
  const prefix = uniq('it-codec-');
  const codec = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: `${prefix}.` });

  beforeAll(async () => { await codec.register(); });

  it('registers every topic schema under <topic>-value with BACKWARD_TRANSITIVE', async () => {
    for (const t of TOPIC_NAMES) {
      const cfg = await axios.get(`${stack.registryUrl}/config/${codec.subject(t)}`);
      expect(cfg.data.compatibilityLevel ?? cfg.data.compatibility).toBe('BACKWARD_TRANSITIVE');
    }
  });

  it('encodes in Confluent wire format: magic byte 0, then a schema id the registry resolves', async () => {
    const buf = codec.encode('permit.events', ev);
    expect(buf[0]).toBe(0);
    const id = buf.readInt32BE(1);
    const r = await axios.get(`${stack.registryUrl}/schemas/ids/${id}`);
    const writer = avro.Type.forSchema(JSON.parse(r.data.schema));
    const decoded = writer.fromBuffer(buf.subarray(5)) as { pendaftaran_id: string; payload: Record<string, unknown> };
    expect(decoded.pendaftaran_id).toBe('REG-1');
    expect(Object.keys(decoded.payload)).toEqual(['id.go.karokab.sicantik.permit.PermitIssued']);
    expect(await codec.decode('permit.events', buf)).toEqual({ ...ev, subjectId: null });
  });

  it('rejects a value that does not fit the schema, naming the path', () => {
    expect(() => codec.encode('permit.events', { ...ev, pendaftaran_id: 42 as unknown as string })).toThrow(/pendaftaran_id/);
  });

  it('refuses an incompatible new version of a subject', async () => {
    const schema = loadSchema('contact.events') as { fields: { name: string }[] };
    const broken = { ...schema, fields: [...schema.fields, { name: 'mandatory', type: 'string' }] };
    const fs = await import('node:fs'); const os = await import('node:os'); const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schemas-'));
    for (const t of TOPIC_NAMES) fs.writeFileSync(path.join(dir, `${t}.avsc`), JSON.stringify(t === 'contact.events' ? broken : loadSchema(t)));
    const incompatible = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: `${prefix}.`, schemasDir: dir });
    await expect(incompatible.register(['contact.events'])).rejects.toMatchObject({ code: 'SCHEMA_INCOMPATIBLE', retriable: false });
  });

  it('template.events with language and providerTemplates registers over the version with metaLanguage (BACKWARD_TRANSITIVE); an event written before reads with Meta\'s name kept', async () => {
    const fs = await import('node:fs'); const os = await import('node:os'); const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schemas-'));
    const fixtures = path.resolve(__dirname, '../../../test/fixtures/schemas');
    for (const t of TOPIC_NAMES) fs.writeFileSync(path.join(dir, `${t}.avsc`), t === 'template.events' ? fs.readFileSync(path.join(fixtures, 'template.events.meta-fields.avsc'), 'utf8') : JSON.stringify(loadSchema(t)));
    const p = uniq('it-template-');
    const before = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: `${p}.`, schemasDir: dir });
    await before.register(['template.events']);
    const base = { eventId: 't-1', occurredAt: 1_795_000_000_000, correlationId: 'seed-permit_ready', causationId: null, code: 'permit_ready', version: 1, active: true, body: 'x', variables: [], category: 'UTILITY' };
    const oldEvent = before.encode('template.events', { ...base, metaTemplateName: 'sicantik_permit_ready', metaLanguage: 'en_US' } as never);
    const after = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: `${p}.` });
    await after.register(['template.events']); // accepted as a new version
    expect((await axios.get(`${stack.registryUrl}/subjects/${after.subject('template.events')}/versions`)).data).toHaveLength(2);
    expect(await after.decode('template.events', oldEvent)).toEqual({ ...base, providerTemplates: {}, metaTemplateName: 'sicantik_permit_ready', language: 'en_US' });
  });

  it('notification.rendered without Meta\'s fields registers over the version with them (BACKWARD_TRANSITIVE), and an event written before reads with its language', async () => {
    const fs = await import('node:fs'); const os = await import('node:os'); const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schemas-'));
    const fixtures = path.resolve(__dirname, '../../../test/fixtures/schemas');
    const old: Partial<Record<string, string>> = { 'notification.rendered': 'notification.rendered.meta-fields.avsc', 'dispatch.retry.1': 'dispatch.retry.1.meta-fields.avsc' };
    for (const t of TOPIC_NAMES) fs.writeFileSync(path.join(dir, `${t}.avsc`), old[t] ? fs.readFileSync(path.join(fixtures, old[t]!), 'utf8') : JSON.stringify(loadSchema(t)));
    const p = uniq('it-rendered-');
    const before = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: `${p}.`, schemasDir: dir });
    await before.register(['notification.rendered', 'dispatch.retry.1']);
    const rendered = {
      eventId: 'r-1', occurredAt: 1_795_000_000_000, correlationId: 'c', causationId: 'q', notificationId: 'n-1', scenario: 'permit_ready', templateCode: 'permit_ready', templateVersion: 1,
      pendaftaran_id: 'REG-1', recipient: { kind: 'APPLICANT', id: 'REG-1', name: null, phone: '+6281234567890' }, outcome: 'RENDERED', text: 'x', parameters: [],
      metaTemplateName: 'sicantik_permit_ready', metaLanguage: 'en_US', failureReason: null, providerParameters: {},
    };
    const oldEvent = before.encode('notification.rendered', rendered as never);
    const oldRetry = before.encode('dispatch.retry.1', {
      eventId: 'e', occurredAt: 2, correlationId: 'c', causationId: 'r-1', notificationId: 'n-1', pendaftaran_id: 'REG-1', kind: 'SEND', attempt: 2, provider: 'meta', providerAttempt: 2,
      excludedProviders: [], notBefore: 3, tier: 1, routeReason: 'RETRY', routeDetail: null, providerMessageId: null, notification: rendered,
    } as never);
    const after = new SchemaCodec({ registryUrl: stack.registryUrl, topicPrefix: `${p}.` });
    const ids = await after.register(['notification.rendered', 'dispatch.retry.1']); // accepted as a new version
    const versions = await axios.get(`${stack.registryUrl}/subjects/${after.subject('notification.rendered')}/versions`);
    expect(versions.data).toHaveLength(2);
    expect(ids[after.subject('notification.rendered')]).not.toBe(oldEvent.readInt32BE(1));
    const { metaTemplateName: _n, metaLanguage: _l, ...rest } = rendered;
    expect(await after.decode('notification.rendered', oldEvent)).toEqual({ ...rest, recipient: { ...rest.recipient, subjectId: null }, language: 'en_US', notBefore: null, deferReason: null, supersedeKey: null, staleAfter: null });
    expect((await after.decode('dispatch.retry.1', oldRetry)).notification).toEqual({ ...rest, recipient: { ...rest.recipient, subjectId: null }, language: 'en_US', notBefore: null, deferReason: null, supersedeKey: null, staleAfter: null });
  });

  it('an unknown schema id is a permanent error', async () => {
    const buf = Buffer.from([0, 0x7f, 0xff, 0xff, 0x00, 0x02]);
    await expect(codec.decode('permit.events', buf)).rejects.toMatchObject({ code: 'SCHEMA_UNKNOWN', retriable: false });
  });
});
