import type { Interceptor, StreamRequest, UnaryRequest } from '@connectrpc/connect';
import type { AuditLog } from '../audit/audit-log.js';
import { DomainError } from '../domain/errors.js';
import type { ApiClients } from '../iam/api-clients.js';
import type { RateState } from '../rate-limit/rate-limits.js';
import { rateLimitHeaders } from '../rate-limit/headers.js';
import { extraResponseHeadersKey, requestInfoKey, type RequestInfo } from '../server/request-info.js';
import type { ClientThrottle } from './client-throttle.js';
import { authenticateManagement } from './management-auth.js';
import { METHOD_POLICIES, type MethodPolicy } from './method-policy.js';
import { principalKey, type CredentialPrincipal } from './principal.js';
import { procedureOf } from '../rpc/procedure.js';
import { fetchHeaderGetter, nodeHeaderGetter, type HeaderGetter } from './header-getters.js';

/** What the runtime credential pipeline (SPEC §3) sees of an RPC. */
export interface RuntimeCall {
  procedure: string;
  /** The request URL (a publishable key may come as `?publishableKey=`). */
  url: string;
  policy: Extract<MethodPolicy, { access: 'runtime' }>;
  /** Reads one request header (lower-case name); a repeated header reads as its values joined by ", ". */
  header: HeaderGetter;
  /** The `client_secret` field of the request message, when it has one. */
  bodySecret: string | undefined;
  peerAddress: string;
  requestId: string;
  onRate: (state: RateState) => void;
}

export interface RuntimeAuthenticator {
  authenticate(call: RuntimeCall): Promise<CredentialPrincipal>;
}

export interface AuthInterceptorDeps {
  apiClients: ApiClients;
  runtime: RuntimeAuthenticator;
  audit: AuditLog;
  now: () => Date;
  /** Failed-attempt throttle of management authentication (SPEC §3); none = unthrottled. */
  throttle?: ClientThrottle;
}

/**
 * Decides, per method, who may call it (METHOD_POLICIES), authenticates the
 * caller, and puts the principal on the context for handlers. Management calls
 * that change something are recorded in the audit trail, refused or not.
 */
export function authInterceptor({ apiClients, runtime, audit, now, throttle }: AuthInterceptorDeps): Interceptor {
  return (next) => async (req) => {
    const procedure = procedureOf(req.method);
    const policy = METHOD_POLICIES[procedure];
    if (!policy) {
      throw new DomainError('permission_denied', 'METHOD_NOT_ALLOWED', `${procedure} has no access policy and is refused`);
    }
    if (policy.access === 'public') return next(req);

    const info = req.contextValues.get(requestInfoKey);
    if (policy.access === 'runtime') {
      const principal = await runtime.authenticate(
        runtimeCallOf(
          procedure,
          policy,
          req.url,
          // Node's parsed headers when the request came through our HTTP layer (always, when serving).
          info ? nodeHeaderGetter(info.headers) : fetchHeaderGetter(req.header),
          (req as { message?: unknown }).message,
          info,
          req.contextValues.get(extraResponseHeadersKey),
        ),
      );
      req.contextValues.set(principalKey, principal);
      return next(req);
    }

    let actor: string | null = null;
    // Admin changes are recorded one by one and the answer waits for the record (AuditLog.recordAdmin).
    const record = async (outcome: string, resource: string | null) => {
      if (policy.mutates) await audit.recordAdmin(adminChange(req, procedure, actor, resource, outcome, now()));
    };
    const requestMessage = (req as { message?: unknown }).message;
    try {
      const principal = await authenticateManagement(req.header, apiClients, throttle, {
        peerAddress: info?.peerAddress ?? '',
        onRate: rateHeadersInto(req.contextValues.get(extraResponseHeadersKey)),
      });
      actor = principal.name;
      if (!principal.permissions.has(policy.permission)) {
        throw new DomainError(
          'permission_denied',
          'PERMISSION_MISSING',
          `${principal.name} lacks the permission ${policy.permission}, which ${req.service.name}.${req.method.name} needs`,
          { metadata: { permission: policy.permission } },
        );
      }
      req.contextValues.set(principalKey, principal);
      const res = await next(req);
      await record('OK', resourceOf(requestMessage, (res as { message?: unknown }).message));
      return res;
    } catch (err) {
      await record(err instanceof DomainError ? err.reason : 'ERROR', resourceOf(requestMessage, undefined));
      throw err;
    }
  };
}

/** The audit record of one management change (who, method, resource, outcome, where from). */
function adminChange(req: UnaryRequest | StreamRequest, procedure: string, actor: string | null, resource: string | null, outcome: string, time: Date) {
  const info = req.contextValues.get(requestInfoKey);
  return {
    kind: 'ADMIN_CHANGE' as const,
    time,
    actor,
    method: procedure,
    resource,
    outcome,
    requestId: info?.id ?? null,
    clientAddress: info?.peerAddress ?? null,
    origin: req.header.get('origin'),
    userAgent: req.header.get('user-agent'),
    credential: null,
    client: null,
    digestPrefix: null,
  };
}

/**
 * For the error interceptor, which refuses a request whose message did not parse before this
 * interceptor runs (src/rpc/errors.ts): a management change refused that way is recorded too,
 * with no actor (it was never authenticated) and the refusal's reason.
 */
export function recordRefusedAdminChange(audit: AuditLog, now: () => Date) {
  return async (req: UnaryRequest | StreamRequest, reason: string): Promise<void> => {
    const procedure = procedureOf(req.method);
    const policy = METHOD_POLICIES[procedure];
    if (policy?.access === 'management' && policy.mutates) await audit.recordAdmin(adminChange(req, procedure, null, null, reason, now()));
  };
}

/**
 * What the runtime credential pipeline examines of one call: built here for the interceptor and
 * for the lean runtime path (src/server/lean/), which must authenticate exactly alike.
 * `extra` collects the rate-limit headers for the answer.
 */
export function runtimeCallOf(
  procedure: string,
  policy: RuntimeCall['policy'],
  url: string,
  header: HeaderGetter,
  message: unknown,
  info: RequestInfo | undefined,
  extra: [string, string][] | undefined,
): RuntimeCall {
  const secret = (message as { clientSecret?: unknown } | undefined)?.clientSecret;
  return {
    procedure,
    url,
    policy,
    header,
    bodySecret: typeof secret === 'string' && secret !== '' ? secret : undefined,
    peerAddress: info?.peerAddress ?? '',
    requestId: info?.id ?? '',
    onRate: rateHeadersInto(extra),
  };
}

/** Puts the rate-limit headers on the answer (through the error interceptor's list). */
function rateHeadersInto(extra: [string, string][] | undefined): (state: RateState) => void {
  return (state) => {
    extra?.push(...rateLimitHeaders(state));
  };
}

/**
 * The resource a management call touched, for the audit trail: the name in
 * the response (creates learn it there), else the request's name or parent.
 */
export function resourceOf(request: unknown, response: unknown): string | null {
  const nameIn = (m: unknown): string | undefined => {
    if (!m || typeof m !== 'object') return undefined;
    const o = m as Record<string, unknown>;
    if (typeof o.name === 'string' && o.name !== '') return o.name;
    for (const v of Object.values(o)) {
      if (v && typeof v === 'object' && !Array.isArray(v) && typeof (v as { name?: unknown }).name === 'string' && (v as { name: string }).name !== '') {
        return (v as { name: string }).name;
      }
    }
    return typeof o.parent === 'string' && o.parent !== '' ? o.parent : undefined;
  };
  return nameIn(response) ?? nameIn(request) ?? null;
}
