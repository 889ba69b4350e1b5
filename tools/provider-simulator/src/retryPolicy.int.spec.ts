import { freePort } from '../../../test/support';
import { startHarness, type Harness } from './testHarness';

// Each provider's webhook retry policy over real HTTP (the simulator and a receiver on
// ephemeral ports), with the time scale compressing the providers' days into
// milliseconds: what is sent again, how often, in what order, and what is given up.

const SCALE = 0.0001; // Meta's 7 days in about 60 s; its first waits 0, 1.5 ms, 3 ms, 6 ms…
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    webhookRetry: { kind: 'real' },
    webhookRetryByProvider: { watzap: { kind: 'fixed', attempts: 2 } },
    webhookTimeScale: SCALE,
  });
});
afterAll(async () => { await h.close(); });
beforeEach(async () => { await h.admin('POST', '/reset'); h.received.length = 0; h.setReceiverStatus(200); });

interface Attempt { provider: string; event: string; messageId?: string; status: number | null; attempt: number; atMs: number }
const attempts = async (messageId: string) => (await h.admin<Attempt[]>('GET', `/webhooks?messageId=${messageId}`)).body;
/** One status webhook for a message id the simulator did not issue, sent (and retried) now; the answer comes once the provider stops. */
const report = (provider: string, messageId: string, url?: string) =>
  h.admin<{ webhookStatus: number | null }>('POST', '/status', { provider, messageId, to: '+6281234567890', status: 'delivered', ...(url ? { url } : {}) });

describe('webhook retry policies (real, time-scaled)', () => {
  it('meta: sent again with decreasing frequency while refused, until the receiver takes it', async () => {
    h.setReceiverStatus(503);
    const pending = report('meta', 'wamid.RETRY1');
    await h.waitFor(() => h.received.length >= 8 || undefined, '8 refused attempts', 10_000);
    h.setReceiverStatus(200);
    expect((await pending).body.webhookStatus).toBe(200);
    const a = await attempts('wamid.RETRY1');
    expect(a.map((x) => x.attempt)).toEqual(a.map((_, i) => i + 1));
    expect(a.at(-1)!.status).toBe(200);
    expect(a.slice(0, -1).every((x) => x.status === 503)).toBe(true);
    // Every gap at least the scaled wait of the schedule (0, 15 s, 30 s, 1 min… × SCALE).
    const waits = [0, 15_000, 30_000, 60_000, 120_000, 240_000, 480_000, 960_000].map((d) => d * SCALE);
    for (let i = 1; i < Math.min(a.length, waits.length); i++) expect(a[i]!.atMs - a[i - 1]!.atMs).toBeGreaterThanOrEqual(waits[i - 1]! - 1);
    // The same request each time: the receiver saw identical bodies.
    expect(new Set(h.received.map((r) => r.raw)).size).toBe(1);
  });

  it('meta: even a 4xx is sent again (Meta retries anything but 200)', async () => {
    h.setReceiverStatus(401);
    const pending = report('meta', 'wamid.RETRY2');
    await h.waitFor(() => h.received.length >= 3 || undefined, '3 refused attempts', 10_000);
    h.setReceiverStatus(200);
    expect((await pending).body.webhookStatus).toBe(200);
    expect((await attempts('wamid.RETRY2')).map((x) => x.status).slice(0, 3)).toEqual([401, 401, 401]);
  });

  it('twilio: an HTTP error is final (one attempt); a refused connection is tried once more, then given up', async () => {
    h.setReceiverStatus(503);
    expect((await report('twilio', 'SMretry503')).body.webhookStatus).toBe(503);
    expect((await attempts('SMretry503')).map((x) => [x.attempt, x.status])).toEqual([[1, 503]]);
    const closed = `http://127.0.0.1:${await freePort()}/webhooks/twilio`;
    expect((await report('twilio', 'SMretrydown', closed)).body.webhookStatus).toBeNull();
    expect((await attempts('SMretrydown')).map((x) => [x.attempt, x.status])).toEqual([[1, null], [2, null]]);
  });

  it('vonage: 429 and 5xx are sent again, a 401 is not', async () => {
    h.setReceiverStatus(429);
    const pending = report('vonage', 'vonage-retry-1');
    await h.waitFor(() => h.received.length >= 3 || undefined, '3 refused attempts', 10_000);
    h.setReceiverStatus(200);
    expect((await pending).body.webhookStatus).toBe(200);
    expect((await attempts('vonage-retry-1')).map((x) => x.status).slice(0, 3)).toEqual([429, 429, 429]);
    h.setReceiverStatus(401);
    expect((await report('vonage', 'vonage-retry-2')).body.webhookStatus).toBe(401);
    expect((await attempts('vonage-retry-2')).length).toBe(1);
  });

  it('bird: any non-2xx is sent again until taken', async () => {
    h.setReceiverStatus(404);
    const pending = report('bird', 'bird-retry-1');
    await h.waitFor(() => h.received.length >= 2 || undefined, '2 refused attempts', 10_000);
    h.setReceiverStatus(200);
    expect((await pending).body.webhookStatus).toBe(200);
    expect((await attempts('bird-retry-1')).map((x) => x.status).slice(0, 2)).toEqual([404, 404]);
  });

  it('fonnte: never sent again (no retry documented); watzap overridden to fixed:2', async () => {
    h.setReceiverStatus(503);
    expect((await report('fonnte', '80000001')).body.webhookStatus).toBe(503);
    expect((await attempts('80000001')).map((x) => x.attempt)).toEqual([1]);
    expect((await report('watzap', '3EB0RETRY')).body.webhookStatus).toBe(503);
    expect((await attempts('3EB0RETRY')).map((x) => [x.attempt, x.status])).toEqual([[1, 503], [2, 503]]);
  });

  it('GET /_sim/config shows each provider\'s policy and the time scale', async () => {
    const { body } = await h.admin<{ webhookRetry: Record<string, string>; webhookTimeScale: number }>('GET', '/config');
    expect(body.webhookRetry).toEqual({ meta: 'real', twilio: 'real', bird: 'real', vonage: 'real', fonnte: 'real', watzap: 'fixed:2' });
    expect(body.webhookTimeScale).toBe(SCALE);
  });
});
