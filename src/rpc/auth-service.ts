import type { ConnectRouter, HandlerContext } from '@connectrpc/connect';
import { AuthService } from '../../gen/latchkey/iam/v1/auth_service_pb.js';
import { ThrottledAttempt, type ClientThrottle } from '../auth/client-throttle.js';
import { DomainError } from '../domain/errors.js';
import type { ApiClients } from '../iam/api-clients.js';
import { rateLimitHeaders } from '../rate-limit/headers.js';
import { extraResponseHeadersKey, requestInfoKey } from '../server/request-info.js';
import { STRICT_JSON } from './strict-json.js';

/** The failed-attempt throttle of this call (SPEC §3), from what the HTTP layer knows of the request. */
function attemptOf(ctx: HandlerContext, throttle: ClientThrottle): ThrottledAttempt {
  const info = ctx.values.get(requestInfoKey);
  const extra = ctx.values.get(extraResponseHeadersKey);
  return new ThrottledAttempt(
    throttle,
    { peerAddress: info?.peerAddress ?? '', onRate: (state) => extra?.push(...rateLimitHeaders(state)) },
    ctx.requestHeader.get('x-forwarded-for') ?? undefined,
  );
}

/**
 * `RequestAccessToken`, the RPC form of `POST /v1/oauth/token`, throttled the
 * same way: a wrong client id or secret spends the failed-attempt budget of
 * the client id and of the client address, and once either is spent the call
 * is refused with RESOURCE_EXHAUSTED (RATE_LIMITED, RetryInfo, Retry-After)
 * before the secret is checked.
 */
export function registerAuthService(router: ConnectRouter, apiClients: ApiClients, throttle?: ClientThrottle): void {
  router.service(AuthService, {
    async requestAccessToken(req, ctx) {
      const attempt = throttle && attemptOf(ctx, throttle);
      const keys = attempt?.keys(req.clientId) ?? [];
      const refused = attempt?.refusalIfBlocked(keys);
      if (refused) throw refused;
      let token;
      try {
        token = await apiClients.exchange(req.grantType, req.clientId, req.clientSecret);
      } catch (err) {
        if (attempt && err instanceof DomainError && err.reason === 'INVALID_CLIENT') throw await attempt.failed(keys, err);
        throw err;
      }
      return { accessToken: token.accessToken, tokenType: token.tokenType, expiresIn: BigInt(token.expiresIn), scope: '' };
    },
  }, STRICT_JSON);
}
