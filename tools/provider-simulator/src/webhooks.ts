import axios from 'axios';
import type { ProviderName, WebhookPlan } from './config';
import type { ProviderSim, SimMessage, WebhookRequest } from './providers/types';
import type { RetrySchedule } from './retryPolicy';
import { maskUrl, nowMs } from './util';

////////// Webhook delivery: runs an accepted message's plan (statuses after delays,
// duplicated or out of order as asked), sends a refused webhook again as the
// provider's retry policy says (retryPolicy.ts), and records every attempt.

export interface WebhookRecord {
  provider: ProviderName;
  kind: 'status' | 'inbound' | 'handshake';
  /** The status (sent, delivered, read, failed…) or `inbound`. */
  event: string;
  messageId?: string;
  /** As posted, with secret tokens masked. */
  url: string;
  /** The receiver's HTTP status; null when it could not be reached. */
  status: number | null;
  body: string;
  headers: Record<string, string>;
  at: string;
  atMs: number;
  attempt: number;
  duplicate?: boolean;
  error?: string;
}

export interface WebhookSenderOptions {
  /** Each provider's retry schedule (retrySchedule(provider, policy)). */
  retry: (provider: ProviderName) => RetrySchedule;
  /** Multiplies the waits of the schedules in the provider's real time (RetrySchedule.scaled). */
  timeScale: number;
  random: () => number;
  record: (r: WebhookRecord) => void;
  log: (msg: string, extra?: object) => void;
}

export class WebhookSender {
  private timers = new Set<NodeJS.Timeout>();
  private generation = 0;

  constructor(private readonly o: WebhookSenderOptions) {}

  /** Stops every pending plan and retry (used by reset and close). */
  cancelAll(): void {
    this.generation++;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private wait(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.timers.delete(t); resolve(); }, ms);
      this.timers.add(t);
    });
  }

  /** Posts one webhook, sent again as the provider's retry schedule says while it fails; returns the last status (null: never answered). */
  async deliver(sim: ProviderSim, kind: WebhookRecord['kind'], event: string, messageId: string | undefined, req: WebhookRequest, duplicate = false): Promise<number | null> {
    const gen = this.generation;
    const schedule = this.o.retry(sim.name);
    let last: number | null = null;
    for (let attempt = 1; ; attempt++) {
      if (gen !== this.generation) return last;
      const atMs = nowMs();
      const rec: WebhookRecord = {
        provider: sim.name, kind, event, messageId, url: maskUrl(req.url, sim.urlSecrets()), status: null, body: req.body, headers: req.headers,
        at: new Date(atMs).toISOString(), atMs, attempt, ...(duplicate ? { duplicate } : {}),
      };
      try {
        const r = await axios.post(req.url, req.body, {
          headers: req.headers, validateStatus: () => true, timeout: 5000, responseType: 'text', transformRequest: [(d: unknown) => d], maxRedirects: 0,
        });
        rec.status = last = r.status;
        this.o.record(rec);
      } catch (e) {
        last = null;
        rec.error = (e as Error).message;
        this.o.record(rec);
        this.o.log('webhook delivery failed', { provider: sim.name, event, attempt, err: rec.error });
      }
      if (!schedule.retries(last)) return last;
      const delay = schedule.delayMs(attempt);
      if (delay === null) {
        if (attempt > 1) this.o.log('webhook given up', { provider: sim.name, event, attempts: attempt, status: last });
        return last;
      }
      await this.wait(schedule.scaled ? delay * this.o.timeScale : delay);
    }
  }

  /** Reports an accepted message's statuses as the plan says. */
  async run(sim: ProviderSim, msg: SimMessage, plan: WebhookPlan): Promise<void> {
    if (!plan.enabled || plan.statuses.length === 0) return;
    const gen = this.generation;
    const url = plan.url ?? sim.statusUrl(msg);
    const one = async (status: string) => {
      if (gen !== this.generation) return;
      const code = status === 'failed' || status === 'undelivered' ? (plan.failCode ?? sim.defaultFailCode) : undefined;
      msg.statuses.push({ status, atMs: nowMs(), ...(code !== undefined ? { code } : {}) });
      if (!url) return;
      const req = sim.statusWebhook(msg, status, code, url);
      const dup = plan.duplicate === true || (typeof plan.duplicate === 'number' && this.o.random() < plan.duplicate);
      await this.deliver(sim, 'status', status, msg.id, req);
      if (dup) await this.deliver(sim, 'status', status, msg.id, req, true);
    };
    const jitter = () => (plan.jitterMs > 0 ? Math.floor(this.o.random() * plan.jitterMs) : 0);
    if (plan.outOfOrder) {
      await this.wait(plan.delayMs + jitter());
      for (const s of [...plan.statuses].reverse()) await one(s);
      return;
    }
    for (const s of plan.statuses) {
      await this.wait(plan.delayMs + jitter());
      if (gen !== this.generation) return;
      await one(s);
    }
  }
}
