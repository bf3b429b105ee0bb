import { DomainError } from '../domain/errors.js';
import type { ApiClients } from '../iam/api-clients.js';
import { ThrottledAttempt, type ClientThrottle } from '../auth/client-throttle.js';
import { parseBasic } from '../auth/management-auth.js';
import { rateLimitHeaders } from '../rate-limit/headers.js';
import { BodyTooLargeError, readBody, sendJson } from '../server/http-util.js';
import type { PlainRoute } from '../server/plain-routes.js';

const MAX_BODY_BYTES = 16 * 1024;

/** RFC 6749 §5.2 error response. */
function oauthError(status: number, error: string, description: string, headers: Record<string, string> = {}) {
  return { status, body: { error, error_description: description }, headers };
}

/**
 * The answer to a client id or address that spent its failed-attempt budget: 429 with
 * Retry-After and the OAuth error `slow_down` (RFC 8628 §3.5, registered in the IANA OAuth
 * Extensions Error registry: "keep asking, but more slowly"); RFC 6749 itself has no error
 * for throttling, and `temporarily_unavailable` would blame the server.
 */
function slowDown(err: DomainError) {
  return oauthError(429, 'slow_down', err.message);
}

/**
 * `POST /v1/oauth/token`: the OAuth2 client-credentials exchange (RFC 6749
 * §4.4) for tools that speak OAuth rather than RPC. Accepts form-encoded and
 * JSON bodies, with client authentication in the body or as HTTP Basic.
 *
 * Failed attempts are throttled (SPEC §3): a wrong client id or secret, or
 * malformed Basic credentials, spend the failed-attempt budget of the client
 * id and of the client address; once either is spent, the exchange is
 * refused with 429 before the secret is checked, a correct one included.
 */
export function oauthTokenRoute(apiClients: ApiClients, throttle?: ClientThrottle): PlainRoute {
  return {
    method: 'POST',
    path: '/v1/oauth/token',
    async handle(req, res, info) {
      const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };
      const answer = (r: ReturnType<typeof oauthError>) => {
        if (r.status === 429) info.reason = 'RATE_LIMITED'; // for the request log line
        sendJson(res, r.status, r.body, { ...noStore, ...r.headers });
      };
      const forwardedFor = req.headers['x-forwarded-for'];
      const attempt =
        throttle &&
        new ThrottledAttempt(
          throttle,
          {
            peerAddress: info.peerAddress,
            onRate: (state) => {
              for (const [name, value] of rateLimitHeaders(state)) res.setHeader(name, value);
            },
          },
          Array.isArray(forwardedFor) ? forwardedFor.join(', ') : forwardedFor,
        );
      /** Refused before any lookup when a budget is spent: the 429 answer, else undefined. */
      const blocked = (keys: string[]) => {
        const refusal = attempt?.refusalIfBlocked(keys);
        return refusal && slowDown(refusal);
      };

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
        if (!basic) {
          const keys = attempt?.keys() ?? [];
          const refused = blocked(keys);
          if (refused) return answer(refused);
          const malformed = new DomainError('unauthenticated', 'CREDENTIAL_MALFORMED', 'the Basic credentials are not base64(client_id:client_secret)');
          const err = attempt ? await attempt.failed(keys, malformed) : malformed;
          if (err.reason === 'RATE_LIMITED') return answer(slowDown(err));
          return answer(oauthError(401, 'invalid_client', err.message, { 'www-authenticate': 'Basic realm="latchkey"' }));
        }
        if ((clientId !== '' && clientId !== basic.clientId) || secret !== '') {
          return answer(oauthError(400, 'invalid_request', 'authenticate the client either with Basic or in the body, not both'));
        }
        clientId = basic.clientId;
        secret = basic.secret;
      }
      if (!params.grant_type) return answer(oauthError(400, 'invalid_request', 'grant_type is required'));

      const keys = attempt?.keys(clientId) ?? [];
      const refused = blocked(keys);
      if (refused) return answer(refused);
      try {
        const token = await apiClients.exchange(params.grant_type, clientId, secret);
        sendJson(res, 200, { access_token: token.accessToken, token_type: token.tokenType, expires_in: token.expiresIn }, noStore);
      } catch (caught) {
        if (!(caught instanceof DomainError)) throw caught;
        const err = attempt && caught.reason === 'INVALID_CLIENT' ? await attempt.failed(keys, caught) : caught;
        if (err.reason === 'RATE_LIMITED') return answer(slowDown(err));
        if (err.reason === 'UNSUPPORTED_GRANT_TYPE') return answer(oauthError(400, 'unsupported_grant_type', err.message));
        if (err.reason === 'INVALID_CLIENT') {
          return answer(oauthError(401, 'invalid_client', err.message, usedBasic ? { 'www-authenticate': 'Basic realm="latchkey"' } : {}));
        }
        return answer(oauthError(400, 'invalid_request', err.message));
      }
    },
  };
}
