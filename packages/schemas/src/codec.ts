import * as avro from 'avsc';
import axios, { type AxiosInstance } from 'axios';
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { PermanentError, TransientError } from '@sicantik/core';
import { loadSchema, TOPIC_NAMES, type TopicName, type TopicValues } from './catalog';
import type { PersonalDataHook } from './personal';
import type { PermitPayload } from './types';

////////// Confluent wire format: [0x00][schema id: int32 BE][Avro binary]

export const MAGIC_BYTE = 0;

export function readWireHeader(buf: Buffer): { schemaId: number; body: Buffer } {
  if (buf.length < 5 || buf[0] !== MAGIC_BYTE) {
    throw new PermanentError('record is not in Confluent wire format (missing magic byte 0)', 'BAD_WIRE_FORMAT');
  }
  return { schemaId: buf.readInt32BE(1), body: buf.subarray(5) };
}

export function writeWire(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header[0] = MAGIC_BYTE;
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

////////// Union mapping: our events carry `type`; avsc wraps record unions by full name.

function toWire(topic: TopicName, value: unknown): unknown {
  if (topic !== 'permit.events') return value;
  const ev = value as { payload: PermitPayload };
  const { type, ...fields } = ev.payload;
  return { ...ev, payload: { [`id.go.karokab.sicantik.permit.${type}`]: fields } };
}
function fromWire(topic: TopicName, value: Record<string, unknown>): unknown {
  if (topic !== 'permit.events') return value;
  const wrapped = value.payload as Record<string, Record<string, unknown>>;
  const [fullName, fields] = Object.entries(wrapped)[0]!;
  const type = fullName.slice(fullName.lastIndexOf('.') + 1);
  return { ...value, payload: { type, ...fields } };
}

/**
 * A decoded avsc record as plain objects (avsc returns instances of generated record
 * classes). Same result as a JSON round trip for every type our schemas use (no bytes,
 * fixed, float or double), at half the cost: it runs once per consumed record.
 */
export function plainCopy(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(plainCopy);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = plainCopy((v as Record<string, unknown>)[k]);
  return out;
}

////////// Codec bound to a registry and a topic prefix

export interface SchemaCodecOptions {
  registryUrl: string;
  topicPrefix?: string;
  schemasDir?: string;
  /**
   * Issue 16: encrypts personal fields on encode and decrypts them on decode
   * (@sicantik/privacy's PersonalData); without it values are written and read as they are.
   */
  personalData?: PersonalDataHook;
}

export class SchemaCodec {
  private readonly registry: SchemaRegistry;
  private readonly http: AxiosInstance;
  private readonly prefix: string;
  private readonly readers = new Map<TopicName, avro.Type>();
  private readonly writerIds = new Map<TopicName, number>();
  private readonly writersById = new Map<number, Promise<avro.Type>>();
  /** Writer schemas already fetched: decodeKnown needs no await for them. */
  private readonly writersKnown = new Map<number, avro.Type>();
  private readonly resolvers = new Map<string, avro.Resolver>();
  private personal: PersonalDataHook | undefined;

  constructor(private readonly opts: SchemaCodecOptions) {
    this.personal = opts.personalData;
    this.registry = new SchemaRegistry({ host: opts.registryUrl, clientId: 'sicantik' });
    this.http = axios.create({ baseURL: opts.registryUrl, timeout: 10_000 });
    this.prefix = opts.topicPrefix ?? '';
    for (const t of TOPIC_NAMES) this.readers.set(t, avro.Type.forSchema(loadSchema(t, opts.schemasDir) as avro.Schema));
  }

  topic(name: TopicName): string { return `${this.prefix}${name}`; }
  subject(name: TopicName): string { return `${this.topic(name)}-value`; }

  /** Registers our schema under `<topic>-value` with BACKWARD_TRANSITIVE compatibility. */
  async register(topics: readonly TopicName[] = TOPIC_NAMES): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const t of topics) {
      // Several services register the same subjects at start-up; the registry may
      // briefly show a half-created subject (no compatibility rule yet), so retry.
      for (let attempt = 1; ; attempt++) {
        try {
          const { id } = await this.registry.register(
            { type: SchemaType.AVRO, schema: JSON.stringify(loadSchema(t, this.opts.schemasDir)) },
            { subject: this.subject(t), compatibility: COMPATIBILITY.BACKWARD_TRANSITIVE },
          );
          this.writerIds.set(t, id);
          out[this.subject(t)] = id;
          break;
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          const status = (e as { status?: number }).status;
          if (status === 409 && /incompatib/i.test(msg)) throw new PermanentError(`schema for ${this.subject(t)} is incompatible with its registered versions: ${msg}`, 'SCHEMA_INCOMPATIBLE', e);
          if (attempt >= 10) throw new TransientError(`cannot register schema ${this.subject(t)}: ${msg}`, e);
          await new Promise((r) => setTimeout(r, 100 * attempt + Math.random() * 200));
        }
      }
    }
    return out;
  }

  async ping(): Promise<void> { await this.http.get('/subjects'); }

  /**
   * Sets the personal-data hook after construction (the key ring that implements it reads
   * its own topic through this codec, so it is created after it).
   */
  usePersonalData(hook: PersonalDataHook | undefined): void { this.personal = hook; }
  get personalData(): PersonalDataHook | undefined { return this.personal; }

  /**
   * Before encode(): resolves once the subject keys of these values are known (undefined
   * when nothing is to wait for, as always without a personal-data hook).
   */
  prepare(topic: TopicName, values: readonly unknown[]): Promise<void> | undefined {
    return this.personal?.prepare(topic, values);
  }

  encode<T extends TopicName>(topic: T, value: TopicValues[T]): Buffer {
    const id = this.writerIds.get(topic);
    if (id === undefined) throw new Error(`schema for ${topic} not registered yet; call register() at start-up`);
    const type = this.readers.get(topic)!;
    const wire = toWire(topic, this.personal ? this.personal.protect(topic, value) : value);
    const paths: string[] = [];
    if (!type.isValid(wire, { errorHook: (p) => paths.push(p.join('.')) })) {
      throw new PermanentError(`value does not match ${topic} schema at: ${paths.join(', ')}`, 'SCHEMA_MISMATCH');
    }
    return writeWire(id, type.toBuffer(wire));
  }

  /** Decodes with the writer schema from the registry, resolved into our reader schema. */
  async decode<T extends TopicName>(topic: T, buf: Buffer): Promise<TopicValues[T]> {
    const { schemaId, body } = readWireHeader(buf);
    const value = this.decodeBody(topic, schemaId, await this.writer(schemaId), body);
    if (!this.personal) return value;
    return this.personal.reveal(topic, value) ?? await this.personal.revealAsync(topic, value);
  }

  /**
   * decode() without a promise, when the record's writer schema has been fetched
   * before (every record but a topic's first few); undefined otherwise: then call
   * decode(). For loops over whole batches.
   */
  decodeKnown<T extends TopicName>(topic: T, buf: Buffer): TopicValues[T] | undefined {
    const { schemaId, body } = readWireHeader(buf);
    const writer = this.writersKnown.get(schemaId);
    if (!writer) return undefined;
    const value = this.decodeBody(topic, schemaId, writer, body);
    // A subject key not in memory yet: decode() fetches it.
    return this.personal ? this.personal.reveal(topic, value) : value;
  }

  private decodeBody<T extends TopicName>(topic: T, schemaId: number, writer: avro.Type, body: Buffer): TopicValues[T] {
    const reader = this.readers.get(topic)!;
    const key = `${topic}#${schemaId}`;
    let resolver = this.resolvers.get(key);
    if (!resolver) {
      try { resolver = reader.createResolver(writer); } catch (e) {
        throw new PermanentError(`schema id ${schemaId} cannot be read as ${topic}: ${(e as Error).message}`, 'SCHEMA_UNRESOLVABLE', e);
      }
      this.resolvers.set(key, resolver);
    }
    let v: unknown;
    try { v = reader.fromBuffer(body, resolver, true); } catch (e) {
      throw new PermanentError(`corrupt Avro body (schema id ${schemaId}): ${(e as Error).message}`, 'BAD_AVRO', e);
    }
    return fromWire(topic, plainCopy(v) as Record<string, unknown>) as TopicValues[T];
  }

  private writer(id: number): Promise<avro.Type> {
    let p = this.writersById.get(id);
    if (!p) {
      p = this.http.get<{ schema: string }>(`/schemas/ids/${id}`).then(
        (r) => {
          const type = avro.Type.forSchema(JSON.parse(r.data.schema) as avro.Schema);
          this.writersKnown.set(id, type);
          return type;
        },
        (e: unknown) => {
          this.writersById.delete(id);
          const status = (e as { response?: { status?: number } }).response?.status;
          if (status === 404) throw new PermanentError(`schema id ${id} unknown to the registry`, 'SCHEMA_UNKNOWN', e);
          throw new TransientError(`registry unreachable while fetching schema ${id}`, e);
        },
      );
      this.writersById.set(id, p);
    }
    return p;
  }
}
