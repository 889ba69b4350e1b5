import type { ContactEvent } from '@sicantik/schemas';
import { ContactBook, SERVICE_WINDOW_MS } from './contacts';

const T0 = Date.parse('2026-11-22T02:00:00Z');
const H = 3_600_000;
const PHONE = '+6281234567890';
const ev = (kind: ContactEvent['kind'], occurredAt: number, phone = PHONE) => ({ kind, occurredAt, phone });

describe('ContactBook', () => {
  it('consent: the last OPTED_IN / OPTED_OUT wins; other kinds change no consent', () => {
    const b = new ContactBook();
    expect(b.of(PHONE)).toEqual({ optedIn: false, optedOut: false, since: null, lastInboundAt: null });
    b.apply(ev('OPTED_IN', T0));
    b.apply(ev('MESSAGE_RECEIVED', T0 + H));
    b.apply(ev('REPLY_UNMATCHED', T0 + H));
    expect(b.of(PHONE)).toEqual({ optedIn: true, optedOut: false, since: T0, lastInboundAt: T0 + H });
    b.apply(ev('OPTED_OUT', T0 + 2 * H));
    expect(b.of(PHONE)).toEqual({ optedIn: false, optedOut: true, since: T0 + 2 * H, lastInboundAt: T0 + H });
  });

  it('the 24-hour customer-service window runs from the last inbound message', () => {
    const b = new ContactBook();
    expect([b.lastInboundAt(PHONE), b.inWindow(PHONE, T0)]).toEqual([null, false]);
    b.apply(ev('MESSAGE_RECEIVED', T0));
    expect(b.lastInboundAt(PHONE)).toBe(T0);
    expect([b.inWindow(PHONE, T0), b.inWindow(PHONE, T0 + SERVICE_WINDOW_MS - 1), b.inWindow(PHONE, T0 + SERVICE_WINDOW_MS)]).toEqual([true, true, false]);
    // A later message opens it again; an older one arriving late (a redelivery) does not move it back.
    b.apply(ev('MESSAGE_RECEIVED', T0 + 30 * H));
    b.apply(ev('MESSAGE_RECEIVED', T0 + 5 * H));
    expect([b.lastInboundAt(PHONE), b.inWindow(PHONE, T0 + 53 * H), b.inWindow(PHONE, T0 + 54 * H)]).toEqual([T0 + 30 * H, true, false]);
    // Our own messages (MESSAGE_SENT) and classifications do not open it; other numbers are apart.
    b.apply(ev('MESSAGE_SENT', T0 + 60 * H));
    b.apply(ev('OPTED_IN', T0 + 60 * H));
    expect(b.inWindow(PHONE, T0 + 61 * H)).toBe(false);
    expect(b.inWindow('+6281300000001', T0)).toBe(false);
  });
});
