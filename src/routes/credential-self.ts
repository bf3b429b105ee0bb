import type { CredentialValidator } from '../client-credentials/validator.js';
import { sendJson } from '../server/http-util.js';
import type { PlainRoute } from '../server/plain-routes.js';
import { authenticateHttp } from './runtime-http.js';

/**
 * `GET /v1/credential`: a runtime credential describes itself (SPEC §2), the
 * quickest way for a developer to see which environment a key belongs to.
 * Any valid credential may call it; it reveals nothing secret.
 */
export function credentialSelfRoute(validator: CredentialValidator): PlainRoute {
  return {
    method: 'GET',
    path: '/v1/credential',
    async handle(req, res, info, url) {
      const v = await authenticateHttp(validator, req, res, info, url, { scope: null, secretOnly: false });
      if (!v) return;
      const p = v.principal;
      sendJson(res, 200, {
        credential: p.name,
        client: p.client,
        class: p.class,
        format: v.format,
        environments: p.environments,
        projects: p.projects,
        scopes: p.scopes,
        expireTime: v.expireTime?.toISOString() ?? null,
      });
    },
  };
}
