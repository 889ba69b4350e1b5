#!/usr/bin/env node
import { Command, CommanderError } from 'commander';

////////// sicantik-tracker: the delivery-tracker's operator commands
//   MONGO_DB=sicantik_projections_v3 CONSUMER_GROUP=sicantik.delivery-tracker-v3 sicantik-tracker rebuild
// rebuild.ts explains the rebuild; `node dist/rebuild.js` runs the same command.
// Exit status: 0 when the rebuild was written and its offsets committed; 1 when it failed or
// was refused (a database that is not empty, a group with committed offsets, a setting
// missing). --help exits 0.

/** Where a run writes, and the environment it reads (process' own unless a test gives others). */
export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  env: NodeJS.ProcessEnv;
}

const processIo: CliIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), env: process.env };

const REBUILD_HELP = `
Rebuilds the tracker's projections from the topics alone into a new, empty database
(MONGO_DB), then commits the consumer group's offsets (CONSUMER_GROUP) at the ends it
read, so a tracker started with the same MONGO_DB and CONSUMER_GROUP continues from there.
It refuses a database that holds projections or a group that has committed offsets.

Environment:
  MONGO_DB        the new database (required)
  CONSUMER_GROUP  the group to commit (default <TOPIC_PREFIX>delivery-tracker-projection)
  RETENTION_DAYS  notifications requested longer ago are anonymised, as the tracker does
                  (default 400; 0: never); erasures on privacy.requests are applied too
  KAFKA_BROKERS, SCHEMA_REGISTRY_URL, TOPIC_PREFIX, MONGO_URL as for the tracker

Prints one JSON line: db, groupId, events, notifications, documents and timings.
Exit status: 0 when the rebuild was written and the offsets committed; 1 otherwise.`;

function program(io: CliIo = processIo): Command {
  const p = new Command('sicantik-tracker').description('Operate delivery-tracker: rebuild its projections from the topics')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();
  p.command('rebuild').description('rebuild the projections from the topics into a new database (MONGO_DB) and commit CONSUMER_GROUP at the ends read')
    .addHelpText('after', REBUILD_HELP)
    .action(async () => {
      const { rebuild } = await import('./rebuild');
      let summary: Awaited<ReturnType<typeof rebuild>>;
      try {
        summary = await rebuild(io.env);
      } catch (e) {
        throw new Error(`rebuild failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      io.out(`${JSON.stringify(summary)}\n`);
    });
  return p;
}

/** Runs one command line (argv as process.argv: node, script, args…); resolves to the exit status. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  try {
    await program(io).parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // --help (0), usage errors (1): commander wrote the message
    io.err(`sicantik-tracker: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  return 0;
}

if (require.main === module) {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); throw e; }); // piped into | head
  void main(process.argv).then((code) => process.exit(code));
}
