#!/usr/bin/env node
import { loadConfig, z } from '@sicantik/config';
import { Command, CommanderError, InvalidArgumentError } from 'commander';

////////// sicantik-planner: triggers schedule runs through the planner's admin API
//   sicantik-planner run-daily --date 2026-11-22
//   sicantik-planner run-daily --from 2026-11-01 --to 2026-11-30      (a backfill, day by day)
//   sicantik-planner run-digest --from 2026-11-22T08:00:00+07:00 --to 2026-11-22T09:00:00+07:00
// PLANNER_URL (default http://127.0.0.1:8092) and the key (SICANTIK_API_KEY, else ADMIN_API_TOKEN) come from the environment; the API checks the key's role.
// Exit status: 0 when every run it asked for was done; 1 when one was refused or failed (the
// API answered an error, e.g. 400 for a future date, 503 when not every partition reported
// in time) or the command could not run. --help exits 0.

/** Where a run writes, and the environment it reads (process' own unless a test gives others). */
export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  env: NodeJS.ProcessEnv;
}

/** The CLI's own settings (the planner's admin API and its token). */
export const cliEnv = z.object({
  PLANNER_URL: z.url().default('http://127.0.0.1:8092'),
  /** The caller's own API key (API_KEYS of the service); the API checks its role. Preferred over ADMIN_API_TOKEN. */
  SICANTIK_API_KEY: z.string().min(1).optional(),
  ADMIN_API_TOKEN: z.string().min(1).optional(),
});

const processIo: CliIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), env: process.env };

const HELP_AFTER = `
Environment:
  PLANNER_URL      the planner's HTTP port (default http://127.0.0.1:8092)
  SICANTIK_API_KEY your API key (an entry of the service's API_KEYS); the API checks
                   its role and answers 403 naming the role a command needs
  ADMIN_API_TOKEN  the admin API's single token (role admin), used when
                   SICANTIK_API_KEY is not set

Exit status: 0 when every run it asked for was done; 1 when one was refused or
failed, or the command could not run.`;

const isoDate = (v: string) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) throw new InvalidArgumentError('must be a date yyyy-MM-dd');
  return v;
};

function datesBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

function program(io: CliIo = processIo): Command {
  const call = async (path: string, body: unknown): Promise<unknown> => {
    const token = io.env.SICANTIK_API_KEY || io.env.ADMIN_API_TOKEN;
    if (!token) throw new Error('neither SICANTIK_API_KEY nor ADMIN_API_TOKEN is set');
    const url = `${loadConfig(cliEnv, io.env).PLANNER_URL.replace(/\/+$/, '')}/v1/admin${path}`;
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${res.status} from ${url}: ${text}`);
    return JSON.parse(text);
  };
  const p = new Command('sicantik-planner').description('Trigger notification-planner schedule runs (Asia/Jakarta dates)')
    .addHelpText('after', HELP_AFTER)
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();
  p.command('run-daily')
    .description('expiry warnings and pending-document reminders for a date, or each date of a range')
    .option('--date <yyyy-MM-dd>', 'one date', isoDate)
    .option('--from <yyyy-MM-dd>', 'first date of a range', isoDate)
    .option('--to <yyyy-MM-dd>', 'last date of a range', isoDate)
    .action(async (o: { date?: string; from?: string; to?: string }) => {
      const dates = o.date ? [o.date] : o.from && o.to ? datesBetween(o.from, o.to) : [];
      if (dates.length === 0) throw new Error('give --date, or --from and --to');
      for (const date of dates) io.out(`${JSON.stringify(await call('/schedules/daily/run', { date }))}\n`);
    });
  p.command('run-digest')
    .description('the document_pending digest for a window')
    .requiredOption('--from <iso-datetime>', 'window start, with offset')
    .requiredOption('--to <iso-datetime>', 'window end, with offset')
    .action(async (o: { from: string; to: string }) => {
      io.out(`${JSON.stringify(await call('/schedules/document-digest/run', o))}\n`);
    });
  return p;
}

/** Runs one command line (argv as process.argv: node, script, args…); resolves to the exit status. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  try {
    await program(io).parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // --help (0), usage errors (1): commander wrote the message
    io.err(`sicantik-planner: ${(e as Error).message}\n`);
    return 1;
  }
  return 0;
}

if (require.main === module) {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); throw e; }); // piped into | head
  void main(process.argv).then((code) => { process.exitCode = code; });
}
