import { ValidationError, maskPhone } from '@sicantik/core';

////////// Phone numbers on the wire
// Input is always E.164 (the planner normalised it); adapters only re-spell it.

const E164 = /^\+[1-9]\d{7,14}$/;

export function assertE164(e164: string): string {
  if (!E164.test(e164)) throw new ValidationError(`recipient is not E.164: ${maskPhone(e164) || '(empty)'}`, [{ path: 'toE164', message: 'expected +<country><number>' }]);
  return e164;
}

/** "+6281234567890" -> "6281234567890". */
export const e164Digits = (e164: string): string => assertE164(e164).slice(1);

/** Digits with country code (optionally with a leading "+") back to E.164, or undefined. */
export function e164FromInternational(s: string): string | undefined {
  const digits = s.trim().replace(/^\+/, '');
  return /^[1-9]\d{7,14}$/.test(digits) ? `+${digits}` : undefined;
}
