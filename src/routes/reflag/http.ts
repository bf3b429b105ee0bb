/**
 * Small HTTP pieces the Reflag routes share: the credential requirements, reading a JSON body,
 * the SDK's name, and Reflag's `{success: true}` answers. Refusals keep SPEC §3's statuses and
 * latchkey's `{code, reason, message}` body; the SDKs treat any answer without `success: true`
 * as a failure and log it.
 */
import { DomainError } from '../../domain/errors.js';
import { sendJson, type HttpRequest, type HttpResponse } from '../../server/http-util.js';
import type { RequestInfo } from '../../server/request-info.js';
import { sendDomainError } from '../runtime-http.js';

/** Where every Reflag route lives: the SDKs' `apiBaseUrl` is `<latchkey>/reflag`. */
export const BASE = '/reflag';

/** Definitions and the Node SDK's push stream: SECRET keys only. */
export const DEFINITIONS = { scope: 'flags:read', secretOnly: true } as const;
/** Evaluated flags and the browser's stream: either class (the Node SDK evaluates remotely with its secret key). */
export const EVALUATED = { scope: 'flags:read', secretOnly: false } as const;
/** What the SDKs report (bulk, event, features/events, feedback): SDK events, scope logs:write. */
export const REPORTS = { scope: 'logs:write', secretOnly: false } as const;

/** The JSON body reader every runtime route shares (400 for bad JSON, 413 for too large). */
export { readJsonBody as readJson } from '../runtime-http.js';

const MAX_SDK_CHARS = 128;

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The SDK's `reflag-sdk-version` (header on POSTs and the Node SDK's GETs, query parameter on the browser's GETs). */
export function sdkOf(req: HttpRequest, url: URL): string {
  const header = req.headers['reflag-sdk-version'];
  const value = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('reflag-sdk-version') ?? '';
  return [...value].slice(0, MAX_SDK_CHARS).join('');
}

export function sendSuccess(res: HttpResponse, body: Record<string, unknown> = {}): void {
  sendJson(res, 200, { success: true, ...body });
}

export function sendRefusal(res: HttpResponse, info: RequestInfo, err: unknown): void {
  if (err instanceof DomainError) return sendDomainError(res, info, err);
  throw err;
}
