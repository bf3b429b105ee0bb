/**
 * Small HTTP pieces the Unleash routes share: reading a JSON body, and answering 202 for what the
 * SDKs report.
 */
import { DomainError } from '../../domain/errors.js';
import { BodyTooLargeError, readBody, type HttpRequest, type HttpResponse } from '../../server/http-util.js';
import type { RequestInfo } from '../../server/request-info.js';
import { sendDomainError } from '../runtime-http.js';

/** Largest body an Unleash route reads (metrics batches, registrations, frontend contexts). */
export const MAX_BODY_BYTES = 1024 * 1024;

const invalid = (message: string, httpStatus?: number) =>
  new DomainError('invalid_argument', 'INVALID_ARGUMENT', message, httpStatus === undefined ? {} : { httpStatus });

/** The body as a JSON object; on anything else answers 400 (413 when too large) and resolves undefined. */
export async function readJsonObject(req: HttpRequest, res: HttpResponse, info: RequestInfo): Promise<Record<string, unknown> | undefined> {
  let raw: Buffer;
  try {
    raw = await readBody(req, MAX_BODY_BYTES);
  } catch (err) {
    if (err instanceof BodyTooLargeError) return void sendDomainError(res, info, invalid(err.message, 413));
    throw err;
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return void sendDomainError(res, info, invalid('the body is not valid JSON'));
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return void sendDomainError(res, info, invalid('the body must be a JSON object'));
  return body as Record<string, unknown>;
}

/** 202 Accepted with no body: what Unleash answers to registrations and metrics. */
export function sendAccepted(res: HttpResponse): void {
  res.statusCode = 202;
  res.setHeader('content-length', '0');
  res.end();
}
