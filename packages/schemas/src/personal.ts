import type { TopicName, TopicValues } from './catalog';

////////// Personal data in event values (issue 16, the privacy model)
// Per topic: where the record's subject id is, and which string fields hold a person's
// data (names, phone numbers, free text, provider message ids). @sicantik/privacy
// encrypts exactly these with the subject's key; SchemaCodec applies it through a
// PersonalDataHook. A path is a dotted list of field names; `*` stands for every element
// of an array or every value of a map. A record whose subject id is null or absent is
// left as it is (written before issue 16, or a person without a subject).

export interface PersonalFields {
  /** Dotted path of the subject id. */
  subject: string;
  /** Dotted paths of the personal string fields (null values stay null). */
  fields: readonly string[];
}

const RENDERED_FIELDS = ['recipient.name', 'recipient.phone', 'text', 'parameters.*.value', 'providerParameters.*.*'] as const;
const inNotification = (paths: readonly string[]) => paths.map((p) => `notification.${p}`);

export const PERSONAL_FIELDS: Partial<Record<TopicName, PersonalFields>> = {
  'permit.events': { subject: 'subjectId', fields: ['payload.nama_pemohon', 'payload.telepon_pemohon'] },
  'directory.events': { subject: 'subjectId', fields: ['name', 'phone'] },
  'notification.requests': { subject: 'recipient.subjectId', fields: ['recipient.name', 'recipient.phone', 'variables.*', 'items.*.*'] },
  'notification.rendered': { subject: 'recipient.subjectId', fields: RENDERED_FIELDS },
  'dispatch.retry.1': { subject: 'notification.recipient.subjectId', fields: ['providerMessageId', ...inNotification(RENDERED_FIELDS)] },
  'dispatch.retry.2': { subject: 'notification.recipient.subjectId', fields: ['providerMessageId', ...inNotification(RENDERED_FIELDS)] },
  'dispatch.retry.3': { subject: 'notification.recipient.subjectId', fields: ['providerMessageId', ...inNotification(RENDERED_FIELDS)] },
  'dispatch.dead-letter': { subject: 'notification.recipient.subjectId', fields: inNotification(RENDERED_FIELDS) },
  'notification.dispatch': { subject: 'subjectId', fields: ['providerMessageId'] },
  'dispatch.ledger': { subject: 'subjectId', fields: ['providerMessageId'] },
  'dispatch.awaiting-report': { subject: 'subjectId', fields: ['providerMessageId'] },
  'dispatch.reconcile': { subject: 'subjectId', fields: ['providerMessageId'] },
  'contact.events': { subject: 'subjectId', fields: ['phone', 'text', 'providerMessageId', 'contextId'] },
  'planner.state': { subject: 'subjectId', fields: ['body'] },
};

/** Topics whose values hold personal fields. */
export const PERSONAL_TOPICS = Object.keys(PERSONAL_FIELDS) as TopicName[];

/** A path trie: a segment leads to a deeper trie, or to LEAF (the string there is personal). */
type Trie = Map<string, Trie | typeof LEAF>;
const LEAF = Symbol('leaf');

function trieOf(paths: readonly string[]): Trie {
  const root: Trie = new Map();
  for (const p of paths) {
    const segs = p.split('.');
    let node = root;
    segs.forEach((s, i) => {
      if (i === segs.length - 1) { node.set(s, LEAF); return; }
      let next = node.get(s);
      if (!next || next === LEAF) { next = new Map(); node.set(s, next); }
      node = next;
    });
  }
  return root;
}

interface Compiled { subject: string[]; trie: Trie }
const compiled = new Map<TopicName, Compiled>(
  (Object.entries(PERSONAL_FIELDS) as [TopicName, PersonalFields][]).map(([t, f]) => [t, { subject: f.subject.split('.'), trie: trieOf(f.fields) }]),
);

/** The subject id a record belongs to (null: none, or a topic without personal fields). */
export function subjectOf<T extends TopicName>(topic: T, value: TopicValues[T]): string | null {
  const c = compiled.get(topic);
  if (!c) return null;
  let v: unknown = value;
  for (const s of c.subject) {
    if (v === null || typeof v !== 'object') return null;
    v = (v as Record<string, unknown>)[s];
  }
  return typeof v === 'string' && v !== '' ? v : null;
}

function walk(v: unknown, trie: Trie, fn: (s: string) => string): unknown {
  if (v === null || typeof v !== 'object') return v;
  const src = v as Record<string, unknown>;
  const out: Record<string, unknown> = Array.isArray(v) ? [...(v as unknown[])] as unknown as Record<string, unknown> : { ...src };
  for (const [seg, next] of trie) {
    const keys = seg === '*' ? Object.keys(src) : (seg in src ? [seg] : []);
    for (const k of keys) {
      const child = out[k];
      if (next === LEAF) { if (typeof child === 'string') out[k] = fn(child); } else out[k] = walk(child, next, fn);
    }
  }
  return out;
}

/**
 * A copy of `value` with `fn` applied to each of its personal string fields (the value
 * itself is not changed; only the objects on the way to a personal field are copied).
 * Topics without personal fields return `value` as it is.
 */
export function mapPersonalFields<T extends TopicName>(topic: T, value: TopicValues[T], fn: (field: string) => string): TopicValues[T] {
  const c = compiled.get(topic);
  if (!c) return value;
  return walk(value, c.trie, fn) as TopicValues[T];
}

/** Each personal string field of a value, in no particular order. */
export function personalStrings<T extends TopicName>(topic: T, value: TopicValues[T]): string[] {
  const out: string[] = [];
  mapPersonalFields(topic, value, (s) => { out.push(s); return s; });
  return out;
}

/**
 * What SchemaCodec calls to encrypt personal fields on encode and decrypt them on decode
 * (implemented by @sicantik/privacy's PersonalData). A codec without one reads and writes
 * values as they are.
 */
export interface PersonalDataHook {
  /**
   * Resolves once every subject key the values need is known (or known erased); undefined
   * when nothing is missing (no await needed). Called by the producer before encode.
   */
  prepare(topic: TopicName, values: readonly unknown[]): Promise<void> | undefined;
  /** The value with its personal fields encrypted (erased subject: the ERASED marker instead). */
  protect<T extends TopicName>(topic: T, value: TopicValues[T]): TopicValues[T];
  /** The value with its personal fields decrypted; undefined when a key must first be fetched (then call revealAsync). */
  reveal<T extends TopicName>(topic: T, value: TopicValues[T]): TopicValues[T] | undefined;
  /** reveal() after catching up with the key topic. */
  revealAsync<T extends TopicName>(topic: T, value: TopicValues[T]): Promise<TopicValues[T]>;
}
