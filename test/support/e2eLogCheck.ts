import * as path from 'node:path';
import { describeFindings, filesWrittenSince, fixtureNeedles, scanFiles } from './personalData';

////////// After an end-to-end run (jest globalTeardown of the e2e project): every log line the
// services wrote during the run (and the /metrics they served at the end, saved beside their
// logs by startSystem's stop) is searched for the fixtures' phone numbers and names; one hit
// fails the run (issue 16: logs and metrics never carry a full phone number or a name).

const root = path.resolve(__dirname, '..', '..');

/** The findings in the log files under `logRoot` written since `sinceMs`, as an Error; undefined when clean. */
export function personalDataInLogs(o: { logRoot: string; sinceMs: number; sources: string[] }): Error | undefined {
  const files = filesWrittenSince(o.logRoot, o.sinceMs);
  const found = scanFiles(files, fixtureNeedles(o.sources));
  return found.length ? new Error(`personal data in the end-to-end run's logs (${files.length} files searched): ${describeFindings(found, o.logRoot)}`) : undefined;
}

/** The logs of this jest process's run: files under .stack/e2e written since it started. */
export default function checkE2eLogs(): void {
  const err = personalDataInLogs({
    logRoot: path.join(root, '.stack', 'e2e'),
    sinceMs: performance.timeOrigin,
    sources: [path.join(root, 'test', 'e2e'), path.join(root, 'test', 'support')],
  });
  if (err) throw err;
}
