import { requestLogger, type Logger } from '../logging/logger.js';
import type { CorsPolicy } from './cors.js';
import type { HttpRequest, HttpResponse } from './http-util.js';
import { sendJson } from './http-util.js';
import { answeredByLeanPath, type LeanRuntimePath } from './lean/lean-runtime-path.js';
import type { RequestHandler } from './listener.js';
import type { PlainRouter } from './plain-routes.js';
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
 */
export function createHttpHandler({ cors, plainRoutes, rpc, leanRpc, rpcPaths, logger, observe }: HttpHandlerDeps): RequestHandler {
  const requestLog = requestLogger(logger);
  return (req, res) => {
    const info = startRequest(req);
    res.setHeader('x-request-id', info.id);
    res.once('close', () => {
      logRequest(requestLog, req, res, info);
      // Unmatched paths share one label so that scanners cannot explode the metric's cardinality.
      observe?.(info.procedure ?? 'unmatched', info.code ?? String(res.statusCode));
    });

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
}

function notFound(req: HttpRequest, res: HttpResponse, path: string): void {
  sendJson(res, 404, {
    code: 'NOT_FOUND',
    reason: 'ROUTE_NOT_FOUND',
    message: `no route for ${req.method ?? 'GET'} ${path}: RPCs are served at /<package>.<Service>/<Method> (grpcurl list shows them), plain routes are listed in the README (GET / lists the main ones)`,
  });
}

function logRequest(logger: Logger, req: HttpRequest, res: HttpResponse, info: RequestInfo): void {
  const ms = Number(process.hrtime.bigint() - info.startedAt) / 1e6;
  logger.info(
    {
      requestId: info.id,
      httpVersion: req.httpVersion,
      method: req.method,
      procedure: info.procedure ?? pathOf(req.url),
      status: res.statusCode,
      code: info.code,
      reason: info.reason,
      peer: info.peerAddress,
      ...(answeredByLeanPath(req) ? { rpcPath: 'lean' } : {}),
      ms: Math.round(ms * 100) / 100,
    },
    'request',
  );
}

/** The path of a request target, without its query. */
function pathOf(target: string | undefined): string {
  const t = target ?? '/';
  const q = t.indexOf('?');
  return q < 0 ? t : t.slice(0, q);
}
