import type * as http2 from 'node:http2';
import type { HttpRequest, HttpResponse } from './http-util.js';
import type { RequestRecorder } from './http-handler.js';
import type { LeanRequest, LeanRuntimePath } from './lean/lean-runtime-path.js';
import { StreamLeanResponse } from './lean/lean-response.js';
import { replayedRequest } from './lean/replayed-request.js';
import type { Http2CompatExchange, Http2StreamHandler } from './listener.js';
import { startRequest, type RequestInfo } from './request-info.js';
import { pathOf } from './request-target.js';

export interface Http2StreamHandlerDeps {
  leanRpc: LeanRuntimePath;
  /** The Connect adapter, for a call whose body the lean path will not serve after all. */
  adapter: (req: HttpRequest, res: HttpResponse) => void;
  record: RequestRecorder;
  /** The request handler's own start of an exchange on Node's request and response objects (request id, log line on close). */
  begin: (req: HttpRequest, res: HttpResponse) => RequestInfo;
}

/**
 * gRPC runtime calls on HTTP/2 straight from the stream, as @grpc/grpc-js serves them: Node's
 * compatibility request and response (two objects, their listeners on the stream, a header copy
 * per response) are not built for the calls the lean path serves, which is most of the traffic of
 * a busy server. Only gRPC (`application/grpc`, +proto, +json) without an Origin or an Expect: browsers' calls
 * (gRPC-Web, Connect), which need CORS, keep the request handler, as does every stream the lean
 * path would not serve (the listener then builds the compatibility objects for the handler).
 *
 * The answer is the one the request handler gives: the same framing (wire-protocols.ts, on a
 * LeanResponse of the stream), `x-request-id`, and the same request log line and metrics (the
 * handler's RequestRecorder), with `"http2Api": "core"`. A body the lean path hands back to the
 * adapter (not one message within the limits) gets the compatibility objects after all, and the
 * handler's start of an exchange on them, then goes to the adapter replayed, as it does from the handler.
 */
export function createHttp2StreamHandler(deps: Http2StreamHandlerDeps): Http2StreamHandler {
  const { leanRpc } = deps;
  return (stream, headers, compat) => {
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc') || contentType.startsWith('application/grpc-web')) return false;
    // An Origin (CORS) or an Expect (100-continue, or a 417) is the request handler's to answer.
    if (headers.origin !== undefined || headers.expect !== undefined) return false;
    const call = leanRpc.callOf(headers, '2.0', headers[':method'], headers[':authority'] ?? headers.host, pathOf(headers[':path']));
    if (call === undefined || call.wire.protocol !== 'grpc') return false;
    leanRpc.serve(call, new StreamCall(deps, stream, headers, compat, call.method.procedure));
    return true;
  };
}

/** One call served on the stream: what the lean path needs of it, and its log line when the stream closes. */
class StreamCall implements LeanRequest {
  readonly url: string;
  readonly body: http2.ServerHttp2Stream;
  readonly res: StreamLeanResponse;
  readonly info: RequestInfo;
  private served = false;
  private closed = false;
  /** Handed to the adapter with the compatibility objects, whose response writes the log line then. */
  private handedOver = false;

  constructor(
    private readonly deps: Http2StreamHandlerDeps,
    private readonly stream: http2.ServerHttp2Stream,
    private readonly headers: http2.IncomingHttpHeaders,
    private readonly compat: () => Http2CompatExchange,
    procedure: string,
  ) {
    this.url = headers[':path'] ?? procedure;
    this.body = stream;
    // startRequest reads the request headers and the peer's address, which the stream has too.
    this.info = startRequest({ headers, socket: stream.session?.socket });
    this.res = new StreamLeanResponse(stream, this.info.id);
    stream.once('close', this.onClose);
    // A client that resets the stream must not take the process down (the compatibility request listens too).
    stream.on('error', ignore);
  }

  answered(): void {
    this.served = true;
  }

  fallBack(chunks: readonly Buffer[], ended: boolean): void {
    const { req, res } = this.compat();
    // Closed already: its log line is written. Else the compatibility response's close writes it.
    if (!this.closed) this.handedOver = true;
    this.deps.begin(req, res);
    this.deps.adapter(replayedRequest(req, chunks, ended), res);
  }

  private readonly onClose = (): void => {
    this.closed = true;
    if (this.handedOver) return;
    this.deps.record(this.info, {
      httpVersion: '2.0',
      method: this.headers[':method'],
      target: this.headers[':path'],
      status: statusOf(this.stream),
      rpcPath: this.served ? 'lean' : undefined,
      http2Api: 'core',
    });
  };
}

function ignore(): void {}

/** The status the stream answered with; 200 before it answered, as a compatibility response reports it. */
function statusOf(stream: http2.ServerHttp2Stream): number {
  const status = stream.sentHeaders?.[':status'];
  return status === undefined ? 200 : Number(status);
}
