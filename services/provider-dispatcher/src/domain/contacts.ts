import type { ContactEvent } from '@sicantik/schemas';
import type { ContactState } from './routing';

////////// Opt-in state per phone number (pure), from contact.events
// The dispatcher follows the whole topic in memory (no database), as the planner does.
// Only OPTED_IN / OPTED_OUT change a number's state; the last one (in topic order,
// which is per phone since the topic is keyed by phone) wins. A number never seen
// has not opted in and has not opted out.

export class ContactBook {
  private readonly state = new Map<string, { optedIn: boolean; at: number }>();

  apply(e: Pick<ContactEvent, 'phone' | 'kind' | 'occurredAt'>): void {
    if (e.kind === 'OPTED_IN') this.state.set(e.phone, { optedIn: true, at: e.occurredAt });
    else if (e.kind === 'OPTED_OUT') this.state.set(e.phone, { optedIn: false, at: e.occurredAt });
  }

  of(phone: string): ContactState & { since: number | null } {
    const s = this.state.get(phone);
    return s ? { optedIn: s.optedIn, optedOut: !s.optedIn, since: s.at } : { optedIn: false, optedOut: false, since: null };
  }

  get size(): number { return this.state.size; }
}
