import type { IpRanges } from '../credentials/allow-lists.js';
import { clientAddress } from '../credentials/client-address.js';
import type { DomainError } from '../domain/errors.js';
import { addressKey, apiClientKey, type FailedAttempts } from '../rate-limit/failed-attempts.js';
import type { RateState } from '../rate-limit/rate-limits.js';

/**
 * The failed-attempt throttle of API-client authentication (SPEC §3, "Failed attempts are
 * throttled"), for the management API, the token endpoint and AuthService.RequestAccessToken.
 */
export interface ClientThrottle {
  failures: FailedAttempts;
  /** Proxies whose X-Forwarded-For is believed (LATCHKEY_TRUSTED_PROXIES). */
  trustedProxies: IpRanges;
  now: () => Date;
}

/** Who is calling, as the throttle sees it. */
export interface ThrottledCaller {
  /** The socket peer. */
  peerAddress: string;
  /** Receives the failed-attempt budget for the response headers when an attempt is counted or refused. */
  onRate?: (state: RateState) => void;
}

/**
 * One throttled client authentication: refuse before any lookup when the
 * address (or the client id) has spent its failed-attempt budget, count the
 * failures, and answer RATE_LIMITED for a failure counted past the budget.
 */
export class ThrottledAttempt {
  private readonly address: string;

  constructor(
    private readonly throttle: ClientThrottle,
    private readonly caller: ThrottledCaller,
    forwardedFor: string | undefined,
  ) {
    this.address = clientAddress(caller.peerAddress, forwardedFor, throttle.trustedProxies);
  }

  /** The budget keys of an attempt: the client address, and the client id when one was given. */
  keys(clientId?: string): string[] {
    return clientId === undefined || clientId === '' ? [addressKey(this.address)] : [apiClientKey(clientId), addressKey(this.address)];
  }

  /** The RATE_LIMITED refusal when one of the keys is blocked, else undefined. Synchronous, no lookup. */
  refusalIfBlocked(keys: readonly string[]): DomainError | undefined {
    const blocked = this.throttle.failures.blocked(keys, this.throttle.now().getTime());
    if (!blocked) return undefined;
    this.caller.onRate?.(blocked.state);
    return this.throttle.failures.refusal(blocked.key, blocked.state);
  }

  /** Counts a failure against the keys; returns the error to answer (`failure`, or RATE_LIMITED past the budget). */
  async failed(keys: readonly string[], failure: DomainError): Promise<DomainError> {
    const spent = await this.throttle.failures.fail(keys, this.throttle.now().getTime());
    this.caller.onRate?.(spent.state);
    return spent.allowed ? failure : this.throttle.failures.refusal(spent.key, spent.state);
  }
}
