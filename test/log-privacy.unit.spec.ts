import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { personalDataInLogs } from './support/e2eLogCheck';
import { ANY_MOBILE, fixtureNeedles, phoneForms, scanFiles, withDecodedIds } from './support/personalData';

////////// The e2e run's log check (jest globalTeardown of the e2e project) finds the fixtures'
// phone numbers and names in service logs, and fails the run on a planted line.

const sources = [path.join(__dirname, 'e2e'), path.join(__dirname, 'support')];
/** A Meta message id as the simulator makes them: base64 of bytes holding the number's digits. */
const wamid = (digits: string) => `wamid.${Buffer.concat([Buffer.from([0x1c, 0x18, digits.length]), Buffer.from(digits), Buffer.from([0x15, 0x02, 0x00, 0x11, 0x18, 0x02, 0x41, 0x42, 0x00])]).toString('base64')}`;

function logDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'log-privacy-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}
const line = (msg: string, extra: Record<string, unknown> = {}) => JSON.stringify({ level: 'info', time: '2026-12-07T10:00:00.000Z', service: 'notification-planner', msg, ...extra });

describe('personal data in the e2e logs', () => {
  it('the three forms of a number', () => {
    expect(phoneForms('+6281234567890')).toEqual(['+6281234567890', '081234567890', '6281234567890']);
  });

  it('finds a full number in each form, not a masked one nor digits inside ids or timestamps', () => {
    const hits = (text: string) => ANY_MOBILE.pattern.test(withDecodedIds(text));
    expect([
      '"to":"+6281234567890"', 'nomor 081234567890 tidak aktif', 'wa_id=6281234567890', `"providerMessageId":"${wamid('6281234567890')}"`,
      '"to":"+628******7890"', '"notificationId":"n-a6281234567890b"', '"occurredAt":1796601600000', '"eventId":"ce-0812345678901234567"',
      'sicantik_handle_seconds_sum{topic="x"} 0.088529042',
    ].map(hits)).toEqual([true, true, true, true, false, false, false, false, false]);
  });

  it('reads the fixtures\' names and separated numbers from the e2e sources', () => {
    const labels = fixtureNeedles(sources).map((n) => n.label);
    expect(labels).toEqual(expect.arrayContaining(['a full phone number', 'the name "Budi Sembiring"', 'the name "Sari Br Karo"', 'the name "Rina Ginting"', 'the name "Drs. Kepala Dinas"', 'the literal "0813-1111-2222"']));
    expect(labels.filter((l) => /sicantik|"X"/.test(l))).toEqual([]);
  });

  it('passes on clean logs and fails on a planted line, naming the file, the line and what it found', () => {
    const clean = [line('permit event published', { to: '+628******7890', pendaftaran_id: 'REG-1' }), line('telepon_pemohon missing')].join('\n');
    const dir = logDir({ 'run-a/permit-ingest.log': clean, 'run-a/delivery-tracker.metrics': 'sicantik_webhook_rejected_total{provider="meta",reason="signature"} 1\n' });
    expect(personalDataInLogs({ logRoot: dir, sinceMs: 0, sources })).toBeUndefined();

    fs.appendFileSync(path.join(dir, 'run-a/permit-ingest.log'), `\n${line('applicant notified', { name: 'budi sembiring' })}\n${line('sent', { to: '081234567890' })}\n`);
    fs.writeFileSync(path.join(dir, 'run-a/delivery-tracker.metrics'), 'sicantik_contacts_total{phone="6281234567890"} 1\n');
    const err = personalDataInLogs({ logRoot: dir, sinceMs: 0, sources });
    expect(err?.message.split('\n').map((l) => l.replace(/: \{.*$/, ''))).toEqual([
      'personal data in the end-to-end run\'s logs (2 files searched): 4 log line(s) carry personal data:',
      'run-a/delivery-tracker.metrics:1: a full phone number: sicantik_contacts_total{phone="6281234567890"} 1',
      'run-a/permit-ingest.log:3: the name "Budi"',
      'run-a/permit-ingest.log:3: the name "Budi Sembiring"',
      'run-a/permit-ingest.log:4: a full phone number',
    ]);
  });

  it('searches only the files written since the run started', () => {
    const dir = logDir({ 'old/planner.log': line('x', { to: '+6281234567890' }) });
    const old = path.join(dir, 'old/planner.log');
    fs.utimesSync(old, new Date(1_000_000), new Date(1_000_000));
    expect(personalDataInLogs({ logRoot: dir, sinceMs: 2_000_000, sources })).toBeUndefined();
    expect(scanFiles([old], [ANY_MOBILE]).map((f) => f.line)).toEqual([1]);
  });
});
