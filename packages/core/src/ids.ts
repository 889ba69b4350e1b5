import { createHash, randomUUID } from 'node:crypto';

////////// Deterministic ids
// A notification id is derived from its cause, so a replayed or duplicated
// input yields the same id and can never become a second message.

/** RFC 4122 version-5-shaped id (SHA-1 of a namespace + name), deterministic. */
export function deterministicId(namespace: string, ...parts: (string | number)[]): string {
  for (const p of parts) {
    if (typeof p === 'string' && p.includes('\u0000')) throw new TypeError('id parts may not contain NUL');
  }
  const h = createHash('sha1').update(namespace).update('\u0000').update(parts.map(String).join('\u0000')).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function notificationId(scenario: string, permitId: string, discriminator: string): string {
  return deterministicId('sicantik.notification', scenario, permitId, discriminator);
}

/** Id source, injected so pure code never calls randomUUID itself. */
export type IdGenerator = () => string;
export const randomIds: IdGenerator = () => randomUUID();
