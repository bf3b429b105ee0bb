import { DomainError } from '../domain/errors.js';
import type { ApiClients } from '../iam/api-clients.js';
import { parseBasic } from '../auth/management-auth.js';
import { BodyTooLargeError, readBody, sendJson } from '../server/http-util.js';
import type { PlainRoute } from '../server/plain-routes.js';

const MAX_BODY_BYTES = 16 * 1024;

/** RFC 6749 §5.2 error response. */
function oauthError(status: number, error: string, description: string, headers: Record<string, string> = {}) {
  return { status, body: { error, error_description: description }, headers };
}

/**
 * `POST /v1/oauth/token`: the OAuth2 client-credentials exchange (RFC 6749
 * §4.4) for tools that speak OAuth rather than RPC. Accepts form-encoded and
 * JSON bodies, with client authentication in the body or as HTTP Basic.
 */
export function oauthTokenRoute(apiClients: ApiClients): PlainRoute {
  return {
    method: 'POST',
    path: '/v1/oauth/token',
    async handle(req, res) {
      const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };
      const answer = (r: ReturnType<typeof oauthError>) => sendJson(res, r.status, r.body, { ...noStore, ...r.headers });

      let raw: Buffer;
      try {
        raw = await readBody(req, MAX_BODY_BYTES);
      } catch (err) {
        if (err instanceof BodyTooLargeError) return answer(oauthError(413, 'invalid_request', err.message));
        throw err;
      }
      const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      let params: Record<string, string>;
      if (type === 'application/x-www-form-urlencoded') {
        params = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
      } else if (type === 'application/json') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw.toString('utf8'));
        } catch {
          return answer(oauthError(400, 'invalid_request', 'the body is not valid JSON'));
        }
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
          return answer(oauthError(400, 'invalid_request', 'the body must be a JSON object'));
        }
        const entries = Object.entries(parsed as Record<string, unknown>);
        const bad = entries.find(([, v]) => typeof v !== 'string');
        if (bad) return answer(oauthError(400, 'invalid_request', `${bad[0]} must be a string`));
        params = Object.fromEntries(entries) as Record<string, string>;
      } else {
        return answer(oauthError(400, 'invalid_request', 'send application/x-www-form-urlencoded or application/json'));
      }

      let clientId = params.client_id ?? '';
      let secret = params.client_secret ?? '';
      const authorization = String(req.headers.authorization ?? '');
      const usedBasic = /^basic\s/i.test(authorization);
      if (usedBasic) {
        const basic = parseBasic(authorization.replace(/^basic\s+/i, ''));
        if (!basic) return answer(oauthError(401, 'invalid_client', 'the Basic credentials are not base64(client_id:client_secret)', { 'www-authenticate': 'Basic realm="latchkey"' }));
        if ((clientId !== '' && clientId !== basic.clientId) || secret !== '') {
          return answer(oauthError(400, 'invalid_request', 'authenticate the client either with Basic or in the body, not both'));
        }
        clientId = basic.clientId;
        secret = basic.secret;
      }
      if (!params.grant_type) return answer(oauthError(400, 'invalid_request', 'grant_type is required'));

      try {
        const token = await apiClients.exchange(params.grant_type, clientId, secret);
        sendJson(res, 200, { access_token: token.accessToken, token_type: token.tokenType, expires_in: token.expiresIn }, noStore);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        if (err.reason === 'UNSUPPORTED_GRANT_TYPE') return answer(oauthError(400, 'unsupported_grant_type', err.message));
        if (err.reason === 'INVALID_CLIENT') {
          return answer(oauthError(401, 'invalid_client', err.message, usedBasic ? { 'www-authenticate': 'Basic realm="latchkey"' } : {}));
        }
        return answer(oauthError(400, 'invalid_request', err.message));
      }
    },
  };
}
