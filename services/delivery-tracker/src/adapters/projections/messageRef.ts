import { isErased, messageRef } from '@sicantik/privacy';
import type { MessageRefOf } from '../../domain/model';

/**
 * The projections' reference of a provider message id (model.ts MessageRefOf): the
 * dispatcher's providerMessageRef (@sicantik/privacy messageRef, HMAC-SHA256 with the index
 * key PRIVACY_INDEX_KEY), so a delivery status and a dispatch record without a ref (written
 * before it) find the same one. An id that reads as erased has none.
 */
export const messageRefOf = (indexKey: Buffer): MessageRefOf => (provider, id) => (isErased(id) ? undefined : messageRef(indexKey, provider, id));
