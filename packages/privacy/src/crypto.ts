import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { PermanentError } from '@sicantik/core';
import type { MasterKey } from './settings';

////////// AES-256-GCM for fields and for wrapping subject keys; HMAC-SHA256 blind index

/** Prefix of an encrypted field: `pd1.<base64url(iv 12 | ciphertext | tag 16)>`. */
export const FIELD_PREFIX = 'pd1.';
/** What a personal field reads as once its subject's key is erased. */
export const ERASED = '[erased]';
export const isErased = (v: unknown): boolean => v === ERASED;
const ENCRYPTED = /^pd1\.[A-Za-z0-9_-]{38,}$/; // iv + tag alone are 28 bytes: 38 base64url characters
/** Whether a field is in the encrypted format (a text that merely starts with `pd1.` is not). */
export const isEncrypted = (v: unknown): v is string => typeof v === 'string' && v.startsWith(FIELD_PREFIX) && ENCRYPTED.test(v);

const IV = 12;
const TAG = 16;

/**
 * A subject's data key, ready for the cipher (its 32 bytes, a private copy: node's cipher takes
 * a Buffer faster than a KeyObject).
 */
export type DataKey = Buffer;
export const dataKeyOf = (raw: Buffer): DataKey => Buffer.from(raw);
export const newDataKeyBytes = (): Buffer => randomBytes(32);

// IVs are cut from a pool of random bytes (one randomBytes call per 512 IVs, not per field):
// random 96-bit IVs either way, at a tenth of the cost.
let ivPool = Buffer.alloc(0);
let ivPos = 0;
function nextIv(): Buffer {
  if (ivPos + IV > ivPool.length) { ivPool = randomBytes(IV * 512); ivPos = 0; }
  const iv = ivPool.subarray(ivPos, ivPos + IV);
  ivPos += IV;
  return iv;
}

/** Encrypts one field with the subject's key; the subject id is the associated data. */
export function encryptField(key: DataKey, subjectId: string | Buffer, plaintext: string): string {
  const iv = nextIv();
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(typeof subjectId === 'string' ? Buffer.from(subjectId, 'utf8') : subjectId);
  const body = Buffer.concat([iv, c.update(plaintext, 'utf8'), c.final(), c.getAuthTag()]);
  return FIELD_PREFIX + body.toString('base64url');
}

/** Decrypts a field written by encryptField; a changed byte, another key or another subject id throws (PermanentError TAMPERED). */
export function decryptField(key: DataKey, subjectId: string | Buffer, field: string): string {
  const body = Buffer.from(field.slice(FIELD_PREFIX.length), 'base64url');
  if (body.length < IV + TAG) throw new PermanentError('encrypted personal field is too short', 'TAMPERED');
  const d = createDecipheriv('aes-256-gcm', key, body.subarray(0, IV));
  d.setAAD(typeof subjectId === 'string' ? Buffer.from(subjectId, 'utf8') : subjectId);
  d.setAuthTag(body.subarray(body.length - TAG));
  try {
    return Buffer.concat([d.update(body.subarray(IV, body.length - TAG)), d.final()]).toString('utf8');
  } catch (e) {
    throw new PermanentError('encrypted personal field does not authenticate (changed, or another subject\'s)', 'TAMPERED', e);
  }
}

/** A subject's data key wrapped by a master key (AES-256-GCM, the subject id as associated data), base64. */
export function wrapKey(master: MasterKey, subjectId: string, raw: Buffer): string {
  const iv = randomBytes(IV);
  const c = createCipheriv('aes-256-gcm', master.key, iv);
  c.setAAD(Buffer.from(`subject-key:${subjectId}`, 'utf8'));
  return Buffer.concat([iv, c.update(raw), c.final(), c.getAuthTag()]).toString('base64');
}

export function unwrapKey(master: MasterKey, subjectId: string, wrapped: string): Buffer {
  const body = Buffer.from(wrapped, 'base64');
  if (body.length !== IV + 32 + TAG) throw new PermanentError(`wrapped key of subject ${subjectId} has a wrong length`, 'BAD_WRAPPED_KEY');
  const d = createDecipheriv('aes-256-gcm', master.key, body.subarray(0, IV));
  d.setAAD(Buffer.from(`subject-key:${subjectId}`, 'utf8'));
  d.setAuthTag(body.subarray(body.length - TAG));
  try {
    return Buffer.concat([d.update(body.subarray(IV, body.length - TAG)), d.final()]);
  } catch (e) {
    throw new PermanentError(`wrapped key of subject ${subjectId} does not open with master key ${master.id}`, 'BAD_WRAPPED_KEY', e);
  }
}

/** The blind index of an E.164 number: HMAC-SHA256 with the index key, base64url (43 characters). */
export function blindIndex(indexKey: Buffer, e164: string): string {
  return createHmac('sha256', indexKey).update(e164, 'utf8').digest('base64url');
}

/**
 * The reference of a provider message id: HMAC-SHA256 with the index key of
 * `message:<provider>:<id>`, base64url (43 characters). Records and projections join a
 * dispatch record and its delivery statuses by it, so the join survives an erasure (the id
 * itself is encrypted with the subject key) and nothing keyed by it holds the id (Meta's
 * encode the phone number). Without the index key the id cannot be recovered from it. The
 * prefix keeps it apart from the blind index of a number (which starts with `+`).
 */
export function messageRef(indexKey: Buffer, provider: string, providerMessageId: string): string {
  return createHmac('sha256', indexKey).update(`message:${provider}:${providerMessageId}`, 'utf8').digest('base64url');
}
