import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DeliveryStatus, DispatchStatus } from '@sicantik/schemas';
import { loadSchema } from '@sicantik/schemas';
import { markdownTable } from '../../../../test/support/docs';
import { DECISIONS } from './model';
import { RANK, STATES, fromDelivery, fromDispatch } from './notificationStatus';

////////// docs/states.md, the one list of states and decisions the read side uses, equals the code

const doc = fs.readFileSync(path.resolve(__dirname, '../../../../docs/states.md'), 'utf8');
const code = (cell: string) => /^`([^`]+)`$/.exec(cell)?.[1] ?? cell;
/** The symbols of an Avro enum field of a topic's schema. */
const symbols = (topic: 'notification.dispatch' | 'delivery.status' | 'planner.decisions', field: string): string[] => {
  const f = (loadSchema(topic) as { fields: { name: string; type: { symbols: string[] } }[] }).fields.find((x) => x.name === field)!;
  return f.type.symbols;
};

describe('docs/states.md', () => {
  it('lists every notification state in rank order, with its rank', () => {
    const rows = markdownTable(doc, 'Notification states, in order');
    expect(rows.map((r) => [Number(r[0]), code(r[1]!)])).toEqual(STATES.map((s) => [RANK[s], s]));
  });

  it('maps every dispatch and delivery status as the code does', () => {
    const rows = markdownTable(doc, 'From the events').map((r) => [r[0]!, code(r[1]!), r[2] === '(none)' ? undefined : code(r[2]!)] as const);
    const dispatch = symbols('notification.dispatch', 'status') as DispatchStatus[];
    const delivery = symbols('delivery.status', 'status') as DeliveryStatus[];
    expect(rows.filter((r) => r[0] === 'notification.dispatch').map((r) => r[1]).sort()).toEqual([...dispatch].sort());
    expect(rows.filter((r) => r[0] === 'delivery.status').map((r) => r[1]).sort()).toEqual([...delivery].sort());
    for (const [topic, status, state] of rows) {
      if (topic === 'notification.dispatch') expect([status, fromDispatch(status as DispatchStatus)]).toEqual([status, state]);
      else if (topic === 'delivery.status') expect([status, fromDelivery(status as DeliveryStatus)]).toEqual([status, state]);
      else expect([topic, status, state]).toEqual(['planner.decisions', 'COALESCED', 'coalesced']);
    }
  });

  it('lists every planner decision in the code\'s order, and the schema has no other', () => {
    const rows = markdownTable(doc, 'Planner decisions, in order');
    expect(rows.map((r) => code(r[0]!))).toEqual([...DECISIONS]);
    expect([...symbols('planner.decisions', 'decision')].sort()).toEqual([...DECISIONS].sort());
  });
});
