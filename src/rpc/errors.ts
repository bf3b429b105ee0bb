import { dirname, join } from 'node:path';
import { create, type DescMessage, type DescMethod } from '@bufbuild/protobuf';
import { Code, ConnectError, type Interceptor, type UnaryRequest } from '@connectrpc/connect';
import { ErrorInfoSchema, BadRequestSchema, RetryInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { DomainError, type ErrorKind } from '../domain/errors.js';
import type { Logger } from '../logging/logger.js';
import { extraResponseHeadersKey, requestInfoKey, type RequestInfo } from '../server/request-info.js';
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
 * It is also where a request message that did not parse is refused (see
 * installParseFailureHook): before any other interceptor, authentication included.
 */
export function errorInterceptor(
  logger: Logger,
  /** Told of a unary request refused because its message did not parse (the admin audit records such changes). */
  onUnparsed?: (req: UnaryRequest, reason: string) => Promise<void>,
): Interceptor {
  installParseFailureHook();
  const interceptor: Interceptor = (next) => async (req) => {
    const info = req.contextValues.get(requestInfoKey);
    if (info) info.procedure = procedureOf(req.method);
    const extra: [string, string][] = [];
    req.contextValues.set(extraResponseHeadersKey, extra);
    try {
      let res;
      if (req.stream) {
        res = await next({ ...req, message: refuseUnparsed(req.message, info) });
      } else {
        const failure = parseFailures.get(req.message);
        if (failure) {
          await onUnparsed?.(req, failure instanceof DomainError ? failure.reason : codeName(failure.code));
          throw failure;
        }
        res = await next(req);
      }
      if (info) info.code ??= 'OK';
      for (const [name, value] of extra) res.header.set(name, value);
      return res;
    } catch (err) {
      throw rpcErrorOf(err, extra, logger, info);
    }
  };
  refusesParseFailures.add(interceptor);
  return interceptor;
}

/**
 * What a call that failed answers, whatever failed (a DomainError, a ConnectError, anything else
 * becomes INTERNAL and is logged), with the headers the call gathered (`extra`: the rate-limit
 * headers) as its metadata; the outcome is recorded for the log line. Shared by errorInterceptor
 * and the lean runtime path (src/server/lean/), so that both refuse in the same words.
 */
export function rpcErrorOf(err: unknown, extra: readonly [string, string][], logger: Logger, info: RequestInfo | undefined): ConnectError {
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
  return connectError;
}

/**
 * Request messages of a stream, refusing the first that did not parse. A stream's messages are
 * read while the handler runs, after this interceptor has returned for bidi streams, so the
 * refusal is a ConnectError already and records its own outcome for the log line.
 */
async function* refuseUnparsed<T>(messages: AsyncIterable<T>, info: RequestInfo | undefined): AsyncIterable<T> {
  for await (const message of messages) {
    const failure = parseFailures.get(message as object);
    if (failure) {
      const connectError = failure instanceof DomainError ? toConnectError(failure) : failure;
      if (info) {
        info.code = codeName(connectError.code);
        info.reason = failure instanceof DomainError ? failure.reason : undefined;
      }
      throw connectError;
    }
    yield message;
  }
}

/** Placeholder request messages standing for a request body that did not parse, and its refusal. */
const parseFailures = new WeakMap<object, DomainError | ConnectError>();

/** Interceptors that check for parseFailures (each errorInterceptor). */
const refusesParseFailures = new WeakSet<Interceptor>();

/** The refusal of a request body that is not a valid message (a size-limit error stays what it is). */
function parseRefusal(err: unknown, input: DescMessage, binary: boolean): DomainError | ConnectError {
  const connectError = ConnectError.from(err);
  if (connectError.code === Code.ResourceExhausted) return connectError;
  // Connect says "parse binary: <protobuf-es's reason>"; its JSON errors are protobuf-es's own
  // ("cannot decode message X from JSON: …", naming the field), which the binary one is made to match.
  const message = binary
    ? `cannot decode message ${input.typeName} from binary: ${connectError.rawMessage.replace(/^parse binary: /, '')}`
    : connectError.rawMessage;
  return new DomainError('invalid_argument', 'MALFORMED_MESSAGE', message);
}

interface Serialization {
  parse(data: Uint8Array): unknown;
  serialize(data: unknown): Uint8Array;
}
interface MethodSerializationLookup {
  getI(useBinaryFormat: boolean): Serialization;
  getO(useBinaryFormat: boolean): Serialization;
}
type CreateLookup = (method: DescMethod, binaryOptions: unknown, jsonOptions: unknown, options: unknown) => MethodSerializationLookup;

let hookInstalled = false;

/**
 * Makes a request message that does not parse INVALID_ARGUMENT (reason MALFORMED_MESSAGE) on every
 * protocol, where @connectrpc/connect 2.1 makes a binary one INTERNAL (HTTP 500 on Connect, grpc-status
 * 13) and a JSON one INVALID_ARGUMENT without an ErrorInfo: `createBinarySerialization` in
 * protocol/serialization.js catches protobuf-es's error and throws `Code.Internal`. The framework
 * has no hook for this: `binaryOptions` and `jsonOptions` only reach protobuf-es, and a unary request
 * is parsed before any interceptor runs, so no interceptor sees the failure and the log line and the
 * metrics would not record it either. The one place every protocol goes through is the per-method
 * serialization that `createMethodSerializationLookup` builds when a service is registered; it is
 * wrapped here (the module's exports are plain properties, read at each call), once, before
 * connectNodeAdapter registers the services (errorInterceptor calls this).
 *
 * A request that does not parse becomes an empty placeholder message that carries its refusal, and
 * errorInterceptor, the outermost interceptor, throws that refusal before anything else runs: the
 * error then takes the same path as every other, into the response, the log line and the metrics.
 * A router without an errorInterceptor gets the refusal thrown from the parse itself, so that no
 * placeholder can reach a handler unchecked.
 */
export function installParseFailureHook(): void {
  if (hookInstalled) return;
  // The CommonJS build, which is what runs here (tsx/cjs, Jest); the package's export map does not
  // expose the file, so it is required by path, next to the entry point that connect-node loads.
  const path = join(dirname(require.resolve('@connectrpc/connect')), 'protocol', 'serialization.js');
  const serialization = require(path) as { createMethodSerializationLookup?: CreateLookup };
  const original = serialization.createMethodSerializationLookup;
  if (typeof original !== 'function') {
    throw new Error(`@connectrpc/connect changed: ${path} no longer exports createMethodSerializationLookup (see installParseFailureHook)`);
  }
  serialization.createMethodSerializationLookup = (method, binaryOptions, jsonOptions, options) => {
    const lookup = original(method, binaryOptions, jsonOptions, options);
    const interceptors = (options as { interceptors?: Interceptor[] } | undefined)?.interceptors ?? [];
    const checked = interceptors.some((i) => refusesParseFailures.has(i));
    const guard = (inner: Serialization, binary: boolean): Serialization => ({
      serialize: (data) => inner.serialize(data),
      parse(data) {
        try {
          return inner.parse(data);
        } catch (err) {
          const refusal = parseRefusal(err, method.input, binary);
          if (!checked) throw refusal instanceof DomainError ? toConnectError(refusal) : refusal;
          const placeholder = create(method.input);
          parseFailures.set(placeholder, refusal);
          return placeholder;
        }
      },
    });
    const binaryInput = guard(lookup.getI(true), true);
    const jsonInput = guard(lookup.getI(false), false);
    return {
      getI: (useBinaryFormat) => (useBinaryFormat ? binaryInput : jsonInput),
      getO: (useBinaryFormat) => lookup.getO(useBinaryFormat),
    };
  };
  hookInstalled = true;
}
