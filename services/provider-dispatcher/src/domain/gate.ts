import type { NotificationRendered } from '@sicantik/schemas';
import type { ContactState } from './routing';

////////// When a notification may be sent (pure): the place for time-based rules
// The core asks `earliestSendAt` before it routes an attempt (a new notification, a
// retry that is due, a fallback). Each rule is a pure function of the notification,
// the contact's state and the time; the first rule that says "wait" wins. Today no
// rule is configured, so the answer is always "send now".
//
// Rules to come plug in here, e.g. quiet hours for citizens (no non-urgent message at
// night: wait until 06:00 Asia/Jakarta), working hours for staff, a consent hold. A
// wait is recorded as RETRY_SCHEDULED (routeReason = the rule's reason, no error code)
// with a record on the last retry tier at `until`: the partition is not blocked, the
// wait survives a restart, and at `until` the notification comes back through this
// gate and routing. `until` must be a deterministic function of the inputs (e.g. the
// start of the next window, not "now + x"), so that a redelivered batch writes the
// same records (event ids include the time).

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

export function earliestSendAt(rules: readonly SendRule[], i: GateInput): Gate {
  for (const rule of rules) {
    const w = rule(i);
    if (w && w.until > i.now) return w;
  }
  return SEND_NOW;
}
