import * as fs from 'node:fs';
import * as path from 'node:path';
import * as avro from 'avsc';
import { providerTemplatesOf } from '@sicantik/providers';
import { loadSchema } from './catalog';

////////// template.events: a provider-neutral language and mapping; events written before still read
// The fixture is the schema as committed before `metaLanguage` became `language` (alias)
// and `providerTemplates` was added (git show <that commit>:schemas/template.events.avsc).
// metaTemplateName stays, as a deprecated alias of providerTemplates.meta.

const fixture = avro.Type.forSchema(JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../test/fixtures/schemas/template.events.meta-fields.avsc'), 'utf8')) as avro.Schema);
const current = avro.Type.forSchema(loadSchema('template.events') as avro.Schema);
const read = (reader: avro.Type, writer: avro.Type, value: unknown) => JSON.parse(JSON.stringify(reader.fromBuffer(writer.toBuffer(value), reader.createResolver(writer)))) as Record<string, unknown>;

const base = { eventId: 't-1', occurredAt: 1_795_000_000_000, correlationId: 'seed-permit_ready', causationId: null, code: 'permit_ready', version: 1, active: true, body: 'Yth. {{nama_pemohon}}', variables: ['nama_pemohon'], category: 'UTILITY' };

describe('template.events', () => {
  it('an event written with the old schema reads with the new one: language from metaLanguage, Meta\'s name through the deprecated alias', () => {
    const old = { ...base, metaTemplateName: 'sicantik_permit_ready', metaLanguage: 'en_US' };
    const v = read(current, fixture, old);
    expect(v).toEqual({ ...base, providerTemplates: {}, metaTemplateName: 'sicantik_permit_ready', language: 'en_US' });
    expect(providerTemplatesOf(v)).toEqual({ meta: 'sicantik_permit_ready' });
  });

  it('an event written now reads with the old schema too (a renderer not yet upgraded): the same Meta name and language', () => {
    const now = { ...base, providerTemplates: { meta: 'sicantik_permit_ready', twilio: 'HX0123' }, metaTemplateName: 'sicantik_permit_ready', language: 'id' };
    expect(read(fixture, current, now)).toEqual({ ...base, metaTemplateName: 'sicantik_permit_ready', metaLanguage: 'id' });
  });

  it('no provider-specific field but the deprecated alias', () => {
    const fields = (loadSchema('template.events') as { fields: { name: string; doc?: string }[] }).fields;
    expect(fields.filter((f) => /meta/i.test(f.name)).map((f) => [f.name, f.doc?.startsWith('Deprecated alias of providerTemplates.meta')])).toEqual([['metaTemplateName', true]]);
  });
});
