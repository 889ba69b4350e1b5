import axios, { type AxiosInstance } from 'axios';
import type { NotificationRendered } from '@sicantik/schemas';
import { positionalValues } from '@sicantik/templates';
import { classifyMetaError } from '../../domain/metaErrors';
import type { Provider, SendResult } from '../../domain/provider';

////////// Meta WhatsApp Cloud API: POST /{version}/{phone-number-id}/messages (template message)

export interface MetaConfig { baseUrl: string; apiVersion: string; phoneNumberId: string; accessToken: string; timeoutMs: number }

export function metaTemplateBody(n: NotificationRendered) {
  // The renderer's Meta format ({{1}}..{{n}}); events from before it existed carry only the ordered list.
  const values = n.providerParameters?.meta ? positionalValues(n.providerParameters.meta) : n.parameters.map((p) => p.value);
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to: n.recipient.phone,
    type: 'template',
    template: {
      name: n.metaTemplateName,
      language: { code: n.metaLanguage, policy: 'deterministic' },
      components: [{ type: 'body', parameters: values.map((text) => ({ type: 'text', text })) }],
    },
  };
}

export class MetaProvider implements Provider {
  readonly name = 'meta';
  private readonly http: AxiosInstance;
  constructor(private readonly cfg: MetaConfig) {
    this.http = axios.create({
      baseURL: cfg.baseUrl, timeout: cfg.timeoutMs,
      headers: { Authorization: `Bearer ${cfg.accessToken}`, 'Content-Type': 'application/json' },
      validateStatus: () => true,
    });
  }

  async send(n: NotificationRendered): Promise<SendResult> {
    let res;
    try {
      res = await this.http.post(`/${this.cfg.apiVersion}/${this.cfg.phoneNumberId}/messages`, metaTemplateBody(n));
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'NETWORK';
      // Refused or unresolvable: the request never reached Meta, so a retry is safe.
      // Anything else (timeout, reset) may have been accepted: that is in doubt.
      const notSent = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
      return { ok: false, retriable: true, inDoubt: !notSent, errorCode: code, reason: `request to Meta failed: ${(e as Error).message}` };
    }
    const body = res.data as { messages?: { id?: string }[]; error?: { code?: number; message?: string } };
    const id = body?.messages?.[0]?.id;
    if (res.status >= 200 && res.status < 300 && id) return { ok: true, providerMessageId: id };
    const code = body?.error?.code;
    return {
      ok: false,
      retriable: classifyMetaError(res.status, code),
      errorCode: code !== undefined ? `meta:${code}` : `http:${res.status}`,
      reason: body?.error?.message ?? `HTTP ${res.status}`,
    };
  }
}
