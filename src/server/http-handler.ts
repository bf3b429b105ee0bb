import { requestLogger, type Logger } from '../logging/logger.js';
import type { CorsPolicy } from './cors.js';
import type { HttpRequest, HttpResponse } from './http-util.js';
import { sendJson } from './http-util.js';
import { answeredByLeanPath, type LeanRuntimePath } from './lean/lean-runtime-path.js';
import { createHttp2StreamHandler } from './http2-stream-handler.js';
import type { RequestHandler } from './listener.js';
import type { PlainRouter } from './plain-routes.js';
import { pathOf } from './request-target.js';
import { startRequest, type RequestInfo } from './request-info.js';

export interface HttpHandlerDeps {
  cors: CorsPolicy;
  plainRoutes: PlainRouter;
  /** The Connect adapter: gRPC, gRPC-Web and Connect for every registered service. */
  rpc: (req: HttpRequest, res: HttpResponse) => void;
  /**
   * The lean path of the runtime methods (src/server/lean/): given every RPC first, it serves the
   * common case itself and returns true, or returns false and the request goes to `rpc`.
   */
  leanRpc?: LeanRuntimePath;
  /** `/package.Service/Method` of every registered RPC: other paths are answered here, in JSON. */
  rpcPaths: ReadonlySet<string>;
  logger: Logger;
  /** Told the outcome of every request (for metrics): procedure or route, and gRPC code name or HTTP status. */
  observe?: (procedure: string, code: string) => void;
}

/**
 * Every request passes through here first: request id, CORS, then either a
 * plain HTTP route or the Connect adapter, and one log line when it closes.
 * With the lean path, the handler also serves gRPC runtime calls on HTTP/2 straight from the
 * stream (`http2Stream`, src/server/http2-stream-handler.ts), with the same log line and metrics.
 */
export function createHttpHandler({ cors, plainRoutes, rpc, leanRpc, rpcPaths, logger, observe }: HttpHandlerDeps): RequestHandler {
  const record = requestRecorder(logger, observe);
  /** Request id, and the log line and metrics when the response closes, for Node's request and response objects. */
  const begin = (req: HttpRequest, res: HttpResponse): RequestInfo => {
    const info = startRequest(req);
    res.setHeader('x-request-id', info.id);
    res.once('close', () =>
      record(info, { httpVersion: req.httpVersion, method: req.method, target: req.url, status: res.statusCode, rpcPath: answeredByLeanPath(req) ? 'lean' : undefined }),
    );
    return info;
  };
  const handler: RequestHandler = (req, res) => {
    const info = begin(req, res);

    const origin = req.headers.origin;
    if (typeof origin === 'string') {
      const isPreflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
      if (isPreflight) {
        const headers = cors.preflightHeaders(origin);
        if (!headers) {
          info.reason = 'CORS_ORIGIN_NOT_ALLOWED';
          sendJson(res, 403, {
            code: 'PERMISSION_DENIED',
            reason: 'CORS_ORIGIN_NOT_ALLOWED',
            message: `origin ${origin} is not allowed by this server's CORS policy (LATCHKEY_CORS_ALLOWED_ORIGINS)`,
          });
          return;
        }
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
        res.statusCode = 204;
        res.end();
        return;
      }
      const headers = cors.responseHeaders(origin);
      if (headers) for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    }

    // Only plain routes need a parsed URL; RPCs (the hot path) skip the parse.
    const path = pathOf(req.url);
    const match = plainRoutes.match(req.method ?? 'GET', path);
    if (!match) {
      // gRPC and gRPC-Web clients expect their own answer (UNIMPLEMENTED in trailers) even for an
      // unknown method; every other request for an unknown path gets a JSON body saying so (a bare
      // 404 leaves an SDK pointed at the wrong URL with nothing useful to log).
      if (rpcPaths.has(path) || String(req.headers['content-type'] ?? '').startsWith('application/grpc')) {
        if (!leanRpc?.(req, res, info, path)) rpc(req, res);
      } else notFound(req, res, path);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://latchkey.invalid');
    info.procedure = `${match.route.method} ${match.route.path}`;
    if (!match.methodAllowed) {
      sendJson(res, 405, { code: 'UNIMPLEMENTED', reason: 'METHOD_NOT_ALLOWED', message: `use ${match.route.method} ${url.pathname}` }, { allow: match.route.method });
      return;
    }
    Promise.resolve()
      .then(() => match.route.handle(req, res, info, url))
      .catch((err: unknown) => {
        logger.error({ err, requestId: info.id, route: info.procedure }, 'unexpected error in route');
        if (!res.headersSent) sendJson(res, 500, { code: 'INTERNAL', reason: 'INTERNAL', message: `internal error (request id ${info.id})` });
        else res.destroy();
      });
  };
  if (leanRpc) handler.http2Stream = createHttp2StreamHandler({ leanRpc, adapter: rpc, record, begin });
  return handler;
}

/** What the request log line and the metrics say about an exchange, whichever way it was served. */
export interface ExchangeOutcome {
  httpVersion: string;
  method: string | undefined;
  /** The request target (path and query). */
  target: string | undefined;
  status: number;
  /** `lean` when the lean runtime path answered. */
  rpcPath: 'lean' | undefined;
  /** `core` when the exchange was served straight on the HTTP/2 stream, without Node's compatibility objects. */
  http2Api?: 'core';
}

/** Writes the request log line and tells the metrics of an exchange that closed: once per exchange, on every path. */
export type RequestRecorder = (info: RequestInfo, outcome: ExchangeOutcome) => void;

function requestRecorder(logger: Logger, observe: HttpHandlerDeps['observe']): RequestRecorder {
  const requestLog = requestLogger(logger);
  return (info, outcome) => {
    logRequest(requestLog, info, outcome);
    // Unmatched paths share one label so that scanners cannot explode the metric's cardinality.
    observe?.(info.procedure ?? 'unmatched', info.code ?? String(outcome.status));
  };
}

function notFound(req: HttpRequest, res: HttpResponse, path: string): void {
  sendJson(res, 404, {
    code: 'NOT_FOUND',
    reason: 'ROUTE_NOT_FOUND',
    message: `no route for ${req.method ?? 'GET'} ${path}: RPCs are served at /<package>.<Service>/<Method> (grpcurl list shows them), plain routes are listed in the README (GET / lists the main ones)`,
  });
}

function logRequest(logger: Logger, info: RequestInfo, outcome: ExchangeOutcome): void {
  const ms = Number(process.hrtime.bigint() - info.startedAt) / 1e6;
  logger.info(
    {
      requestId: info.id,
      httpVersion: outcome.httpVersion,
      method: outcome.method,
      procedure: info.procedure ?? pathOf(outcome.target),
      status: outcome.status,
      code: info.code,
      reason: info.reason,
      peer: info.peerAddress,
      ...(outcome.rpcPath !== undefined ? { rpcPath: outcome.rpcPath } : {}),
      ...(outcome.http2Api !== undefined ? { http2Api: outcome.http2Api } : {}),
      ms: Math.round(ms * 100) / 100,
    },
    'request',
  );
}

