/**
 * Unleash's client API for server SDKs (Node, Java, Go, Python … configured with
 * `url: <latchkey>/api/` and `customHeaders: {Authorization: <token>}`):
 *
 * - `GET /api/client/features`: the credential's flags, rules of its environments only, as
 *   Unleash's `{version: 2, features, segments}` (translate.ts), with a strong ETag and 304. The
 *   SDK's `project` and `namePrefix` filters narrow the answer within the credential's projects;
 *   `tag` filters are ignored (latchkey flags have no tags). OBJECT flags (remote configs) are
 *   served only to credentials with `configs:read`. Flags that cannot be translated exactly are
 *   left out and named in `X-Latchkey-Untranslated-Flags`.
 * - `POST /api/client/register` and `POST /api/client/metrics`: accepted (202) and counted as use
 *   of the credential. The credential pipeline already records each call in the audit trail
 *   (method, address, user agent; aggregated per minute) and updates `last_use_time`, which is what
 *   GetCredentialUsage reports; the bodies (SDK name, toggle yes/no counts) are checked to be JSON
 *   and not kept, since latchkey has no per-flag usage model to put them in.
 *
 * SECRET credentials only: the pipeline refuses PUBLISHABLE ones with CLASS_NOT_ALLOWED.
 */
import { hasScope } from '../../credentials/scopes.js';
import type { CredentialValidator } from '../../client-credentials/validator.js';
import type { FlagResolver } from '../../resolver/flag-resolver.js';
import { sendJsonWithEtag } from '../../server/etag.js';
import type { PlainRoute } from '../../server/plain-routes.js';
import { authenticateHttp } from '../runtime-http.js';
import { readJsonObject, sendAccepted } from './http.js';
import { UnleashTranslator, type UnleashClientFeature } from './translate.js';

const REQUIREMENT = { scope: 'flags:read', secretOnly: true } as const;
/** Names listed in X-Latchkey-Untranslated-Flags before it says how many more there are. */
const MAX_NAMED_UNTRANSLATED = 50;
export const UNTRANSLATED_HEADER = 'x-latchkey-untranslated-flags';

export function unleashClientRoutes(validator: CredentialValidator, resolver: FlagResolver, translator = new UnleashTranslator()): PlainRoute[] {
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
  return [
    {
      method: 'GET',
      path: '/api/client/features',
      async handle(req, res, info, url) {
        const v = await authenticateHttp(validator, req, res, info, url, REQUIREMENT);
        if (!v) return;
        const principal = v.principal;
        const configs = hasScope(principal.scopes, 'configs:read');
        const projects = url.searchParams.getAll('project').filter((p) => p !== '');
        const prefix = url.searchParams.get('namePrefix') ?? '';
        const features: UnleashClientFeature[] = [];
        const untranslated: string[] = [];
        for (const def of resolver.definitions(principal)) {
          if (def.kind === 'OBJECT' && !configs) continue;
          if (projects.length > 0 && !projects.includes(def.project)) continue;
          if (!def.id.startsWith(prefix)) continue;
          const t = translator.translate(def, principal.environments);
          if (t.outcome === 'translated' || t.outcome === 'constant') features.push(t.feature);
          else if (t.outcome === 'untranslatable') untranslated.push(def.id);
        }
        const headers: Record<string, string> = {};
        if (untranslated.length > 0) {
          const named = untranslated.slice(0, MAX_NAMED_UNTRANSLATED).join(', ');
          headers[UNTRANSLATED_HEADER] = untranslated.length > MAX_NAMED_UNTRANSLATED ? `${named} (and ${untranslated.length - MAX_NAMED_UNTRANSLATED} more)` : named;
        }
        sendJsonWithEtag(req, res, 200, { version: 2, features, segments: [] }, headers);
      },
    },
    reported('/api/client/register'),
    reported('/api/client/metrics'),
  ];
}
