////////// Group commit (batch-first I/O without a timer)
// The first call runs at once as a batch of one; calls made while a batch is in
// flight queue up and run together as the next batch. Under load every batch takes
// everything that arrived during the previous one, so N concurrent callers cost a
// few round trips, not N; alone, a call waits for nothing.

/**
 * Wraps `run` (one round trip for many items, results in item order) as a per-item
 * function. A batch that throws rejects every caller in it with that error.
 */
export function groupCommit<T, R>(run: (items: T[]) => Promise<R[]>): (item: T) => Promise<R> {
  let queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  let running: Promise<void> | null = null;
  const drain = async () => {
    while (queue.length) {
      const batch = queue;
      queue = [];
      try {
        const out = await run(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(out[i] as R));
      } catch (e) {
        for (const b of batch) b.reject(e);
      }
    }
    running = null;
  };
  return (item) => new Promise<R>((resolve, reject) => {
    queue.push({ item, resolve, reject });
    running ??= drain();
  });
}
