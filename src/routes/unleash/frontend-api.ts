/**
 * Unleash's frontend API for browser and mobile SDKs (unleash-proxy-client, the React, iOS and
 * Android SDKs), configured with `url: <latchkey>/api/frontend` and a PUBLISHABLE key:
 *
 * - `GET /api/frontend` with the context as query parameters (`userId=u1&properties[plan]=pro`),
 *   and `POST /api/frontend` with `{"context": {...}}` (or the context itself) as the body. latchkey
 *   evaluates every flag the key may see (FlagResolver.resolve, the same evaluation as every other
 *   protocol) for that context (context.ts) and answers `{toggles: [...]}` with the enabled
 *   toggles only, as Unleash does (served.ts says what "enabled" and the variant are per kind).
 *   A strong ETag and 304, as unleash-proxy-client revalidates with If-None-Match.
 * - `POST /api/frontend/client/metrics` and `/api/frontend/client/register`: accepted (202) and
 *   counted as use of the credential, as on the client API.
 *
 * PUBLISHABLE credentials only; they never see secret flags (the resolver hides them).
 */
import { hasScope } from '../../credentials/scopes.js';
import type { CredentialValidator } from '../../client-credentials/validator.js';
import { DomainError } from '../../domain/errors.js';
import type { FlagResolver } from '../../resolver/flag-resolver.js';
import { sendJsonWithEtag } from '../../server/etag.js';
import type { HttpRequest, HttpResponse } from '../../server/http-util.js';
import type { PlainRoute } from '../../server/plain-routes.js';
import type { RequestInfo } from '../../server/request-info.js';
import { authenticateHttp, sendDomainError } from '../runtime-http.js';
import { evaluationContextOf, unleashContextOfQuery } from './context.js';
import { readJsonObject, sendAccepted } from './http.js';
import { servedOf, type UnleashPayload } from './served.js';

/** PUBLISHABLE credentials only (SPEC §6: SECRET ones use the client API). */
const REQUIREMENT = { scope: 'flags:read', secretOnly: false, publishableOnly: true } as const;

export interface FrontendToggle {
  name: string;
  enabled: true;
  variant: { name: string; enabled: true; feature_enabled: true; payload?: UnleashPayload };
  impressionData: false;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function unleashFrontendRoutes(validator: CredentialValidator, resolver: FlagResolver): PlainRoute[] {
  const evaluate = async (req: HttpRequest, res: HttpResponse, info: RequestInfo, url: URL, body: boolean) => {
    const v = await authenticateHttp(validator, req, res, info, url, REQUIREMENT);
    if (!v) return;
    let unleashContext: Record<string, unknown>;
    if (body) {
      const parsed = await readJsonObject(req, res, info);
      if (!parsed) return;
      unleashContext = isObject(parsed.context) ? parsed.context : parsed;
    } else {
      unleashContext = unleashContextOfQuery(url.searchParams);
    }
    const context = evaluationContextOf(unleashContext, v.clientAddress);
    const mode = hasScope(v.principal.scopes, 'configs:read') ? 'all' : 'flags';
    let resolved;
    try {
      resolved = resolver.resolve(v.principal, [], context, mode).resolved;
    } catch (err) {
      if (err instanceof DomainError) return sendDomainError(res, info, err);
      throw err;
    }
    const toggles: FrontendToggle[] = [];
    for (const r of resolved) {
      if (r.variant === undefined || r.value === undefined) continue;
      const served = servedOf(r.variant, r.value);
      if (!served.enabled) continue;
      const variant: FrontendToggle['variant'] = { name: served.variant, enabled: true, feature_enabled: true };
      if (served.payload) variant.payload = served.payload;
      toggles.push({ name: r.flag.slice('flags/'.length), enabled: true, variant, impressionData: false });
    }
    sendJsonWithEtag(req, res, 200, { toggles }, { 'cache-control': 'no-cache' });
  };
  const reported = (path: string): PlainRoute => ({
    method: 'POST',
    path,
    async handle(req, res, info, url) {
      const v = await authenticateHttp(validator, req, res, info, url, REQUIREMENT);
      if (!v) return;
      if (!(await readJsonObject(req, res, info))) return;
      sendAccepted(res);
    },
  });
  const routes: PlainRoute[] = [];
  // The SDKs take the configured URL as it is written, with or without a trailing slash.
  for (const path of ['/api/frontend', '/api/frontend/']) {
    routes.push({ method: 'GET', path, handle: (req, res, info, url) => evaluate(req, res, info, url, false) });
    routes.push({ method: 'POST', path, handle: (req, res, info, url) => evaluate(req, res, info, url, true) });
  }
  routes.push(reported('/api/frontend/client/metrics'), reported('/api/frontend/client/register'));
  return routes;
}
