import { DomainError } from '../domain/errors.js';
import { ACCESS_TOKEN_PREFIX, type ApiClients } from '../iam/api-clients.js';
import type { ApiClientPrincipal } from './principal.js';

const HOW = 'send Authorization: Bearer <access token> (from AuthService.RequestAccessToken or POST /v1/oauth/token) or Authorization: Basic base64(client_id:client_secret)';

/** Parses `Basic base64(id:secret)`; undefined when the value is not decodable. */
export function parseBasic(value: string): { clientId: string; secret: string } | undefined {
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || /[\u0000-\u001f]/.test(decoded)) return undefined;
  return { clientId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/**
 * Authenticates an API client on the management API from request headers
 * (SPEC §5). Runtime client credentials are recognised and refused with a
 * message that says so, rather than reported as unknown.
 */
export async function authenticateManagement(headers: Headers, apiClients: ApiClients): Promise<ApiClientPrincipal> {
  const authorization = headers.get('authorization')?.trim() ?? '';
  const [scheme = '', ...rest] = authorization.split(/\s+/);
  const value = rest.join(' ');
  if (/^bearer$/i.test(scheme) && value.startsWith(ACCESS_TOKEN_PREFIX)) {
    return apiClients.principalOf(await apiClients.authenticateToken(value));
  }
  if (/^basic$/i.test(scheme)) {
    const basic = parseBasic(value);
    if (!basic) throw new DomainError('unauthenticated', 'CREDENTIAL_MALFORMED', `the Basic credentials are not base64(client_id:client_secret); ${HOW}`);
    return apiClients.principalOf(await apiClients.authenticateClient(basic.clientId, basic.secret));
  }
  if (authorization !== '' || headers.has('x-client-id') || headers.has('x-client-secret')) {
    throw new DomainError(
      'unauthenticated',
      'RUNTIME_CREDENTIAL_NOT_ALLOWED',
      `runtime client credentials are not accepted on the management API; authenticate as an API client: ${HOW}`,
    );
  }
  throw new DomainError('unauthenticated', 'CREDENTIAL_MISSING', `this method needs an API client: ${HOW}`);
}
