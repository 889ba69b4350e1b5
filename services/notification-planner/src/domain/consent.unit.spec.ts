import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { deterministicId } from '@sicantik/core';
import type { ContactEvent } from '@sicantik/schemas';
import {
  DEFAULT_PHRASES, PhraseConfigError, classify, compilePhrases, emptySubject, fold, helpAnswerId, matchReply, normalise,
  type ConsentSettings, type PermitStaff, type SubjectState,
} from './consent';

const H = 3_600_000;
const T0 = Date.parse('2026-11-22T02:00:00Z'); // 09:00 WIB
const PHONE = '+6281234567890';
const settings: ConsentSettings = { phrases: compilePhrases(DEFAULT_PHRASES), optInAnswerWindowMs: 72 * H, kontakDpmptsp: '(0628) 20655', linkDashboard: 'https://d.test/dashboard' };
const noStaff = (): PermitStaff => ({ jenisIzin: null, staff: [] });

let seq = 0;
const base = (kind: ContactEvent['kind'], at: number, over: Partial<ContactEvent> = {}): ContactEvent => ({
  eventId: deterministicId('test', kind, String(++seq)), occurredAt: at, correlationId: `c-${seq}`, causationId: null, provider: 'meta', phone: PHONE, kind, text: null,
  subjectId: null, providerMessageId: null, contextId: null, notificationId: null, pendaftaran_id: null, reason: null, optInRequest: false, ...over,
});
const reply = (text: string | null, at = T0, over: Partial<ContactEvent> = {}) => base('MESSAGE_RECEIVED', at, { text, providerMessageId: `wamid.in-${seq + 1}`, ...over });
const sent = (id: string, at: number, over: Partial<ContactEvent> = {}) => base('MESSAGE_SENT', at, { providerMessageId: id, ...over });
const optInAsk = (id: string, at: number) => sent(id, at, { optInRequest: true, notificationId: 'n-ask', pendaftaran_id: 'REG-1' });

/** The kinds a reply causes, after a history. */
function outcome(text: string | null, history: ContactEvent[] = [], at = T0, over: Partial<ContactEvent> = {}) {
  const s = fold(emptySubject(), history, settings, noStaff);
  const r = classify(s, reply(text, at, over), settings, noStaff);
  return { events: r.out.events.map((e) => e.kind), requests: r.out.requests.map((q) => q.scenario), state: r.state, out: r.out };
}
const kinds = (text: string | null, history: ContactEvent[] = [], at = T0, over: Partial<ContactEvent> = {}) => outcome(text, history, at, over).events.join(',') || 'nothing';

describe('normalisation', () => {
  it.each([
    ['  Stop!! ', 'STOP'], ['stoooop', 'STOP'], ['YAAA', 'YA'], ['ya 👍', 'YA'], ['Ya.', 'YA'], ['ｍｕｌａｉ', 'MULAI'], ['Ya,   saya\tsetuju 🙏', 'YA SAYA SETUJU'],
    ['🙏👍', ''], ['', ''], ['jangan-kirim-lagi', 'JANGAN KIRIM LAGI'], ["don't", 'DONT'], ['SETUJUUUU!!!', 'SETUJU'],
  ])('%j -> %j', (input, expected) => expect(normalise(input)).toBe(expected));
});

describe('the phrase table (no history: no opt-in request sent)', () => {
  // [reply, what it records, what it sends]
  const table: [string | null, string, string][] = [
    // opt-out family
    ['STOP', 'OPTED_OUT', 'consent_opted_out'],
    ['stop', 'OPTED_OUT', 'consent_opted_out'],
    ['Stop!!!', 'OPTED_OUT', 'consent_opted_out'],
    ['stoooop', 'OPTED_OUT', 'consent_opted_out'],
    ['BERHENTI', 'OPTED_OUT', 'consent_opted_out'],
    ['berhenti 🙏', 'OPTED_OUT', 'consent_opted_out'],
    ['UNSUBSCRIBE', 'OPTED_OUT', 'consent_opted_out'],
    ['Jangan kirim lagi', 'OPTED_OUT', 'consent_opted_out'],
    ['JANGAN KIRIM LAGI!!', 'OPTED_OUT', 'consent_opted_out'],
    ['stop notifikasi', 'OPTED_OUT', 'consent_opted_out'],
    // opt-in family
    ['MULAI', 'OPTED_IN', 'consent_opted_in'],
    ['mulai', 'OPTED_IN', 'consent_opted_in'],
    ['START', 'OPTED_IN', 'consent_opted_in'],
    ['Setuju', 'OPTED_IN', 'consent_opted_in'],
    ['SETUJUUU 👍', 'OPTED_IN', 'consent_opted_in'],
    ['ya saya setuju', 'OPTED_IN', 'consent_opted_in'],
    ['Ya, saya setuju.', 'OPTED_IN', 'consent_opted_in'],
    ['YA SETUJU', 'OPTED_IN', 'consent_opted_in'],
    ['saya setuju', 'OPTED_IN', 'consent_opted_in'],
    // negations: never an opt-in, never an opt-out
    ['TIDAK SETUJU', 'REPLY_UNMATCHED', 'consent_help'],
    ['tidak setuju', 'REPLY_UNMATCHED', 'consent_help'],
    ['saya tidak setuju menerima', 'REPLY_UNMATCHED', 'consent_help'],
    ['Saya TIDAK setuju', 'REPLY_UNMATCHED', 'consent_help'],
    ['tdk setuju', 'REPLY_UNMATCHED', 'consent_help'],
    ['gak setuju', 'REPLY_UNMATCHED', 'consent_help'],
    ['belum setuju', 'REPLY_UNMATCHED', 'consent_help'],
    ['jangan mulai', 'REPLY_UNMATCHED', 'consent_help'],
    ['jangan berhenti', 'REPLY_UNMATCHED', 'consent_help'],
    ['tidak mau berhenti', 'REPLY_UNMATCHED', 'consent_help'],
    ['tidak', 'REPLY_UNMATCHED', 'consent_help'],
    ["don't stop", 'REPLY_UNMATCHED', 'consent_help'],
    // bare YA without an opt-in request
    ['YA', 'REPLY_UNMATCHED', 'consent_help'],
    ['ya.', 'REPLY_UNMATCHED', 'consent_help'],
    ['ya 👍', 'REPLY_UNMATCHED', 'consent_help'],
    ['YAAA', 'REPLY_UNMATCHED', 'consent_help'],
    // help
    ['BANTUAN', 'HELP_REQUESTED', 'consent_help'],
    ['help', 'HELP_REQUESTED', 'consent_help'],
    ['Info?', 'HELP_REQUESTED', 'consent_help'],
    // wrong number (nothing sent to a permit yet: no staff notice)
    ['BUKAN SAYA', 'WRONG_NUMBER', ''],
    ['salah nomor', 'WRONG_NUMBER', ''],
    // unknown, emoji-only, empty, phrase inside a sentence
    ['Kapan izin saya selesai?', 'REPLY_UNMATCHED', 'consent_help'],
    ['👍', 'REPLY_UNMATCHED', 'consent_help'],
    ['🙏🙏🙏', 'REPLY_UNMATCHED', 'consent_help'],
    [null, 'REPLY_UNMATCHED', 'consent_help'],
    ['tolong stop dulu ya', 'REPLY_UNMATCHED', 'consent_help'],
    ['saya mulai bingung', 'REPLY_UNMATCHED', 'consent_help'],
  ];
  it('has at least 40 inputs', () => expect(table.length).toBeGreaterThanOrEqual(40));
  it.each(table)('%j -> %s, sends %j', (text, events, requests) => {
    const o = outcome(text);
    expect([o.events.join(','), o.requests.join(',')]).toEqual([events, requests]);
  });
});

describe('bare YA answers an opt-in request', () => {
  it('by context id: consent, however long after the request', () => {
    const o = outcome('ya 👍', [optInAsk('wamid.ASK', T0 - 200 * H)], T0, { contextId: 'wamid.ASK' });
    expect(o.events).toEqual(['OPTED_IN']);
    expect(o.out.events[0]!.reason).toBe('"YA" answering opt-in request wamid.ASK (context id)');
    expect(o.requests).toEqual(['consent_opted_in']);
  });
  it('within 72 hours of the request (no context id): consent; at exactly 72 h too', () => {
    expect(kinds('YA.', [optInAsk('wamid.ASK', T0 - 2 * H)])).toBe('OPTED_IN');
    expect(kinds('ya', [optInAsk('wamid.ASK', T0 - 72 * H)])).toBe('OPTED_IN');
    expect(outcome('ya', [optInAsk('wamid.ASK', T0 - 2 * H)]).out.events[0]!.reason).toBe('"YA" within 72 h of opt-in request wamid.ASK');
  });
  it('73 hours after the request: not consent, kept unmatched', () => {
    expect(kinds('YA', [optInAsk('wamid.ASK', T0 - 73 * H)])).toBe('REPLY_UNMATCHED');
  });
  it('answering another message (context id of a message that was not an opt-in request), long after the request: not consent', () => {
    expect(kinds('ya', [optInAsk('wamid.ASK', T0 - 100 * H), sent('wamid.STATUS', T0 - H, { pendaftaran_id: 'REG-1', notificationId: 'n-1' })], T0, { contextId: 'wamid.STATUS' })).toBe('REPLY_UNMATCHED');
  });
  it('a request sent after the reply does not count', () => {
    expect(kinds('ya', [optInAsk('wamid.ASK', T0 + H)])).toBe('REPLY_UNMATCHED');
  });
  it('a negation after an opt-in request is still never consent', () => {
    expect(kinds('tidak', [optInAsk('wamid.ASK', T0 - H)], T0, { contextId: 'wamid.ASK' })).toBe('REPLY_UNMATCHED');
    expect(kinds('TIDAK SETUJU', [optInAsk('wamid.ASK', T0 - H)])).toBe('REPLY_UNMATCHED');
  });
});

describe('changes of state, answers, proof', () => {
  it('OPTED_IN carries the proof of the reply and its reason; the confirmation id is derived from the change', () => {
    const m = reply('Ya saya setuju', T0, { provider: 'twilio', providerMessageId: 'SM1', contextId: 'SM0' });
    const r = classify(emptySubject(), m, settings, noStaff);
    const ev = r.out.events[0]!;
    expect(ev).toEqual({
      eventId: deterministicId('sicantik.event', 'ContactEvent', 'consent', m.eventId, 'OPTED_IN'), occurredAt: T0, correlationId: m.correlationId, causationId: m.eventId,
      provider: 'twilio', phone: PHONE, subjectId: null, kind: 'OPTED_IN', text: 'Ya saya setuju', providerMessageId: 'SM1', contextId: 'SM0',
      reason: 'opt-in phrase "YA SAYA SETUJU"', notificationId: null, pendaftaran_id: null, optInRequest: false,
    });
    expect(r.out.requests).toHaveLength(1);
    expect(r.out.requests[0]).toMatchObject({ scenario: 'consent_opted_in', templateCode: 'consent_opted_in', causationId: ev.eventId, pendaftaran_id: '', recipient: { kind: 'APPLICANT', id: PHONE, phone: PHONE }, variables: { kontak_dpmptsp: '(0628) 20655' } });
    // The same reply classified again: the same event and the same notification.
    expect(classify(emptySubject(), m, settings, noStaff).out).toEqual(r.out);
  });
  it('only a change of state is recorded and confirmed: MULAI twice gives one OPTED_IN; STOP then MULAI gives two confirmations', () => {
    const s1 = classify(emptySubject(), reply('MULAI'), settings, noStaff);
    const s2 = classify(s1.state, reply('mulai', T0 + H), settings, noStaff);
    expect(s2.out).toEqual({ events: [], requests: [] });
    const s3 = classify(s2.state, reply('STOP', T0 + 2 * H), settings, noStaff);
    const s4 = classify(s3.state, reply('MULAI', T0 + 3 * H), settings, noStaff);
    expect([s3.out.events.map((e) => e.kind), s4.out.events.map((e) => e.kind)]).toEqual([['OPTED_OUT'], ['OPTED_IN']]);
    expect(new Set([s1, s3, s4].map((x) => x.out.requests[0]!.notificationId)).size).toBe(3);
  });
  it('its own events read back change nothing; an OPTED_OUT written elsewhere (the former receiver) does', () => {
    const s1 = classify(emptySubject(), reply('MULAI'), settings, noStaff);
    expect(classify(s1.state, s1.out.events[0]!, settings, noStaff).state).toBe(s1.state);
    const external = base('OPTED_OUT', T0 + H);
    expect(classify(s1.state, external, settings, noStaff).state.consent).toBe('OUT');
  });
  it('one automatic answer a day (Asia/Jakarta) per person; the next day another', () => {
    const day1 = [reply('BANTUAN', T0), reply('apa ini?', T0 + H), reply('help', T0 + 14 * H)]; // 09:00, 10:00, 23:00 WIB
    let s: SubjectState = emptySubject();
    const requests: string[] = [];
    for (const m of [...day1, reply('info', T0 + 16 * H)]) { // 01:00 WIB the next day
      const r = classify(s, m, settings, noStaff);
      s = r.state;
      requests.push(...r.out.requests.map((q) => q.notificationId));
    }
    expect(requests).toEqual([helpAnswerId(PHONE, '2026-11-22'), helpAnswerId(PHONE, '2026-11-23')]);
  });
  it('BUKAN SAYA: WRONG_NUMBER about the message it answered (else the latest one sent to a permit), a staff notice to each staff member handling the type', () => {
    const staffOf = (reg: string): PermitStaff => (reg === 'REG-7' ? { jenisIzin: 'PBG', staff: [{ id: 'st-1', name: 'Staf Satu', phone: '+6281300000001' }, { id: 'st-2', name: 'Staf Dua', phone: '+6281300000002' }] } : noStaff());
    const history = [sent('wamid.A', T0 - 5 * H, { pendaftaran_id: 'REG-7', notificationId: 'n-A' }), sent('wamid.B', T0 - H, { pendaftaran_id: 'REG-8', notificationId: 'n-B' })];
    const s = fold(emptySubject(), history, settings, staffOf);
    const byContext = classify(s, reply('Bukan saya!', T0, { contextId: 'wamid.A' }), settings, staffOf);
    expect(byContext.out.events.map((e) => [e.kind, e.pendaftaran_id, e.notificationId])).toEqual([['WRONG_NUMBER', 'REG-7', 'n-A']]);
    expect(byContext.out.requests.map((q) => [q.scenario, q.recipient.kind, q.recipient.id, q.pendaftaran_id, q.variables])).toEqual([
      ['consent_wrong_number_staff', 'STAFF', 'st-1', 'REG-7', { nomor_pemohon: '+628******7890', pendaftaran_id: 'REG-7', jenis_izin: 'PBG', link_dashboard: 'https://d.test/dashboard' }],
      ['consent_wrong_number_staff', 'STAFF', 'st-2', 'REG-7', { nomor_pemohon: '+628******7890', pendaftaran_id: 'REG-7', jenis_izin: 'PBG', link_dashboard: 'https://d.test/dashboard' }],
    ]);
    expect(byContext.state.wrongNumberPermits).toEqual(['REG-7']);
    const latest = classify(s, reply('salah nomor', T0), settings, staffOf);
    expect(latest.out.events.map((e) => [e.kind, e.pendaftaran_id, e.notificationId])).toEqual([['WRONG_NUMBER', 'REG-8', 'n-B']]);
    expect(latest.out.requests).toEqual([]); // nobody handles REG-8's type
  });
  it('with answers off (CONSENT_ANSWERS_ENABLED=false) the classification is recorded and nothing is sent', () => {
    const quiet = { ...settings, sendAnswers: false };
    const staffOf = (): PermitStaff => ({ jenisIzin: 'PBG', staff: [{ id: 'st-1', name: 'Staf', phone: '+6281300000001' }] });
    const s = fold(emptySubject(), [sent('wamid.P', T0 - H, { pendaftaran_id: 'REG-1', notificationId: 'n-p' })], quiet, staffOf);
    const out = ['MULAI', 'BANTUAN', 'apa?', 'BUKAN SAYA'].map((t) => classify(s, reply(t), quiet, staffOf).out);
    expect(out.map((o) => [o.events.map((e) => [e.kind, e.notificationId]), o.requests])).toEqual([
      [[['OPTED_IN', null]], []], [[['HELP_REQUESTED', null]], []], [[['REPLY_UNMATCHED', null]], []], [[['WRONG_NUMBER', 'n-p']], []],
    ]);
  });
  it('refuses phrase lists where an opt-in phrase is negated or a phrase is in two families', () => {
    expect(() => compilePhrases({ ...DEFAULT_PHRASES, optIn: ['TIDAK SETUJU'] })).toThrow(PhraseConfigError);
    expect(() => compilePhrases({ ...DEFAULT_PHRASES, help: ['STOP'] })).toThrow('the phrase "STOP" is in both optOut and help');
  });
});

describe('properties', () => {
  const phrases = [...DEFAULT_PHRASES.optOut, ...DEFAULT_PHRASES.optIn, ...DEFAULT_PHRASES.bareYes, ...DEFAULT_PHRASES.help, ...DEFAULT_PHRASES.wrongNumber];
  const noise = fc.constantFrom('', ' ', '  ', '!', '.', '?!', ',', ' 👍', '🙏', ' 😊 ', '\t', '...', '~');

  it('normalisation is idempotent (any Unicode text)', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => { const n = normalise(s); expect(normalise(n)).toBe(n); }), { numRuns: 2000 });
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => { const n = normalise(s); expect(normalise(n)).toBe(n); }), { numRuns: 2000 });
  });

  it('a reply holding a negation word never opts in, whatever precedes it (an opt-in request just before, answered by context id)', () => {
    const negated = fc.tuple(fc.constantFrom(...DEFAULT_PHRASES.negations), fc.constantFrom(...DEFAULT_PHRASES.optIn, ...DEFAULT_PHRASES.bareYes, 'mau', 'menerima', 'saya'), fc.constantFrom('', 'saya ', 'ya '), fc.boolean())
      .map(([neg, p, pre, after]) => (after ? `${pre}${p} ${neg}` : `${pre}${neg} ${p}`));
    fc.assert(fc.property(negated, noise, fc.boolean(), (text, pad, ctx) => {
      const o = outcome(`${pad}${text}${pad}`, [optInAsk('wamid.ASK', T0 - H)], T0, ctx ? { contextId: 'wamid.ASK' } : {});
      expect(o.events).not.toContain('OPTED_IN');
      expect(o.state.consent).toBeNull();
    }));
  });

  it('punctuation, emoji, case, spacing and repeated letters change no outcome', () => {
    const vary = (p: string, upper: boolean[], stretch: number) =>
      p.split('').map((ch, i) => ((upper[i % upper.length] ?? true) ? ch.toUpperCase() : ch.toLowerCase()) + (i === stretch && /\p{L}/u.test(ch) ? ch.repeat(3) : '')).join('').replace(/ /g, '  ');
    fc.assert(fc.property(fc.constantFrom(...phrases, 'tidak setuju', 'jangan berhenti', 'kapan selesai'), noise, noise, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), fc.nat(12), fc.boolean(),
      (p, pre, post, upper, stretch, ctx) => {
        const history = [optInAsk('wamid.ASK', T0 - H)];
        const over = ctx ? { contextId: 'wamid.ASK' } : {};
        const plain = outcome(p, history, T0, over);
        const varied = outcome(`${pre}${vary(p, upper, stretch)}${post}`, history, T0, over);
        expect([varied.events, varied.requests, varied.state.consent]).toEqual([plain.events, plain.requests, plain.state.consent]);
      }));
  });
});

describe('the documented table of examples and outcomes (docs/consent.md)', () => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'consent.md'), 'utf8');
  const rows = doc.slice(doc.indexOf('## Examples and outcomes')).split('\n').filter((l) => l.startsWith('| `'))
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim().replace(/^`|`$/g, '')));
  const staffOf = (reg: string): PermitStaff => (reg === 'REG-PBG' ? { jenisIzin: 'PBG', staff: [{ id: 'st-1', name: 'Staf', phone: '+6281300000001' }] } : noStaff());
  const before = (what: string): { history: ContactEvent[]; over: Partial<ContactEvent> } => {
    switch (what) {
      case 'nothing': return { history: [], over: {} };
      case 'opted out': return { history: [base('OPTED_OUT', T0 - H)], over: {} };
      case 'opted in': return { history: [base('OPTED_IN', T0 - H)], over: {} };
      case 'opt-in request 2 h before': return { history: [optInAsk('wamid.ASK', T0 - 2 * H)], over: {} };
      case 'opt-in request 72 h before': return { history: [optInAsk('wamid.ASK', T0 - 72 * H)], over: {} };
      case 'opt-in request 73 h before': return { history: [optInAsk('wamid.ASK', T0 - 73 * H)], over: {} };
      case 'answers the opt-in request (context id), 200 h later': return { history: [optInAsk('wamid.ASK', T0 - 200 * H)], over: { contextId: 'wamid.ASK' } };
      case 'answered today': return { history: [reply('BANTUAN', T0 - H)], over: {} };
      case 'a message about a permit of type PBG, one PBG staff member': return { history: [sent('wamid.P', T0 - H, { pendaftaran_id: 'REG-PBG', notificationId: 'n-p' })], over: {} };
      default: throw new Error(`unknown "before" in docs/consent.md: ${what}`);
    }
  };
  it('has rows', () => expect(rows.length).toBeGreaterThanOrEqual(25));
  it.each(rows)('%s (%s) -> %s, sends %s', (text, what, records, sends) => {
    const { history, over } = before(what);
    // The history is classified as the classifier would (a reply in it gets its outputs read back too).
    let s = emptySubject();
    for (const e of history) { const r = classify(s, e, settings, staffOf); s = r.state; for (const o of r.out.events) s = classify(s, o, settings, staffOf).state; }
    const r = classify(s, reply(text, T0, over), settings, staffOf);
    expect([r.out.events.map((e) => e.kind).join(',') || 'nothing', r.out.requests.map((q) => q.scenario).join(',') || 'nothing']).toEqual([records, sends]);
  });
});
