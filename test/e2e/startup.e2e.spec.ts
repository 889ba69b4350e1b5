import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

////////// A service with bad configuration refuses to start and names every bad variable

describe('start-up configuration', () => {
  it('permit-ingest exits 1 naming each missing or bad variable, before touching the network', () => {
    const r = spawnSync(process.execPath, ['dist/main.js'], {
      cwd: path.resolve(__dirname, '../../services/permit-ingest'),
      env: { PATH: process.env.PATH, INGEST_API_TOKEN: 'short', MONGO_URL: 'http://nope', TOPIC_PARTITIONS: 'many' },
      encoding: 'utf8', timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('permit-ingest failed to start: invalid configuration:');
    expect(r.stderr).toContain('INGEST_API_TOKEN: must be at least 16 characters');
    expect(r.stderr).toContain('MONGO_URL: must start with mongodb://');
    expect(r.stderr).toMatch(/TOPIC_PARTITIONS: .*(number|NaN)/i);
    expect(r.stderr).not.toContain("TOPIC_PARTITIONS: is required");
    expect(r.stderr).not.toContain('short'); // the value of a secret is never echoed
  });
});
