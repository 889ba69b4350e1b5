#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { errorMessage } from '@sicantik/core';
import { UsageError, type CliIo } from './context';
import { lagCommand } from './commands/lag';
import { dlqCommand } from './commands/dlq';

////////// sicantik-ops: the SREs' command line (one command module per file under commands/)
//   sicantik-ops lag [--samples N --interval S] [--json]     consumer lag and a status per group
//   sicantik-ops dlq [--sample N] [--json]                    poison records on <topic>.dlq
//   sicantik-ops dlq redrive [--topic T] [--reason R] [--execute]
// KAFKA_BROKERS and TOPIC_PREFIX come from the environment (as for the services).
// Exit status: 0 done; 1 the command failed (Kafka unreachable, bad configuration) or
// commander's usage error (unknown option, bad value); 2 a bad argument (unknown topic).

const processIo: CliIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), env: process.env, isTTY: Boolean(process.stderr.isTTY) };

const HELP_AFTER = `
Environment:
  KAFKA_BROKERS  brokers, comma-separated (default 127.0.0.1:9092)
  TOPIC_PREFIX   the deployment's topic and group prefix (default none)

Examples:
  sicantik-ops lag
  sicantik-ops dlq --sample 5
  sicantik-ops dlq redrive --topic contact.events            preview
  sicantik-ops dlq redrive --reason BAD_DATA --execute

Exit status: 0 done; 1 the command failed or a usage error; 2 a bad argument (e.g. an unknown topic).`;

function program(io: CliIo): Command {
  const p = new Command('sicantik-ops').description("The SREs' tools: consumer lag, dead letters")
    .addHelpText('after', HELP_AFTER)
    .enablePositionalOptions()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();
  for (const c of [lagCommand(io), dlqCommand(io)]) {
    c.configureOutput({ writeOut: io.out, writeErr: io.err }).exitOverride();
    for (const sub of c.commands) sub.configureOutput({ writeOut: io.out, writeErr: io.err }).exitOverride();
    p.addCommand(c);
  }
  return p;
}

/** Runs one command line (argv as process.argv: node, script, args…); resolves to the exit status. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  try {
    await program(io).parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // --help (0), usage errors (1): commander wrote the message
    io.err(`sicantik-ops: ${errorMessage(e)}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
  return 0;
}

if (require.main === module) {
  void main(process.argv).then((code) => process.exit(code));
}
