import { reasonText } from './http';

describe('reasonText: a provider\'s error text, safe to keep and log', () => {
  const wamid = `wamid.${Buffer.from('\x1c\x18\x0d6281277889900\x15\x02').toString('base64')}`;

  it('masks numbers and cuts Meta message ids (they encode the number) to their prefix', () => {
    const out = reasonText(`Message ${wamid} to +6281277889900 (6281277889900) failed`, 'x');
    expect(out).toBe(`Message wamid.… to ${reasonText('+6281277889900', 'x')} (${reasonText('6281277889900', 'x')}) failed`);
    expect([out.includes('6281277889900'), out.includes(wamid.slice(6))]).toEqual([false, false]);
    expect(reasonText('+6281277889900', 'x')).not.toContain('81277889900');
  });

  it('keeps other text, falls back when there is none, and cuts long text to 300 characters', () => {
    expect(reasonText('  Message undeliverable  ', 'x')).toBe('Message undeliverable');
    expect(reasonText(undefined, 'Meta reported a failure')).toBe('Meta reported a failure');
    expect(reasonText('a'.repeat(400), 'x')).toBe(`${'a'.repeat(297)}...`);
  });
});
