import type { Admin } from 'kafkajs';
import { lagReport, readOffsets, type LagReport, type OffsetReading } from '@sicantik/kafka';

////////// Consumer lag for the dashboard (GET /v1/ops/lag): every consumer group of the
// deployment, judged over recent readings of the offsets (@sicantik/kafka lag.ts, the rules
// of `sicantik-ops lag`). Readings are taken only while someone asks: the first request
// takes two, `firstGapMs` apart (one reading cannot show movement); from then on one every
// `intervalMs` in the background until nobody has asked for `idleAfterMs`. The window is
// the last `window` readings.

export interface LagMonitorOptions {
  admin: Admin;
  prefix: string;
  /** Between background readings (default 10 s). */
  intervalMs?: number;
  /** Readings kept (default 6: a minute at the default interval). */
  window?: number;
  /** Between the first two readings (default 2 s). */
  firstGapMs?: number;
  /** Background readings stop after this long without a request (default 2 min). */
  idleAfterMs?: number;
  now?: () => number;
}

export class LagMonitor {
  private readings: OffsetReading[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastAsked = 0;
  private starting: Promise<void> | null = null;
  private reading: Promise<void> | null = null;
  private readonly o: Required<Omit<LagMonitorOptions, 'admin' | 'prefix'>> & Pick<LagMonitorOptions, 'admin' | 'prefix'>;

  constructor(o: LagMonitorOptions) {
    this.o = { intervalMs: 10_000, window: 6, firstGapMs: 2000, idleAfterMs: 120_000, now: Date.now, ...o };
  }

  /** The report over the window; waits for the first two readings when sampling is not running. */
  async report(): Promise<LagReport & { intervalSeconds: number }> {
    this.lastAsked = this.o.now();
    if (!this.timer) {
      this.starting ??= this.start().finally(() => { this.starting = null; });
      await this.starting;
    }
    return { ...lagReport(this.o.prefix, this.readings), intervalSeconds: this.o.intervalMs / 1000 };
  }

  private async start(): Promise<void> {
    this.readings = [];
    await this.read();
    await new Promise((r) => setTimeout(r, this.o.firstGapMs));
    await this.read();
    this.timer = setInterval(() => {
      if (this.o.now() - this.lastAsked > this.o.idleAfterMs) { this.stopTimer(); return; }
      this.reading ??= this.read().catch(() => undefined).finally(() => { this.reading = null; });
    }, this.o.intervalMs);
    this.timer.unref();
  }

  private async read(): Promise<void> {
    this.readings.push(await readOffsets(this.o.admin, this.o.prefix, this.o.now));
    if (this.readings.length > this.o.window) this.readings.splice(0, this.readings.length - this.o.window);
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async stop(): Promise<void> {
    this.stopTimer();
    await this.reading;
  }
}
