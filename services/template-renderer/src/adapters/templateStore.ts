import type { Admin, Kafka } from 'kafkajs';
import { deterministicId } from '@sicantik/core';
import type { Logger } from '@sicantik/observability';
import { followTopic, type EventProducer, type Followed } from '@sicantik/kafka';
import type { SchemaCodec, TemplateEvent } from '@sicantik/schemas';
import { defaultProviderTemplates, providerTemplatesOf, templateMappingFields } from '@sicantik/providers';
import { DEFAULT_TEMPLATES } from '@sicantik/templates';

////////// The current template set, read from the compacted template topic.
// Every instance reads the whole topic (its own throw-away group) and keeps
// following it; start-up waits until it has caught up with the end.

export class TemplateStore {
  private readonly templates = new Map<string, TemplateEvent>();
  private followed?: Followed;
  constructor(private readonly kafka: Kafka, private readonly admin: Admin, private readonly codec: SchemaCodec, private readonly logger: Logger) {}

  get(code: string): TemplateEvent | undefined { return this.templates.get(code); }
  /** Keeps the highest version of each code (events may arrive again on replay). */
  apply(t: TemplateEvent): void {
    const cur = this.templates.get(t.code);
    // Events written before providerTemplates carry Meta's name in the deprecated metaTemplateName.
    if (!cur || t.version >= cur.version) this.templates.set(t.code, { ...t, providerTemplates: providerTemplatesOf(t) });
  }
  all(): TemplateEvent[] { return [...this.templates.values()]; }

  async start(instance: string): Promise<void> {
    this.followed = await followTopic({
      kafka: this.kafka, admin: this.admin, codec: this.codec, topic: 'template.events', keepFollowing: true,
      groupId: `template-store-${instance}-${process.pid}-${Date.now()}`,
      onMessage: (t) => this.apply(t),
    });
    this.logger.info({ templates: this.templates.size }, 'template store caught up');
  }

  /**
   * Publishes each seed default the topic does not hold yet, and a newer default
   * over an older seeded one. A template changed through the admin API is kept.
   */
  async seedDefaults(producer: EventProducer, now: Date): Promise<string[]> {
    const missing = DEFAULT_TEMPLATES.filter((d) => {
      const cur = this.templates.get(d.code);
      return !cur || (cur.correlationId.startsWith('seed-') && cur.version < (d.version ?? 1));
    });
    const events: TemplateEvent[] = missing.map((d) => ({
      eventId: deterministicId('sicantik.event', 'TemplateEvent', d.code, d.version ?? 1),
      occurredAt: now.getTime(),
      correlationId: `seed-${d.code}`,
      causationId: null,
      code: d.code, version: d.version ?? 1, active: true, body: d.body, variables: d.variables,
      ...templateMappingFields(defaultProviderTemplates(d.code)), language: d.language, category: d.category,
    }));
    await producer.send(events.map((e) => ({ topic: 'template.events' as const, key: e.code, value: e })));
    for (const e of events) this.templates.set(e.code, e);
    return missing.map((d) => d.code);
  }

  async stop(): Promise<void> { await this.followed?.stop(); }
}
