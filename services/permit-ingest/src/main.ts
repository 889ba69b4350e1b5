import { MongoClient } from 'mongodb';
import { errorMessage } from '@sicantik/core';
import { installShutdown, runService, startInfra } from '@sicantik/kafka';
import { countDbCommands, listen, loadOpenApi, openApiPathFrom, opsRouter, withDocs } from '@sicantik/observability';
import { createApp } from './adapters/http';
import { EventIdLedger } from './adapters/dedupe';
import { readConfig } from './config';
import { permitEventAcceptor } from './adapters/accept';
import { privacySettings, startPrivacy } from '@sicantik/privacy';

////////// Composition root: the only place that reads config and builds clients
async function main() {
  const cfg = readConfig();
  const infra = await startInfra('permit-ingest', cfg, ['permit.events', 'subject.keys', 'subject.index']);
  // Personal fields are encrypted with their subject's key on write and decrypted on read (the codec's hook); phone numbers become subjects here.
  const privacy = await startPrivacy({ kafka: infra.kafka, admin: infra.admin, codec: infra.codec, settings: privacySettings(cfg), topicPrefix: cfg.TOPIC_PREFIX, service: 'permit-ingest', instance: cfg.SERVICE_INSTANCE, logger: infra.logger, registry: true });
  const mongo = await MongoClient.connect(cfg.MONGO_URL, { serverSelectionTimeoutMS: 5000, monitorCommands: true });
  countDbCommands(mongo, infra.metrics);
  const ledger = new EventIdLedger(mongo.db(cfg.MONGO_DB), {
    onUnrecorded: (eventId, err) => infra.logger.warn({ eventId, err: errorMessage(err) }, 'event published but not recorded; a repeat after the claim goes stale publishes it again'),
    onSubjectUnrecorded: (eventId, err) => infra.logger.warn({ eventId, err: errorMessage(err) }, 'the permit\'s new applicant subject was not recorded; later events without a number use the earlier one'),
  });
  await ledger.prepare(); // once per database: claims for done records written before claims existed
  const ops = withDocs(opsRouter(infra.metrics, [...infra.checks, { name: 'mongodb', check: async () => { await mongo.db('admin').command({ ping: 1 }); } }]), loadOpenApi(openApiPathFrom(__dirname)));
  const app = createApp({
    logger: infra.logger,
    apiToken: cfg.INGEST_API_TOKEN,
    ops,
    acceptOnce: permitEventAcceptor({
      ledger,
      subjects: privacy.subjects!,
      send: async (ev) => { await infra.producer.send([{ topic: 'permit.events', key: ev.pendaftaran_id, value: ev }]); },
    }),
  });
  const { server, port } = await listen(app, cfg.HTTP_PORT, cfg.BIND_HOST);
  infra.logger.info({ port }, 'permit-ingest listening');
  installShutdown(infra.logger, [() => infra.close(), () => privacy.close(), () => mongo.close(), () => new Promise((r) => server.close(r))]);
}

runService('permit-ingest', main);
