import { ConfigError, baseEnv, loadConfig, z } from './index';

describe('loadConfig', () => {
  const schema = z.object({ ...baseEnv, TOKEN: z.string().min(16, 'must be at least 16 characters'), PORT: z.coerce.number().int() });
  it('applies defaults', () => {
    const c = loadConfig(schema, { TOKEN: 'x'.repeat(16), PORT: '8080' });
    expect(c.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(c.PORT).toBe(8080);
  });
  it('names every bad or missing variable in one error', () => {
    let err: unknown;
    try { loadConfig(schema, { TOKEN: 'short', MONGO_URL: 'http://x' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('TOKEN: must be at least 16 characters');
    expect(msg).toContain('PORT: is required but not set');
    expect(msg).toContain('MONGO_URL: must start with mongodb://');
    expect((err as ConfigError).issues.map((i) => i.path).sort()).toEqual(['MONGO_URL', 'PORT', 'TOKEN']);
  });
});
