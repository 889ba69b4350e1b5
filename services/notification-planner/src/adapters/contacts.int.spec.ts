import type { Consumer } from 'kafkajs';
import { deterministicId } from '@sicantik/core';
import { startInfra, type Infra } from '@sicantik/kafka';
import { createMetrics } from '@sicantik/observability';
import { contactEventKey, type ContactEvent, type NotificationRequested } from '@sicantik/schemas';
import { readDecoded, silentLogger, stack, uniq, waitFor } from '../../../../test/support';
import { DEFAULT_PHRASES, compilePhrases, helpAnswerId } from '../domain/consent';
import { ConsentClassifier } from './contacts';
import { PlannerMemory } from './memory';

////////// The consent classifier against the real Kafka and schema registry:
// confirmation once across a restart and a replay, the help answer once a day.

const H = 3_600_000;
const T0 = Date.parse('2026-11-22T02:00:00Z'); // 09:00 WIB
const A = '+6281200000001';
const B = '+6281200000002';

describe('consent classifier (Kafka)', () => {
  let infra: Infra;
  let prefix: string;
  let groupId: string;
  const contacts: ContactEvent[] = [];
  const requests: NotificationRequested[] = [];
  const readers: Consumer[] = [];
  let caughtUp: (() => Promise<void>)[] = [];
  let seq = 0;

  const ev = (kind: ContactEvent['kind'], phone: string, at: number, over: Partial<ContactEvent> = {}): ContactEvent => {
    const id = `${prefix}${++seq}`;
    return {
      eventId: deterministicId('it', id), occurredAt: at, correlationId: id, causationId: null, provider: 'meta', phone, kind, text: null,
      subjectId: null, providerMessageId: `wamid.${id}`, contextId: null, notificationId: null, pendaftaran_id: null, reason: null, optInRequest: false, ...over,
    };
  };
  const produce = (...evs: ContactEvent[]) => infra.producer.send(evs.map((e) => ({ topic: 'contact.events' as const, key: contactEventKey(e), value: e })));
  const classifier = (restoreSuffix: string) => new ConsentClassifier({
    kafka: infra.kafka, admin: infra.admin, codec: infra.codec, producer: infra.producer, logger: silentLogger(), metrics: createMetrics('notification-planner'),
    memory: new PlannerMemory(), allowedCountries: ['ID'], groupId, restoreGroupId: (p) => uniq(`${prefix}restore-${restoreSuffix}-p${p}-`),
    settings: { phrases: compilePhrases(DEFAULT_PHRASES), optInAnswerWindowMs: 72 * H, kontakDpmptsp: '(0628) 20655', linkDashboard: 'https://d.test' },
  });
  const of = (kind: ContactEvent['kind'], phone: string) => contacts.filter((e) => e.kind === kind && e.phone === phone);
  const scenario = (s: string, phone: string) => requests.filter((r) => r.scenario === s && r.recipient.phone === phone);
  const settle = async () => { for (const c of caughtUp) await c(); };

  beforeAll(async () => {
    prefix = `${uniq('it-consent-')}.`;
    groupId = `${prefix}notification-planner-consent`;
    infra = await startInfra('notification-planner', {
      SERVICE_INSTANCE: 'it', LOG_LEVEL: 'silent', KAFKA_BROKERS: stack.brokers, SCHEMA_REGISTRY_URL: stack.registryUrl,
      TOPIC_PREFIX: prefix, TOPIC_PARTITIONS: 2, TOPIC_REPLICATION_FACTOR: 1,
    }, ['contact.events', 'notification.requests']);
    const r1 = await readDecoded({ kafka: infra.kafka, codec: infra.codec, groupPrefix: prefix, topic: 'contact.events', onValue: (v) => contacts.push(v) });
    const r2 = await readDecoded({ kafka: infra.kafka, codec: infra.codec, groupPrefix: prefix, topic: 'notification.requests', onValue: (v) => requests.push(v) });
    readers.push(r1.consumer, r2.consumer);
    caughtUp = [r1.untilCaughtUp, r2.untilCaughtUp];
  }, 60_000);
  afterAll(async () => { for (const r of readers) await r.disconnect(); await infra?.close(); });

  it('a YA answering an opt-in request is confirmed once, across a restart and a replay of the whole partition; help is answered once a day', async () => {
    const ask = ev('MESSAGE_SENT', A, T0 - 2 * H, { optInRequest: true, notificationId: 'n-ask', pendaftaran_id: 'REG-1' });
    const ya = ev('MESSAGE_RECEIVED', A, T0, { text: 'ya 👍', contextId: ask.providerMessageId });
    const help1 = ev('MESSAGE_RECEIVED', B, T0, { text: 'BANTUAN' });
    const help2 = ev('MESSAGE_RECEIVED', B, T0 + H, { text: 'apa ini?' });
    await produce(ask, ya, help1, help2);

    let c = classifier('1');
    await c.start();
    await waitFor(async () => of('OPTED_IN', A).length === 1 && of('REPLY_UNMATCHED', B).length === 1, { what: 'first classifications', timeoutMs: 60_000 });
    const optedIn = of('OPTED_IN', A)[0]!;
    expect(optedIn).toMatchObject({ text: 'ya 👍', providerMessageId: ya.providerMessageId, contextId: ask.providerMessageId, causationId: ya.eventId, occurredAt: T0, provider: 'meta' });
    expect(optedIn.reason).toBe(`"YA" answering opt-in request ${ask.providerMessageId} (context id)`);
    await settle();
    expect(scenario('consent_opted_in', A).map((r) => r.causationId)).toEqual([optedIn.eventId]);
    expect(of('HELP_REQUESTED', B).map((e) => e.notificationId)).toEqual([helpAnswerId(B, '2026-11-22')]);
    expect(of('REPLY_UNMATCHED', B).map((e) => [e.notificationId, e.reason])).toEqual([[null, 'no known phrase; already answered on 2026-11-22']]);
    expect(scenario('consent_help', B).map((r) => r.notificationId)).toEqual([helpAnswerId(B, '2026-11-22')]);

    // Restart (same group): the state comes back from the partitions. MULAI changes nothing (already in);
    // another question the same day gets no second answer; the next day (Asia/Jakarta) gets one.
    await c.stop();
    c = classifier('2');
    await c.start();
    const again = ev('MESSAGE_RECEIVED', A, T0 + H, { text: 'MULAI' });
    const help3 = ev('MESSAGE_RECEIVED', B, T0 + 2 * H, { text: 'help' });
    const nextDay = ev('MESSAGE_RECEIVED', B, T0 + 16 * H, { text: 'info' }); // 01:00 WIB on the 23rd
    await produce(again, help3, nextDay);
    await waitFor(async () => of('HELP_REQUESTED', B).length === 3, { what: 'classified after the restart', timeoutMs: 60_000 });
    await settle();
    expect(of('OPTED_IN', A)).toHaveLength(1);
    expect(scenario('consent_opted_in', A)).toHaveLength(1);
    expect(of('HELP_REQUESTED', B).map((e) => e.notificationId)).toEqual([helpAnswerId(B, '2026-11-22'), null, helpAnswerId(B, '2026-11-23')]);
    expect(scenario('consent_help', B).map((r) => r.notificationId)).toEqual([helpAnswerId(B, '2026-11-22'), helpAnswerId(B, '2026-11-23')]);
    const ids = (xs: { eventId: string }[]) => [...new Set(xs.map((x) => x.eventId))].sort();
    const eventsBefore = ids(contacts.filter((e) => e.kind !== 'MESSAGE_RECEIVED' && e.kind !== 'MESSAGE_SENT'));
    const requestsBefore = ids(requests);

    // A replay from the start (the group's offsets reset, as after losing them): every reply is
    // classified again, and every record written carries an id already written: nothing new downstream.
    await c.stop();
    await infra.admin.resetOffsets({ groupId, topic: infra.codec.topic('contact.events'), earliest: true });
    const written = contacts.length + requests.length;
    c = classifier('3');
    await c.start();
    await waitFor(async () => { await settle(); return contacts.length + requests.length > written && of('HELP_REQUESTED', B).length >= 6; }, { what: 'the replay', timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 1000));
    await settle();
    expect(ids(contacts.filter((e) => e.kind !== 'MESSAGE_RECEIVED' && e.kind !== 'MESSAGE_SENT'))).toEqual(eventsBefore);
    expect(ids(requests)).toEqual(requestsBefore);
    expect(new Set(scenario('consent_opted_in', A).map((r) => r.notificationId)).size).toBe(1);
    await c.stop();
  }, 180_000);
});
