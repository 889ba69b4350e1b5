import Handlebars from 'handlebars';
import { DateTime } from 'luxon';
import { PermanentError } from '@sicantik/core';
import type { TemplateDefinition } from './defaults';
import { resolveVariables } from './universal';

////////// Rendering (pure): template + variables -> full text and Meta parameters

export interface Rendered {
  text: string;
  /** Named parameters in the template's variable order (Meta positional order), sanitised for Meta. */
  parameters: { name: string; value: string }[];
}

export class MissingVariableError extends PermanentError {
  constructor(readonly template: string, readonly missing: string[]) {
    super(`template ${template} needs variable(s) not given: ${missing.join(', ')}`, 'MISSING_VARIABLE');
  }
}

const hb = Handlebars.create();
/** 1-based row number inside {{#each}}: {{nomor @index}}. */
hb.registerHelper('nomor', (i: number) => i + 1);
const compiled = new Map<string, HandlebarsTemplateDelegate>();
function compile(body: string): HandlebarsTemplateDelegate {
  let c = compiled.get(body);
  if (!c) {
    c = hb.compile(body, { noEscape: true, strict: true });
    compiled.set(body, c);
  }
  return c;
}

/** Variables a Handlebars body uses at the top level, in first-use order; `list` for {{#each x}} blocks. */
export function templateVariables(body: string): { name: string; list: boolean }[] {
  const out: { name: string; list: boolean }[] = [];
  const add = (name: string, list: boolean) => { if (!out.some((v) => v.name === name)) out.push({ name, list }); };
  for (const n of Handlebars.parse(body).body) {
    if (n.type === 'MustacheStatement') {
      const m = n as hbs.AST.MustacheStatement;
      const p = m.path as hbs.AST.PathExpression;
      if (p.type === 'PathExpression' && m.params.length === 0) add(p.original, false);
    } else if (n.type === 'BlockStatement') {
      const b = n as hbs.AST.BlockStatement;
      const p = b.params[0] as hbs.AST.PathExpression | undefined;
      if (p?.type === 'PathExpression') add(p.original, (b.path as hbs.AST.PathExpression).original === 'each');
    }
  }
  return out;
}

export const usedVariables = (body: string): string[] => templateVariables(body).map((v) => v.name);

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Indonesian long date: 2026-11-22 -> "22 November 2026". */
export function formatTanggal(iso: string): string {
  const d = DateTime.fromISO(iso, { zone: 'Asia/Jakarta' });
  if (!d.isValid) return iso;
  return d.setLocale('id').toFormat('d MMMM yyyy');
}

const GENERIC_DATES = new Set(['expiry_date', 'valid_from', 'valid_until']);
const isDateVariable = (k: string) => k.startsWith('tanggal_') || GENERIC_DATES.has(k);

/** Values shown to people: ISO dates in date variables (tanggal_*, generic *_date ones) become Indonesian dates; others unchanged. */
export function displayValues(vars: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars)) out[k] = isDateVariable(k) && ISO_DATE.test(v) ? formatTanggal(v) : v;
  return out;
}

////////// Cleaning of variable values (one rule for the full text and every provider's parameters)
// Applied to every variable and item value before rendering; template bodies
// (written by admins) are not cleaned and keep their newlines.
// 1. a run of line breaks and tabs (TAB, LF, VT, FF, CR, NEL, U+2028, U+2029) becomes one space;
// 2. removed: the other control characters (Unicode Cc, C0 and C1), format and
//    invisible characters (Cf: zero-width space U+200B, word joiner U+2060, BOM
//    U+FEFF, soft hyphen U+00AD, LRM/RLM U+200E/U+200F, bidi embeddings, overrides
//    and isolates U+202A-U+202E, U+2066-U+2069, tag characters, ...), lone surrogates
//    and noncharacters (U+FDD0-U+FDEF, U+FFFE/U+FFFF of every plane);
//    U+200D ZERO WIDTH JOINER stays only inside an emoji sequence (after a
//    pictographic, optionally with a skin tone or VS16, and before one), so a
//    family emoji survives; elsewhere it is removed;
// 3. NFC; 4. a whitespace run longer than four becomes four spaces (Meta's
//    parameter rule); trimmed. Idempotent: cleanText(cleanText(s)) === cleanText(s).

const LINE_BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]+/gu;
const INVISIBLE = /(?!\u200D)[\p{Cc}\p{Cf}\p{Cs}\p{Noncharacter_Code_Point}]/gu;
const STRAY_ZWJ = /(?<!\p{Extended_Pictographic}[\u{1F3FB}-\u{1F3FF}\uFE0F]?)\u200D|\u200D(?!\p{Extended_Pictographic})/gu;
const LONG_WHITESPACE = /\s{5,}/gu;

export function cleanText(value: string): string {
  return value.replace(LINE_BREAKS, ' ').replace(INVISIBLE, '').replace(STRAY_ZWJ, '').normalize('NFC').replace(LONG_WHITESPACE, '    ').trim();
}

const cleanValues = (vars: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? cleanText(v) : v]));

/**
 * Meta's rules for a template text parameter: no newline or tab characters,
 * no more than four consecutive spaces (cleanText); we also cap the length,
 * cutting where the cut leaves no half character or stray joiner.
 */
export function sanitizeMetaParameter(value: string, maxLength = 1024): string {
  const s = cleanText(value);
  return s.length > maxLength ? `${cleanText(s.slice(0, maxLength - 1))}…` : s;
}

/**
 * Renders the full text and the Meta parameters from cleaned values (cleanText). `items` are the rows of a
 * digest, bound to the template's list variable ({{#each dokumen}}); in Meta's
 * positional parameters a list becomes one line: rows joined by "; ".
 */
export function render(t: Pick<TemplateDefinition, 'code' | 'body' | 'variables'>, given: Record<string, string>, items: Record<string, string>[] = []): Rendered {
  // Generic (seed 004) names are filled from the SICANTIK variables they stand for.
  const variables = cleanValues(resolveVariables(t.variables, given));
  const vars = templateVariables(t.body);
  const lists = new Set(vars.filter((v) => v.list).map((v) => v.name));
  const missing = t.variables.filter((v) => (lists.has(v) ? items.length === 0 : variables[v] === undefined || variables[v] === null));
  if (missing.length) throw new MissingVariableError(t.code, missing);
  const shown: Record<string, unknown> = displayValues(variables);
  const rows = items.map((r) => displayValues(cleanValues(r)));
  for (const l of lists) shown[l] = rows;
  let text: string;
  try {
    text = compile(t.body)(shown);
  } catch (e) {
    throw new PermanentError(`template ${t.code} failed to render: ${(e as Error).message}`, 'RENDER_FAILED', e);
  }
  const param = (name: string) => (lists.has(name) ? rows.map((r) => Object.values(r).join(' - ')).join('; ') : (shown[name] as string));
  return { text, parameters: t.variables.map((name) => ({ name, value: sanitizeMetaParameter(param(name)) })) };
}
