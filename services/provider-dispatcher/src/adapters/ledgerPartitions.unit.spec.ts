import type { NotificationDispatchRecorded } from '@sicantik/schemas';
import { silentLogger } from '../../../../test/support';
import { LedgerPartitions, Mutex, type ChangelogReader } from './ledgerPartitions';

const rec = (id: string, status: NotificationDispatchRecorded['status'], attempt = 1): NotificationDispatchRecorded => ({
  eventId: `${id}-${status}-${attempt}`, occurredAt: 0, correlationId: 'c', causationId: null, notificationId: id, pendaftaran_id: 'R', scenario: 's', templateCode: 't',
  recipientKind: 'APPLICANT', provider: 'meta', status, providerMessageId: null, attempt, errorCode: null, reason: null,
});

/** A changelog in memory: partition → records; counts the reads. */
class FakeChangelog implements ChangelogReader {
  readonly log = new Map<number, NotificationDispatchRecorded[]>();
  reads: number[][] = [];
  gate: Promise<void> = Promise.resolve();
  append(p: number, ...rs: NotificationDispatchRecorded[]) { this.log.set(p, [...(this.log.get(p) ?? []), ...rs]); }
  async endOffsets(ps: number[]) { return new Map(ps.map((p) => [p, BigInt(this.log.get(p)?.length ?? 0)])); }
  async read(ps: number[], ends: Map<number, bigint>, on: (p: number, r: NotificationDispatchRecorded) => void) {
    this.reads.push(ps);
    await this.gate;
    let n = 0;
    for (const p of ps) for (const r of (this.log.get(p) ?? []).slice(0, Number(ends.get(p) ?? 0n))) { on(p, r); n++; }
    return n;
  }
}

const hb = async () => undefined;

describe('LedgerPartitions', () => {
  it('restores every newly assigned partition with one read, before their first batch', async () => {
    const cl = new FakeChangelog(); cl.append(0, rec('a', 'SENDING'), rec('a', 'ACCEPTED')); cl.append(2, rec('b', 'FAILED'));
    let open!: () => void; cl.gate = new Promise((r) => { open = r; });
    const lp = new LedgerPartitions(cl, silentLogger());
    lp.assign([0, 2]);
    expect(lp.restoring).toBe(2);
    const seen = lp.withPartition(0, hb, async (l) => l.entries.get('a')?.status);
    await new Promise((r) => setTimeout(r, 5));
    open();
    expect(await seen).toBe('ACCEPTED');
    expect(await lp.withPartition(2, hb, async (l) => l.entries.get('b')?.status)).toBe('FAILED');
    expect(cl.reads).toEqual([[0, 2]]);
    expect(lp.restoring).toBe(0);
  });

  it('keeps a partition whose changelog holds only its own writes; reads it again when another writer wrote', async () => {
    const cl = new FakeChangelog(); cl.append(1, rec('a', 'SENDING'));
    const lp = new LedgerPartitions(cl, silentLogger());
    lp.assign([1]);
    await lp.withPartition(1, hb, async (l) => { const r = rec('a', 'ACCEPTED'); cl.append(1, r); l.recorded([r]); });
    await lp.withPartition(1, hb, async () => undefined);
    expect(cl.reads).toHaveLength(1);
    cl.append(1, rec('c', 'SENDING')); // e.g. an instance that owned the partition meanwhile
    expect(await lp.withPartition(1, hb, async (l) => [...l.entries.keys()].sort())).toEqual(['a', 'c']);
    expect(cl.reads).toHaveLength(2);
  });

  it('drops a revoked partition and restores it when it comes back', async () => {
    const cl = new FakeChangelog(); cl.append(0, rec('a', 'SENDING'));
    const lp = new LedgerPartitions(cl, silentLogger());
    lp.assign([0, 1]);
    await lp.withPartition(0, hb, async () => undefined);
    lp.assign([1]);
    await lp.withPartition(1, hb, async () => undefined);
    expect(lp.partitions()).toEqual([1]);
    cl.append(0, rec('a', 'IN_DOUBT'));
    lp.assign([0, 1]);
    expect(await lp.withPartition(0, hb, async (l) => l.entries.get('a')?.status)).toBe('IN_DOUBT');
    expect(cl.reads).toEqual([[0, 1], [0]]);
  });

  it('a restore waits for the batch in flight on its partition (never interleaves with one)', async () => {
    const cl = new FakeChangelog();
    const lp = new LedgerPartitions(cl, silentLogger());
    lp.assign([0]);
    const events: string[] = [];
    let finish!: () => void;
    const batch = lp.withPartition(0, hb, async (l) => { events.push('batch start'); await new Promise<void>((r) => { finish = r; }); const r = rec('x', 'SENDING'); cl.append(0, r); l.recorded([r]); events.push('batch end'); });
    await new Promise((r) => setTimeout(r, 5));
    lp.assign([]); // revoked while the batch runs
    lp.assign([0]); // and given back
    const next = lp.withPartition(0, hb, async (l) => { events.push(`next sees ${l.entries.get('x')?.status}`); });
    await new Promise((r) => setTimeout(r, 5));
    expect(events).toEqual(['batch start']);
    finish();
    await Promise.all([batch, next]);
    expect(events).toEqual(['batch start', 'batch end', 'next sees SENDING']);
  });

  it('a partition whose restore failed is restored by its first batch', async () => {
    const cl = new FakeChangelog(); cl.append(0, rec('a', 'ACCEPTED'));
    let fail = true;
    const reader: ChangelogReader = { endOffsets: (ps) => cl.endOffsets(ps), read: async (ps, e, on) => { if (fail) { fail = false; throw new Error('broker away'); } return cl.read(ps, e, on); } };
    const lp = new LedgerPartitions(reader, silentLogger());
    lp.assign([0]);
    expect(await lp.withPartition(0, hb, async (l) => l.entries.get('a')?.status)).toBe('ACCEPTED');
  });

  it('Mutex: first come, first served', async () => {
    const m = new Mutex(); const order: number[] = [];
    await Promise.all([1, 2, 3].map(async (i) => { const release = await m.lock(); order.push(i); await new Promise((r) => setTimeout(r, 3 - i)); release(); }));
    expect(order).toEqual([1, 2, 3]);
  });
});
