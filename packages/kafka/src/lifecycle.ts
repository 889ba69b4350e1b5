import type { Logger } from '@sicantik/observability';

////////// Graceful shutdown: SIGTERM/SIGINT run the closers in reverse order of registration.
export function installShutdown(logger: Logger, closers: (() => Promise<unknown>)[], exit: (code: number) => void = process.exit): () => Promise<void> {
  let done = false;
  const shutdown = async () => {
    if (done) return;
    done = true;
    logger.info('shutting down');
    for (const c of [...closers].reverse()) {
      try { await c(); } catch (e) { logger.warn({ err: (e as Error).message }, 'error while closing'); }
    }
    logger.info('stopped');
  };
  const onSignal = (sig: string) => { logger.info({ signal: sig }, 'signal received'); void shutdown().then(() => exit(0)); };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return shutdown;
}

/** Runs a service's composition root; a start-up failure is printed with the service name and exits 1. */
export function runService(name: string, main: () => Promise<void>): void {
  main().catch((e) => {
    process.stderr.write(`${name} failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
