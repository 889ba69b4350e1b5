import type { NotificationRendered } from '@sicantik/schemas';

////////// Provider port: every provider adapter implements this

export type SendResult =
  | { ok: true; providerMessageId: string }
  | { ok: false; retriable: boolean; errorCode: string; reason: string; inDoubt?: boolean };

export interface Provider {
  readonly name: string;
  send(n: NotificationRendered): Promise<SendResult>;
}
