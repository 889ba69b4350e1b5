import type { NotificationRendered } from '@sicantik/schemas';
import type { ContactState } from './routing';

////////// When a notification may be sent (pure): notBefore, and the place for time-based rules
// The core asks `earliestSendAt` after routing has found a provider for an attempt (a
// new notification, a retry that is due, a fallback, a released hold). The planner's
// stamp comes first and always applies: a notification whose `notBefore` (quiet hours,
// working hours, holidays, coalescing; its `deferReason`) is still ahead is never handed
// to a provider earlier. Further rules are pure functions of the notification, the
// contact's state and the time (Policy.sendRules; none configured today); the first
// rule that says "wait" wins.
// A wait is recorded as DEFERRED (routeReason = the rule's reason, e.g. QUIET_HOURS;
// provider = the one routing would use now; notBefore = `until`; the notification itself
// in the ledger record, for supersession) with a record on the last retry tier at
// `until` (records.ts deferredRetry): the partition is not blocked, the wait survives a
// restart and a rebalance, and at `until` the notification comes back through routing
// and this gate. `until` must be a deterministic function of the inputs (e.g. the start
// of the next window, not "now + x"), so that a redelivered batch writes the same
// records (event ids include the time).
// (Consent is not a time rule: a contact who has not opted in, with only opt-in
// providers configured, is HELD by routing, see routing.ts and decide.ts.)

type Gate =
  | { kind: 'now' }
  | { kind: 'wait'; until: number; reason: string; detail: string };

interface GateInput {
  notification: NotificationRendered;
  contact: ContactState;
  /** The attempt about to be routed (1 for a new notification). */
  attempt: number;
  now: number;
}

/** One time-based rule: undefined when it has nothing against sending now. */
export type SendRule = (i: GateInput) => Extract<Gate, { kind: 'wait' }> | undefined;

const SEND_NOW: Gate = { kind: 'now' };

/** The planner's earliest send time (issue 16), with its reason. */
const notBeforeRule: SendRule = ({ notification: n }) => (n.notBefore == null ? undefined : {
  kind: 'wait', until: n.notBefore, reason: n.deferReason ?? 'NOT_BEFORE',
  detail: `${n.deferReason ?? 'not before'}: not handed to a provider before ${new Date(n.notBefore).toISOString()}`,
});

export function earliestSendAt(rules: readonly SendRule[], i: GateInput): Gate {
  for (const rule of [notBeforeRule, ...rules]) {
    const w = rule(i);
    if (w && w.until > i.now) return w;
  }
  return SEND_NOW;
}
