import type { TopicName, TopicValues } from '@sicantik/schemas';

////////// What the consumer loop hands a handler, and its retry backoff

export interface Delivered<T extends TopicName> {
  topic: T;
  partition: number;
  offset: string;
  key: string | null;
  value: TopicValues[T];
  headers: Record<string, string>;
  timestamp: number;
  /** Keeps the group membership alive during long handler work (e.g. retry waits). */
  heartbeat(): Promise<void>;
}

/** Exponential backoff with jitter: half the base, plus up to the other half at random. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + (base / 2) * random());
}
