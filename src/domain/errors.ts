/**
 * Errors the domain raises, in its own words. The transport layer maps `kind`
 * to a gRPC/Connect code and an HTTP status in one place (src/rpc/errors.ts);
 * the domain never imports protobuf or Connect types.
 */
export type ErrorKind =
  | 'unauthenticated'
  | 'permission_denied'
  | 'invalid_argument'
  | 'not_found'
  | 'already_exists'
  | 'failed_precondition'
  | 'resource_exhausted'
  /** A concurrent change won (AIP-154 etag mismatch): read again, then retry. */
  | 'aborted'
  | 'unavailable';

export interface FieldViolation {
  /** Path of the offending field in the request, e.g. `flag.rules[1].allocations[0].variant`. */
  field: string;
  description: string;
}

export interface DomainErrorOptions {
  /** Extra ErrorInfo metadata (never a secret). */
  metadata?: Record<string, string>;
  fieldViolations?: FieldViolation[];
  /** For `resource_exhausted`: seconds until a retry may succeed. */
  retryAfterSeconds?: number;
  /** Overrides the HTTP status derived from `kind` (e.g. 410 for a revoked credential). */
  httpStatus?: number;
}

export class DomainError extends Error {
  readonly metadata: Record<string, string>;
  readonly fieldViolations: FieldViolation[];
  readonly retryAfterSeconds: number | undefined;
  readonly httpStatus: number | undefined;

  constructor(
    readonly kind: ErrorKind,
    /** UPPER_SNAKE reason, sent as google.rpc.ErrorInfo.reason (e.g. `CREDENTIAL_REVOKED`). */
    readonly reason: string,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message);
    this.name = 'DomainError';
    this.metadata = options.metadata ?? {};
    this.fieldViolations = options.fieldViolations ?? [];
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.httpStatus = options.httpStatus;
  }
}

export function invalidArgument(violations: FieldViolation[], message?: string): DomainError {
  return new DomainError(
    'invalid_argument',
    'INVALID_ARGUMENT',
    message ?? violations.map((v) => `${v.field}: ${v.description}`).join('; '),
    { fieldViolations: violations },
  );
}
