import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROVIDER_ADAPTERS } from '@sicantik/providers';
import { configSchema as trackerConfig } from '../../services/delivery-tracker/src/config';
import { configSchema as plannerConfig } from '../../services/notification-planner/src/config';
import { configSchema as ingestConfig } from '../../services/permit-ingest/src/config';
import { configSchema as dispatcherConfig } from '../../services/provider-dispatcher/src/config';
import { configSchema as rendererConfig } from '../../services/template-renderer/src/config';
import { cliEnv as plannerCli } from '../../services/notification-planner/src/cli';
import { cliEnv as dispatcherCli } from '../../services/provider-dispatcher/src/cli';
import { cliEnv as privacyCli } from '../../packages/privacy/src/cli';
import { documentFiles, repoContext, type Doc, type DocsContext } from './docs';

////////// This repository's documents, and what the code says exists (for test/docs.*.spec.ts).

export const ROOT = path.resolve(__dirname, '../..');

/** Each service's zod config schema (packages/config's baseEnv included). */
export const SERVICE_CONFIGS = {
  'delivery-tracker': trackerConfig, 'notification-planner': plannerConfig, 'permit-ingest': ingestConfig,
  'provider-dispatcher': dispatcherConfig, 'template-renderer': rendererConfig,
};

export const repoDocsContext = (): DocsContext => repoContext(ROOT, {
  // The services' settings, and the operator CLIs' own (the URL of the API they call; the privacy keys).
  schemas: [...Object.values(SERVICE_CONFIGS), plannerCli, dispatcherCli, privacyCli],
  providerVariables: Object.values(PROVIDER_ADAPTERS).flatMap((a) => [...a.envVars.send, ...a.envVars.receive]),
});

export const readDoc = (root: string, file: string): Doc => ({ file, text: fs.readFileSync(path.join(root, file), 'utf8') });
export const repoDocs = (): Doc[] => documentFiles(ROOT).map((f) => readDoc(ROOT, f));
