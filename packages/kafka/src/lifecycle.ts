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

/**
 * Runs a service's composition root; a start-up failure is printed with the service name and
 * exits 1. With --help (or -h) it only says what it is and where its settings are, and exits 0.
 */
export function runService(name: string, main: () => Promise<void>, argv: readonly string[] = process.argv): void {
  if (argv.slice(2).some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(`Usage: node services/${name}/dist/main.js (or npm start in services/${name})\n\n`
      + `Runs the ${name} service until SIGTERM or SIGINT. It takes no arguments: every setting comes from the\n`
      + `environment (services/${name}/src/config.ts; the common ones such as KAFKA_BROKERS, SCHEMA_REGISTRY_URL,\n`
      + `MONGO_URL, TOPIC_PREFIX and OPS_PORT in packages/config). A setting that is missing or wrong stops the\n`
      + 'start with exit status 1, naming it.\n');
    return;
  }
  main().catch((e) => {
    process.stderr.write(`${name} failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
