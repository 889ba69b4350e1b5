import * as fs from 'node:fs';
import * as path from 'node:path';
import * as avro from 'avsc';
import { loadSchema } from './catalog';

////////// notification.rendered without Meta's fields: events written before still read
// The fixtures are the schemas as committed before `metaTemplateName`/`metaLanguage` gave
// way to the generic `language` (git show <that commit>:schemas/...). An event they wrote
// is read by today's schema (as the codec does: writer schema from the registry, resolved
// into ours): `language` takes the old metaLanguage through its alias, the template name
// is dropped (each provider takes it from its own configuration).

const fixture = (name: string) => avro.Type.forSchema(JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../test/fixtures/schemas', name), 'utf8')) as avro.Schema);
const current = (topic: 'notification.rendered' | 'dispatch.retry.1') => avro.Type.forSchema(loadSchema(topic) as avro.Schema);
const read = (reader: avro.Type, writer: avro.Type, value: unknown) => JSON.parse(JSON.stringify(reader.fromBuffer(writer.toBuffer(value), reader.createResolver(writer)))) as Record<string, unknown>;

const oldRendered = (over: Record<string, unknown> = {}) => ({
  eventId: 'r-1', occurredAt: 1_795_000_000_000, correlationId: 'c', causationId: 'q', notificationId: 'n-1', scenario: 'permit_ready', templateCode: 'permit_ready', templateVersion: 3,
  pendaftaran_id: 'REG-1', recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi', phone: '+6281234567890' }, outcome: 'RENDERED', text: 'Izin Anda telah terbit.',
  parameters: [{ name: 'nama_pemohon', value: 'Budi' }], metaTemplateName: 'sicantik_permit_ready', metaLanguage: 'en_US', failureReason: null,
  providerParameters: { meta: { 1: 'Budi' }, fonnte: { var1: 'Budi' } }, ...over,
});

describe('notification.rendered: a generic language instead of Meta\'s template name and language', () => {
  it('the schema has no provider\'s field any more', () => {
    const names = (loadSchema('notification.rendered') as { fields: { name: string }[] }).fields.map((f) => f.name);
    expect(names).toContain('language');
    expect(names.filter((n) => /meta/i.test(n))).toEqual([]);
  });

  it('an event written with the old schema reads with the new one: language from metaLanguage, the Meta template name gone', () => {
    const { metaTemplateName: _n, metaLanguage: _l, ...rest } = oldRendered();
    expect(read(current('notification.rendered'), fixture('notification.rendered.meta-fields.avsc'), oldRendered())).toEqual({ ...rest, recipient: { ...rest.recipient, subjectId: null }, language: 'en_US', notBefore: null, deferReason: null, supersedeKey: null, staleAfter: null });
    expect(read(current('notification.rendered'), fixture('notification.rendered.meta-fields.avsc'), oldRendered({ metaLanguage: 'id', metaTemplateName: null }))).toMatchObject({ language: 'id' });
  });

  it('an old record of a retry topic reads with its notification\'s language', () => {
    const retry = {
      eventId: 'e', occurredAt: 2, correlationId: 'c', causationId: 'r-1', notificationId: 'n-1', pendaftaran_id: 'REG-1', kind: 'SEND', attempt: 2, provider: 'meta', providerAttempt: 2,
      excludedProviders: [], notBefore: 3, tier: 1, routeReason: 'RETRY', routeDetail: null, providerMessageId: null, notification: oldRendered(),
    };
    const v = read(current('dispatch.retry.1'), fixture('dispatch.retry.1.meta-fields.avsc'), retry);
    expect(v.notification).toMatchObject({ notificationId: 'n-1', language: 'en_US' });
    expect(Object.keys(v.notification as object).filter((k) => /meta/i.test(k))).toEqual([]);
  });

  it('a new event read by a reader of the old schema gets the old defaults (a consumer not upgraded yet)', () => {
    const { metaTemplateName: _n, metaLanguage: _l, ...rest } = oldRendered();
    const v = read(fixture('notification.rendered.meta-fields.avsc'), current('notification.rendered'), { ...rest, language: 'en_US' });
    expect(v).toMatchObject({ metaTemplateName: null, metaLanguage: 'id' });
  });
});
