import type { HttpRequest, HttpResponse } from '@sicantik/providers';

////////// The one place the dispatcher's provider requests go out: Node's fetch
// (undici: keep-alive connection pool per origin) with a timeout per request.
// A failure says whether the request may have reached the provider:
//  - refused, unresolvable, unreachable, connect timeout: it never left; safe to retry;
//  - timed out or cut off after it was sent (reset, socket closed): in doubt, it may
//    have been accepted, so it must never be sent again blindly.

export class ExecError extends Error {
  constructor(message: string, readonly code: string, readonly inDoubt: boolean) { super(message); }
}

/** Errors that mean the request never reached the provider. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_INVALID_URL']);

export interface HttpExecutor {
  execute(req: HttpRequest, timeoutMs: number): Promise<HttpResponse>;
}

export const fetchExecutor: HttpExecutor = {
  async execute(req, timeoutMs) {
    const signal = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.method === 'GET' ? undefined : req.body, signal, redirect: 'manual' });
    } catch (e) {
      throw toExecError(e, timeoutMs);
    }
    let body: string;
    try {
      body = await res.text();
    } catch (e) {
      // The provider answered and the body was cut off: it has the request.
      const x = toExecError(e, timeoutMs);
      throw new ExecError(x.message, x.code, true);
    }
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => { headers[k.toLowerCase()] = v; });
    return { status: res.status, headers, body };
  },
};

function toExecError(e: unknown, timeoutMs: number): ExecError {
  const err = e as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string; name?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return new ExecError(`no answer within ${timeoutMs} ms`, 'TIMEOUT', true);
  const code = err?.cause?.code ?? err?.code ?? 'NETWORK';
  const message = err?.cause?.message ?? err?.message ?? String(e);
  return new ExecError(`request failed: ${code} ${message}`.slice(0, 300), code, !NOT_SENT.has(code));
}
