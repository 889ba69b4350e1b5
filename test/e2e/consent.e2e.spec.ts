import axios from 'axios';
import type { ContactEvent, NotificationRequested } from '@sicantik/schemas';
import { waitFor } from '../support';
import { readTopics, startSystem, type System } from '../support/system';

////////// Consent with proof, end to end: a citizen's reply through a real signed Meta
// webhook (the provider simulator) -> the tracker's receiver (MESSAGE_RECEIVED with its
// proof) -> the planner's consent classifier (OPTED_IN, or REPLY_UNMATCHED) -> the
// confirmation through the normal pipeline (renderer, dispatcher) -> the simulator.

interface SimRequest { body: { to?: string; template?: { name: string } } }

describe('consent with proof end to end', () => {
  let sys: System;
  const http = axios.create({ validateStatus: () => true });
  const contacts: ContactEvent[] = [];
  const requests: NotificationRequested[] = [];
  let stopReader: () => Promise<void> = async () => undefined;
  // Numbers of this run only (the simulator and topics are this system's own).
  const digits = String(Date.now()).slice(-6);
  const yes = `+6285211${digits}`;
  const no = `+6285222${digits}`;

  const confirmationsTo = async (phone: string) => (await http.get<SimRequest[]>(`${sys.simUrl}/_sim/requests`)).data
    .filter((r) => r.body.template?.name === 'sicantik_consent_opted_in' && (r.body.to ?? '').replace(/\D/g, '') === phone.slice(1));
  const of = (kind: ContactEvent['kind'], phone: string) => contacts.filter((e) => e.kind === kind && e.phone === phone);
  const reply = async (phone: string, text: string) => {
    const r = await http.post<{ id: string; webhookStatus: number }>(`${sys.simUrl}/_sim/inbound`, { provider: 'meta', from: phone, text });
    expect([r.status, r.data.webhookStatus]).toEqual([200, 200]);
    return r.data.id;
  };

  beforeAll(async () => {
    sys = await startSystem();
    stopReader = await readTopics(sys, ['contact.events', 'notification.requests'], (topic, v) => {
      if (topic === 'contact.events') contacts.push(v as ContactEvent); else requests.push(v as NotificationRequested);
    });
  });
  afterAll(async () => { await stopReader(); await sys?.stop(); });

  it('"ya saya setuju" is recorded with its proof and confirmed once, also after the planner restarts', async () => {
    const id = await reply(yes, 'ya saya setuju');
    const received = await waitFor(async () => of('MESSAGE_RECEIVED', yes)[0], { timeoutMs: 30_000, what: 'MESSAGE_RECEIVED' });
    expect(received).toMatchObject({ provider: 'meta', text: 'ya saya setuju', providerMessageId: id, contextId: null });
    const optedIn = await waitFor(async () => of('OPTED_IN', yes)[0], { timeoutMs: 60_000, what: 'OPTED_IN' });
    expect(optedIn).toMatchObject({
      provider: 'meta', phone: yes, text: 'ya saya setuju', providerMessageId: id, contextId: null, occurredAt: received.occurredAt,
      causationId: received.eventId, reason: 'opt-in phrase "YA SAYA SETUJU"',
    });
    const sent = await waitFor(async () => { const x = await confirmationsTo(yes); return x.length === 1 && x; }, { timeoutMs: 60_000, what: 'the confirmation at the simulator' });
    expect(sent).toHaveLength(1);
    expect(requests.filter((r) => r.scenario === 'consent_opted_in' && r.recipient.phone === yes).map((r) => r.causationId)).toEqual([optedIn.eventId]);

    // The planner restarts: the classifier rebuilds its state from contact.events and sends nothing again.
    await sys.restart('notification-planner');
    const id2 = await reply(yes, 'Setuju!'); // already opted in: no change, no second confirmation
    await waitFor(async () => of('MESSAGE_RECEIVED', yes).some((e) => e.providerMessageId === id2), { timeoutMs: 30_000, what: 'second reply recorded' });
    await new Promise((r) => setTimeout(r, 5000));
    expect(of('OPTED_IN', yes)).toHaveLength(1);
    expect(await confirmationsTo(yes)).toHaveLength(1);
  }, 240_000);

  it('"tidak setuju" changes nothing: no OPTED_IN, no confirmation; the reply is kept as REPLY_UNMATCHED', async () => {
    const id = await reply(no, 'tidak setuju');
    const kept = await waitFor(async () => of('REPLY_UNMATCHED', no)[0], { timeoutMs: 60_000, what: 'REPLY_UNMATCHED' });
    expect(kept).toMatchObject({ provider: 'meta', phone: no, text: 'tidak setuju', providerMessageId: id, reason: 'negated ("TIDAK"): changes nothing' });
    await new Promise((r) => setTimeout(r, 5000));
    expect([of('OPTED_IN', no), of('OPTED_OUT', no)]).toEqual([[], []]);
    expect(requests.filter((r) => r.recipient.phone === no).map((r) => r.scenario)).toEqual(['consent_help']); // the day's one automatic answer
    expect(await confirmationsTo(no)).toEqual([]);
  }, 120_000);
});
