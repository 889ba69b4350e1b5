import client from 'prom-client';

////////// Prometheus metrics
/** How often the default collectors sample the event-loop delay (nodejs_eventloop_lag_* metrics). */
export const EVENT_LOOP_SAMPLE_MS = 100;
export type Metrics = ReturnType<typeof createMetrics>;

/**
 * The service's metrics. METRICS_ENABLED=false (for the overhead benchmark) keeps the
 * same objects but makes recording a no-op and skips the default process metrics.
 */
export function createMetrics(service: string, opts: { enabled?: boolean } = {}) {
  const enabled = opts.enabled ?? process.env.METRICS_ENABLED !== 'false';
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  // The event-loop delay is sampled every 100 ms, not prom-client's default 10 ms: at
  // 10 ms the sampling timer alone cost 6 ms of CPU per second per idle service (4.6 %
  // of the pipeline's CPU at 50 events/s; bench/metrics-overhead.bench.js).
  if (enabled) client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const consumed = new client.Counter({
    name: 'sicantik_messages_consumed_total', help: 'Kafka records handled, by topic and outcome',
    labelNames: ['topic', 'outcome'] as const, registers: [registry],
  });
  const produced = new client.Counter({
    name: 'sicantik_messages_produced_total', help: 'Kafka records produced, by topic',
    labelNames: ['topic'] as const, registers: [registry],
  });
  const produceRequests = new client.Counter({
    name: 'sicantik_produce_requests_total', help: 'Kafka produce requests made (records produced / requests = records per request)', registers: [registry],
  });
  const handleSeconds = new client.Histogram({
    name: 'sicantik_handle_seconds', help: 'Time to handle one record',
    labelNames: ['topic'] as const, buckets: [0.001, 0.005, 0.02, 0.05, 0.1, 0.25, 1, 5], registers: [registry],
  });
  const retries = new client.Counter({
    name: 'sicantik_handler_retries_total', help: 'Retries of retriable handler errors',
    labelNames: ['topic'] as const, registers: [registry],
  });
  const deadLetters = new client.Counter({
    name: 'sicantik_dead_letters_total', help: 'Records sent to a dead-letter topic',
    labelNames: ['topic', 'reason'] as const, registers: [registry],
  });
  const lag = new client.Gauge({
    name: 'sicantik_consumer_lag', help: 'High watermark minus next offset, per partition',
    labelNames: ['topic', 'partition'] as const, registers: [registry],
  });
  const dbOps = new client.Counter({
    name: 'sicantik_db_operations_total', help: 'Database commands sent (by command name): with messages consumed, the database operations per event',
    labelNames: ['op'] as const, registers: [registry],
  });
  if (!enabled) {
    const noop = () => undefined;
    for (const m of [dbOps, consumed, produced, produceRequests, retries, deadLetters] as { inc: unknown }[]) m.inc = noop;
    (handleSeconds as { startTimer: unknown }).startTimer = () => noop;
    (handleSeconds as { observe: unknown }).observe = noop;
    (lag as { set: unknown }).set = noop;
  }
  return { registry, client, dbOps, consumed, produced, produceRequests, handleSeconds, retries, deadLetters, lag };
}

/** Something that emits the MongoDB driver's command-monitoring events (a MongoClient created with monitorCommands: true). */
export interface CommandMonitored { on(event: 'commandStarted', listener: (e: { commandName: string }) => void): unknown }

/** Counts every database command in sicantik_db_operations_total (connection handshakes and heartbeats are not commands here). */
export function countDbCommands(client: CommandMonitored, metrics: Metrics): void {
  client.on('commandStarted', (e) => { if (e.commandName !== 'hello' && e.commandName !== 'isMaster' && e.commandName !== 'ping') metrics.dbOps.inc({ op: e.commandName }); });
}
