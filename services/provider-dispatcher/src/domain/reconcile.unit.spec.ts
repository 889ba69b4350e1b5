import fc from 'fast-check';
import type { AwaitingReport, DeliveryStatus, DeliveryStatusReported } from '@sicantik/schemas';
import { caughtUpPartitions, decide, isDue, type Entry, type LookupAnswer, type ReconcileInput, type ReconcileSettings } from './reconcile';

const T0 = 1_700_000_000_000;
const settings: ReconcileSettings = { afterMs: 60_000, giveUpMs: 600_000, lookupBackoffMs: 30_000, rememberMs: 86_400_000, canLookup: (p) => p === 'twilio' || p === 'bird' };
const accepted = (provider = 'twilio', id = 'SM1', at = T0): ReconcileInput => ({
  kind: 'accepted',
  record: { eventId: `a-${id}`, occurredAt: at, correlationId: 'c', causationId: `d-${id}`, notificationId: `n-${id}`, pendaftaran_id: 'P1', provider, providerMessageId: id, acceptedAt: at } satisfies AwaitingReport,
});
const report = (status: DeliveryStatus, provider = 'twilio', id = 'SM1'): ReconcileInput => ({
  kind: 'report',
  record: { eventId: `r-${id}-${status}`, occurredAt: T0, correlationId: id, causationId: null, provider, providerMessageId: id, status, providerTimestamp: null, receivedAt: T0, errorCode: null, errorTitle: null },
});
const lookup = (answer: LookupAnswer): ReconcileInput => ({ kind: 'lookup', answer });
const tick: ReconcileInput = { kind: 'tick' };

/** Runs inputs (with their times) from an empty state; returns the last entry and every decision. */
function given(steps: [ReconcileInput, number][], s = settings) {
  let entry: Entry | undefined;
  const decisions = steps.map(([input, now]) => { const d = decide(entry, input, now, s); entry = d.entry; return d; });
  return { entry, decisions, last: decisions[decisions.length - 1]! };
}

describe('reconcile: decide', () => {
  it('an acceptance with a ref and a subject: the entry keeps both (a report first gives neither subject nor the acceptance\'s), its events carry the ref (also as correlation id)', () => {
    const withRef: ReconcileInput = { kind: 'accepted', record: { ...(accepted() as { record: AwaitingReport }).record, providerMessageRef: 'R-SM1', subjectId: 'subj-1' } };
    const { entry } = given([[withRef, T0]]);
    expect(entry).toMatchObject({ providerMessageRef: 'R-SM1', subjectId: 'subj-1', providerMessageId: 'SM1' });
    const reportFirst = given([[{ kind: 'report', record: { eventId: 'e', occurredAt: T0, correlationId: 'c', causationId: null, provider: 'twilio', providerMessageId: 'SM1', providerMessageRef: 'R-SM1', status: 'SENT', providerTimestamp: null, receivedAt: T0, errorCode: null, errorTitle: null } }, T0], [withRef, T0 + 1]]);
    expect(reportFirst.decisions[0]!.entry).toMatchObject({ providerMessageRef: 'R-SM1', subjectId: null, providerMessageId: '' }); // no subject yet: the id is not kept
    expect(reportFirst.entry).toMatchObject({ providerMessageRef: 'R-SM1', subjectId: 'subj-1', reported: 'SENT', acceptedAt: T0 });
    const { decisions } = given([[withRef, T0], [tick, T0 + 60_000], [lookup({ kind: 'found', status: 'read' }), T0 + 60_200]]);
    // The id is never written to delivery.status (it names no subject, so it would stay in plain): the ref stands in its required field.
    expect(decisions[2]!.event).toMatchObject({ providerMessageRef: 'R-SM1', correlationId: 'R-SM1', providerMessageId: 'R-SM1', status: 'READ' });
    const meta: ReconcileInput = { kind: 'accepted', record: { ...(accepted('meta', 'wamid.1') as { record: AwaitingReport }).record, providerMessageRef: 'R-W1', subjectId: 'subj-1' } };
    const noReport = given([[meta, T0], [tick, T0 + 60_000]]).last.event!;
    expect(noReport).toMatchObject({ status: 'NO_REPORT', providerMessageRef: 'R-W1', correlationId: 'R-W1', providerMessageId: 'R-W1' });
    expect(JSON.stringify([decisions[2]!.event, noReport])).not.toMatch(/"(SM1|wamid\.1)"/); // (the fixtures' causation ids merely contain them)
    // Its id is the one the same conclusion had before (derived from the id: a repeat is the same event).
    expect(noReport.eventId).toBe(given([[accepted('meta', 'wamid.1'), T0], [tick, T0 + 60_000]]).last.event!.eventId);
  });

  it('given an acceptance, it awaits a report and is due RECONCILE_AFTER_MS later, not before', () => {
    const { entry, last } = given([[accepted(), T0 + 5]]);
    expect(last.changed).toBe(true);
    expect(entry).toEqual({ providerMessageId: 'SM1', provider: 'twilio', notificationId: 'n-SM1', causationId: 'd-SM1', acceptedAt: T0, reported: null, lookups: 0, nextLookupAt: T0 + 60_000, outcome: null, updatedAt: T0 + 5, providerMessageRef: null, subjectId: null });
    expect(isDue(entry!, T0 + 59_999)).toBe(false);
    expect(given([[accepted(), T0 + 5], [tick, T0 + 59_999]]).last).toEqual({ entry, changed: false });
    expect(isDue(entry!, T0 + 60_000)).toBe(true);
  });

  it('given a final webhook report, then the time passes: resolved as reported, nothing emitted, no lookup', () => {
    const { entry, decisions } = given([[accepted(), T0], [report('DELIVERED'), T0 + 1000], [tick, T0 + 60_000], [lookup({ kind: 'found', status: 'read' }), T0 + 60_001]]);
    expect(decisions[1]).toMatchObject({ changed: true, outcome: 'reported' });
    expect(entry).toMatchObject({ outcome: 'reported', nextLookupAt: null });
    expect(decisions.slice(2)).toEqual([{ entry, changed: false }, { entry, changed: false }]);
  });

  it('given a report that came before the acceptance: the acceptance that follows changes nothing', () => {
    const { entry, decisions } = given([[report('READ'), T0], [accepted(), T0 + 10], [tick, T0 + 120_000]]);
    expect(decisions[0]).toMatchObject({ changed: true, outcome: 'reported', entry: { acceptedAt: null, notificationId: null } });
    expect(decisions[1]).toEqual({ entry, changed: false });
    expect(decisions[2]).toEqual({ entry, changed: false });
  });

  it('when due with a status API: look it up; a final answer becomes one LOOKUP event with a deterministic id, and resolves', () => {
    const { decisions, entry } = given([[accepted(), T0], [tick, T0 + 60_000], [lookup({ kind: 'found', status: 'delivered' }), T0 + 60_200]]);
    expect(decisions[1]).toMatchObject({ changed: false, lookup: true });
    expect(decisions[2]!.outcome).toBe('looked_up');
    expect(decisions[2]!.event).toEqual({
      eventId: expect.any(String), occurredAt: T0 + 60_200, correlationId: 'SM1', causationId: 'd-SM1', provider: 'twilio', providerMessageId: 'SM1', status: 'DELIVERED',
      providerTimestamp: null, receivedAt: T0 + 60_200, errorCode: null, errorTitle: null, source: 'LOOKUP', providerMessageRef: null,
    } satisfies DeliveryStatusReported);
    expect(entry).toMatchObject({ outcome: 'looked_up', lookups: 1, nextLookupAt: null });
    const again = given([[accepted(), T0], [tick, T0 + 60_000], [lookup({ kind: 'found', status: 'delivered' }), T0 + 99_999]]).last.event!;
    expect(again.eventId).toBe(decisions[2]!.event!.eventId);
  });

  it('a failed answer carries its error code', () => {
    const { last } = given([[accepted('bird'), T0], [lookup({ kind: 'found', status: 'failed', errorCode: 'bird:470' }), T0 + 60_000]]);
    expect(last.event).toMatchObject({ status: 'FAILED', errorCode: 'bird:470', errorTitle: 'failed (found by a status lookup)', source: 'LOOKUP', provider: 'bird' });
  });

  it('accepted, not found and errors: looked at again with doubling backoff, until giving up: then NO_REPORT', () => {
    const { decisions, entry } = given([
      [accepted(), T0], [lookup({ kind: 'found', status: 'accepted' }), T0 + 60_000], [lookup({ kind: 'not_found' }), T0 + 90_000],
      [lookup({ kind: 'error', reason: 'HTTP 503' }), T0 + 150_000],
    ]);
    expect(decisions.slice(1).map((d) => [d.entry!.lookups, d.entry!.nextLookupAt, d.event])).toEqual([
      [1, T0 + 90_000, undefined], [2, T0 + 150_000, undefined], [3, T0 + 270_000, undefined],
    ]);
    const end = decide(entry, lookup({ kind: 'not_found' }), T0 + 600_000, settings);
    expect(end).toMatchObject({ outcome: 'no_report', entry: { outcome: 'no_report', lookups: 4, nextLookupAt: null } });
    expect(end.event).toMatchObject({
      status: 'NO_REPORT', source: 'RECONCILER', errorCode: 'NO_REPORT', occurredAt: T0 + 60_000, receivedAt: T0 + 60_000,
      errorTitle: 'no status report within 1 min of the acceptance; no final status before giving up (the status API does not know the message)',
    });
  });

  it('a SENT answer is reported once and looked at again; at giving up the state stays sent (no NO_REPORT)', () => {
    const { decisions } = given([
      [accepted(), T0], [lookup({ kind: 'found', status: 'sent' }), T0 + 60_000], [lookup({ kind: 'found', status: 'sent' }), T0 + 90_000],
      [lookup({ kind: 'found', status: 'sent' }), T0 + 600_000],
    ]);
    expect(decisions.map((d) => [d.event?.status, d.event?.source, d.outcome])).toEqual([
      [undefined, undefined, undefined], ['SENT', 'LOOKUP', undefined], [undefined, undefined, undefined], [undefined, undefined, 'sent_only'],
    ]);
  });

  it('a SENT webhook report keeps the entry awaiting a final one: the lookup still runs', () => {
    const { decisions } = given([[accepted(), T0], [report('SENT'), T0 + 100], [report('SENT'), T0 + 200], [tick, T0 + 60_000], [lookup({ kind: 'found', status: 'read' }), T0 + 60_001]]);
    expect(decisions.map((d) => [d.changed, !!d.lookup, d.event?.status])).toEqual([[true, false, undefined], [true, false, undefined], [false, false, undefined], [false, true, undefined], [true, false, 'READ']]);
  });

  it('when due without a status API: NO_REPORT at once, the same event whenever it is concluded', () => {
    const a = given([[accepted('meta', 'wamid.1'), T0], [tick, T0 + 60_000]]).last;
    const b = given([[accepted('meta', 'wamid.1'), T0], [tick, T0 + 75_000]]).last;
    expect(a).toMatchObject({ outcome: 'no_report', changed: true, entry: { outcome: 'no_report' } });
    expect(a.event).toEqual(b.event);
    expect(a.event).toMatchObject({ status: 'NO_REPORT', source: 'RECONCILER', provider: 'meta', providerMessageId: 'wamid.1', errorTitle: 'no status report within 1 min of the acceptance; the provider has no status API' });
  });

  it('without a status API but with SENT reported: sent_only, nothing emitted', () => {
    const { last } = given([[accepted('fonnte', 'F1'), T0], [report('SENT', 'fonnte', 'F1'), T0 + 1], [tick, T0 + 60_000]]);
    expect(last).toMatchObject({ outcome: 'sent_only', changed: true });
    expect(last.event).toBeUndefined();
  });

  it('a NO_REPORT record read back from delivery.status is not a report; an acceptance older than the retention is ignored', () => {
    expect(given([[report('NO_REPORT'), T0]]).last).toEqual({ entry: undefined, changed: false });
    expect(given([[accepted('twilio', 'SM1', T0 - 86_400_000), T0]]).last).toEqual({ entry: undefined, changed: false, tooOld: true });
  });

  it('a lookup answer for an entry resolved meanwhile changes nothing', () => {
    const { last, entry } = given([[accepted(), T0], [tick, T0 + 60_000], [report('FAILED'), T0 + 60_001], [lookup({ kind: 'found', status: 'delivered' }), T0 + 60_002]]);
    expect(last).toEqual({ entry, changed: false });
  });
});

describe('reconcile: which partitions are looked at', () => {
  it('only those read up to where they ended at the previous look; an empty one is ready; one first seen waits', () => {
    const before = new Map([[0, 10n], [1, 10n], [2, 0n], [3, 5n]]);
    const now = [0, 1, 2, 3, 4].map((partition) => ({ partition, low: 0n }));
    expect([...caughtUpPartitions(before, now, new Map([[0, 10n], [1, 9n], [3, -1n]]))]).toEqual([0, 2]);
    expect([...caughtUpPartitions(before, now, new Map([[0, 12n], [1, 10n], [3, 5n], [4, 100n]]))]).toEqual([0, 1, 2, 3]);
    // Records removed by retention below the old end: nothing left to read there.
    expect([...caughtUpPartitions(new Map([[0, 10n]]), [{ partition: 0, low: 10n }], new Map())]).toEqual([0]);
  });
});

////////// Property: any interleaving of acceptances, reports, ticks and lookup answers for a
// few messages, with crashes (state restored from what was written; inputs since the
// last commit delivered again): at most one final event per message, none after a final
// report, every accepted message resolved once the give-up time has passed, and the
// same events as the run without crashes.

type Step =
  | { kind: 'accepted'; id: number; provider: 'twilio' | 'meta' }
  | { kind: 'report'; id: number; status: DeliveryStatus }
  | { kind: 'time'; dt: number; answer: LookupAnswer }
  | { kind: 'crash' };

const answer = fc.oneof(
  fc.constantFrom<LookupAnswer['kind']>('not_found', 'unsupported').map((kind) => ({ kind }) as LookupAnswer),
  fc.constant<LookupAnswer>({ kind: 'error', reason: 'HTTP 500' }),
  fc.constantFrom('accepted', 'sent', 'delivered', 'read', 'failed').map((status) => ({ kind: 'found', status }) as LookupAnswer),
);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('accepted' as const), id: fc.integer({ min: 0, max: 3 }), provider: fc.constantFrom('twilio' as const, 'meta' as const) }),
  fc.record({ kind: fc.constant('report' as const), id: fc.integer({ min: 0, max: 3 }), status: fc.constantFrom<DeliveryStatus>('SENT', 'DELIVERED', 'READ', 'FAILED', 'NO_REPORT') }),
  fc.record({ kind: fc.constant('time' as const), dt: fc.integer({ min: 0, max: 200_000 }), answer }),
  fc.constant({ kind: 'crash' as const }),
);

function simulate(steps: Step[], crashes: boolean) {
  const providerOf = new Map<number, 'twilio' | 'meta'>();
  let now = T0;
  let memory = new Map<string, Entry>();
  const written = new Map<string, Entry>();
  const events: DeliveryStatusReported[] = [];
  const finalReportAt = new Map<string, number>();
  let uncommitted: Step[] = [];
  const apply = (id: string, d: ReturnType<typeof decide>) => {
    if (d.event) events.push(d.event);
    if (d.changed) { if (d.entry) { written.set(id, d.entry); memory.set(id, d.entry); } }
  };
  const input = (s: Step) => {
    if (s.kind === 'accepted') {
      const provider = providerOf.get(s.id) ?? s.provider;
      providerOf.set(s.id, provider);
      const id = `M${s.id}`;
      apply(id, decide(memory.get(id), accepted(provider, id, now), now, settings));
    } else if (s.kind === 'report') {
      const id = `M${s.id}`;
      if (s.status !== 'NO_REPORT' && s.status !== 'SENT' && !finalReportAt.has(id)) finalReportAt.set(id, events.length);
      apply(id, decide(memory.get(id), report(s.status, providerOf.get(s.id) ?? 'twilio', id), now, settings));
    }
  };
  for (const s of steps) {
    if (s.kind === 'crash') {
      if (!crashes) continue;
      memory = new Map(written);
      for (const u of uncommitted) input(u); // delivered again after the restart
      uncommitted = [];
      continue;
    }
    if (s.kind === 'time') {
      now += s.dt;
      for (const [id, e] of [...memory]) {
        const d = decide(e, tick, now, settings);
        apply(id, d);
        if (d.lookup) apply(id, decide(memory.get(id), lookup(s.answer), now, settings));
      }
      uncommitted = []; // a commit now and then
      continue;
    }
    input(s);
    uncommitted.push(s);
  }
  // The give-up time passes for everything.
  now += settings.giveUpMs + 1;
  for (let round = 0; round < 2; round++) {
    for (const [id, e] of [...memory]) {
      const d = decide(e, tick, now, settings);
      apply(id, d);
      if (d.lookup) apply(id, decide(memory.get(id), lookup({ kind: 'not_found' }), now, settings));
    }
  }
  return { events, memory, finalReportAt };
}

describe('reconcile: properties', () => {
  it('at most one final event per message, none after a final report, all resolved after giving up; crashes and replays give the same events', () => {
    fc.assert(fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
      const plain = simulate(steps, false);
      const crashed = simulate(steps, true);
      const ids = (r: typeof plain) => [...new Set(r.events.map((e) => e.eventId))].sort();
      expect(ids(crashed)).toEqual(ids(plain));
      expect(simulate(steps, true).events).toEqual(crashed.events);
      for (const r of [plain, crashed]) {
        const finals = new Map<string, Set<string>>();
        r.events.forEach((e, i) => {
          if (e.status === 'SENT') return;
          const set = finals.get(e.providerMessageId) ?? new Set();
          set.add(e.eventId);
          finals.set(e.providerMessageId, set);
          const reportedAt = r.finalReportAt.get(e.providerMessageId);
          expect(reportedAt === undefined || i < reportedAt).toBe(true);
        });
        for (const set of finals.values()) expect(set.size).toBe(1);
        for (const e of r.memory.values()) if (e.acceptedAt !== null) expect(e.outcome).not.toBeNull();
      }
    }), { numRuns: 300 });
  });
});
