import { Kafka, logLevel } from 'kafkajs';
import { SingleBar, Presets } from 'cli-progress';
import { baseEnv, loadConfig, z } from '@sicantik/config';

////////// What every command gets: where it writes, its settings, a Kafka client

/** Where a run writes, and the environment it reads (the process' own unless a test gives others). */
export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  env: NodeJS.ProcessEnv;
  /** Progress bars only on a terminal; plain lines otherwise. */
  isTTY: boolean;
}

/** The tool's settings: the deployment's brokers and topic prefix (as the services read them). */
const opsEnv = z.object({
  KAFKA_BROKERS: baseEnv.KAFKA_BROKERS,
  TOPIC_PREFIX: baseEnv.TOPIC_PREFIX,
});
export type OpsConfig = z.infer<typeof opsEnv>;

export function kafkaOf(cfg: OpsConfig): Kafka {
  return new Kafka({ clientId: 'sicantik-ops', brokers: cfg.KAFKA_BROKERS, connectionTimeout: 5000, retry: { initialRetryTime: 200, retries: 5 }, logLevel: logLevel.NOTHING });
}

export const loadOpsConfig = (io: CliIo): OpsConfig => loadConfig(opsEnv, io.env);

/** A bad argument: the command says so and exits 2 (commander's own usage errors exit 1). */
export class UsageError extends Error {}

export interface Progress { tick(n?: number): void; stop(): void }

/** A progress bar on stderr (cli-progress) on a terminal; a start and an end line otherwise. */
export function progress(io: CliIo, label: string, total: number): Progress {
  if (io.isTTY) {
    const bar = new SingleBar({ format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta}s`, stream: process.stderr, hideCursor: true }, Presets.shades_classic);
    bar.start(total, 0);
    return { tick: (n = 1) => bar.increment(n), stop: () => bar.stop() };
  }
  io.err(`${label}: ${total}\n`);
  let done = 0;
  return { tick: (n = 1) => { done += n; }, stop: () => io.err(`${label}: ${done} done\n`) };
}
