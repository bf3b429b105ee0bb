import { nodeHeaderGetter } from '../auth/header-getters.js';
import { presentedRequest } from '../auth/runtime-auth.js';
import type { CredentialValidator, PresentedRequest, ValidatedCredential } from '../client-credentials/validator.js';
import { DomainError } from '../domain/errors.js';
import { httpStatusOf, toHttpBody } from '../rpc/errors.js';
import { sendJson, type HttpRequest, type HttpResponse } from '../server/http-util.js';
import type { RequestInfo } from '../server/request-info.js';
import { rateLimitHeaders } from '../rate-limit/headers.js';

/**
 * Runs the credential pipeline for a plain HTTP runtime route. On refusal it
 * answers with the SPEC §3 status (401, 403, 410 for revoked, 429) and a JSON
 * body `{code, reason, message}`, and returns undefined.
 */
export async function authenticateHttp(
  validator: CredentialValidator,
  req: HttpRequest,
  res: HttpResponse,
  info: RequestInfo,
  url: URL,
  requirement: PresentedRequest['requirement'],
  bodySecret?: string,
): Promise<ValidatedCredential | undefined> {
  try {
    return await validator.validate(
      presentedRequest({
        header: nodeHeaderGetter(req.headers),
        publishableKeyQuery: url.searchParams.get('publishableKey') ?? undefined,
        bodySecret,
        peerAddress: info.peerAddress,
        method: info.procedure ?? url.pathname,
        requestId: info.id,
        requirement,
        onRate: (state) => {
          for (const [name, value] of rateLimitHeaders(state)) res.setHeader(name, value);
        },
      }),
    );
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    sendDomainError(res, info, err);
    return undefined;
  }
}

export function sendDomainError(res: HttpResponse, info: RequestInfo, err: DomainError): void {
  info.reason = err.reason;
  sendJson(res, httpStatusOf(err), toHttpBody(err));
}
