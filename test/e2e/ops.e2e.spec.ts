import { Kafka, logLevel } from 'kafkajs';
import { stack, waitFor } from '../support';
import { startSystem, type System } from '../support/system';
import { main } from '../../tools/sicantik-ops/src/cli';
import type { CliIo } from '../../tools/sicantik-ops/src/context';

////////// sicantik-ops on the running system: a record that is not Avro reaches permit.events, the
// planner dead-letters it; `dlq` counts and previews it, `dlq redrive --execute` sends it back (the
// planner dead-letters it again: it is still not Avro), and `lag` shows the planner's group caught up.

describe('sicantik-ops lag and dlq on the running system', () => {
  let sys: System;
  const kafka = new Kafka({ brokers: stack.brokers, clientId: 'e2e-ops', logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  const run = async (args: string[]) => {
    let out = '';
    let err = '';
    const io: CliIo = { out: (s) => { out += s; }, err: (s) => { err += s; }, env: { KAFKA_BROKERS: stack.brokers.join(','), TOPIC_PREFIX: sys.prefix }, isTTY: false };
    const code = await main(['node', 'sicantik-ops', ...args], io);
    return { code, out, err };
  };
  const counts = async () => {
    const r = await run(['dlq', '--json']);
    expect(r.code).toBe(0);
    return (JSON.parse(r.out) as { counts: { sourceTopic: string; reason: string; total: number; redriven: number; pending: number }[] }).counts;
  };
  const planner = async () => {
    const r = await run(['lag', '--samples', '2', '--interval', '0.5', '--json']);
    expect(r.code).toBe(0);
    return (JSON.parse(r.out) as { groups: { group: string; status: string; lag: number }[] }).groups.find((g) => g.group === `${sys.prefix}notification-planner`);
  };

  beforeAll(async () => { sys = await startSystem(); await producer.connect(); });
  afterAll(async () => { await producer.disconnect(); await sys?.stop(); });

  it('dlq counts, previews and re-drives a poison record once; lag shows the planner caught up', async () => {
    await producer.send({ topic: `${sys.prefix}permit.events`, messages: [{ key: 'e2e-poison', value: Buffer.from('not avro') }] });
    await waitFor(async () => (await counts()).length > 0, { what: 'the planner dead-lettered the record', timeoutMs: 60_000 });
    expect(await counts()).toEqual([{ sourceTopic: 'permit.events', reason: 'BAD_WIRE_FORMAT', total: 1, redriven: 0, pending: 1 }]);

    const preview = await run(['dlq', 'redrive', '--json']);
    expect(preview.code).toBe(0);
    expect((JSON.parse(preview.out) as { records: { reason: string; key: string }[] }).records.map((x) => [x.reason, x.key])).toEqual([['BAD_WIRE_FORMAT', 'e2e-poison']]);
    expect(await counts()).toEqual([{ sourceTopic: 'permit.events', reason: 'BAD_WIRE_FORMAT', total: 1, redriven: 0, pending: 1 }]); // a preview changes nothing

    expect((await run(['dlq', 'redrive', '--execute', '--json'])).code).toBe(0);
    // Back on permit.events, still not Avro: the planner dead-letters it a second time.
    await waitFor(async () => (await counts())[0]?.total === 2, { what: 'the re-driven record dead-lettered again', timeoutMs: 60_000 });
    expect(await counts()).toEqual([{ sourceTopic: 'permit.events', reason: 'BAD_WIRE_FORMAT', total: 2, redriven: 1, pending: 1 }]);

    // The planner's group has read everything and nothing new arrives: lag 0, idle.
    await waitFor(async () => { const g = await planner(); return g?.lag === 0 && g.status === 'idle'; }, { what: 'the planner group caught up and idle', timeoutMs: 60_000 });
    expect(await planner()).toMatchObject({ group: `${sys.prefix}notification-planner`, status: 'idle', lag: 0 });
  });
});
