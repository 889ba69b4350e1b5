import express from 'express';
import { z } from 'zod';
import { zodIssues } from '@sicantik/config';
import { maskPhone, normalizePhone, type PhoneRules } from '@sicantik/core';
import { followTopic, type Followed, type Infra } from '@sicantik/kafka';
import { apiKeyAuth, logPersonalRead, requireRole, type ApiKey, type Logger } from '@sicantik/observability';
import type { PrivacyRequestRecorded } from '@sicantik/schemas';
import { answeredRequest, applyPrivacyRequest, openRequests, receivedRequest, requestCounts, type PrivacyRequestKind, type PrivacyRequests } from '../domain/privacyRequests';

////////// Privacy admin API (a key of role admin: ADMIN_API_TOKEN or API_KEYS): a data subject's access and erasure
// requests (UU PDP No. 27/2022). The number comes in the JSON body, never in the URL (URLs
// end up in proxy and access logs). Each request is recorded on privacy.requests with the
// time it was received and its deadline (3 x 24 h); the SRE lists the open ones.

/** What erasure needs from the privacy core (@sicantik/privacy); absent, erasure requests stay open for the operator. */
interface SubjectEraser {
  /** Tombstones the number's subject key and blind-index entries; the subject erased, or null when the number has none. */
  erase(e164: string): Promise<string | null>;
}

export interface PrivacyDeps {
  /** The keys the API accepts; every route needs the role admin. */
  keys: readonly ApiKey[];
  now(): number;
  newRequestId(): string;
  /** Writes a record to privacy.requests (keyed by request id); resolves once the broker has it. */
  publish(r: PrivacyRequestRecorded): Promise<void>;
  /** Every request as recorded on privacy.requests (followed from the topic), updated here too on each write. */
  requests: PrivacyRequests;
  eraser?: SubjectEraser;
  phoneRules?: PhoneRules;
  logger: Logger;
}

/** What an access request answers until the read side's timelines exist. */
export const ACCESS_NOT_YET = 'recorded; the access report (the data held and its processing history) comes with the read side\'s timelines and is not produced yet: answer it by hand before the deadline (docs/privacy.md)';

const body = z.object({ phone: z.string().trim().min(1, 'must not be empty').max(64, 'is too long (at most 64 characters)') }).strict();

export function privacyRouter(deps: PrivacyDeps): express.Router {
  const r = express.Router();
  r.use(apiKeyAuth(deps.keys), requireRole('admin'));
  r.use(express.json({ limit: '4kb' }));

  /** Validates the body; answers 400 naming the field, or returns the number in E.164. */
  const phoneOf = (req: express.Request, res: express.Response): string | undefined => {
    if (Object.keys(req.query).length > 0) {
      res.status(400).json({ error: 'validation_failed', issues: Object.keys(req.query).map((k) => ({ path: `(query).${k}`, message: 'not accepted: the number goes in the JSON body, never in the URL' })) });
      return undefined;
    }
    const p = body.safeParse(req.body ?? {});
    if (!p.success) { res.status(400).json({ error: 'validation_failed', issues: zodIssues(p.error) }); return undefined; }
    const phone = normalizePhone(p.data.phone, deps.phoneRules);
    if (!phone.ok) { res.status(400).json({ error: 'validation_failed', issues: [{ path: 'phone', message: phone.reason }] }); return undefined; }
    return phone.e164;
  };
  const record = async (rec: PrivacyRequestRecorded) => {
    await deps.publish(rec);
    applyPrivacyRequest(deps.requests, rec);
  };
  const answer = (res: express.Response, rec: PrivacyRequestRecorded) => {
    res.status(202).json({ requestId: rec.requestId, kind: rec.kind, status: rec.status, receivedAt: new Date(rec.receivedAt).toISOString(), deadline: new Date(rec.deadline).toISOString(), detail: rec.detail });
  };
  const receive = async (kind: PrivacyRequestKind, e164: string, detail: string | null) => {
    const rec = receivedRequest({ requestId: deps.newRequestId(), kind, receivedAt: deps.now(), subjectId: null, detail });
    await record(rec);
    deps.logger.info({ requestId: rec.requestId, kind, contact: maskPhone(e164), deadline: new Date(rec.deadline).toISOString() }, 'privacy request received');
    return rec;
  };

  r.post('/erasure', async (req, res) => {
    const e164 = phoneOf(req, res);
    if (!e164) return;
    const received = await receive('ERASURE', e164, deps.eraser ? null : 'recorded; erasure is not carried out by this deployment yet: erase by hand before the deadline (docs/privacy.md)');
    if (!deps.eraser) { answer(res, received); return; }
    const subjectId = await deps.eraser.erase(e164);
    const done = answeredRequest(received, {
      at: deps.now(), status: subjectId ? 'DONE' : 'NO_SUBJECT', subjectId,
      detail: subjectId ? 'subject key and blind-index entries tombstoned; projections scrubbed by the tracker' : 'no subject is known for this number: nothing to erase',
    });
    await record(done);
    deps.logger.info({ requestId: done.requestId, status: done.status, subjectId }, 'erasure request answered');
    answer(res, done);
  });

  r.post('/access', async (req, res) => {
    const e164 = phoneOf(req, res);
    if (!e164) return;
    answer(res, await receive('ACCESS', e164, ACCESS_NOT_YET));
  });

  r.get('/requests', (req, res) => {
    const open = openRequests(deps.requests, deps.now());
    logPersonalRead(deps.logger, req, open.length);
    res.json({ open, counts: requestCounts(deps.requests) });
  });
  return r;
}

/** Follows privacy.requests from its beginning into `requests` (a throw-away group per process: every instance sees every request). */
export async function followPrivacyRequests(o: { infra: Pick<Infra, 'kafka' | 'admin' | 'codec'>; groupPrefix: string; requests: PrivacyRequests }): Promise<Followed> {
  return followTopic({
    kafka: o.infra.kafka, admin: o.infra.admin, codec: o.infra.codec, topic: 'privacy.requests', keepFollowing: true,
    groupId: `${o.groupPrefix}delivery-tracker-privacy-${process.pid}-${Date.now()}`,
    onMessage: (r) => applyPrivacyRequest(o.requests, r),
  });
}
