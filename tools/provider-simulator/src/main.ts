import { createSimulator } from './app';

const env = process.env;
const port = Number(env.SIM_PORT ?? 8099);
const sim = createSimulator({
  metaAccessToken: env.META_ACCESS_TOKEN ?? 'sim-meta-access-token',
  metaAppSecret: env.META_APP_SECRET ?? 'sim-meta-app-secret',
  metaWebhookUrl: env.META_WEBHOOK_URL,
  statuses: (env.SIM_STATUSES ?? 'sent,delivered').split(',').filter(Boolean),
  webhookDelayMs: Number(env.SIM_WEBHOOK_DELAY_MS ?? 200),
}, (msg, extra) => process.stdout.write(`${JSON.stringify({ msg, ...extra })}\n`));
const server = sim.app.listen(port, env.SIM_HOST ?? '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'provider simulator listening', port })}\n`);
});
server.on('error', (e) => { process.stderr.write(`provider simulator cannot listen on ${port}: ${e.message}\n`); process.exit(1); });
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
