import { Writable } from 'node:stream';
import pino from 'pino';
import { z } from 'zod';
import { startInfra, type Followed, type Infra } from '@sicantik/kafka';
import { newDataKeyBytes, privacyEnv, privacySettings, startPrivacy, wrapKey, type Privacy } from '@sicantik/privacy';
import { retentionFactKey, type PrivacyRequestRecorded, type SubjectKey, type SubjectRetentionFact } from '@sicantik/schemas';
import { PRIVACY_TEST_ENV, stack, uniq, waitFor } from '../../../../test/support';
import { DAY_MS } from '../domain/keyExpiry';
import { retentionRequestId } from '../domain/privacyRequests';
import { followPrivacyRequests } from './privacy';
import { KeyExpiryJob } from './keyExpiry';

////////// The key-expiry job against the real broker and registry: with the clock past the
// retention period, the key of a person whose facts are all older goes (through the
// subject registry, recorded on privacy.requests with reason RETENTION), the key of a
// person with a still-valid permit stays, and the expired person's number gets a new subject.

const T0 = Date.parse('2026-01-05T03:00:00Z');
const RET_DAYS = 400;

describe('key expiry (real Kafka and registry)', () => {
  let infra: Infra; let prefix: string; let core: Privacy; let job: KeyExpiryJob; let followed: Followed;
  let log = '';
  let now = T0;
  const requests = new Map<string, PrivacyRequestRecorded>();

  beforeAll(async () => {
    prefix = `${uniq('it-expiry-')}.`;
    infra = await startInfra('delivery-tracker', {
      SERVICE_INSTANCE: 'it', LOG_LEVEL: 'silent', KAFKA_BROKERS: stack.brokers, SCHEMA_REGISTRY_URL: stack.registryUrl,
      TOPIC_PREFIX: prefix, TOPIC_PARTITIONS: 2, TOPIC_REPLICATION_FACTOR: 1,
    }, ['privacy.requests', 'subject.keys', 'subject.index', 'subject.retention']);
    core = await startPrivacy({ kafka: infra.kafka, admin: infra.admin, codec: infra.codec, settings: privacySettings(z.object(privacyEnv).parse(PRIVACY_TEST_ENV)), topicPrefix: prefix, service: 'delivery-tracker', instance: 'it', nudge: false, now: () => now });
    followed = await followPrivacyRequests({ infra, groupPrefix: prefix, requests });
    const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { log += String(chunk); cb(); } }));
    job = await KeyExpiryJob.start({
      infra, groupPrefix: `${prefix}expiry-`, registry: core.subjects!, ring: core.ring, logger, now: () => now, retentionDays: RET_DAYS, batch: 100,
      publish: (records) => infra.producer.send(records.map((r) => ({ topic: 'privacy.requests' as const, key: r.requestId, value: r }))),
    });
  });
  afterAll(async () => {
    await job?.stop();
    await followed?.stop();
    await core?.close();
    await infra?.close();
  });

  it('expires the key whose facts are all older than the retention period, keeps the one with a valid permit, and the number starts a new subject', async () => {
    const subjects = core.subjects!;
    // Three people seen on 2026-01-05: an applicant whose permit ended in 2026, one whose permit is valid until 2031, and a key nobody wrote a fact for.
    const old = await subjects.subjectFor('+6281200000001');
    const valid = await subjects.subjectFor('+6281200000002');
    const bare = await subjects.subjectFor('+6281200000003');
    // And a key with no blind-index entry at all (written alone): its key is tombstoned alone.
    const master = privacySettings(z.object(privacyEnv).parse(PRIVACY_TEST_ENV)).masterKeys[0]!;
    const lone = `lone-${uniq('')}`;
    const loneKey: SubjectKey = { subjectId: lone, wrappedKey: wrapKey(master, lone, newDataKeyBytes()), masterKeyId: master.id, createdAt: T0 };
    await infra.producer.send([{ topic: 'subject.keys', key: lone, value: loneKey }]);
    await waitFor(() => Promise.resolve(core.ring.state(lone) === 'live' || undefined), { what: 'the lone key read' });
    const fact = (subjectId: string, source: string, factUntil: number | null): SubjectRetentionFact => ({ subjectId, source, factUntil, updatedAt: T0 });
    await infra.producer.send([
      fact(old, 'permit:REG-OLD', Date.parse('2026-06-30T16:59:59.999Z')), fact(old, 'contact', Date.parse('2026-02-01T00:00:00Z')),
      fact(valid, 'permit:REG-VALID', Date.parse('2031-01-31T16:59:59.999Z')), fact(valid, 'contact', T0),
    ].map((f) => ({ topic: 'subject.retention' as const, key: retentionFactKey(f), value: f })));

    // Within the retention period of every fact: nothing expires.
    now = T0 + 300 * DAY_MS;
    expect(await job.run()).toEqual({ expired: 0, kept: 0, keys: 4, subjects: 2 });

    // 2027-08-05: the key-only subjects (created 2026-01-05) and the old applicant (permit ended 2026-06-30: until 2027-08-04) are past 400 days; the valid one is not.
    now = Date.parse('2027-08-05T00:00:00Z');
    expect(await job.run()).toEqual({ expired: 3, kept: 0, keys: 4, subjects: 2 });
    expect(core.ring.state(lone)).toBe('erased');
    expect(core.ring.state(old)).toBe('erased');
    expect(core.ring.state(bare)).toBe('erased');
    expect(core.ring.state(valid)).toBe('live');
    expect(subjects.lookup('+6281200000001')).toBeNull();
    expect(subjects.lookup('+6281200000002')).toBe(valid);

    // Recorded for the auditor: an ERASURE with reason RETENTION, the subject and why, DONE.
    await waitFor(() => Promise.resolve([old, bare, lone].every((s) => requests.get(retentionRequestId(s))?.status === 'DONE')), { what: 'retention records' });
    const rec = requests.get(retentionRequestId(old))!;
    expect({ kind: rec.kind, reason: rec.reason, status: rec.status, subjectId: rec.subjectId, receivedAt: rec.receivedAt, detail: rec.detail }).toEqual({
      kind: 'ERASURE', reason: 'RETENTION', status: 'DONE', subjectId: old, receivedAt: now,
      detail: 'retention ended 2027-08-04T16:59:59.999Z (400 days after the latest of 2 fact(s) (permits, directory entry, contact events)): subject key and blind-index entry tombstoned; projections scrubbed by the tracker',
    });
    expect(requests.get(retentionRequestId(bare))!.detail).toBe('retention ended 2027-02-09T03:00:00.000Z (400 days after the no fact about the person besides the key: kept from its creation): subject key and blind-index entry tombstoned; projections scrubbed by the tracker');

    // On the topic: a new reader of subject.keys finds only the valid person's key.
    const reader = await KeyExpiryJob.start({ infra, groupPrefix: `${prefix}expiry-check-`, registry: core.subjects!, ring: core.ring, logger: pino({ level: 'silent' }), now: () => now, retentionDays: RET_DAYS, batch: 100, publish: () => Promise.resolve() });
    expect([...reader.keys.keys()]).toEqual([valid]);
    await reader.stop();

    // A repeated run finds nothing more; a new permit with the number starts a new subject.
    expect(await job.run()).toEqual({ expired: 0, kept: 0, keys: 1, subjects: 2 });
    const again = await subjects.subjectFor('+6281200000001');
    expect(again).not.toBe(old);
    expect(core.ring.state(again)).toBe('live');
    expect(log).toContain('"msg":"subject key expired: retention period ended"');
  });

  it('a person handed out again within the retention period keeps the key, also against a run that decided before (KEPT); requests a stopped run left open are answered', async () => {
    const subjects = core.subjects!;
    const fact = (subjectId: string, source: string, factUntil: number | null): SubjectRetentionFact => ({ subjectId, source, factUntil, updatedAt: T0 });
    // Seen at T0, a permit that ended in 2026: due by now (2027-08-05).
    now = T0;
    const back = await subjects.subjectFor('+6281200000009');
    await infra.producer.send([fact(back, 'permit:REG-BACK', Date.parse('2026-06-30T16:59:59.999Z'))].map((f) => ({ topic: 'subject.retention' as const, key: retentionFactKey(f), value: f })));
    now = Date.parse('2027-08-05T00:00:00Z');
    // The person comes back (a new permit): the number's writer hands the same subject out and
    // writes its entry again with lastSeenAt, before the permit's fact exists anywhere.
    const before = { ...subjects.stats };
    expect(await subjects.subjectFor('+6281200000009')).toBe(back);
    expect(subjects.stats).toEqual(before); // no allocation, no retry: the same subject
    // Within a day it is handed out from memory.
    now += 3600_000;
    expect(await subjects.subjectFor('+6281200000009')).toBe(back);
    // The job finds the subject seen within the retention period: not due.
    const run = await job.run();
    expect([run.expired, run.kept]).toEqual([0, 0]);
    expect(core.ring.state(back)).toBe('live');
    // The race the registry closes: a run that decided before the person came back erases
    // through the number's writer, which sees the entry's lastSeenAt and keeps the key.
    expect(await subjects.eraseSubjects([back], { notSeenSince: now - RET_DAYS * DAY_MS })).toEqual(['KEPT']);
    expect(core.ring.state(back)).toBe('live');
    // Without the person's return the same call erases (the subject seen before the cutoff).
    now = T0;
    const idle = await subjects.subjectFor('+6281200000011');
    now = Date.parse('2027-08-05T02:00:00Z');
    expect(await subjects.eraseSubjects([idle], { notSeenSince: now - RET_DAYS * DAY_MS })).toEqual(['ERASED']);

    // A stopped run: RECEIVED written, the key erased, no answer. And one RECEIVED for a subject no longer due.
    const gone = await subjects.subjectFor('+6281200000010');
    expect(await subjects.eraseSubjects([gone])).toEqual(['ERASED']);
    const valid = subjects.lookup('+6281200000002')!;
    const open = (subjectId: string): PrivacyRequestRecorded => ({
      eventId: `open-${subjectId}`, occurredAt: now, correlationId: 'c', causationId: null, requestId: retentionRequestId(subjectId), kind: 'ERASURE', subjectId,
      receivedAt: now, deadline: now + 3 * DAY_MS, status: 'RECEIVED', detail: 'retention ended', reason: 'RETENTION',
    });
    await infra.producer.send([open(gone), open(valid)].map((r) => ({ topic: 'privacy.requests' as const, key: r.requestId, value: r })));
    await waitFor(() => Promise.resolve(requests.get(retentionRequestId(valid))?.status === 'RECEIVED' || undefined), { what: 'the open requests read' });
    const next = await job.run();
    expect([next.expired, next.kept]).toEqual([1, 1]);
    expect(core.ring.state(back)).toBe('live');
    await waitFor(() => Promise.resolve((requests.get(retentionRequestId(gone))?.status === 'DONE' && requests.get(retentionRequestId(valid))?.status === 'KEPT') || undefined), { what: 'the open requests answered' });
    expect(core.ring.state(valid)).toBe('live');
  });
});
