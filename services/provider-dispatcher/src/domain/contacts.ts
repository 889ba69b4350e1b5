import type { ContactEvent } from '@sicantik/schemas';
import type { ContactState } from './routing';

////////// Opt-in state per phone number (pure), from contact.events
// The dispatcher follows the whole topic in memory (no database), as the planner does.
// Only OPTED_IN / OPTED_OUT change a number's state; the last one (in topic order,
// which is per contact since the topic is keyed by contact) wins. A number never seen
// has not opted in and has not opted out.
// The 24 h customer-service window (Meta): `lastInboundAt`, the time of the contact's
// last inbound message (every contact event but MESSAGE_SENT, which is ours, comes from
// one). (Minimal: the consent work of issue 16 owns the full window bookkeeping.)

export class ContactBook {
  private readonly state = new Map<string, { optedIn: boolean; at: number }>();
  private readonly inbound = new Map<string, number>();

  apply(e: Pick<ContactEvent, 'phone' | 'kind' | 'occurredAt'>): void {
    if (e.kind === 'OPTED_IN') this.state.set(e.phone, { optedIn: true, at: e.occurredAt });
    else if (e.kind === 'OPTED_OUT') this.state.set(e.phone, { optedIn: false, at: e.occurredAt });
    if (e.kind !== 'MESSAGE_SENT' && e.occurredAt > (this.inbound.get(e.phone) ?? -Infinity)) this.inbound.set(e.phone, e.occurredAt);
  }

  of(phone: string): ContactState & { since: number | null; lastInboundAt: number | null } {
    const s = this.state.get(phone);
    const lastInboundAt = this.inbound.get(phone) ?? null;
    return s ? { optedIn: s.optedIn, optedOut: !s.optedIn, since: s.at, lastInboundAt } : { optedIn: false, optedOut: false, since: null, lastInboundAt };
  }

  /** Whether the contact wrote within the last 24 h (free-form text allowed). */
  inWindow(phone: string, now: number): boolean { const t = this.inbound.get(phone); return t !== undefined && now - t < 24 * 3_600_000; }

  get size(): number { return this.state.size; }
}
