import { isDeepStrictEqual } from 'node:util';
import * as avro from 'avsc';
import { TOPIC_NAMES, loadSchema } from './catalog';
import { plainCopy } from './codec';

////////// plainCopy replaced a JSON round trip on every decoded record: same values, plain objects

describe('plainCopy', () => {
  it.each(TOPIC_NAMES)('%s: equals the JSON round trip of 300 random decoded values, with plain prototypes', (topic) => {
    const type = avro.Type.forSchema(loadSchema(topic) as avro.Schema);
    for (let i = 0; i < 300; i++) {
      const decoded: unknown = type.fromBuffer(type.toBuffer(type.random()));
      const copy = plainCopy(decoded);
      expect(isDeepStrictEqual(copy, JSON.parse(JSON.stringify(decoded)))).toBe(true);
      expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    }
  });

  it('keeps null, arrays and nested records, and drops the record class', () => {
    const type = avro.Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'a', type: { type: 'array', items: { type: 'record', name: 'I', fields: [{ name: 'x', type: ['null', 'string'] }] } } }] });
    const decoded = type.fromBuffer(type.toBuffer({ a: [{ x: null }, { x: 'y' }] })) as object;
    expect(Object.getPrototypeOf(decoded)).not.toBe(Object.prototype);
    expect(plainCopy(decoded)).toStrictEqual({ a: [{ x: null }, { x: 'y' }] });
  });
});
