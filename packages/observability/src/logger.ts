import pino from 'pino';

////////// Structured JSON logging
// Secrets are redacted by key; phone numbers must be passed through maskPhone
// before logging (keys named phone/telepon_pemohon are censored as a second line of defence).

export type Logger = pino.Logger;

const REDACT = [
  'password', 'token', 'secret', 'apiKey', 'authorization', 'accessToken', 'appSecret',
  '*.password', '*.token', '*.secret', '*.apiKey', '*.authorization', '*.accessToken', '*.appSecret',
  'headers.authorization', 'req.headers.authorization',
  // phone numbers: callers log maskPhone(...) under other keys; raw ones under these keys are censored
  'phone', 'telepon_pemohon', '*.phone', '*.telepon_pemohon', 'recipient.phone', '*.recipient.phone',
];

export function createLogger(service: string, opts: { level?: string; instance?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino({
    name: service,
    level: opts.level ?? 'info',
    base: { service, instance: opts.instance ?? 'local', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  }, opts.destination ?? pino.destination(1));
}
