import type { Collection, Db } from 'mongodb';
import { duplicateKeyIndexes, isDuplicateKey } from '@sicantik/core';
import type { NotificationDispatchRecorded } from '@sicantik/schemas';

////////// Send claims (MongoDB): one document per notification id.
// A claim is written before the provider is called and the outcome after, so a
// restarted dispatcher never sends again what it (may have) sent.

export type ClaimState = 'sending' | 'retry_wait' | 'accepted' | 'failed';
export interface Claim {
  _id: string;
  state: ClaimState;
  provider: string;
  attempts: number;
  providerMessageId?: string;
  errorCode?: string;
  reason?: string;
  updatedAt: Date;
}

export type ClaimOutcome = { acquired: true; claim: Claim } | { acquired: false; claim: Claim };

/** The two operations dispatch() needs; ClaimStore is the MongoDB implementation. */
export interface Claims {
  acquire(id: string, provider: string, now: Date): Promise<ClaimOutcome>;
  settle(id: string, patch: Partial<Claim> & { state: ClaimState }, now: Date): Promise<void>;
}

export class ClaimStore implements Claims {
  readonly col: Collection<Claim>;
  constructor(db: Db) { this.col = db.collection<Claim>('dispatch_claims'); }

  /** Atomically takes the right to call the provider for this id. */
  async acquire(id: string, provider: string, now: Date): Promise<ClaimOutcome> {
    try {
      const claim: Claim = { _id: id, state: 'sending', provider, attempts: 1, updatedAt: now };
      await this.col.insertOne(claim);
      return { acquired: true, claim };
    } catch (e) {
      if (!isDuplicateKey(e)) throw e;
    }
    // Only a claim whose last attempt certainly did not reach the provider may be retaken.
    const retaken = await this.col.findOneAndUpdate(
      { _id: id, state: 'retry_wait' },
      { $set: { state: 'sending', updatedAt: now }, $inc: { attempts: 1 } },
      { returnDocument: 'after' },
    );
    if (retaken) return { acquired: true, claim: retaken };
    const existing = await this.col.findOne({ _id: id });
    if (!existing) throw new Error(`claim ${id} vanished`);
    return { acquired: false, claim: existing };
  }

  async settle(id: string, patch: Partial<Claim> & { state: ClaimState }, now: Date): Promise<void> {
    await this.col.updateOne({ _id: id, state: 'sending' }, { $set: { ...patch, updatedAt: now } });
  }

  /**
   * Seeds claims from the dispatcher's own log (notification.dispatch), for a new or
   * rebuilt store: what was accepted or failed stays so, an attempt without a recorded
   * outcome stays `sending` (reported IN_DOUBT, never re-sent), a scheduled retry
   * stays retriable. Claims already in the store win. Returns the claims written.
   */
  async seedFromLog(read: (apply: (e: NotificationDispatchRecorded) => void) => Promise<number>, now: Date): Promise<number> {
    const claims = new Map<string, Claim>();
    await read((e) => {
      const cur = claims.get(e.notificationId);
      if (cur && (cur.state === 'accepted' || cur.state === 'failed')) return; // outcomes are final
      const state = LOGGED_STATE[e.status];
      if (!state) return;
      claims.set(e.notificationId, {
        _id: e.notificationId, state, provider: e.provider, attempts: Math.max(e.attempt, cur?.attempts ?? 0), updatedAt: new Date(e.occurredAt),
        ...(e.providerMessageId ? { providerMessageId: e.providerMessageId } : {}), ...(e.errorCode ? { errorCode: e.errorCode } : {}), ...(e.reason ? { reason: e.reason } : {}),
      });
    });
    const docs = [...claims.values()];
    for (let i = 0; i < docs.length; i += 1000) {
      await this.col.insertMany(docs.slice(i, i + 1000), { ordered: false }).catch((e: unknown) => { duplicateKeyIndexes(e); });
    }
    await this.col.db.collection<{ _id: string; at: Date }>('dispatch_meta').updateOne({ _id: 'bootstrap:dispatch-log' }, { $setOnInsert: { at: now } }, { upsert: true }).catch(() => undefined);
    return docs.length;
  }

  async seeded(): Promise<boolean> {
    return (await this.col.db.collection<{ _id: string }>('dispatch_meta').countDocuments({ _id: 'bootstrap:dispatch-log' }, { limit: 1 })) > 0;
  }
}

/** The claim a logged dispatch status implies (DUPLICATE_SUPPRESSED says nothing new). */
const LOGGED_STATE: Partial<Record<NotificationDispatchRecorded['status'], ClaimState>> = {
  SENDING: 'sending', IN_DOUBT: 'sending', RETRY_SCHEDULED: 'retry_wait', ACCEPTED: 'accepted', FAILED: 'failed',
};
