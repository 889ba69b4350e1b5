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
    expect(await codec.decode('permit.events', buf)).toEqual(ev);
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

  it('an unknown schema id is a permanent error', async () => {
    const buf = Buffer.from([0, 0x7f, 0xff, 0xff, 0x00, 0x02]);
    await expect(codec.decode('permit.events', buf)).rejects.toMatchObject({ code: 'SCHEMA_UNKNOWN', retriable: false });
  });
});
