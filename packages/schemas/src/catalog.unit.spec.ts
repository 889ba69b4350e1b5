import * as avro from 'avsc';
import { DISPATCH_RETRY_TOPICS, TOPICS, loadSchema } from './catalog';

////////// The dispatcher's retry and dead-letter topics in the catalogue

type Field = { name: string; type: unknown };
const fields = (t: string) => (loadSchema(t as never) as { fields: Field[] }).fields;

describe('dispatch retry topics', () => {
  it('one topic per delay tier, each co-partitioned with notification.rendered (its records sit on the partition of their notification)', () => {
    expect(DISPATCH_RETRY_TOPICS).toEqual(['dispatch.retry.1', 'dispatch.retry.2', 'dispatch.retry.3']);
    for (const t of DISPATCH_RETRY_TOPICS) expect(TOPICS[t]).toEqual({ name: t, compacted: false, keyedBy: 'pendaftaran_id', copartitioned: true });
  });

  it('the tiers share one schema, and the notification they carry is exactly a notification.rendered value', () => {
    const [first, ...rest] = DISPATCH_RETRY_TOPICS.map((t) => JSON.stringify(fields(t)));
    for (const r of rest) expect(r).toBe(first);
    const rendered = loadSchema('notification.rendered');
    for (const t of [...DISPATCH_RETRY_TOPICS, 'dispatch.dead-letter']) {
      expect(fields(t).find((f) => f.name === 'notification')!.type).toEqual(rendered);
    }
  });

  it('a retry record round-trips with its notification', () => {
    const type = avro.Type.forSchema(loadSchema('dispatch.retry.1') as avro.Schema);
    const notification = {
      eventId: 'r', occurredAt: 1, correlationId: 'c', causationId: null, notificationId: 'n', scenario: 's', templateCode: 't', templateVersion: 1, pendaftaran_id: 'P',
      recipient: { kind: 'APPLICANT', id: 'P', name: null, phone: '+6281234567890', subjectId: null }, outcome: 'RENDERED', text: 'x', parameters: [{ name: 'a', value: 'b' }],
      language: 'id', failureReason: null, providerParameters: {}, notBefore: null, deferReason: null, supersedeKey: null, staleAfter: null,
    };
    const v = {
      eventId: 'e', occurredAt: 2, correlationId: 'c', causationId: 'r', notificationId: 'n', pendaftaran_id: 'P', kind: 'SEND', attempt: 2, provider: 'meta', providerAttempt: 2,
      excludedProviders: [], notBefore: 3, tier: 1, routeReason: 'RETRY', routeDetail: null, providerMessageId: null, notification,
    };
    expect({ ...type.fromBuffer(type.toBuffer(v)) }).toEqual(v);
  });
});
