import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Compression } from '@connectrpc/connect/protocol';
import { nodeHeaderGetter } from '../../auth/header-getters.js';
import { runtimeCallOf, type RuntimeAuthenticator } from '../../auth/auth-interceptor.js';
import type { Logger } from '../../logging/logger.js';
import type { FlagResolver } from '../../resolver/flag-resolver.js';
import { rpcErrorOf } from '../../rpc/errors.js';
import type { HttpRequest, HttpResponse } from '../http-util.js';
import type { RequestInfo } from '../request-info.js';
import { CompatLeanResponse, type LeanResponse } from './lean-response.js';
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
export type LeanCompatPath = (req: HttpRequest, res: HttpResponse, info: RequestInfo, path: string) => boolean;

/** A call the lean path will serve, as its request headers describe it. */
export interface LeanCall {
  readonly method: LeanMethod;
  readonly wire: WireCall;
  /** Content-Length, for a unary (Connect) body. */
  readonly lengthHint: number | undefined;
}

/** What the lean path needs of a request, whichever way Node handed it over. */
export interface LeanRequest {
  /** The request target (path and query). */
  readonly url: string;
  /** The body: Node's request object, or the HTTP/2 stream itself. */
  readonly body: Readable;
  readonly res: LeanResponse;
  readonly info: RequestInfo;
  /** Told when the lean path answers the call itself (for the request log). */
  answered(): void;
  /** Hands the request to the adapter when the body is not one message: the chunks read so far, and whether the body ended. */
  fallBack(chunks: readonly Buffer[], ended: boolean): void;
}

export interface LeanRuntimePath extends LeanCompatPath {
  /**
   * The call the lean path serves for these request headers (`:method`, `:authority`, … as
   * plain values), or undefined when the adapter must answer.
   */
  callOf(headers: IncomingHttpHeaders, httpVersion: string, method: string | undefined, authority: string | undefined, path: string): LeanCall | undefined;
  /** Serves a call that callOf accepted (reads the body, authenticates, answers or falls back). */
  serve(call: LeanCall, request: LeanRequest): void;
}

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
 * It is reached two ways: from the request handler with Node's compatibility request and response
 * (the function itself), and for gRPC on HTTP/2 straight from the stream (callOf + serve, see
 * src/server/http2-stream-handler.ts), which skips building those objects.
 *
 * Authentication is the interceptor's own (runtimeCallOf + the RuntimeAuthenticator, the policy
 * from METHOD_POLICIES) and errors are mapped by the error interceptor's rpcErrorOf: the same
 * codes, ErrorInfo, rate-limit headers, and log line outcome.
 */
export function createLeanRuntimePath(deps: LeanRuntimePathDeps): LeanRuntimePath {
  const methods = leanRuntimeMethods(deps.resolver);
  const callOf: LeanRuntimePath['callOf'] = (headers, httpVersion, verb, authority, path) => {
    if (verb !== 'POST') return undefined;
    const method = methods.get(path);
    if (method === undefined) return undefined;
    // The adapter refuses a request without an authority (no Host header) in its own way.
    if (authority === undefined) return undefined;
    const wire = wireCallOf(headers, httpVersion, deps.acceptCompression);
    if (wire === undefined) return undefined;
    const lengthHint = lengthHintOf(headers['content-length']);
    // A body announced larger than the limit is refused before a byte is read: the adapter's answer.
    if (lengthHint !== undefined && lengthHint > deps.readMaxBytes) return undefined;
    return { method, wire, lengthHint: wire.framing === 'unary' ? lengthHint : undefined };
  };
  const serveCall: LeanRuntimePath['serve'] = (call, request) => {
    serve(deps, call, request).catch((err: unknown) => {
      deps.logger.error({ err, requestId: request.info.id, procedure: call.method.procedure }, 'lean runtime path failed to answer');
      if (!request.res.headersSent) request.res.destroy();
    });
  };
  const compat: LeanCompatPath = (req, res, info, path) => {
    const call = callOf(req.headers, req.httpVersion, req.method, 'authority' in req ? req.authority : req.headers.host, path);
    if (call === undefined) return false;
    serveCall(call, new CompatCall(deps.adapter, req, res, info, call.method.procedure));
    return true;
  };
  return Object.assign(compat, { callOf, serve: serveCall });
}

/** A call on Node's compatibility request and response (a class: built for every call, its methods cost nothing per call). */
class CompatCall implements LeanRequest {
  readonly url: string;
  readonly res: LeanResponse;
  constructor(
    private readonly adapter: LeanRuntimePathDeps['adapter'],
    readonly body: HttpRequest,
    private readonly compatRes: HttpResponse,
    readonly info: RequestInfo,
    procedure: string,
  ) {
    this.url = body.url ?? procedure;
    this.res = new CompatLeanResponse(compatRes);
  }
  answered(): void {
    answered.add(this.body);
  }
  fallBack(chunks: readonly Buffer[], ended: boolean): void {
    this.adapter(replayedRequest(this.body, chunks, ended), this.compatRes);
  }
}

async function serve(deps: LeanRuntimePathDeps, { method, wire: call, lengthHint }: LeanCall, request: LeanRequest): Promise<void> {
  const { info, res } = request;
  const body = await readLeanBody(request.body, call.framing, deps.readMaxBytes, lengthHint);
  let message: unknown;
  if (body.message !== undefined) {
    try {
      message = method.parse(body.message, call.binary);
    } catch {
      message = undefined;
    }
  }
  if (message === undefined) {
    request.fallBack(body.chunks, body.ended);
    return;
  }
  info.procedure = method.procedure;
  request.answered();
  const extra: [string, string][] = [];
  let answer;
  try {
    const principal = await deps.runtime.authenticate(runtimeCallOf(method.procedure, method.policy, request.url, nodeHeaderGetter(info.headers), message, info, extra));
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
