import { loadSchema, TOPICS, type TopicName } from './catalog';
import { PERSONAL_FIELDS, PERSONAL_TOPICS } from './personal';

////////// Every path of the catalogue of personal fields exists in its topic's schema: a
// renamed field would otherwise be written in the clear without anyone noticing.

type Schema = string | Schema[] | { type: string | Schema; fields?: { name: string; type: Schema }[]; items?: Schema; values?: Schema; name?: string };

/** The schemas a dotted path reaches (a union or the permit payload's records: every branch that has the field). */
function reach(schema: Schema, segs: string[], named: Map<string, Schema>): Schema[] {
  if (typeof schema === 'string' && named.has(schema)) return reach(named.get(schema)!, segs, named);
  if (Array.isArray(schema)) return schema.filter((s) => s !== 'null').flatMap((s) => reach(s, segs, named));
  if (segs.length === 0) return [schema];
  if (typeof schema === 'string') return [];
  if (typeof schema.type === 'object' || Array.isArray(schema.type)) return reach(schema.type as Schema, segs, named);
  if (schema.name) named.set(schema.name, schema);
  const [seg, ...rest] = segs as [string, ...string[]];
  if (schema.type === 'record') {
    for (const f of schema.fields ?? []) if (typeof f.type === 'object' && !Array.isArray(f.type) && (f.type as { name?: string }).name) named.set((f.type as { name: string }).name, f.type);
    const f = schema.fields?.find((x) => x.name === seg);
    return f ? reach(f.type, rest, named) : [];
  }
  if (seg !== '*') return [];
  if (schema.type === 'array') return reach(schema.items!, rest, named);
  if (schema.type === 'map') return reach(schema.values!, rest, named);
  return [];
}
const isString = (s: Schema) => s === 'string' || (typeof s === 'object' && !Array.isArray(s) && s.type === 'string');

describe('the catalogue of personal fields', () => {
  it.each(PERSONAL_TOPICS)('%s: the subject id and every personal field are strings of the schema', (topic: TopicName) => {
    const schema = loadSchema(topic) as unknown as Schema;
    const { subject, fields } = PERSONAL_FIELDS[topic]!;
    for (const path of [subject, ...fields]) {
      const leaves = reach(schema, path.split('.'), new Map());
      expect({ path, found: leaves.length > 0 && leaves.every(isString) }).toEqual({ path, found: true });
    }
  });

  it('the check finds a misspelt path, and a path that ends at a non-string', () => {
    const rendered = loadSchema('notification.rendered') as unknown as Schema;
    expect(reach(rendered, ['recipient', 'phon'], new Map())).toEqual([]);
    expect(reach(rendered, ['parameters', '*', 'value'], new Map()).every(isString)).toBe(true);
    expect(reach(rendered, ['parameters', '*'], new Map()).every(isString)).toBe(false);
    expect(reach(loadSchema('permit.events') as unknown as Schema, ['payload', 'no_such_field'], new Map())).toEqual([]);
  });

  it('covers the topics issue 16 names, and only catalogue topics', () => {
    expect([...PERSONAL_TOPICS].sort()).toEqual(['contact.events', 'directory.events', 'dispatch.awaiting-report', 'dispatch.dead-letter', 'dispatch.ledger', 'dispatch.reconcile', 'dispatch.retry.1', 'dispatch.retry.2', 'dispatch.retry.3',
      'notification.dispatch', 'notification.rendered', 'notification.requests', 'permit.events', 'planner.state']);
    for (const t of PERSONAL_TOPICS) expect(TOPICS[t]).toBeDefined();
  });
});
