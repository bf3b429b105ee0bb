import type { AuditLog } from '../audit/audit-log.js';
import type { CredentialPrincipal } from '../auth/principal.js';
import { hasScope, type RuntimeScope } from '../credentials/scopes.js';
import { constantTimeEqual, digestSecret, extractPresentedCredential, unleashScopeMatches } from '../credentials/index.js';
import { clientAddress, ipAllowed, originAllowed, type IpRanges } from '../credentials/allow-lists.js';
import { DomainError } from '../domain/errors.js';
import { FailedAttempts, addressKey } from '../rate-limit/failed-attempts.js';
import type { Limit, RateLimits, RateState } from '../rate-limit/rate-limits.js';
import type { CachedCredential, CredentialCache } from './credential-cache.js';
import type { LastUseTracker } from './last-use.js';

/** Everything the pipeline looks at, whatever the protocol carried it in. */
export interface PresentedRequest {
  authorization: string | undefined;
  clientIdHeader: string | undefined;
  clientSecretHeader: string | undefined;
  publishableKeyQuery: string | undefined;
  bodySecret: string | undefined;
  peerAddress: string;
  forwardedFor: string | undefined;
  origin: string | undefined;
  userAgent: string | undefined;
  /** The RPC procedure or `GET /v1/credential`-style route, for the audit trail. */
  method: string;
  requestId: string;
  /** `null` scope: any valid credential (e.g. GET /v1/credential). */
  requirement: { scope: RuntimeScope | null; secretOnly: boolean; /** Refuses SECRET credentials (APIs for browser and mobile SDKs). */ publishableOnly?: boolean };
  /** Receives the rate-limit state for the response headers, on success and refusal alike. */
  onRate?: (state: RateState) => void;
}

export interface ValidatedCredential {
  principal: CredentialPrincipal;
  /** The client address after trusted-proxy handling. */
  clientAddress: string;
  expireTime: Date | null;
  format: string;
  rateLimit: { requests: number; windowMs: number } | null;
}

/** What a validation learnt of the presented credential before it passed or failed. */
interface KnownParts {
  credential: string | null;
  client: string | null;
  /** First 8 hex characters of the digest of a secret that matched no credential. */
  digestPrefix: string | null;
  limit: Limit;
}

const unauthenticated = (reason: string, message: string, httpStatus?: number) =>
  new DomainError('unauthenticated', reason, message, httpStatus ? { httpStatus } : {});
const denied = (reason: string, message: string) => new DomainError('permission_denied', reason, message);

/**
 * The runtime credential check of SPEC §3, steps 1–7 in order; the first
 * failure answers. Every validation, passed or refused, is recorded in the
 * audit trail (never with a secret: an unknown one appears as the first 8
 * hex characters of its digest). Step 8, rate limiting, follows once the
 * credential is known.
 *
 * Failed attempts are throttled (SPEC §3): a missing, malformed or unknown
 * credential spends the default budget of its client address, and an address
 * whose budget is spent is refused with step 8's answer before anything else,
 * before the secret is digested or looked up, whatever credential it sends.
 */
export class CredentialValidator {
  private readonly cache: CredentialCache;
  private readonly trustedProxies: IpRanges;
  private readonly audit: AuditLog;
  private readonly lastUse: LastUseTracker;
  private readonly limits: RateLimits;
  private readonly defaultLimit: Limit;
  private readonly failures: FailedAttempts;
  private readonly now: () => Date;
  private readonly observe: (outcome: string) => void;
  private readonly auditValidations: boolean;
  private readonly principals = new WeakMap<CachedCredential, CredentialPrincipal>();

  constructor(deps: {
    cache: CredentialCache;
    trustedProxies: IpRanges;
    audit: AuditLog;
    lastUse: LastUseTracker;
    limits: RateLimits;
    /** The server default, for credentials without their own `rate_limit`. */
    defaultLimit: Limit;
    /** Failed-attempt budgets, shared with the token endpoint and the management API; by default its own over `limits`. */
    failures?: FailedAttempts;
    now: () => Date;
    /** Told every outcome (`OK` or the refusal reason), for metrics. */
    observe?: (outcome: string) => void;
    /** False only to measure the audit trail's cost (LATCHKEY_AUDIT_VALIDATIONS=false). */
    auditValidations?: boolean;
  }) {
    this.cache = deps.cache;
    this.trustedProxies = deps.trustedProxies;
    this.audit = deps.audit;
    this.lastUse = deps.lastUse;
    this.limits = deps.limits;
    this.defaultLimit = deps.defaultLimit;
    this.failures = deps.failures ?? new FailedAttempts(deps.limits, deps.defaultLimit);
    this.now = deps.now;
    this.observe = deps.observe ?? (() => undefined);
    this.auditValidations = deps.auditValidations ?? true;
  }

  async validate(req: PresentedRequest): Promise<ValidatedCredential> {
    const address = clientAddress(req.peerAddress, req.forwardedFor, this.trustedProxies);
    const known: KnownParts = { credential: null, client: null, digestPrefix: null, limit: this.defaultLimit };
    // An address that spent its failed-attempt budget is refused before any lookup. Answered
    // from memory without an await; skipped entirely while nothing is blocked.
    if (!this.failures.none) {
      const blocked = this.failures.blocked([addressKey(address)], this.now().getTime());
      if (blocked) {
        req.onRate?.(blocked.state);
        this.record(req, address, known, 'RATE_LIMITED');
        throw this.failures.refusal(blocked.key, blocked.state);
      }
    }
    let result: ValidatedCredential;
    try {
      result = await this.check(req, address, known);
    } catch (caught) {
      let err = caught;
      const nowMs = this.now().getTime();
      let state: RateState;
      if (known.credential !== null) {
        // A known credential refused before step 8: its budget, not spent by a refusal.
        state = await this.limits.peek(`credential:${known.credential}`, known.limit, nowMs);
      } else if (err instanceof DomainError) {
        // Missing, malformed or unknown: a failed attempt, which spends the address budget. One
        // counted after the budget was spent (concurrent guesses, or spent on another replica)
        // is answered as the rate limit, not as what the lookup found.
        const spent = await this.failures.fail([addressKey(address)], nowMs);
        state = spent.state;
        if (!spent.allowed) err = this.failures.refusal(spent.key, state);
      } else {
        state = await this.limits.peek(addressKey(address), this.defaultLimit, nowMs); // our fault, not the caller's
      }
      req.onRate?.(state);
      this.record(req, address, known, err instanceof DomainError ? err.reason : 'ERROR');
      throw err;
    }
    // 8. rate limit
    const limit = known.limit;
    const { allowed, state } = await this.limits.consume(`credential:${result.principal.name}`, limit, this.now().getTime());
    req.onRate?.(state);
    if (!allowed) {
      this.record(req, address, known, 'RATE_LIMITED');
      const wait = state.retryAfterSeconds ?? 1;
      throw new DomainError('resource_exhausted', 'RATE_LIMITED', `${result.principal.name} exceeded ${limit.requests} requests per ${limit.windowMs / 1000} s; retry in ${wait} s`, {
        retryAfterSeconds: wait,
        metadata: { limit: String(limit.requests), window_seconds: String(limit.windowMs / 1000) },
      });
    }
    this.lastUse.note(result.principal.name, this.now());
    this.record(req, address, known, 'OK');
    return result;
  }

  /** One validation in the audit trail and the metrics: the outcome and what was learnt of the credential. */
  private record(req: PresentedRequest, address: string, known: KnownParts, outcome: string): void {
    this.observe(outcome);
    if (!this.auditValidations) return;
    this.audit.record({
      kind: 'CREDENTIAL_VALIDATION',
      time: this.now(),
      actor: known.credential,
      method: req.method,
      resource: known.credential,
      outcome,
      requestId: req.requestId || null,
      clientAddress: address || null,
      origin: req.origin ?? null,
      userAgent: req.userAgent ?? null,
      credential: known.credential,
      client: known.client,
      digestPrefix: known.digestPrefix,
    });
  }

  /** The principal of a cached credential, built once per cache entry (entries are replaced on any change). */
  private principalOf(entry: CachedCredential): CredentialPrincipal {
    let principal = this.principals.get(entry);
    if (principal === undefined) {
      const c = entry.credential;
      principal = { kind: 'credential', name: entry.name, client: entry.client, class: c.class, environments: c.environments, projects: c.projects, scopes: c.scopes };
      this.principals.set(entry, principal);
    }
    return principal;
  }

  /** Steps 1–7; fills `known` as it learns the credential (for the audit record and the rate-limit headers). */
  private async check(req: PresentedRequest, address: string, known: KnownParts): Promise<ValidatedCredential> {
    // 1. find
    const presented = extractPresentedCredential({
      authorization: req.authorization,
      clientIdHeader: req.clientIdHeader,
      clientSecretHeader: req.clientSecretHeader,
      publishableKeyQuery: req.publishableKeyQuery,
      bodyClientSecret: req.bodySecret,
    });
    if (presented.kind === 'missing') {
      throw unauthenticated(
        'CREDENTIAL_MISSING',
        'no client credential: send Authorization: Bearer <key>, X-Client-ID and X-Client-Secret, an Unleash token in Authorization, client_secret in the request, or ?publishableKey=',
      );
    }
    if (presented.kind === 'conflict') {
      throw unauthenticated('CREDENTIAL_CONFLICT', 'the request carries two different credentials; send exactly one');
    }
    // 2. parse
    if (presented.kind === 'malformed') {
      throw unauthenticated('CREDENTIAL_MALFORMED', `the credential is malformed: ${presented.detail}`);
    }
    // 3. look up
    const digest = digestSecret(presented.credential.secret);
    const cached = this.cache.lookup(digest);
    const entry = cached instanceof Promise ? await cached : cached;
    const keyPairMismatch =
      entry !== undefined &&
      presented.credential.clientId !== undefined &&
      !constantTimeEqual(presented.credential.clientId, entry.credential.publicId ?? '');
    if (!entry || keyPairMismatch) {
      known.digestPrefix = digest.slice(0, 8);
      throw unauthenticated('CREDENTIAL_UNKNOWN', 'the credential is not known to this server (check for a typo, or whether it was deleted)');
    }
    const c = entry.credential;
    const name = entry.name;
    known.credential = name;
    known.client = entry.client;
    if (c.rateLimit) known.limit = c.rateLimit;
    // An Unleash token's visible <project>:<environment> must describe its credential exactly (SPEC §3).
    if (presented.credential.unleash && !unleashScopeMatches(presented.credential.unleash, c)) {
      throw unauthenticated('CREDENTIAL_UNKNOWN', `the <project>:<environment> part of this token does not match ${name}`);
    }
    // 4. state
    if (c.state === 'REVOKED') {
      throw unauthenticated('CREDENTIAL_REVOKED', `${name} was revoked at ${c.revokeTime?.toISOString() ?? 'an earlier time'}; ask for a new credential`, 410);
    }
    const now = this.now().getTime();
    const rotated = entry.secret.expireTime !== null && entry.secret.expireTime.getTime() <= now;
    if (rotated || (c.expireTime !== null && c.expireTime.getTime() <= now)) {
      const expiry = [c.expireTime, entry.secret.expireTime].filter((d): d is Date => d !== null).map((d) => d.getTime());
      const when = new Date(Math.min(...expiry)).toISOString();
      throw unauthenticated('CREDENTIAL_EXPIRED', rotated ? `this secret of ${name} was rotated and its grace period ended at ${when}; use the new secret` : `${name} expired at ${when}`);
    }
    // 5. client address
    if (c.allowedIpRanges.length > 0 && !ipAllowed(entry.ipRanges, address)) {
      throw denied('IP_NOT_ALLOWED', `${name} may not be used from ${address}`);
    }
    // 6. origin
    if (c.allowedOrigins.length > 0 && !originAllowed(entry.origins, req.origin)) {
      throw denied('ORIGIN_NOT_ALLOWED', req.origin ? `${name} may not be used from the origin ${req.origin}` : `${name} is limited to listed origins and this request has no Origin header`);
    }
    // 7. scope, then class
    const { scope, secretOnly, publishableOnly } = req.requirement;
    if (scope !== null && !hasScope(c.scopes, scope)) {
      throw denied('SCOPE_MISSING', `${name} lacks the scope ${scope} that ${req.method} needs`);
    }
    if (secretOnly && c.class !== 'SECRET') {
      throw denied('CLASS_NOT_ALLOWED', `${req.method} needs a SECRET credential; ${name} is PUBLISHABLE`);
    }
    if (publishableOnly && c.class !== 'PUBLISHABLE') {
      throw denied('CLASS_NOT_ALLOWED', `${req.method} needs a PUBLISHABLE credential; ${name} is SECRET`);
    }
    return {
      principal: this.principalOf(entry),
      clientAddress: address,
      expireTime: c.expireTime,
      format: c.format,
      rateLimit: c.rateLimit,
    };
  }
}
