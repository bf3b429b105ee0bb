import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { ErrorInfoSchema, BadRequestSchema, RetryInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { DomainError, type ErrorKind } from '../domain/errors.js';
import type { Logger } from '../logging/logger.js';
import { extraResponseHeadersKey, requestInfoKey } from '../server/request-info.js';
import { procedureOf } from './procedure.js';

/** google.rpc.ErrorInfo.domain of every error latchkey raises. */
export const ERROR_DOMAIN = 'latchkey';

/** The one place where domain error kinds become wire codes and HTTP statuses. */
const CODE_OF: Record<ErrorKind, Code> = {
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
  aborted: Code.Aborted,
  unavailable: Code.Unavailable,
};

const HTTP_STATUS_OF: Record<ErrorKind, number> = {
  unauthenticated: 401,
  permission_denied: 403,
  invalid_argument: 400,
  not_found: 404,
  already_exists: 409,
  failed_precondition: 412,
  resource_exhausted: 429,
  aborted: 409,
  unavailable: 503,
};

export function httpStatusOf(error: DomainError): number {
  return error.httpStatus ?? HTTP_STATUS_OF[error.kind];
}

export function toConnectError(error: DomainError): ConnectError {
  const details = [
    {
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, { reason: error.reason, domain: ERROR_DOMAIN, metadata: error.metadata }),
    },
  ] as ConstructorParameters<typeof ConnectError>[3] & object[];
  if (error.fieldViolations.length > 0) {
    details.push({
      desc: BadRequestSchema,
      value: create(BadRequestSchema, { fieldViolations: error.fieldViolations }),
    });
  }
  if (error.retryAfterSeconds !== undefined) {
    details.push({
      desc: RetryInfoSchema,
      value: create(RetryInfoSchema, { retryDelay: { seconds: BigInt(error.retryAfterSeconds), nanos: 0 } }),
    });
  }
  return new ConnectError(error.message, CODE_OF[error.kind], undefined, details, error);
}

/** `Code.PermissionDenied` → `PERMISSION_DENIED`, the gRPC spelling. */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

/** JSON body of a refusal on the plain HTTP routes. */
export function toHttpBody(error: DomainError): { code: string; reason: string; message: string } {
  return { code: codeName(CODE_OF[error.kind]), reason: error.reason, message: error.message };
}

/**
 * Outermost interceptor: turns DomainErrors into ConnectErrors, and anything
 * unexpected into INTERNAL with a generic message (the detail goes to the log,
 * never to the caller), and records the outcome for the request log line.
 */
export function errorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const info = req.contextValues.get(requestInfoKey);
    if (info) info.procedure = procedureOf(req.method);
    const extra: [string, string][] = [];
    req.contextValues.set(extraResponseHeadersKey, extra);
    try {
      const res = await next(req);
      if (info) info.code ??= 'OK';
      for (const [name, value] of extra) res.header.set(name, value);
      return res;
    } catch (err) {
      let connectError: ConnectError;
      if (err instanceof DomainError) connectError = toConnectError(err);
      else if (err instanceof ConnectError) connectError = err;
      else {
        logger.error({ err, requestId: info?.id, procedure: info?.procedure }, 'unexpected error in handler');
        connectError = new ConnectError(`internal error (request id ${info?.id ?? 'unknown'})`, Code.Internal);
      }
      for (const [name, value] of extra) connectError.metadata.set(name, value);
      if (info) {
        info.code = codeName(connectError.code);
        info.reason ??= err instanceof DomainError ? err.reason : undefined;
      }
      throw connectError;
    }
  };
}
