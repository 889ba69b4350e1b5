import type { Admin, Kafka } from 'kafkajs';
import { createLogger, createMetrics, type Logger, type Metrics, type ReadinessCheck } from '@sicantik/observability';
import { SchemaCodec, TOPIC_NAMES, type TopicName } from '@sicantik/schemas';
import { createKafka, ensureTopics, EventProducer } from './client';

////////// What every service builds at start-up (called only from a composition root)

export interface InfraConfig {
  SERVICE_INSTANCE: string;
  LOG_LEVEL: string;
  KAFKA_BROKERS: string[];
  KAFKA_CLIENT_ID?: string;
  SCHEMA_REGISTRY_URL: string;
  TOPIC_PREFIX: string;
  TOPIC_PARTITIONS: number;
  TOPIC_REPLICATION_FACTOR: number;
}

export interface Infra {
  logger: Logger;
  metrics: Metrics;
  kafka: Kafka;
  admin: Admin;
  codec: SchemaCodec;
  producer: EventProducer;
  checks: ReadinessCheck[];
  close(): Promise<void>;
}

/** What a service's Kafka consumers share (the infrastructure without its checks and close). */
export type KafkaDeps = Pick<Infra, 'kafka' | 'admin' | 'codec' | 'producer' | 'logger' | 'metrics'>;

export async function startInfra(service: string, cfg: InfraConfig, topics: readonly TopicName[] = TOPIC_NAMES): Promise<Infra> {
  const logger = createLogger(service, { level: cfg.LOG_LEVEL, instance: cfg.SERVICE_INSTANCE });
  const metrics = createMetrics(service);
  const kafka = createKafka({ brokers: cfg.KAFKA_BROKERS, clientId: cfg.KAFKA_CLIENT_ID ?? `${service}-${cfg.SERVICE_INSTANCE}`, logger });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, { prefix: cfg.TOPIC_PREFIX, partitions: cfg.TOPIC_PARTITIONS, replicationFactor: cfg.TOPIC_REPLICATION_FACTOR }, topics);
  const codec = new SchemaCodec({ registryUrl: cfg.SCHEMA_REGISTRY_URL, topicPrefix: cfg.TOPIC_PREFIX });
  const ids = await codec.register(topics);
  logger.info({ schemas: ids }, 'schemas registered');
  const producer = EventProducer.create(kafka, codec, { produced: (topic) => metrics.produced.inc({ topic }), request: () => metrics.produceRequests.inc() });
  await producer.connect();
  const checks: ReadinessCheck[] = [
    { name: 'kafka', check: async () => { await admin.describeCluster(); } },
    { name: 'schema-registry', check: () => codec.ping() },
  ];
  return {
    logger, metrics, kafka, admin, codec, producer, checks,
    close: async () => { await producer.disconnect(); await admin.disconnect(); },
  };
}
