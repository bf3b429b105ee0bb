import { nodeHeaderGetter } from '../auth/header-getters.js';
import { presentedRequest } from '../auth/runtime-auth.js';
import type { CredentialValidator, PresentedRequest, ValidatedCredential } from '../client-credentials/validator.js';
import { DomainError } from '../domain/errors.js';
import { httpStatusOf, toHttpBody } from '../rpc/errors.js';
import { BodyTooLargeError, readBody, sendJson, type HttpRequest, type HttpResponse } from '../server/http-util.js';
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

/** Largest JSON body a runtime compatibility route (Confidence, Unleash, Reflag) reads. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/**
 * The body of a runtime route as JSON. On anything else it answers and resolves undefined: 413
 * RESOURCE_EXHAUSTED / BODY_TOO_LARGE when the body is larger than `maxBytes` (too large is not
 * malformed, as on the RPCs), 400 INVALID_ARGUMENT when it does not parse.
 */
export async function readJsonBody(req: HttpRequest, res: HttpResponse, info: RequestInfo, maxBytes = MAX_JSON_BODY_BYTES): Promise<{ value: unknown } | undefined> {
  let raw: Buffer;
  try {
    raw = await readBody(req, maxBytes);
  } catch (err) {
    if (err instanceof BodyTooLargeError) return void sendDomainError(res, info, new DomainError('resource_exhausted', 'BODY_TOO_LARGE', err.message, { httpStatus: 413 }));
    throw err;
  }
  try {
    return { value: JSON.parse(raw.toString('utf8')) as unknown };
  } catch {
    return void sendDomainError(res, info, new DomainError('invalid_argument', 'INVALID_ARGUMENT', 'the body is not valid JSON'));
  }
}

/** As readJsonBody, for routes whose body must be a JSON object (400 INVALID_ARGUMENT otherwise). */
export async function readJsonObject(req: HttpRequest, res: HttpResponse, info: RequestInfo, maxBytes = MAX_JSON_BODY_BYTES): Promise<Record<string, unknown> | undefined> {
  const body = await readJsonBody(req, res, info, maxBytes);
  if (body === undefined) return undefined;
  const { value } = body;
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return void sendDomainError(res, info, new DomainError('invalid_argument', 'INVALID_ARGUMENT', 'the body must be a JSON object'));
  }
  return value as Record<string, unknown>;
}
