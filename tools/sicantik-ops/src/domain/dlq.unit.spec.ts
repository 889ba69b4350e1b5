import { countPoison, maskDigits, originalHeaders, poisonRecords, selectForRedrive, type DlqEntry } from './dlq';

const dead = (offset: string, topic: string, reason: string): DlqEntry => ({
  dlqTopic: `${topic}.dlq`, partition: 0, offset,
  headers: { origin: 'x', 'dlq.reason': reason, 'dlq.error': 'boom', 'dlq.error.name': 'PermanentError', 'dlq.source.topic': topic, 'dlq.source.partition': '3', 'dlq.source.offset': `1${offset}`, 'dlq.consumer.group': 'g', 'dlq.at': '2026-12-07T00:00:00.000Z' },
});
const marker = (offset: string, topic: string, offsets: string): DlqEntry => ({ dlqTopic: `${topic}.dlq`, partition: 0, offset, headers: { 'dlq.redrive': '1', 'dlq.redrive.offsets': offsets } });

describe('poison records on the DLQ', () => {
  const entries = [dead('0', 'p.contact.events', 'BAD_DATA'), dead('1', 'p.contact.events', 'BAD_WIRE_FORMAT'), dead('2', 'p.contact.events', 'BAD_DATA'), marker('3', 'p.contact.events', '0,1'), dead('0', 'p.permit.events', 'TOMBSTONE')];

  it('reads records with their origin; markers are not records and mark the offsets they name as re-driven', () => {
    const r = poisonRecords(entries);
    expect(r.map((x) => [x.dlqTopic, x.offset, x.reason, x.redriven])).toEqual([
      ['p.contact.events.dlq', '0', 'BAD_DATA', true], ['p.contact.events.dlq', '1', 'BAD_WIRE_FORMAT', true], ['p.contact.events.dlq', '2', 'BAD_DATA', false], ['p.permit.events.dlq', '0', 'TOMBSTONE', false],
    ]);
    expect(r[0]).toEqual({ dlqTopic: 'p.contact.events.dlq', partition: 0, offset: '0', sourceTopic: 'p.contact.events', sourcePartition: 3, sourceOffset: '10', reason: 'BAD_DATA', error: 'boom', errorName: 'PermanentError', consumerGroup: 'g', at: '2026-12-07T00:00:00.000Z', redriven: true });
  });

  it('counts by source topic and reason', () => {
    expect(countPoison(poisonRecords(entries))).toEqual([
      { sourceTopic: 'p.contact.events', reason: 'BAD_DATA', total: 2, redriven: 1, pending: 1 },
      { sourceTopic: 'p.contact.events', reason: 'BAD_WIRE_FORMAT', total: 1, redriven: 1, pending: 0 },
      { sourceTopic: 'p.permit.events', reason: 'TOMBSTONE', total: 1, redriven: 0, pending: 1 },
    ]);
  });

  it('a re-drive takes only records not re-driven yet, by source topic and reason', () => {
    const r = poisonRecords(entries);
    expect(selectForRedrive(r, {}).map((x) => `${x.dlqTopic}@${x.offset}`)).toEqual(['p.contact.events.dlq@2', 'p.permit.events.dlq@0']);
    expect(selectForRedrive(r, { sourceTopic: 'p.permit.events' }).map((x) => x.offset)).toEqual(['0']);
    expect(selectForRedrive(r, { reason: 'BAD_WIRE_FORMAT' })).toEqual([]);
  });

  it('a re-driven record keeps its original headers only; printed text has phone numbers masked', () => {
    expect(originalHeaders(entries[0]!.headers)).toEqual({ origin: 'x' });
    expect(maskDigits('bad phone +6281234567890 in event 12')).toBe('bad phone +628******7890 in event 12');
  });
});
