import * as fs from 'node:fs';
import * as path from 'node:path';

////////// Personal data of the test fixtures, and a search for it in logs (issue 16: logs
// and metrics never carry a full phone number or a name). Node built-ins only: jest's
// globalTeardown loads this without the workspace's module mapping.

/** What a search looks for: a label for the report and a pattern matched against each line. */
export interface Needle { label: string; pattern: RegExp }
export interface Finding { file: string; line: number; needle: string; text: string }

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Not inside a longer run of letters or digits (hex ids, other numbers), nor the fraction of a decimal number (0.0885…). */
const alone = (p: string) => `(?<![0-9A-Za-z]|[0-9][.,])(?:${p})(?![0-9A-Za-z])`;

/** The three forms of an Indonesian number: E.164 (+62812…), national (0812…) and digits only (62812…). */
export function phoneForms(e164: string): string[] {
  const digits = e164.replace(/\D/g, '');
  if (!digits.startsWith('62')) return [e164, digits];
  return [`+${digits}`, `0${digits.slice(2)}`, digits];
}

/**
 * Any full Indonesian mobile number in any of its three forms (+62 8…, 0 8…, 62 8…; 9 to 13
 * digits after the 8 prefix): the fixtures' numbers, also those generated in loops. Masked
 * numbers (+628******7890) do not match.
 */
export const ANY_MOBILE: Needle = { label: 'a full phone number', pattern: new RegExp(alone('(?:\\+62|62|0)8[1-9][0-9]{6,10}')) };

/** A name: whole words, any case, the spaces between them as written or one space. */
export function nameNeedle(name: string): Needle {
  const words = name.trim().split(/\s+/).map(escape);
  return { label: `the name ${JSON.stringify(name)}`, pattern: new RegExp(`(?<![\\p{L}\\p{N}])${words.join('\\s+')}(?![\\p{L}\\p{N}])`, 'iu') };
}

/** A literal the fixtures write (e.g. "0813-1111-2222"), exactly as written. */
const literalNeedle = (s: string): Needle => ({ label: `the literal ${JSON.stringify(s)}`, pattern: new RegExp(alone(escape(s))) });

/**
 * The personal data the end-to-end fixtures use, read from their sources: names given as
 * `nama_*: '…'` or `name: '…'` (a template literal's `${…}` stands for any number), and phone
 * numbers written with separators; full numbers in any form are found by ANY_MOBILE.
 */
export function fixtureNeedles(sourceDirs: string[]): Needle[] {
  const names = new Set<string>(); const literals = new Set<string>();
  for (const dir of sourceDirs) {
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const src = fs.readFileSync(path.join(dir, f), 'utf8');
      for (const m of src.matchAll(/\b(?:nama_[a-z_]+|name)\s*:\s*(['`])([^'`\n]+)\1/g)) {
        const v = m[2]!;
        // Personal names start with a capital letter and are longer than a placeholder ("X");
        // "sicantik-…" and parameter names are not names of people.
        if (/^\p{Lu}/u.test(v) && v.replace(/\$\{[^}]*\}/g, '').trim().length >= 3) names.add(v);
      }
      for (const m of src.matchAll(/'(\+?[0-9][0-9 ()-]{8,}[0-9])'/g)) if (/[ ()-]/.test(m[1]!) && m[1]!.replace(/\D/g, '').length >= 10) literals.add(m[1]!);
    }
  }
  return [ANY_MOBILE,
    ...[...names].sort().map((n) => {
      if (!n.includes('${')) return nameNeedle(n);
      const parts = n.split(/\$\{[^}]*\}/).map((p) => p.trim().split(/\s+/).filter(Boolean).map(escape).join('\\s+'));
      return { label: `the name ${JSON.stringify(n)}`, pattern: new RegExp(`(?<![\\p{L}\\p{N}])${parts.join('\\s*[0-9]+\\s*')}(?![\\p{L}\\p{N}])`, 'iu') };
    }),
    ...[...literals].sort().map(literalNeedle)];
}

/**
 * A line with what Meta's message ids hide appended: a `wamid.` id is base64 of bytes that
 * include the recipient's number in digits, so it carries the number as much as the number does.
 */
export const withDecodedIds = (line: string): string => {
  const decoded = [...line.matchAll(/wamid\.([A-Za-z0-9+/_-]+={0,2})/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('latin1').replace(/[^\x20-\x7e]/g, ' '));
  return decoded.length ? `${line} ${decoded.join(' ')}` : line;
};

/** Every line of the files that matches a needle (also inside decoded provider message ids). */
export function scanFiles(files: string[], needles: Needle[]): Finding[] {
  const found: Finding[] = [];
  for (const file of files) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((text, i) => {
      const line = withDecodedIds(text);
      for (const n of needles) if (n.pattern.test(line)) found.push({ file, line: i + 1, needle: n.label, text: text.length > 300 ? `${text.slice(0, 300)}…` : text });
    });
  }
  return found;
}

/** Files under `dir` (recursively) last written at or after `sinceMs`. */
export function filesWrittenSince(dir: string, sinceMs: number): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return filesWrittenSince(p, sinceMs);
    return e.isFile() && fs.statSync(p).mtimeMs >= sinceMs ? [p] : [];
  });
}

/** A report of findings, at most `max` lines of them. */
export function describeFindings(found: Finding[], root: string, max = 30): string {
  const lines = found.slice(0, max).map((f) => `${path.relative(root, f.file)}:${f.line}: ${f.needle}: ${f.text}`);
  return `${found.length} log line(s) carry personal data:\n${lines.join('\n')}${found.length > max ? `\n… and ${found.length - max} more` : ''}`;
}
