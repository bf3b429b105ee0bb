/**
 * Small HTTP pieces the Unleash routes share: reading a JSON body, and answering 202 for what the
 * SDKs report.
 */
import type { HttpResponse } from '../../server/http-util.js';

/** The JSON body reader every runtime route shares (400 for bad JSON, 413 for too large). */
export { readJsonObject } from '../runtime-http.js';

/** 202 Accepted with no body: what Unleash answers to registrations and metrics. */
export function sendAccepted(res: HttpResponse): void {
  res.statusCode = 202;
  res.setHeader('content-length', '0');
  res.end();
}
