import type { ContactEvent } from '@sicantik/schemas';
import type { ContactState } from './routing';

////////// Opt-in state and the customer-service window per phone number (pure), from contact.events
// The dispatcher follows the whole topic in memory (no database), as the planner does.
// Only OPTED_IN / OPTED_OUT change a number's consent; the last one (in topic order,
// which is per person since the topic is keyed by person) wins. A number never seen
// has not opted in and has not opted out.
// Every MESSAGE_RECEIVED (an inbound message, recorded by the webhook receiver) moves
// the number's last inbound time: WhatsApp's 24-hour customer-service window, inside
// which free-form text may be sent (Meta), runs from it.

/** WhatsApp's customer-service window after a person's last message. */
export const SERVICE_WINDOW_MS = 24 * 3_600_000;

export class ContactBook {
  private readonly state = new Map<string, { optedIn: boolean; at: number }>();
  private readonly inbound = new Map<string, number>();

  apply(e: Pick<ContactEvent, 'phone' | 'kind' | 'occurredAt'>): void {
    if (e.kind === 'OPTED_IN') this.state.set(e.phone, { optedIn: true, at: e.occurredAt });
    else if (e.kind === 'OPTED_OUT') this.state.set(e.phone, { optedIn: false, at: e.occurredAt });
    else if (e.kind === 'MESSAGE_RECEIVED') {
      // The latest time wins whatever the order of arrival (a redelivered webhook carries the same time).
      const cur = this.inbound.get(e.phone);
      if (cur === undefined || e.occurredAt > cur) this.inbound.set(e.phone, e.occurredAt);
    }
  }

  of(phone: string): ContactState & { since: number | null; lastInboundAt: number | null } {
    const s = this.state.get(phone);
    const lastInboundAt = this.inbound.get(phone) ?? null;
    return s ? { optedIn: s.optedIn, optedOut: !s.optedIn, since: s.at, lastInboundAt } : { optedIn: false, optedOut: false, since: null, lastInboundAt };
  }

  /** The time of the number's last inbound message (epoch ms), or null when none was seen. */
  lastInboundAt(phone: string): number | null { return this.inbound.get(phone) ?? null; }

  /** Whether `now` (epoch ms) is inside the number's 24-hour customer-service window (less than 24 h after its last inbound message). */
  inWindow(phone: string, now: number): boolean {
    const last = this.inbound.get(phone);
    return last !== undefined && now - last < SERVICE_WINDOW_MS;
  }

  get size(): number { return this.state.size; }
}
