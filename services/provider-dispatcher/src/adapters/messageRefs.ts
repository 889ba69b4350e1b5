import { messageRef } from '@sicantik/privacy';
import type { DispatchMessage } from '../domain/records';

/** The reference of a provider message id (@sicantik/privacy messageRef: HMAC-SHA256 with the index key, provider included). */
export type MessageRefFn = (provider: string, providerMessageId: string) => string;

export const messageRefFn = (indexKey: Buffer): MessageRefFn => (provider, id) => messageRef(indexKey, provider, id);

/**
 * The core's messages with `providerMessageRef` filled in on every dispatch record
 * (notification.dispatch, dispatch.ledger) that has a provider message id: the tracker joins
 * delivery statuses to notifications by it, which still works once the subject's key (and
 * with it the encrypted id) is erased. The core stays free of the key (pure).
 */
export function withMessageRefs(messages: DispatchMessage[], ref: MessageRefFn): DispatchMessage[] {
  return messages.map((m) => {
    if (m.topic !== 'notification.dispatch' && m.topic !== 'dispatch.ledger') return m;
    const v = m.value;
    if (!v.providerMessageId || v.providerMessageRef) return m;
    return { ...m, value: { ...v, providerMessageRef: ref(v.provider, v.providerMessageId) } };
  });
}
