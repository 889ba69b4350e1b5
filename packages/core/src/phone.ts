import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

////////// Phone numbers (Indonesia first)
// Parsed strictly by libphonenumber's own rules (full metadata): the number must
// be valid, of a type WhatsApp can reach (mobile, or fixed-line-or-mobile where a
// country does not tell them apart), and from an allowed country (default:
// Indonesia only). Nothing is rewritten by hand before parsing: "0062 812…" is
// not a number libphonenumber accepts for Indonesia, so it is unusable, not +62.

/** Why a number is unusable: stable codes for decisions and metrics. */
export type PhoneProblem = 'EMPTY' | 'INVALID' | 'NOT_MOBILE' | 'COUNTRY_NOT_ALLOWED';
export type PhoneResult = { ok: true; e164: string; country: string } | { ok: false; problem: PhoneProblem; reason: string };

export interface PhoneRules {
  /** ISO 3166-1 alpha-2 regions whose numbers may receive messages (default: ID). */
  allowedCountries?: readonly string[];
}

export const DEFAULT_ALLOWED_COUNTRIES: readonly string[] = ['ID'];

/** Parses "ID,MY" into region codes, naming any code libphonenumber does not know. */
export function parseCountryList(value: string): { ok: true; countries: string[] } | { ok: false; unknown: string[] } {
  const countries = [...new Set(value.split(',').map((c) => c.trim().toUpperCase()).filter(Boolean))];
  const unknown = countries.filter((c) => !isSupportedCountry(c));
  return unknown.length ? { ok: false, unknown } : { ok: true, countries };
}

/**
 * Normalises a phone number as written by SICANTIK users (0812-…, +62 812…, 62812…)
 * to E.164, or says why it cannot receive a WhatsApp message.
 */
export function normalizePhone(input: string, rules: PhoneRules = {}): PhoneResult {
  const raw = input.trim();
  if (!raw) return { ok: false, problem: 'EMPTY', reason: 'empty phone number' };
  const allowed = rules.allowedCountries ?? DEFAULT_ALLOWED_COUNTRIES;
  // Without "+", a number is read as Indonesian (0812…, 812…, and 62812… as libphonenumber itself does).
  const p = parsePhoneNumberFromString(raw, 'ID' as CountryCode);
  const n = p?.isValid() ? p : undefined;
  if (!n) return { ok: false, problem: 'INVALID', reason: `not a valid phone number: ${maskPhone(raw) || '(no digits)'}` };
  if (!n.country || !allowed.includes(n.country)) {
    return { ok: false, problem: 'COUNTRY_NOT_ALLOWED', reason: `country not allowed: +${n.countryCallingCode} (${n.country ?? 'non-geographic'}); allowed: ${allowed.join(', ')}` };
  }
  const t = n.getType();
  if (t !== 'MOBILE' && t !== 'FIXED_LINE_OR_MOBILE') {
    return { ok: false, problem: 'NOT_MOBILE', reason: `not a mobile number (${t ?? 'type unknown'}): ${maskPhone(raw)}` };
  }
  return { ok: true, e164: n.number, country: n.country };
}

/** Masks all but the country code prefix and the last 4 digits: +62812****7890 → "+628******7890". */
export function maskPhone(phone: string | undefined | null): string {
  if (!phone) return '';
  const digits = phone.replace(/[^\d+]/g, '');
  const keepHead = digits.startsWith('+') ? 4 : 3;
  // Too short to show a head and a tail without showing nearly all of it ("+080000" threw here before).
  if (digits.length <= keepHead + 6) return '*'.repeat(digits.length);
  return digits.slice(0, keepHead) + '*'.repeat(digits.length - keepHead - 4) + digits.slice(-4);
}
