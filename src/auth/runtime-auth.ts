import type { CredentialValidator, PresentedRequest, ValidatedCredential } from '../client-credentials/validator.js';
import type { RuntimeAuthenticator, RuntimeCall } from './auth-interceptor.js';
import type { CredentialPrincipal } from './principal.js';
import type { RateState } from '../rate-limit/rate-limits.js';
import type { HeaderGetter } from './header-getters.js';

export interface RuntimeRequestParts {
  header: HeaderGetter;
  /** The `publishableKey` query parameter, when the request has one. */
  publishableKeyQuery: string | undefined;
  bodySecret: string | undefined;
  peerAddress: string;
  method: string;
  requestId: string;
  requirement: PresentedRequest['requirement'];
  onRate: (state: RateState) => void;
}

/** One mapping from a request, whatever its protocol, to what the credential pipeline examines. */
export function presentedRequest(p: RuntimeRequestParts): PresentedRequest {
  return {
    authorization: p.header('authorization'),
    clientIdHeader: p.header('x-client-id'),
    clientSecretHeader: p.header('x-client-secret'),
    publishableKeyQuery: p.publishableKeyQuery,
    bodySecret: p.bodySecret,
    peerAddress: p.peerAddress,
    forwardedFor: p.header('x-forwarded-for'),
    origin: p.header('origin'),
    userAgent: p.header('user-agent'),
    method: p.method,
    requestId: p.requestId,
    requirement: p.requirement,
    onRate: p.onRate,
  };
}

/** The runtime half of the auth interceptor: RPC calls through the credential pipeline. */
export class RpcRuntimeAuthenticator implements RuntimeAuthenticator {
  constructor(private readonly validator: CredentialValidator) {}

  async authenticate(call: RuntimeCall): Promise<CredentialPrincipal> {
    const validated: ValidatedCredential = await this.validator.validate(
      presentedRequest({
        header: call.header,
        // Most RPC URLs have no query; parse only when there is one.
        publishableKeyQuery: call.url.includes('?') ? (new URL(call.url, 'http://latchkey.invalid').searchParams.get('publishableKey') ?? undefined) : undefined,
        bodySecret: call.bodySecret,
        peerAddress: call.peerAddress,
        method: call.procedure,
        requestId: call.requestId,
        requirement: { scope: call.policy.scope, secretOnly: call.policy.secretOnly },
        onRate: call.onRate,
      }),
    );
    return validated.principal;
  }
}
