import * as path from 'node:path';
import type express from 'express';
import { createLogger, createMetrics, loadOpenApi, openApiPathFrom, opsRouter, withDocs } from '@sicantik/observability';
import { createApp as createTrackerApp } from '../../services/delivery-tracker/src/adapters/http';
import { createAdminApp as createPlannerApp } from '../../services/notification-planner/src/adapters/http';
import { createApp as createIngestApp } from '../../services/permit-ingest/src/adapters/http';
import { createAdminApp as createDispatcherApp } from '../../services/provider-dispatcher/src/adapters/http/admin';
import type { OperatorDeps } from '../../services/provider-dispatcher/src/adapters/operators';
import { createTemplateAdminApp } from '../../services/template-renderer/src/adapters/http';
import { createSimulator } from '../../tools/provider-simulator/src/app';
import { configFromEnv } from '../../tools/provider-simulator/src/config';

////////// The six HTTP apps as their main.ts builds them (ops router with the docs routes), over stub dependencies

const ROOT = path.resolve(__dirname, '../..');

export const HTTP_SERVICES = {
  'permit-ingest': 'services/permit-ingest',
  'notification-planner': 'services/notification-planner',
  'template-renderer': 'services/template-renderer',
  'provider-dispatcher': 'services/provider-dispatcher',
  'delivery-tracker': 'services/delivery-tracker',
  'provider-simulator': 'tools/provider-simulator',
} as const;
export type HttpService = keyof typeof HTTP_SERVICES;

/** The package's openapi.yaml as its built main.js finds it (dist/main.js → ../openapi.yaml). */
export const builtSpecPath = (service: HttpService) => openApiPathFrom(path.join(ROOT, HTTP_SERVICES[service], 'dist'));

/** The ops router every service builds: health, readiness, metrics and the docs routes. */
const ops = (service: HttpService) => withDocs(opsRouter(createMetrics('docs-test'), []), loadOpenApi(openApiPathFrom(path.join(ROOT, HTTP_SERVICES[service], 'src'))));

/** The app of one service, and how to release it. */
export function httpApp(service: HttpService): { app: express.Express; close(): Promise<void> } {
  const stub = { logger: createLogger('docs-test', { level: 'silent' }), now: () => new Date(0), adminToken: 'x'.repeat(16), apiToken: 'x'.repeat(16), keys: [] };
  const done = async () => undefined;
  switch (service) {
    case 'permit-ingest': return { app: createIngestApp({ ...stub, ops: ops(service) } as never), close: done };
    case 'notification-planner': return { app: createPlannerApp({ ...stub, ops: ops(service) } as never), close: done };
    case 'template-renderer': return { app: createTemplateAdminApp({ ...stub, ops: ops(service) } as never), close: done };
    case 'provider-dispatcher': return { app: createDispatcherApp({ operators: {} as OperatorDeps, keys: stub.keys, logger: stub.logger, ops: ops(service) }), close: done };
    case 'delivery-tracker': return { app: createTrackerApp({ ...stub, ops: ops(service), privacy: stub, lag: stub } as never), close: done };
    case 'provider-simulator': {
      const sim = createSimulator(configFromEnv({}));
      return { app: sim.app as never, close: async () => { await sim.close(); } };
    }
  }
}
