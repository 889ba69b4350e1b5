import type { Collection, Db } from 'mongodb';

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
      if ((e as { code?: number }).code !== 11000) throw e;
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
}
