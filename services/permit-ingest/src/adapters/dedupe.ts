import type { Collection, Db } from 'mongodb';

////////// De-duplication by event id (MongoDB)
// An id is recorded only after its event is durably on Kafka, so a crash in
// between makes the upstream retry re-publish (downstream is idempotent by
// deterministic ids); a recorded id is never published twice.

interface Seen { _id: string; pendaftaran_id: string; at: Date }

export class EventIdLedger {
  private readonly col: Collection<Seen>;
  constructor(db: Db) { this.col = db.collection<Seen>('ingested_event_ids'); }
  async seen(eventId: string): Promise<boolean> { return (await this.col.countDocuments({ _id: eventId }, { limit: 1 })) > 0; }
  async record(eventId: string, pendaftaranId: string, at: Date): Promise<void> {
    try {
      await this.col.insertOne({ _id: eventId, pendaftaran_id: pendaftaranId, at });
    } catch (e) {
      if ((e as { code?: number }).code !== 11000) throw e;
    }
  }
}
