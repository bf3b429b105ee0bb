import type { Compression } from '@connectrpc/connect/protocol';
import { nodeHeaderGetter } from '../../auth/header-getters.js';
import { runtimeCallOf, type RuntimeAuthenticator } from '../../auth/auth-interceptor.js';
import type { Logger } from '../../logging/logger.js';
import type { FlagResolver } from '../../resolver/flag-resolver.js';
import { rpcErrorOf } from '../../rpc/errors.js';
import type { HttpRequest, HttpResponse } from '../http-util.js';
import type { RequestInfo } from '../request-info.js';
import { replayedRequest } from './replayed-request.js';
import { readLeanBody } from './request-body.js';
import { leanRuntimeMethods, type LeanMethod } from './runtime-methods.js';
import { wireCallOf, writeError, writeSuccess, type WireCall } from './wire-protocols.js';

export interface LeanRuntimePathDeps {
  resolver: FlagResolver;
  runtime: RuntimeAuthenticator;
  logger: Logger;
  /** The Connect adapter, which gets every request the lean path does not serve. */
  adapter: (req: HttpRequest, res: HttpResponse) => void;
  /** The adapter's readMaxBytes. */
  readMaxBytes: number;
  /** The adapter's acceptCompression. */
  acceptCompression: readonly Compression[];
}

/**
 * Serves a request and returns true, or returns false without touching it (the caller hands it to
 * the adapter). `path` is the request path without its query.
 */
export type LeanRuntimePath = (req: HttpRequest, res: HttpResponse, info: RequestInfo, path: string) => boolean;

/** Requests the lean path answered itself (not those it replayed to the adapter), for the request log. */
const answered = new WeakSet<HttpRequest>();

/** Whether the lean path answered this request itself (the request log line says `"rpcPath": "lean"`). */
export function answeredByLeanPath(req: HttpRequest): boolean {
  return answered.has(req);
}

/**
 * FlagResolverService's unary runtime calls (ResolveFlags, ResolveConfigs, ApplyFlags) straight
 * from Node's request, without the Connect adapter's per-call machinery (a Fetch Headers copy of
 * the request headers, an AbortController and deadline signal, async iterators over the body and
 * the response, the interceptor chain): the common case only, answered byte for byte as the adapter
 * answers it (test/e2e/runtime-protocols.test.ts runs every protocol against both).
 *
 * The common case: POST; Connect unary (application/json or application/proto), gRPC on HTTP/2 or
 * gRPC-Web (+proto or +json); a request body without compression; a valid deadline or none. The
 * response is compressed as the adapter would (same negotiation, same 1 KiB threshold). Everything
 * else goes to the adapter untouched: other methods and services, Connect GET, grpc-web-text,
 * compressed requests, malformed deadlines. A body that turns out not to be one message within
 * READ_MAX_BYTES (oversized, malformed, several envelopes, a client gone) goes to the adapter too,
 * replayed (replayed-request.ts), so that it refuses it in its own words, as it always has.
 *
 * Authentication is the interceptor's own (runtimeCallOf + the RuntimeAuthenticator, the policy
 * from METHOD_POLICIES) and errors are mapped by the error interceptor's rpcErrorOf: the same
 * codes, ErrorInfo, rate-limit headers, and log line outcome.
 */
export function createLeanRuntimePath(deps: LeanRuntimePathDeps): LeanRuntimePath {
  const methods = leanRuntimeMethods(deps.resolver);
  return (req, res, info, path) => {
    if (req.method !== 'POST') return false;
    const method = methods.get(path);
    if (method === undefined) return false;
    // The adapter refuses a request without an authority (no Host header) in its own way.
    if (('authority' in req ? req.authority : req.headers.host) === undefined) return false;
    const call = wireCallOf(req, deps.acceptCompression);
    if (call === undefined) return false;
    const lengthHint = lengthHintOf(req.headers['content-length']);
    // A body announced larger than the limit is refused before a byte is read: the adapter's answer.
    if (lengthHint !== undefined && lengthHint > deps.readMaxBytes) return false;
    serve(deps, method, call, req, res, info, call.framing === 'unary' ? lengthHint : undefined).catch((err: unknown) => {
      deps.logger.error({ err, requestId: info.id, procedure: method.procedure }, 'lean runtime path failed to answer');
      if (!res.headersSent) res.destroy();
    });
    return true;
  };
}

async function serve(deps: LeanRuntimePathDeps, method: LeanMethod, call: WireCall, req: HttpRequest, res: HttpResponse, info: RequestInfo, lengthHint: number | undefined): Promise<void> {
  const body = await readLeanBody(req, call.framing, deps.readMaxBytes, lengthHint);
  let message: unknown;
  if (body.message !== undefined) {
    try {
      message = method.parse(body.message, call.binary);
    } catch {
      message = undefined;
    }
  }
  if (message === undefined) {
    deps.adapter(replayedRequest(req, body.chunks, body.ended), res);
    return;
  }
  info.procedure = method.procedure;
  answered.add(req);
  const extra: [string, string][] = [];
  let answer;
  try {
    const principal = await deps.runtime.authenticate(runtimeCallOf(method.procedure, method.policy, req.url ?? method.procedure, nodeHeaderGetter(info.headers), message, info, extra));
    // A plain resolve answers synchronously: no extra turn of the event loop for it.
    const pending = method.invoke(principal, message, call.binary);
    answer = pending instanceof Promise ? await pending : pending;
  } catch (err) {
    await writeError(res, call, rpcErrorOf(err, extra, deps.logger, info));
    return;
  }
  info.code ??= 'OK';
  await writeSuccess(res, call, answer, extra);
}

/** Content-Length as the adapter reads it (parseInt; a value that is not a safe non-negative integer is ignored). */
function lengthHintOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = parseInt(value, 10);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
