import { createSimulator } from './app';
import { configFromEnv } from './config';

if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
  process.stdout.write('Usage: node tools/provider-simulator/dist/main.js\n\n'
    + 'The provider simulator: Meta, Twilio, Bird, Vonage, Fonnte and Watzap on one port (SIM_PORT, default 8099),\n'
    + 'sending their webhooks (SIM_WEBHOOK_BASE_URL, META_WEBHOOK_URL). Settings come from the environment:\n'
    + 'tools/provider-simulator/README.md lists them.\n');
  process.exit(0);
}

let cfg: ReturnType<typeof configFromEnv>;
try {
  cfg = configFromEnv(process.env);
} catch (e) {
  process.stderr.write(`provider simulator: ${(e as Error).message}\n`);
  process.exit(1);
}
let sim: ReturnType<typeof createSimulator>;
try {
  sim = createSimulator(cfg, (msg, extra) => process.stdout.write(`${JSON.stringify({ msg, ...extra })}\n`));
} catch (e) {
  process.stderr.write(`provider simulator failed to start: ${(e as Error).message}\n`);
  process.exit(1);
}
const server = sim.app.listen(cfg.port, cfg.host, () => {
  process.stdout.write(`${JSON.stringify({ msg: 'provider simulator listening', port: cfg.port })}\n`);
});
server.on('error', (e) => { process.stderr.write(`provider simulator cannot listen on ${cfg.port}: ${e.message}\n`); process.exit(1); });
const stop = () => { sim.close(); server.close(() => process.exit(0)); };
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
