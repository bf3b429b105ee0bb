import { DomainError } from '../domain/errors.js';
import { ACCESS_TOKEN_PREFIX, API_CLIENT_ID_PREFIX, API_CLIENT_SECRET_PREFIX, type ApiClients } from '../iam/api-clients.js';
import { ThrottledAttempt, type ClientThrottle, type ThrottledCaller } from './client-throttle.js';
import type { ApiClientPrincipal } from './principal.js';

const HOW = 'send Authorization: Bearer <access token> (from AuthService.RequestAccessToken or POST /v1/oauth/token) or Authorization: Basic base64(client_id:client_secret)';

/** Parses `Basic base64(id:secret)`; undefined when the value is not decodable. */
export function parseBasic(value: string): { clientId: string; secret: string } | undefined {
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || /[\u0000-\u001f]/.test(decoded)) return undefined;
  return { clientId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/** Unknown access tokens, wrong Basic client ids or secrets, and malformed Basic credentials are failed attempts. */
const COUNTED = new Set(['ACCESS_TOKEN_INVALID', 'INVALID_CLIENT', 'CREDENTIAL_MALFORMED']);

/**
 * Authenticates an API client on the management API from request headers
 * (SPEC §5). Runtime client credentials are recognised and refused with a
 * message that says so, rather than reported as unknown.
 *
 * With a throttle (SPEC §3): an address that spent its failed-attempt budget
 * is refused RATE_LIMITED whatever it sends, and so is HTTP Basic for a
 * client id that spent its own, before any lookup; an unknown access token,
 * a malformed Basic credential or a wrong Basic client id or secret spends
 * the budget of the address (and of the client id).
 */
export async function authenticateManagement(
  headers: Headers,
  apiClients: ApiClients,
  throttle?: ClientThrottle,
  caller?: ThrottledCaller,
): Promise<ApiClientPrincipal> {
  const authorization = headers.get('authorization')?.trim() ?? '';
  const [scheme = '', ...rest] = authorization.split(/\s+/);
  const value = rest.join(' ');
  const basic = /^basic$/i.test(scheme) ? (parseBasic(value) ?? null) : undefined;
  const attempt = throttle ? new ThrottledAttempt(throttle, caller ?? { peerAddress: '' }, headers.get('x-forwarded-for') ?? undefined) : undefined;
  const keys = attempt?.keys(basic?.clientId);
  const refused = attempt && keys && attempt.refusalIfBlocked(keys);
  if (refused) throw refused;
  try {
    return await authenticate(authorization, scheme, value, basic, headers, apiClients);
  } catch (err) {
    if (attempt && keys && err instanceof DomainError && COUNTED.has(err.reason)) throw await attempt.failed(keys, err);
    throw err;
  }
}

/**
 * What is wrong when latchkey's own API-client values are sent the wrong way (they carry
 * prefixes so that this can be told apart from a runtime credential): an access token without
 * `Bearer`, or a client id or secret where a token belongs.
 */
function misplacedApiClientValue(value: string): string | undefined {
  if (value.startsWith(ACCESS_TOKEN_PREFIX)) return `an access token (${ACCESS_TOKEN_PREFIX}…) goes in Authorization: Bearer ${ACCESS_TOKEN_PREFIX}…`;
  if (value.startsWith(API_CLIENT_SECRET_PREFIX)) {
    return `that is an API client secret (${API_CLIENT_SECRET_PREFIX}…), not an access token: send Authorization: Basic base64(client_id:client_secret), or exchange it for an access token at POST /v1/oauth/token`;
  }
  if (value.startsWith(API_CLIENT_ID_PREFIX)) return `that is an API client id (${API_CLIENT_ID_PREFIX}…), not a credential: ${HOW}`;
  return undefined;
}

async function authenticate(
  authorization: string,
  scheme: string,
  value: string,
  basic: { clientId: string; secret: string } | null | undefined,
  headers: Headers,
  apiClients: ApiClients,
): Promise<ApiClientPrincipal> {
  if (/^bearer$/i.test(scheme) && value.startsWith(ACCESS_TOKEN_PREFIX)) {
    return apiClients.principalOf(await apiClients.authenticateToken(value));
  }
  if (basic === null) throw new DomainError('unauthenticated', 'CREDENTIAL_MALFORMED', `the Basic credentials are not base64(client_id:client_secret); ${HOW}`);
  if (basic !== undefined) return apiClients.principalOf(await apiClients.authenticateClient(basic.clientId, basic.secret));
  const misplaced = misplacedApiClientValue(/^bearer$/i.test(scheme) ? value : authorization);
  if (misplaced) throw new DomainError('unauthenticated', 'CREDENTIAL_MALFORMED', misplaced);
  if (authorization !== '' || headers.has('x-client-id') || headers.has('x-client-secret')) {
    throw new DomainError(
      'unauthenticated',
      'RUNTIME_CREDENTIAL_NOT_ALLOWED',
      `runtime client credentials are not accepted on the management API; authenticate as an API client: ${HOW}`,
    );
  }
  throw new DomainError('unauthenticated', 'CREDENTIAL_MISSING', `this method needs an API client: ${HOW}`);
}
