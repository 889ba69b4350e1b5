#!/usr/bin/env node
import { Command } from 'commander';

////////// sicantik-dispatcher: the dispatcher's admin API from a terminal
//   sicantik-dispatcher providers                       configured providers, chain, circuits, budgets
//   sicantik-dispatcher check meta                      the provider's test connection (sends nothing)
//   sicantik-dispatcher test-send --to 0812... [--text ...] [--provider fonnte] [--dry-run]
//   sicantik-dispatcher in-doubt [--limit 100]          notifications whose send is in doubt
// DISPATCHER_URL (default http://127.0.0.1:8094, the dispatcher's OPS_PORT) and ADMIN_API_TOKEN come from the environment.

async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const url = `${process.env.DISPATCHER_URL ?? 'http://127.0.0.1:8094'}/v1/admin${path}`;
  const token = process.env.ADMIN_API_TOKEN;
  if (!token) throw new Error('ADMIN_API_TOKEN is not set');
  const res = await fetch(url, {
    method, headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status} from ${url}: ${text}`);
  return JSON.parse(text);
}

const print = (v: unknown) => { process.stdout.write(`${JSON.stringify(v, null, 2)}\n`); };

export function program(): Command {
  const p = new Command('sicantik-dispatcher').description('Operate provider-dispatcher: providers, connection checks, test sends, in-doubt sends');
  p.command('providers').description('configured providers, fallback chain, circuit states and budgets').action(async () => print(await call('GET', '/providers')));
  p.command('check').description("a provider's test connection (an authenticated read; sends nothing)").argument('<provider>', 'meta, twilio, bird, vonage, fonnte or watzap')
    .action(async (name: string) => print(await call('POST', `/providers/${encodeURIComponent(name)}/check`)));
  p.command('test-send').description('send a test message, routed automatically or through one provider, and explain the routing')
    .requiredOption('--to <phone>', 'recipient (e.g. 0812-3456-7890)')
    .option('--text <text>', 'message text (default: a test sentence)')
    .option('--provider <name>', 'force this provider instead of automatic routing')
    .option('--dry-run', 'only explain the routing; send nothing')
    .action(async (o: { to: string; text?: string; provider?: string; dryRun?: boolean }) => print(await call('POST', '/test-send', { to: o.to, ...(o.text ? { text: o.text } : {}), ...(o.provider ? { provider: o.provider } : {}), ...(o.dryRun ? { dryRun: true } : {}) })));
  p.command('in-doubt').description('notifications whose last send is in doubt (held for an operator)').option('--limit <n>', 'at most this many', '500')
    .action(async (o: { limit: string }) => print(await call('GET', `/in-doubt?limit=${encodeURIComponent(o.limit)}`)));
  return p;
}

if (require.main === module) {
  program().parseAsync(process.argv).catch((e: Error) => {
    process.stderr.write(`sicantik-dispatcher: ${e.message}\n`);
    process.exit(1);
  });
}
