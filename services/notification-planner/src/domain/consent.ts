import { DateTime } from 'luxon';
import { deterministicId, maskPhone, notificationId } from '@sicantik/core';
import { contactEventKey, type ContactEvent, type NotificationRequested, type Recipient } from '@sicantik/schemas';

////////// Consent classifier (pure): a person's contact events -> consent, answers, notices
// Reads every event of one person (contact.events, keyed by subject) in topic order and
// keeps what classifying a reply needs: the consent state, the opt-in requests we sent
// (provider message id and time), the day of the last automatic answer, the messages we
// sent (provider message id -> notification and permit). A reply (MESSAGE_RECEIVED) is
// normalised and matched as a whole phrase against the configured families; what it
// causes has ids derived from the reply's event id (and the answer's from subject + day),
// so classifying the same reply again yields the same events and requests.
//
// The state is a fold of the events alone (time comes from the events: a reply's
// occurredAt), so it is rebuilt by replaying the partition, which emits nothing.

const ZONE = 'Asia/Jakarta';
const HOUR = 3_600_000;

////////// Phrases and normalisation

export interface ConsentPhrases {
  optOut: readonly string[];
  optIn: readonly string[];
  /** Consent only as the answer to an opt-in request (by context id, or within optInAnswerWindowMs after one). */
  bareYes: readonly string[];
  help: readonly string[];
  wrongNumber: readonly string[];
  /** Words that negate: a reply holding one of them never opts in (and only an opt-out phrase itself can opt out). */
  negations: readonly string[];
}

/** The Indonesian defaults (and the English words people use). */
export const DEFAULT_PHRASES: ConsentPhrases = {
  optOut: ['STOP', 'BERHENTI', 'UNSUBSCRIBE', 'STOP NOTIFIKASI', 'BERHENTI NOTIFIKASI', 'JANGAN KIRIM', 'JANGAN KIRIM LAGI', 'JANGAN KIRIM PESAN LAGI', 'SAYA MAU BERHENTI', 'BERHENTI BERLANGGANAN', 'OPT OUT'],
  optIn: ['MULAI', 'START', 'SUBSCRIBE', 'SETUJU', 'SAYA SETUJU', 'YA SETUJU', 'YA SAYA SETUJU', 'DAFTAR NOTIFIKASI', 'MULAI NOTIFIKASI', 'OPT IN'],
  bareYes: ['YA', 'IYA', 'YES', 'OK', 'OKE', 'BOLEH'],
  help: ['BANTUAN', 'HELP', 'INFO', 'TOLONG', 'MENU', 'BANTU'],
  wrongNumber: ['BUKAN SAYA', 'SALAH NOMOR', 'SALAH NOMER', 'NOMOR SALAH', 'SALAH ORANG', 'SALAH KIRIM', 'WRONG NUMBER'],
  negations: ['TIDAK', 'TDK', 'TAK', 'GAK', 'GA', 'NGGAK', 'ENGGAK', 'NDAK', 'JANGAN', 'BUKAN', 'BELUM', 'NO', 'NOT', 'DONT', 'NEVER'],
};

function normaliseOnce(text: string): string {
  return text
    .normalize('NFKC')
    .toUpperCase()
    .normalize('NFKC')
    // Apostrophes inside words join them (DON'T -> DONT); everything not a letter or a digit is a space.
    .replace(/(\p{L})['’`](\p{L})/gu, '$1$2')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    // Repeated letters (YAAA, stoooop, SETUJUUU) count once.
    .replace(/(\p{L})\1+/gu, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * A reply as it is matched: Unicode NFKC, upper case, punctuation, symbols and emoji
 * gone, a letter repeated in a row counted once, single spaces. Idempotent.
 */
export function normalise(text: string): string {
  let cur = normaliseOnce(text);
  // A few characters change again under a second pass (an upper case that decomposes); stop at the fixed point.
  for (let i = 0; i < 4; i++) {
    const next = normaliseOnce(cur);
    if (next === cur) return cur;
    cur = next;
  }
  return cur;
}

/** The phrase families normalised once (as replies are), with the negation words as a set. */
export interface CompiledPhrases {
  optOut: ReadonlySet<string>; optIn: ReadonlySet<string>; bareYes: ReadonlySet<string>; help: ReadonlySet<string>; wrongNumber: ReadonlySet<string>;
  negations: ReadonlySet<string>;
}

export class PhraseConfigError extends Error {
  readonly retriable = false;
}

/** Normalises every phrase; refuses an opt-in or bare-yes phrase that holds a negation word, and a phrase in two families. */
export function compilePhrases(p: ConsentPhrases): CompiledPhrases {
  const set = (xs: readonly string[]) => new Set(xs.map(normalise).filter((x) => x !== ''));
  const negations = set(p.negations);
  const c = { optOut: set(p.optOut), optIn: set(p.optIn), bareYes: set(p.bareYes), help: set(p.help), wrongNumber: set(p.wrongNumber), negations };
  for (const fam of ['optIn', 'bareYes'] as const) {
    for (const ph of c[fam]) if (ph.split(' ').some((w) => negations.has(w))) throw new PhraseConfigError(`the ${fam} phrase "${ph}" holds a negation word: it could never count`);
  }
  const seen = new Map<string, string>();
  for (const fam of ['optOut', 'optIn', 'bareYes', 'help', 'wrongNumber'] as const) {
    for (const ph of c[fam]) {
      const other = seen.get(ph);
      if (other) throw new PhraseConfigError(`the phrase "${ph}" is in both ${other} and ${fam}`);
      seen.set(ph, fam);
    }
  }
  return c;
}

/** What a reply's words say, before context: one family, negated, or nothing known. */
export type Match =
  | { kind: 'OPT_OUT' | 'OPT_IN' | 'BARE_YES' | 'HELP' | 'WRONG_NUMBER'; phrase: string }
  | { kind: 'NEGATED'; phrase: null; word: string }
  | { kind: 'UNKNOWN'; phrase: null };

/**
 * Whole-phrase match of one reply. A phrase of a family must be the whole normalised
 * reply; a reply holding a negation word is never an opt-in (TIDAK SETUJU, saya tidak
 * setuju menerima) and never an opt-out unless it is exactly an opt-out phrase
 * (JANGAN KIRIM LAGI is; jangan berhenti, tidak mau berhenti are not).
 */
export function matchReply(text: string | null, c: CompiledPhrases): Match {
  const n = normalise(text ?? '');
  if (n === '') return { kind: 'UNKNOWN', phrase: null };
  if (c.optOut.has(n)) return { kind: 'OPT_OUT', phrase: n };
  if (c.wrongNumber.has(n)) return { kind: 'WRONG_NUMBER', phrase: n };
  const negation = n.split(' ').find((w) => c.negations.has(w));
  if (negation !== undefined) return { kind: 'NEGATED', phrase: null, word: negation };
  if (c.optIn.has(n)) return { kind: 'OPT_IN', phrase: n };
  if (c.bareYes.has(n)) return { kind: 'BARE_YES', phrase: n };
  if (c.help.has(n)) return { kind: 'HELP', phrase: n };
  return { kind: 'UNKNOWN', phrase: null };
}

////////// State per subject

interface SentMessage { providerMessageId: string; notificationId: string | null; pendaftaran_id: string | null; at: number }

export interface SubjectState {
  consent: 'IN' | 'OUT' | null;
  consentAt: number | null;
  /** Opt-in requests sent to this person, most recent last (kept: the last 10). */
  optInRequests: { providerMessageId: string; at: number }[];
  /** Messages sent to this person, most recent last (kept: the last 50). */
  sent: SentMessage[];
  /** Asia/Jakarta date of the last automatic answer. */
  answeredOn: string | null;
  /** Permits whose applicant messages this number refused (BUKAN SAYA). */
  wrongNumberPermits: string[];
  /** Ids of the events this classifier wrote for this person (kept: the last 100): read back, they change nothing. */
  written: string[];
}

export const emptySubject = (): SubjectState => ({ consent: null, consentAt: null, optInRequests: [], sent: [], answeredOn: null, wrongNumberPermits: [], written: [] });

const keepLast = <T>(xs: T[], n: number): T[] => (xs.length > n ? xs.slice(xs.length - n) : xs);

////////// Settings and outputs

export interface ConsentSettings {
  phrases: CompiledPhrases;
  /** A bare YA counts as consent this long after an opt-in request (default 72 h). */
  optInAnswerWindowMs: number;
  kontakDpmptsp: string;
  linkDashboard: string;
  /** Send the confirmations, the daily answer and the staff notices (default true); false: record the classification only. */
  sendAnswers?: boolean;
}

/** Staff handling a permit's type, from the planner's directory and permit state (looked up by the adapter). */
export interface PermitStaff {
  jenisIzin: string | null;
  /** subjectId: the staff member's subject (its key encrypts the request's name and number). */
  staff: { id: string; name: string; phone: string; subjectId?: string | null }[];
}

export interface ConsentOutput {
  /** Classification events for contact.events (keyed like the input). */
  events: ContactEvent[];
  /** Answers and notices for notification.requests. */
  requests: NotificationRequested[];
}

const CONSENT_SCENARIOS = {
  optedIn: 'consent_opted_in',
  optedOut: 'consent_opted_out',
  help: 'consent_help',
  wrongNumberStaff: 'consent_wrong_number_staff',
} as const;

const jakartaDay = (ms: number): string => DateTime.fromMillis(ms, { zone: ZONE }).toISODate()!;

/** The id of the automatic answer to a person on a day: at most one a day, whatever replies come. */
export const helpAnswerId = (key: string, day: string): string => notificationId(CONSENT_SCENARIOS.help, key, day);

/** How a bare YA is read: the opt-in request it answers, and how we know. */
function answeredRequest(s: SubjectState, m: ContactEvent, windowMs: number): { providerMessageId: string; how: 'context' | 'window' } | null {
  if (m.contextId) {
    const r = s.optInRequests.find((x) => x.providerMessageId === m.contextId);
    if (r) return { providerMessageId: r.providerMessageId, how: 'context' };
  }
  for (let i = s.optInRequests.length - 1; i >= 0; i--) {
    const r = s.optInRequests[i]!;
    if (r.at <= m.occurredAt && m.occurredAt - r.at <= windowMs) return { providerMessageId: r.providerMessageId, how: 'window' };
  }
  return null;
}

/** The message a BUKAN SAYA refers to: the one it answered (context id), else the latest sent to a permit. */
function referredMessage(s: SubjectState, m: ContactEvent): SentMessage | null {
  if (m.contextId) {
    const byContext = s.sent.find((x) => x.providerMessageId === m.contextId);
    if (byContext) return byContext;
  }
  for (let i = s.sent.length - 1; i >= 0; i--) if (s.sent[i]!.pendaftaran_id) return s.sent[i]!;
  return null;
}

/**
 * One event of a person, in topic order: the new state and what it causes. Only a
 * MESSAGE_RECEIVED causes anything; MESSAGE_SENT and events written elsewhere (an
 * OPTED_IN of the former receiver, an admin's) update the state; this classifier's own
 * events read back (`written`) change nothing.
 */
export function classify(s: SubjectState, e: ContactEvent, settings: ConsentSettings, staffOf: (pendaftaranId: string) => PermitStaff): { state: SubjectState; out: ConsentOutput } {
  const nothing = none();
  if (e.kind !== 'MESSAGE_RECEIVED' && e.kind !== 'MESSAGE_SENT' && s.written.includes(e.eventId)) return { state: s, out: nothing };
  switch (e.kind) {
    case 'MESSAGE_SENT': {
      if (!e.providerMessageId) return { state: s, out: nothing };
      const sent = keepLast([...s.sent.filter((x) => x.providerMessageId !== e.providerMessageId), { providerMessageId: e.providerMessageId, notificationId: e.notificationId ?? null, pendaftaran_id: e.pendaftaran_id ?? null, at: e.occurredAt }], 50);
      const optInRequests = e.optInRequest ? keepLast([...s.optInRequests.filter((x) => x.providerMessageId !== e.providerMessageId), { providerMessageId: e.providerMessageId, at: e.occurredAt }], 10) : s.optInRequests;
      return { state: { ...s, sent, optInRequests }, out: nothing };
    }
    case 'OPTED_IN':
    case 'OPTED_OUT':
      if (s.consentAt !== null && s.consentAt > e.occurredAt) return { state: s, out: nothing };
      return { state: { ...s, consent: e.kind === 'OPTED_IN' ? 'IN' : 'OUT', consentAt: e.occurredAt }, out: nothing };
    case 'HELP_REQUESTED':
    case 'REPLY_UNMATCHED':
      return { state: e.notificationId ? { ...s, answeredOn: jakartaDay(e.occurredAt) } : s, out: nothing };
    case 'WRONG_NUMBER':
      return { state: e.pendaftaran_id && !s.wrongNumberPermits.includes(e.pendaftaran_id) ? { ...s, wrongNumberPermits: [...s.wrongNumberPermits, e.pendaftaran_id] } : s, out: nothing };
    case 'MESSAGE_RECEIVED':
      return onReply(s, e, settings, staffOf);
    default: {
      const _never: never = e.kind;
      return _never;
    }
  }
}

function onReply(s: SubjectState, m: ContactEvent, settings: ConsentSettings, staffOf: (pendaftaranId: string) => PermitStaff): { state: SubjectState; out: ConsentOutput } {
  const key = contactEventKey(m);
  const proof = {
    occurredAt: m.occurredAt, correlationId: m.correlationId, causationId: m.eventId,
    provider: m.provider, phone: m.phone, subjectId: m.subjectId ?? null, text: m.text,
    providerMessageId: m.providerMessageId ?? null, contextId: m.contextId ?? null, optInRequest: false,
  };
  const event = (kind: ContactEvent['kind'], reason: string, extra: Partial<ContactEvent> = {}): ContactEvent => ({
    ...proof, eventId: deterministicId('sicantik.event', 'ContactEvent', 'consent', m.eventId, kind), kind, reason,
    notificationId: null, pendaftaran_id: null, ...extra,
  });
  const citizen: Recipient = { kind: 'APPLICANT', id: key, name: null, phone: m.phone, subjectId: m.subjectId ?? null };
  const request = (scenario: string, id: string, causeEventId: string, recipient: Recipient, pendaftaranId: string, variables: Record<string, string>): NotificationRequested => ({
    eventId: deterministicId('sicantik.event', 'NotificationRequested', id),
    occurredAt: m.occurredAt, correlationId: m.correlationId, causationId: causeEventId,
    notificationId: id, scenario, templateCode: scenario, pendaftaran_id: pendaftaranId, recipient, variables, items: [], locale: 'id',
  });
  const sends = settings.sendAnswers ?? true;
  const wrote = (st: SubjectState, events: ContactEvent[]): SubjectState => ({ ...st, written: keepLast([...st.written, ...events.map((x) => x.eventId)], 100) });

  const consentChange = (to: 'IN' | 'OUT', reason: string): { state: SubjectState; out: ConsentOutput } => {
    if (s.consent === to) return { state: s, out: none() };
    const ev = event(to === 'IN' ? 'OPTED_IN' : 'OPTED_OUT', reason);
    const scenario = to === 'IN' ? CONSENT_SCENARIOS.optedIn : CONSENT_SCENARIOS.optedOut;
    // One confirmation per change: its id is derived from the change's event.
    const confirmation = request(scenario, notificationId(scenario, key, ev.eventId), ev.eventId, citizen, '', { kontak_dpmptsp: settings.kontakDpmptsp });
    return { state: wrote({ ...s, consent: to, consentAt: m.occurredAt }, [ev]), out: { events: [ev], requests: sends ? [confirmation] : [] } };
  };
  /** HELP_REQUESTED / REPLY_UNMATCHED, with the day's one automatic answer if none went out today. */
  const answered = (kind: 'HELP_REQUESTED' | 'REPLY_UNMATCHED', reason: string): { state: SubjectState; out: ConsentOutput } => {
    const day = jakartaDay(m.occurredAt);
    if (!sends) {
      const ev = event(kind, reason);
      return { state: wrote(s, [ev]), out: { events: [ev], requests: [] } };
    }
    if (s.answeredOn === day) {
      const ev = event(kind, `${reason}; already answered on ${day}`);
      return { state: wrote(s, [ev]), out: { events: [ev], requests: [] } };
    }
    const id = helpAnswerId(key, day);
    const ev = event(kind, reason, { notificationId: id });
    return { state: wrote({ ...s, answeredOn: day }, [ev]), out: { events: [ev], requests: [request(CONSENT_SCENARIOS.help, id, ev.eventId, citizen, '', { kontak_dpmptsp: settings.kontakDpmptsp })] } };
  };

  const match = matchReply(m.text, settings.phrases);
  switch (match.kind) {
    case 'OPT_OUT':
      return consentChange('OUT', `opt-out phrase "${match.phrase}"`);
    case 'OPT_IN':
      return consentChange('IN', `opt-in phrase "${match.phrase}"`);
    case 'BARE_YES': {
      const r = answeredRequest(s, m, settings.optInAnswerWindowMs);
      if (r) return consentChange('IN', r.how === 'context' ? `"${match.phrase}" answering opt-in request ${r.providerMessageId} (context id)` : `"${match.phrase}" within ${Math.round(settings.optInAnswerWindowMs / HOUR)} h of opt-in request ${r.providerMessageId}`);
      return answered('REPLY_UNMATCHED', `"${match.phrase}" answers no opt-in request`);
    }
    case 'HELP':
      return answered('HELP_REQUESTED', `help phrase "${match.phrase}"`);
    case 'WRONG_NUMBER': {
      const ref = referredMessage(s, m);
      const reg = ref?.pendaftaran_id ?? null;
      const ev = event('WRONG_NUMBER', ref ? `wrong-number phrase "${match.phrase}" about ${ref.providerMessageId === m.contextId ? 'the message it answered' : 'the latest message sent'}` : `wrong-number phrase "${match.phrase}"; no message to a permit was sent to this number`,
        { pendaftaran_id: reg, notificationId: ref?.notificationId ?? null });
      const state = wrote(reg && !s.wrongNumberPermits.includes(reg) ? { ...s, wrongNumberPermits: [...s.wrongNumberPermits, reg] } : s, [ev]);
      const requests: NotificationRequested[] = [];
      if (reg && sends) {
        const { jenisIzin, staff } = staffOf(reg);
        for (const p of staff) {
          const id = notificationId(CONSENT_SCENARIOS.wrongNumberStaff, reg, `${ev.eventId}:${p.id}`);
          requests.push(request(CONSENT_SCENARIOS.wrongNumberStaff, id, ev.eventId, { kind: 'STAFF', id: p.id, name: p.name, phone: p.phone, subjectId: p.subjectId ?? null }, reg, {
            nomor_pemohon: maskPhone(m.phone), pendaftaran_id: reg, jenis_izin: jenisIzin ?? '-', link_dashboard: settings.linkDashboard,
          }));
        }
      }
      return { state, out: { events: [ev], requests } };
    }
    case 'NEGATED':
      return answered('REPLY_UNMATCHED', `negated ("${match.word}"): changes nothing`);
    case 'UNKNOWN':
      return answered('REPLY_UNMATCHED', m.text ? 'no known phrase' : 'no text');
    default: {
      const _never: never = match;
      return _never;
    }
  }
}

function none(): ConsentOutput { return { events: [], requests: [] }; }

/** Replays events into a state (a partition's history), discarding what they would cause. */
export function fold(s: SubjectState, events: readonly ContactEvent[], settings: ConsentSettings, staffOf: (pendaftaranId: string) => PermitStaff): SubjectState {
  let cur = s;
  for (const e of events) cur = classify(cur, e, settings, staffOf).state;
  return cur;
}
