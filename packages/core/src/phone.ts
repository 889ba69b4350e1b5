import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

////////// Phone numbers (Indonesia first)

export type PhoneResult = { ok: true; e164: string } | { ok: false; reason: string };

/**
 * Normalise a phone number as written by SICANTIK users (0812-…, +62 812…,
 * 62812…, 0062812…) to E.164. Only mobile numbers (or fixed-line-or-mobile)
 * are accepted, since WhatsApp recipients are mobile numbers.
 */
export function normalizePhone(input: string, defaultCountry: 'ID' = 'ID'): PhoneResult {
  const raw = input.trim();
  if (!raw) return { ok: false, reason: 'empty phone number' };
  const pre = raw.replace(/^00(?=62)/, '+');
  const p = parsePhoneNumberFromString(pre, defaultCountry);
  if (!p || !p.isValid()) return { ok: false, reason: `not a valid phone number: ${maskPhone(raw)}` };
  const t = p.getType();
  if (t !== undefined && t !== 'MOBILE' && t !== 'FIXED_LINE_OR_MOBILE') {
    return { ok: false, reason: `not a mobile number (${t}): ${maskPhone(raw)}` };
  }
  return { ok: true, e164: p.number };
}

/** Masks all but the country code prefix and the last 4 digits: +62812****7890 → "+628******7890". */
export function maskPhone(phone: string | undefined | null): string {
  if (!phone) return '';
  const digits = phone.replace(/[^\d+]/g, '');
  if (digits.length <= 6) return '*'.repeat(digits.length);
  const keepHead = digits.startsWith('+') ? 4 : 3;
  return digits.slice(0, keepHead) + '*'.repeat(digits.length - keepHead - 4) + digits.slice(-4);
}
