import { TransientError } from '@sicantik/core';
import { mapPersonalFields, subjectOf, type PersonalDataHook, type TopicName, type TopicValues } from '@sicantik/schemas';
import { decryptField, encryptField, ERASED, isEncrypted, isErased, type DataKey } from './crypto';

////////// Field encryption of event values (the codec hook)
// protect(): each personal field (PERSONAL_FIELDS of @sicantik/schemas) encrypted with the
// record's subject key; a record without a subject id is left as it is; a field already
// encrypted, or the ERASED marker, is left as it is; an erased subject's fields become
// ERASED (nothing personal is written for a person who is gone).
// reveal(): each encrypted field decrypted; an erased subject's fields read ERASED; a
// plaintext field (written before issue 16) reads as it is. Tampered ciphertext throws a
// PermanentError (code TAMPERED): the consumer dead-letters that record.

/** What PersonalData needs of a key ring (KeyRing, or a map in unit tests). */
export interface SubjectKeys {
  keyOf(subjectId: string): DataKey | undefined;
  state(subjectId: string): 'live' | 'erased' | 'unknown';
  /** After a catch-up with the key topic: live, or erased (unknown concluded erased). */
  resolve(subjectId: string): Promise<'live' | 'erased'>;
}

export class PersonalData implements PersonalDataHook {
  constructor(private readonly keys: SubjectKeys) {}

  prepare(topic: TopicName, values: readonly unknown[]): Promise<void> | undefined {
    let missing: Set<string> | undefined;
    for (const v of values) {
      const s = subjectOf(topic, v as never);
      if (s && this.keys.state(s) === 'unknown') (missing ??= new Set()).add(s);
    }
    if (!missing) return undefined;
    return Promise.all([...missing].map((s) => this.keys.resolve(s))).then(() => undefined);
  }

  protect<T extends TopicName>(topic: T, value: TopicValues[T]): TopicValues[T] {
    const s = subjectOf(topic, value);
    if (!s) return value;
    const key = this.keys.keyOf(s);
    if (key) {
      // A text that occurs in several fields of one record (the name in the recipient, the
      // parameters and each provider's parameters) is encrypted once and its ciphertext
      // reused there: it only shows that those fields are equal, which the record's shape
      // already says.
      const aad = Buffer.from(s, 'utf8');
      return mapEachTextOnce(topic, value, (f) => (isEncrypted(f) || isErased(f) ? f : encryptField(key, aad, f)));
    }
    if (this.keys.state(s) === 'unknown') throw new TransientError(`the key of subject ${s} is not in memory yet (call prepare() before encode)`);
    return mapPersonalFields(topic, value, () => ERASED);
  }

  reveal<T extends TopicName>(topic: T, value: TopicValues[T]): TopicValues[T] | undefined {
    const s = subjectOf(topic, value);
    if (!s) return value;
    const key = this.keys.keyOf(s);
    if (key) {
      const aad = Buffer.from(s, 'utf8');
      return mapEachTextOnce(topic, value, (f) => (isEncrypted(f) ? decryptField(key, aad, f) : f));
    }
    if (this.keys.state(s) === 'unknown') return undefined;
    return mapPersonalFields(topic, value, (f) => (isEncrypted(f) ? ERASED : f));
  }

  async revealAsync<T extends TopicName>(topic: T, value: TopicValues[T]): Promise<TopicValues[T]> {
    const s = subjectOf(topic, value);
    if (s) await this.keys.resolve(s);
    return this.reveal(topic, value) ?? value;
  }

  /** Whether a decoded record's subject is erased (its personal fields read ERASED). */
  erased<T extends TopicName>(topic: T, value: TopicValues[T]): boolean {
    const s = subjectOf(topic, value);
    return s !== null && this.keys.state(s) === 'erased';
  }
}

/** mapPersonalFields, with `fn` called once per distinct text of the record (a repeated text gets the same result). */
function mapEachTextOnce<T extends TopicName>(topic: T, value: TopicValues[T], fn: (f: string) => string): TopicValues[T] {
  const done = new Map<string, string>();
  return mapPersonalFields(topic, value, (f) => {
    let r = done.get(f);
    if (r === undefined) { r = fn(f); done.set(f, r); }
    return r;
  });
}

/** reveal(protect(x)) with a PersonalData over `keys`: the functions without a codec (tests, tools). */
export function protect<T extends TopicName>(keys: SubjectKeys, topic: T, value: TopicValues[T]): TopicValues[T] {
  return new PersonalData(keys).protect(topic, value);
}
export function reveal<T extends TopicName>(keys: SubjectKeys, topic: T, value: TopicValues[T]): TopicValues[T] | undefined {
  return new PersonalData(keys).reveal(topic, value);
}
