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

/**
 * Meta's rules for a template text parameter: no newline or tab characters,
 * no more than four consecutive spaces; we also trim and cap the length.
 */
export function sanitizeMetaParameter(value: string, maxLength = 1024): string {
  const s = value.replace(/[\r\n\t]+/g, ' ').replace(/ {5,}/g, '    ').trim();
  return s.length > maxLength ? `${s.slice(0, maxLength - 1)}…` : s;
}

/**
 * Renders the full text and the Meta parameters. `items` are the rows of a
 * digest, bound to the template's list variable ({{#each dokumen}}); in Meta's
 * positional parameters a list becomes one line: rows joined by "; ".
 */
export function render(t: TemplateDefinition, given: Record<string, string>, items: Record<string, string>[] = []): Rendered {
  // Generic (seed 004) names are filled from the SICANTIK variables they stand for.
  const variables = resolveVariables(t.variables, given);
  const vars = templateVariables(t.body);
  const lists = new Set(vars.filter((v) => v.list).map((v) => v.name));
  const missing = t.variables.filter((v) => (lists.has(v) ? items.length === 0 : variables[v] === undefined || variables[v] === null));
  if (missing.length) throw new MissingVariableError(t.code, missing);
  const shown: Record<string, unknown> = displayValues(variables);
  const rows = items.map(displayValues);
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
