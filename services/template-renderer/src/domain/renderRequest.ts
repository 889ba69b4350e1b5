import { deterministicId, errorMessage } from '@sicantik/core';
import type { NotificationRendered, NotificationRequested, TemplateEvent } from '@sicantik/schemas';
import { allProviderParameters } from '@sicantik/providers';
import { render } from '@sicantik/templates';

////////// Request + current template -> rendered event, or a failed one with the reason (pure)
// The event is provider-neutral: full text, generic parameters, each provider's parameter
// format and the text's language. Which template a provider uses for the code (Meta's
// template name, Twilio's content SID, ...) comes from that provider's configuration; the
// template record's own providerTemplates are a record for operators and stay there.
// The timing the planner decided (notBefore, deferReason, supersedeKey, staleAfter) and the
// recipient (with its subjectId) pass through unchanged, rendered or failed.

export function renderRequest(req: NotificationRequested, template: TemplateEvent | undefined): NotificationRendered {
  const base = {
    eventId: deterministicId('sicantik.event', 'NotificationRendered', req.notificationId),
    occurredAt: req.occurredAt,
    correlationId: req.correlationId,
    causationId: req.eventId,
    notificationId: req.notificationId,
    scenario: req.scenario,
    templateCode: req.templateCode,
    pendaftaran_id: req.pendaftaran_id,
    recipient: req.recipient,
    language: template?.language ?? 'id',
    // Issue 16: when it may go and what replaces it, as the planner decided (null in requests written before).
    notBefore: req.notBefore ?? null,
    deferReason: req.deferReason ?? null,
    supersedeKey: req.supersedeKey ?? null,
    staleAfter: req.staleAfter ?? null,
  };
  const failed = (reason: string, version = 0): NotificationRendered => ({
    ...base, templateVersion: version, outcome: 'FAILED', text: null, parameters: [], failureReason: reason, providerParameters: {},
  });
  if (!template) return failed(`unknown template ${req.templateCode}`);
  if (!template.active) return failed(`template ${req.templateCode} is deactivated`, template.version);
  try {
    const r = render(template, req.variables, req.items ?? []);
    return {
      ...base, templateVersion: template.version, outcome: 'RENDERED', text: r.text, parameters: r.parameters,
      failureReason: null, providerParameters: allProviderParameters(r.parameters),
    };
  } catch (e) {
    return failed(errorMessage(e), template.version);
  }
}
