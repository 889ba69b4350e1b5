import fc from 'fast-check';
import { DAY_MS, applyRetentionFact, expiringSubjects, expiryDetail, keepUntil, removeRetentionFact, type RetentionFacts } from './keyExpiry';

const RET = 400 * DAY_MS;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const NOW = Date.parse('2028-06-01T00:00:00Z');

describe('keepUntil', () => {
  it('is the key creation plus retention for a subject known only by its key', () => {
    expect(keepUntil(T0, undefined, RET)).toBe(T0 + RET);
    expect(keepUntil(T0, new Map(), RET)).toBe(T0 + RET);
  });
  it('is the latest fact plus retention', () => {
    expect(keepUntil(T0, new Map([['permit:A', T0 + 10 * DAY_MS], ['contact', T0 + 30 * DAY_MS]]), RET)).toBe(T0 + 30 * DAY_MS + RET);
  });
  it('never counts from before the key existed', () => {
    expect(keepUntil(T0, new Map([['contact', T0 - 99 * DAY_MS]]), RET)).toBe(T0 + RET);
  });
  it('is for ever while a fact holds with no end (a current directory entry)', () => {
    expect(keepUntil(T0, new Map([['directory:s1', null], ['contact', T0]]), RET)).toBe(Infinity);
  });
});

describe('expiringSubjects', () => {
  const facts: RetentionFacts = new Map();
  // a permit valid until 2030: kept
  applyRetentionFact(facts, { subjectId: 'valid', source: 'permit:P1', factUntil: Date.parse('2030-12-31T16:59:59.999Z') });
  // a permit that ended in 2026, last contact in mid 2026: expired since mid 2027
  applyRetentionFact(facts, { subjectId: 'old', source: 'permit:P2', factUntil: Date.parse('2026-03-01T00:00:00Z') });
  applyRetentionFact(facts, { subjectId: 'old', source: 'contact', factUntil: Date.parse('2026-06-01T00:00:00Z') });
  // an old permit but a contact inside the retention period: kept
  applyRetentionFact(facts, { subjectId: 'recent-contact', source: 'permit:P3', factUntil: Date.parse('2026-01-02T00:00:00Z') });
  applyRetentionFact(facts, { subjectId: 'recent-contact', source: 'contact', factUntil: NOW - 399 * DAY_MS });
  // staff: current entry kept, removed entry counts from removal
  applyRetentionFact(facts, { subjectId: 'staff', source: 'directory:e1', factUntil: null });
  applyRetentionFact(facts, { subjectId: 'former-staff', source: 'directory:e2', factUntil: Date.parse('2026-02-01T00:00:00Z') });
  const keys = ['valid', 'old', 'recent-contact', 'staff', 'former-staff', 'key-only', 'key-only-young'].map((subjectId) => ({ subjectId, createdAt: subjectId === 'key-only-young' ? NOW - DAY_MS : T0 }));

  it('expires exactly the subjects whose facts are all older than the retention period, oldest first', () => {
    expect(expiringSubjects(keys, facts, NOW, RET)).toEqual([
      { subjectId: 'key-only', keepUntil: T0 + RET, facts: 0 },
      { subjectId: 'former-staff', keepUntil: Date.parse('2026-02-01T00:00:00Z') + RET, facts: 1 },
      { subjectId: 'old', keepUntil: Date.parse('2026-06-01T00:00:00Z') + RET, facts: 2 },
    ]);
  });
  it('takes at most `limit`, the oldest', () => {
    expect(expiringSubjects(keys, facts, NOW, RET, 1).map((e) => e.subjectId)).toEqual(['key-only']);
  });
  it('a tombstone removes one source', () => {
    const f: RetentionFacts = new Map();
    applyRetentionFact(f, { subjectId: 's', source: 'permit:A', factUntil: NOW });
    applyRetentionFact(f, { subjectId: 's', source: 'contact', factUntil: T0 });
    removeRetentionFact(f, 's|permit:A');
    expect([...f.get('s')!]).toEqual([['contact', T0]]);
    removeRetentionFact(f, 's|contact');
    expect(f.has('s')).toBe(false);
  });
  it('says why in the audit record', () => {
    expect(expiryDetail({ subjectId: 'old', keepUntil: Date.parse('2027-07-06T00:00:00Z'), facts: 2 }, 400))
      .toBe('retention ended 2027-07-06T00:00:00.000Z (400 days after the latest of 2 fact(s) (permits, directory entry, contact events)): subject key and blind-index entry tombstoned; projections scrubbed by the tracker');
  });
});

describe('expiringSubjects (property)', () => {
  const time = fc.integer({ min: T0 - 1000 * DAY_MS, max: T0 + 2000 * DAY_MS });
  const subject = fc.record({
    createdAt: time,
    facts: fc.array(fc.record({ source: fc.constantFrom('permit:A', 'permit:B', 'directory:e', 'contact'), factUntil: fc.option(time, { freq: 8 }) }), { maxLength: 5 }),
  });
  it('never expires a subject with a fact inside the retention period (a valid permit included) or an open one, and expires every other', () => {
    fc.assert(fc.property(fc.array(subject, { maxLength: 8 }), time, fc.integer({ min: 0, max: 800 }), (subjects, now, days) => {
      const retentionMs = days * DAY_MS;
      const facts: RetentionFacts = new Map();
      const keys = subjects.map((s, i) => ({ subjectId: `s${i}`, createdAt: s.createdAt }));
      subjects.forEach((s, i) => s.facts.forEach((f) => applyRetentionFact(facts, { subjectId: `s${i}`, ...f })));
      const expired = new Set(expiringSubjects(keys, facts, now, retentionMs).map((e) => e.subjectId));
      subjects.forEach((s, i) => {
        const latest = [...(facts.get(`s${i}`)?.values() ?? [])];
        const held = latest.some((u) => u === null || u > now - retentionMs) || s.createdAt > now - retentionMs;
        expect(expired.has(`s${i}`)).toBe(!held);
      });
    }));
  });
});
