import { randomBytes } from 'node:crypto';
import * as avro from 'avsc';
import fc from 'fast-check';
import { loadSchema, mapPersonalFields, PERSONAL_FIELDS, PERSONAL_TOPICS, personalStrings, plainCopy, subjectOf, type NotificationRendered, type TopicName, type TopicValues } from '@sicantik/schemas';
import { dataKeyOf, encryptField, ERASED, isEncrypted, type DataKey } from './crypto';
import { PersonalData, protect, reveal, type SubjectKeys } from './personal';

/** Keys in a map; `later` holds keys a catch-up would find (resolve() moves them in). */
class MapKeys implements SubjectKeys {
  live = new Map<string, DataKey>();
  later = new Map<string, DataKey>();
  gone = new Set<string>();
  catchUps = 0;
  add(s: string) { const k = dataKeyOf(randomBytes(32)); this.live.set(s, k); return k; }
  keyOf(s: string) { return this.live.get(s); }
  state(s: string) { return this.live.has(s) ? 'live' as const : this.gone.has(s) ? 'erased' as const : 'unknown' as const; }
  async resolve(s: string) {
    this.catchUps++;
    for (const [k, v] of this.later) this.live.set(k, v);
    this.later.clear();
    if (this.live.has(s)) return 'live' as const;
    this.gone.add(s);
    return 'erased' as const;
  }
}

const rendered = (subjectId: string | null): NotificationRendered => ({
  eventId: 'e-1', occurredAt: 1_796_000_000_000, correlationId: 'c-1', causationId: null, notificationId: 'n-1', scenario: 'permit_ready', templateCode: 'permit_ready', templateVersion: 1,
  pendaftaran_id: 'REG-1', recipient: { kind: 'APPLICANT', id: 'REG-1', name: 'Budi Santoso', phone: '+6281234567890', subjectId }, outcome: 'RENDERED',
  text: 'Yth. Budi Santoso, izin Anda siap.', parameters: [{ name: 'nama', value: 'Budi Santoso' }, { name: 'no', value: '503/1' }], language: 'id', failureReason: null,
  providerParameters: { meta: { '1': 'Budi Santoso' }, fonnte: { var1: 'Budi Santoso', var2: '503/1' } },
  notBefore: null, deferReason: null, supersedeKey: null, staleAfter: null,
});

describe('the catalogue of personal fields', () => {
  it('finds the subject and the personal strings of a rendered notification', () => {
    const v = rendered('s-1');
    expect(subjectOf('notification.rendered', v)).toBe('s-1');
    expect(personalStrings('notification.rendered', v).sort()).toEqual(['+6281234567890', '503/1', '503/1', 'Budi Santoso', 'Budi Santoso', 'Budi Santoso', 'Budi Santoso', 'Yth. Budi Santoso, izin Anda siap.'].sort());
    expect(subjectOf('notification.rendered', rendered(null))).toBeNull();
    expect(subjectOf('template.events', { code: 'x' } as never)).toBeNull();
  });

  it('copies only the objects on the way to a personal field and never changes the input', () => {
    const v = rendered('s-1');
    const frozen = JSON.stringify(v);
    const out = mapPersonalFields('notification.rendered', v, (s) => s.toUpperCase());
    expect(JSON.stringify(v)).toBe(frozen);
    expect(out.recipient.name).toBe('BUDI SANTOSO');
    expect(out.recipient.kind).toBe('APPLICANT');
    expect(out.parameters[1]).toEqual({ name: 'no', value: '503/1' });
    expect(out.templateCode).toBe('permit_ready');
  });
});

describe('PersonalData (the codec hook)', () => {
  it('encrypts every personal field with the subject key and reveals them again', () => {
    const keys = new MapKeys();
    keys.add('s-1');
    const p = new PersonalData(keys);
    const v = rendered('s-1');
    const enc = p.protect('notification.rendered', v);
    expect(personalStrings('notification.rendered', enc).every(isEncrypted)).toBe(true);
    expect(enc.recipient.subjectId).toBe('s-1');
    expect(enc.parameters.map((x) => x.name)).toEqual(['nama', 'no']);
    expect(JSON.stringify(enc)).not.toContain('Budi');
    expect(JSON.stringify(enc)).not.toContain('81234567890');
    expect(p.reveal('notification.rendered', enc)).toEqual(v);
    // Protecting twice does not encrypt twice.
    expect(p.reveal('notification.rendered', p.protect('notification.rendered', enc))).toEqual(v);
  });

  it('leaves a record without a subject id, and plaintext fields written before issue 16, as they are', () => {
    const keys = new MapKeys();
    keys.add('s-1');
    const p = new PersonalData(keys);
    const plain = rendered(null);
    expect(p.protect('notification.rendered', plain)).toBe(plain);
    expect(p.reveal('notification.rendered', plain)).toBe(plain);
    expect(p.reveal('notification.rendered', rendered('s-1'))).toEqual(rendered('s-1'));
  });

  it("reads an erased subject's fields as ERASED, writes ERASED for it, and never throws", async () => {
    const keys = new MapKeys();
    const k = keys.add('s-1');
    const p = new PersonalData(keys);
    const enc = p.protect('notification.rendered', rendered('s-1'));
    keys.live.delete('s-1');
    keys.gone.add('s-1');
    const out = p.reveal('notification.rendered', enc)!;
    expect(out.recipient.name).toBe(ERASED);
    expect(out.recipient.phone).toBe(ERASED);
    expect(out.text).toBe(ERASED);
    expect(out.providerParameters).toEqual({ meta: { '1': ERASED }, fonnte: { var1: ERASED, var2: ERASED } });
    expect(out.recipient.kind).toBe('APPLICANT');
    expect(p.erased('notification.rendered', out)).toBe(true);
    const written = p.protect('notification.rendered', rendered('s-1'));
    expect(personalStrings('notification.rendered', written)).toEqual(Array(8).fill(ERASED));
    expect(encryptField(k, 's-1', 'x')).toMatch(/^pd1\./);
  });

  it('on a miss, reveal() asks for the async path, which catches up once and then decrypts or reads ERASED', async () => {
    const keys = new MapKeys();
    const writer = new MapKeys();
    const k = writer.add('s-2');
    const enc = new PersonalData(writer).protect('notification.rendered', rendered('s-2'));
    const p = new PersonalData(keys);
    expect(p.reveal('notification.rendered', enc)).toBeUndefined();
    keys.later.set('s-2', k);
    await expect(p.revealAsync('notification.rendered', enc)).resolves.toEqual(rendered('s-2'));
    expect(keys.catchUps).toBe(1);
    // A subject no catch-up finds is erased, remembered (no second catch-up).
    writer.add('s-4');
    const enc4 = new PersonalData(writer).protect('notification.rendered', rendered('s-4'));
    expect((await p.revealAsync('notification.rendered', enc4)).recipient.phone).toBe(ERASED);
    expect(p.reveal('notification.rendered', enc4)!.recipient.phone).toBe(ERASED);
    expect(keys.catchUps).toBe(2);
  });

  it('protect() refuses a subject whose key is not in memory yet (retriable), and prepare() fetches it', async () => {
    const keys = new MapKeys();
    const p = new PersonalData(keys);
    expect(() => p.protect('notification.rendered', rendered('s-5'))).toThrow(expect.objectContaining({ retriable: true }));
    keys.later.set('s-5', dataKeyOf(randomBytes(32)));
    expect(p.prepare('notification.rendered', [rendered(null)])).toBeUndefined();
    await p.prepare('notification.rendered', [rendered('s-5'), rendered('s-5')]);
    expect(keys.catchUps).toBe(1);
    expect(isEncrypted(p.protect('notification.rendered', rendered('s-5')).recipient.phone)).toBe(true);
    expect(p.prepare('notification.rendered', [rendered('s-5')])).toBeUndefined();
  });
});

////////// Properties over random records of every topic with personal fields

/** A random value of the topic's schema (avsc's generator), as the codec hands it over, with the subject set. */
function randomRecord<T extends TopicName>(topic: T, subjectId: string, texts: string[]): TopicValues[T] {
  const type = avro.Type.forSchema(loadSchema(topic) as avro.Schema);
  let v = plainCopy(type.random()) as Record<string, unknown>;
  if (topic === 'permit.events') {
    const [fullName, fields] = Object.entries(v.payload as Record<string, Record<string, unknown>>)[0]!;
    v = { ...v, payload: { type: fullName.slice(fullName.lastIndexOf('.') + 1), ...fields } };
  }
  const path = PERSONAL_FIELDS[topic]!.subject.split('.');
  let o = v;
  for (const s of path.slice(0, -1)) o = o[s] as Record<string, unknown>;
  o[path[path.length - 1]!] = subjectId;
  let i = 0;
  return mapPersonalFields(topic, v as unknown as TopicValues[T], () => texts[i++ % texts.length]!);
}

describe('properties', () => {
  const keys = new MapKeys();
  keys.add('subject-a');
  const text = fc.string({ minLength: 8, maxLength: 40, unit: 'grapheme' });

  it.each(PERSONAL_TOPICS)('%s: reveal(protect(x)) = x, and the Avro bytes of protect(x) contain no personal plaintext', (topic) => {
    const type = avro.Type.forSchema(loadSchema(topic) as avro.Schema);
    let checked = 0;
    fc.assert(fc.property(fc.array(text, { minLength: 1, maxLength: 5 }), (texts) => {
      const x = randomRecord(topic, 'subject-a', texts);
      const enc = protect(keys, topic, x);
      expect(reveal(keys, topic, enc)).toEqual(x);
      const wire = topic === 'permit.events' ? (() => { const { type: t, ...f } = (enc as TopicValues['permit.events']).payload; return { ...enc, payload: { [`id.go.karokab.sicantik.permit.${t}`]: f } }; })() : enc;
      const bytes = type.toBuffer(wire);
      for (const s of personalStrings(topic, x)) { expect(bytes.includes(Buffer.from(s, 'utf8'))).toBe(false); checked++; }
    }), { numRuns: 60 });
    expect(checked).toBeGreaterThan(10); // the random records do carry personal fields
  });
});
