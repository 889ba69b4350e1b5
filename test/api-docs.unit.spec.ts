import * as path from 'node:path';
import { createMetrics, createLogger, opsRouter } from '@sicantik/observability';
import { createApp as createTrackerApp } from '../services/delivery-tracker/src/adapters/http';
import { createAdminApp as createPlannerApp } from '../services/notification-planner/src/adapters/http';
import { createApp as createIngestApp } from '../services/permit-ingest/src/adapters/http';
import { createTemplateAdminApp } from '../services/template-renderer/src/adapters/http';
import { createSimulator } from '../tools/provider-simulator/src/app';
import { configFromEnv } from '../tools/provider-simulator/src/config';
import { documentedOperations, servedOperations } from './support/apiDocs';

////////// Each service's OpenAPI document lists exactly the operations its app serves.

const ops = () => opsRouter(createMetrics('docs-test'), []);
const stub = { ops: ops(), logger: createLogger('docs-test', { level: 'silent' }), now: () => new Date(0), adminToken: 'x'.repeat(16), apiToken: 'x'.repeat(16), keys: [] } as never;
const apps = {
  'permit-ingest': () => createIngestApp(stub),
  'notification-planner': () => createPlannerApp(stub),
  'template-renderer': () => createTemplateAdminApp(stub),
  'delivery-tracker': () => createTrackerApp({ ...(stub as object), privacy: stub } as never),
};

describe('OpenAPI documents match the served routes', () => {
  it.each(Object.entries(apps))('%s', (service, make) => {
    const served = servedOperations(make());
    expect(served.length).toBeGreaterThan(3);
    expect(documentedOperations(path.resolve(__dirname, '../services', service, 'openapi.yaml'))).toEqual(served);
  });

  it('provider-simulator', async () => {
    const sim = createSimulator(configFromEnv({}));
    try {
      expect(documentedOperations(path.resolve(__dirname, '../tools/provider-simulator/openapi.yaml'))).toEqual(servedOperations(sim.app as never));
    } finally {
      await sim.close();
    }
  });
});
