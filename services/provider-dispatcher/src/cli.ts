#!/usr/bin/env node
import { loadConfig, z } from '@sicantik/config';
import { Command, CommanderError } from 'commander';

////////// sicantik-dispatcher: the dispatcher's admin API from a terminal
//   sicantik-dispatcher providers                       configured providers, chain, circuits, budgets
//   sicantik-dispatcher check meta                      the provider's test connection (sends nothing)
//   sicantik-dispatcher test-send --to 0812... [--text ...] [--provider fonnte] [--dry-run]
//   sicantik-dispatcher in-doubt [--limit 100]          notifications whose send is in doubt
// DISPATCHER_URL (default http://127.0.0.1:8094, the dispatcher's OPS_PORT) and the key (SICANTIK_API_KEY, else ADMIN_API_TOKEN) come from the environment; the API checks the key's role.
// Exit status: 0 when what it reports succeeded; 1 when it failed (a check answered ok:false,
// a test send was not accepted or found no provider, the API answered an error, or the
// command could not run). --help exits 0.

/** Where a run writes, and the environment it reads (process' own unless a test gives others). */
export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  env: NodeJS.ProcessEnv;
}

/** The CLI's own settings (the dispatcher's admin API and its token). */
export const cliEnv = z.object({
  DISPATCHER_URL: z.url().default('http://127.0.0.1:8094'),
  /** The caller's own API key (API_KEYS of the service); the API checks its role. Preferred over ADMIN_API_TOKEN. */
  SICANTIK_API_KEY: z.string().min(1).optional(),
  ADMIN_API_TOKEN: z.string().min(1).optional(),
});

const processIo: CliIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), env: process.env };

const HELP_AFTER = `
Environment:
  DISPATCHER_URL   the dispatcher's ops port (default http://127.0.0.1:8094)
  SICANTIK_API_KEY your API key (an entry of the service's API_KEYS); the API checks
                   its role and answers 403 naming the role a command needs
  ADMIN_API_TOKEN  the admin API's single token (role admin), used when
                   SICANTIK_API_KEY is not set

Exit status: 0 when what it reports succeeded; 1 when it failed (a check answered
"ok": false, a test send was not accepted or found no provider, the API answered an
error, or the command could not run).`;

function program(io: CliIo = processIo): { command: Command; failed(): boolean } {
  let failed = false;
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> => {
    const token = io.env.SICANTIK_API_KEY || io.env.ADMIN_API_TOKEN;
    if (!token) throw new Error('neither SICANTIK_API_KEY nor ADMIN_API_TOKEN is set');
    const url = `${loadConfig(cliEnv, io.env).DISPATCHER_URL.replace(/\/+$/, '')}/v1/admin${path}`;
    const res = await fetch(url, {
      method, headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${res.status} from ${url}: ${text}`);
    return JSON.parse(text);
  };
  const print = (v: unknown) => { io.out(`${JSON.stringify(v, null, 2)}\n`); };

  const p = new Command('sicantik-dispatcher').description('Operate provider-dispatcher: providers, connection checks, test sends, in-doubt sends')
    .addHelpText('after', HELP_AFTER)
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();
  p.command('providers').description('configured providers, fallback chain, circuit states and budgets').action(async () => print(await call('GET', '/providers')));
  p.command('check').description("a provider's test connection (an authenticated read; sends nothing); exits 1 when it answers \"ok\": false")
    .argument('<provider>', 'meta, twilio, bird, vonage, fonnte or watzap')
    .action(async (name: string) => {
      const r = await call('POST', `/providers/${encodeURIComponent(name)}/check`) as { ok?: unknown };
      print(r);
      if (r.ok !== true) failed = true;
    });
  p.command('test-send').description('send a test message, routed automatically or through one provider, and explain the routing; exits 1 when it was not accepted (with --dry-run: when no provider would take it)')
    .requiredOption('--to <phone>', 'recipient (e.g. 0812-3456-7890)')
    .option('--text <text>', 'message text (default: a test sentence)')
    .option('--provider <name>', 'force this provider instead of automatic routing')
    .option('--dry-run', 'only explain the routing; send nothing')
    .action(async (o: { to: string; text?: string; provider?: string; dryRun?: boolean }) => {
      const r = await call('POST', '/test-send', { to: o.to, ...(o.text ? { text: o.text } : {}), ...(o.provider ? { provider: o.provider } : {}), ...(o.dryRun ? { dryRun: true } : {}) }) as { accepted?: unknown; decision?: { provider?: unknown } };
      print(r);
      if (o.dryRun ? !r.decision?.provider : r.accepted !== true) failed = true;
    });
  p.command('in-doubt').description('notifications whose last send is in doubt (held for an operator)').option('--limit <n>', 'at most this many', '500')
    .action(async (o: { limit: string }) => print(await call('GET', `/in-doubt?limit=${encodeURIComponent(o.limit)}`)));
  return { command: p, failed: () => failed };
}

/** Runs one command line (argv as process.argv: node, script, args…); resolves to the exit status. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const { command, failed } = program(io);
  try {
    await command.parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // --help (0), usage errors (1): commander wrote the message
    io.err(`sicantik-dispatcher: ${(e as Error).message}\n`);
    return 1;
  }
  return failed() ? 1 : 0;
}

if (require.main === module) {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); throw e; }); // piped into | head
  void main(process.argv).then((code) => { process.exitCode = code; });
}
