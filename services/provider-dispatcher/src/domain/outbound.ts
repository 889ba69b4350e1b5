import type { NotificationRendered } from '@sicantik/schemas';
import { defaultProviderTemplates, type OutboundMessage } from '@sicantik/providers';
import { DEFAULT_TEMPLATES } from '@sicantik/templates';

////////// The provider-neutral message (pure)
// Built from the rendered event's generic fields only: recipient (E.164), full text,
// template code, generic named parameters (in template order) and language. Which
// template a provider uses for a code comes from that provider's configuration
// (META_TEMPLATES, TWILIO_TEMPLATES, ...), never from the event.

export interface OptInLink {
  /** e.g. https://wa.me/62811...?text=MULAI */
  url: string;
  /** The line appended to the text; `{link}` is replaced by the URL. */
  text: string;
}

/** Seed 004's migration path: "partner lama bisa opt-in via link di message". */
export const DEFAULT_OPT_IN_TEXT = '📲 Terima notifikasi ini lewat WhatsApp resmi DPMPTSP Kabupaten Karo: buka {link} lalu kirim MULAI.';

export function outboundMessage(n: NotificationRendered, o: { appendOptInLink: boolean; optInLink?: OptInLink | undefined; freeForm?: boolean | undefined }): OutboundMessage {
  const text = n.text ?? n.parameters.map((p) => p.value).join('\n');
  return {
    notificationId: n.notificationId,
    toE164: n.recipient.phone,
    text: o.appendOptInLink && o.optInLink ? `${text}\n\n${o.optInLink.text.split('{link}').join(o.optInLink.url)}` : text,
    templateCode: n.templateCode,
    parameters: n.parameters.map((p) => ({ name: p.name, value: p.value })),
    language: n.language || 'id',
    ...(o.freeForm === undefined ? {} : { freeForm: o.freeForm }),
  };
}

/**
 * META_TEMPLATES when none is configured: each built-in template's (packages/templates)
 * Meta twin (packages/providers), so a code is sent as its approved Meta template. A
 * template code without a Meta template is sent to Meta as free-form text only inside the
 * contact's 24 h customer-service window (routing's `freeForm`); outside it Meta refuses it
 * before any request and the next provider of the chain is tried.
 */
export function defaultMetaTemplates(): string {
  return JSON.stringify(Object.fromEntries(DEFAULT_TEMPLATES.flatMap((t) => {
    const name = defaultProviderTemplates(t.code).meta;
    return name === undefined ? [] : [[t.code, { name, language: t.language }]];
  })));
}
