import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GENERATED_SCHEMAS, generateSchemas } from './generate';
import { DISPATCH_RETRY_TOPICS, loadSchema, schemasDir } from './catalog';

////////// The schemas generated from one source are committed exactly as generated

describe('generated schemas', () => {
  it('every committed file equals its generated text (after editing a template or notification.rendered.avsc: npm run generate -w @sicantik/schemas)', () => {
    const generated = generateSchemas();
    expect([...generated.keys()]).toEqual(['dispatch.retry.1.avsc', 'dispatch.retry.2.avsc', 'dispatch.retry.3.avsc', 'dispatch.dead-letter.avsc', 'dispatch.ledger.avsc']);
    for (const [file, text] of generated) expect([file, fs.readFileSync(path.join(schemasDir(), file), 'utf8')]).toEqual([file, text]);
  });

  it('the retry tiers differ only in the tier their doc names; each carries notification.rendered as it is', () => {
    const [one, ...rest] = DISPATCH_RETRY_TOPICS.map((t) => loadSchema(t) as { doc: string; fields: { name: string; type: unknown }[] });
    rest.forEach((s, i) => {
      expect(s.doc).toBe(one!.doc.replace('(delay tier 1)', `(delay tier ${i + 2})`));
      expect({ ...s, doc: one!.doc }).toEqual(one);
    });
    for (const t of [...DISPATCH_RETRY_TOPICS, 'dispatch.dead-letter'] as const) expect(loadSchema(t).fields).toContainEqual(expect.objectContaining({ name: 'notification', type: loadSchema('notification.rendered') }));
  });

  it('a change to an included file or a template shows in every file made from it; an unknown variable is refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schemas-'));
    try {
      fs.cpSync(schemasDir(), dir, { recursive: true });
      const rendered = JSON.parse(fs.readFileSync(path.join(dir, 'notification.rendered.avsc'), 'utf8')) as { doc: string };
      fs.writeFileSync(path.join(dir, 'notification.rendered.avsc'), JSON.stringify({ ...rendered, doc: 'changed' }));
      const out = generateSchemas(dir);
      for (const g of GENERATED_SCHEMAS) {
        const fields = (JSON.parse(out.get(g.file)!) as { fields: { name: string; type: unknown }[] }).fields;
        // The ledger carries it as a DEFERRED/HELD entry's `waiting` notification (null otherwise).
        const carried = fields.find((f) => f.name === 'notification')?.type ?? (fields.find((f) => f.name === 'waiting')!.type as unknown[])[1];
        expect((carried as { doc: string }).doc).toBe('changed');
      }
      const template = path.join(dir, 'templates/dispatch.retry.avsc.json');
      fs.writeFileSync(template, fs.readFileSync(template, 'utf8').replace('{{tier}}', '{{tir}}'));
      expect(() => generateSchemas(dir)).toThrow('{{tir}}: no such variable');
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });
});
