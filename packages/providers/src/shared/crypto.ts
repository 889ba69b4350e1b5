import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

////////// Constant-time comparisons and digests

/**
 * Constant-time equality of two strings: both are hashed first, so neither the
 * position of the first difference nor the length leaks through timing.
 */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

export const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

export const hmacBase64 = (algo: 'sha1' | 'sha256', key: string, data: Buffer | string): string => createHmac(algo, key).update(data).digest('base64');
