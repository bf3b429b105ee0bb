import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logging/logger.js';

export interface RequestHandler {
  (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void;
  /**
   * Given every HTTP/2 stream first: serves it straight on the stream and returns true, or returns
   * false without touching it, and the stream gets Node's compatibility request and response and
   * goes to the handler itself, as every stream would otherwise.
   */
  http2Stream?: Http2StreamHandler;
}

/** Node's compatibility request and response of an HTTP/2 stream (what `http2.createServer(handler)` hands a handler). */
export interface Http2CompatExchange {
  req: http2.Http2ServerRequest;
  res: http2.Http2ServerResponse;
}

/**
 * Serves an HTTP/2 stream from the core API (see RequestHandler.http2Stream). `compat` builds the
 * compatibility request and response of the stream, for a handler that starts on the stream and
 * then needs them after all (they must be built before anything is written to the stream).
 */
export type Http2StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, compat: () => Http2CompatExchange) => boolean;

/** The first bytes of every HTTP/2 connection (RFC 9113 §3.4): "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n". */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/**
 * What a client may hold open, and for how long (SPEC §8: connections are bounded). Each is a
 * LATCHKEY_* setting (src/config/config.ts); the defaults are meant to be kept by a public
 * deployment.
 */
export interface ConnectionLimits {
  /** A new connection must send its first bytes, and all of the HTTP/2 preface, within this time. */
  firstBytesTimeoutMs: number;
  /** An HTTP/1.1 request must send its complete headers within this time of its first byte (else 408). */
  headersTimeoutMs: number;
  /** An HTTP/1.1 keep-alive connection between requests, or an HTTP/2 session with no open stream, is closed after this. */
  idleTimeoutMs: number;
  /** A request body that receives no bytes for this long is cut: the HTTP/1.1 connection closed, the HTTP/2 stream reset. */
  bodyTimeoutMs: number;
  /** Connections open at once; one more is closed as soon as it is accepted. */
  maxConnections: number;
}

export const CONNECTION_LIMIT_DEFAULTS: Readonly<ConnectionLimits> = {
  // Every client on a real network sends its request line (or the preface) right after connecting;
  // 10 s leaves room for a slow mobile link and a browser's speculative preconnect (Chromium uses
  // such sockets within 10 s or drops them), while a scan of silent sockets is shed within seconds.
  firstBytesTimeoutMs: 10_000,
  // Request headers are at most 16 KiB (Node's maxHeaderSize); 10 s for them is generous for any
  // client and short enough that a slowloris (headers trickled a byte at a time) holds nothing for long.
  headersTimeoutMs: 10_000,
  // Longer than the 60 s idle timeout of the common load balancers (AWS ALB, nginx's upstream
  // keepalive), so that the proxy, not latchkey, closes an idle pooled connection: a backend that
  // closes first races the proxy's next request on that connection and turns it into a 502.
  idleTimeoutMs: 65_000,
  // The time without a single byte of an unfinished body: a client on even a poor mobile link
  // delivers a packet every few seconds, so 30 s of silence is a stalled or hostile client.
  bodyTimeoutMs: 30_000,
  // An idle connection costs a file descriptor and a few tens of KB (socket buffers, HTTP parser or
  // HTTP/2 session): 10 000 is a few hundred MB at worst, and well under the descriptor limit Node
  // raises itself to at start (the hard limit, 524 288 under systemd and 1 048 576 under Docker), so
  // the store and the log keep the descriptors they need and /healthz answers.
  maxConnections: 10_000,
};

export interface ListenOptions extends Partial<ConnectionLimits> {
  /** Where refusals at the connection level (the ceiling reached) are reported. */
  logger?: Logger;
}

export interface Listener {
  readonly port: number;
  /**
   * Stops accepting connections, lets in-flight requests finish (HTTP/2
   * sessions get a GOAWAY, idle HTTP/1.1 keep-alive sockets are closed), and
   * destroys whatever is still open after `timeoutMs`.
   */
  drain(timeoutMs: number): Promise<void>;
}

/**
 * Node's own bound on receiving a whole HTTP/1.1 request (300 s, its default `requestTimeout`), kept
 * as a backstop behind the body timeout: a body trickled one byte just inside each body timeout
 * would otherwise never end. Node requires it to be at least the headers timeout.
 */
const NODE_REQUEST_TIMEOUT_MS = 300_000;

/**
 * How long a connection that is closed with a request body still arriving stays open after its
 * FIN before it is destroyed (sooner if the client closes first). Closing a socket with unread
 * data makes the kernel send a TCP RST, which can make the client drop the response it has not
 * read yet (RFC 9112 §9.6; Go's net/http waits 500 ms for the same reason, golang/go#3595). The
 * client cannot upload much meanwhile: the refused body is not read, so TCP flow control stops it.
 */
const LINGER_MS = 2_000;

/**
 * Serves HTTP/2 cleartext (gRPC, Connect, gRPC-Web) and HTTP/1.1 (Connect,
 * gRPC-Web, plain routes) on one port. Node 20's `allowHTTP1` only applies to
 * TLS servers, so each new connection is sniffed: a connection that opens with
 * the HTTP/2 preface goes to an http2 server, any other to an http server.
 *
 * Neither of those two servers listens itself, and that matters for timeouts:
 * `http.Server` starts the checks behind `headersTimeout` and `requestTimeout`
 * (and the connection list `closeIdleConnections` uses) in its own 'listening'
 * handler, which never ran, so every connection could stay open for ever. The
 * limits are enforced here instead, one per phase of a connection:
 *   - first bytes: a deadline from accept until the protocol is known;
 *   - HTTP/1.1 headers: Node's own `headersTimeout`, with its checks started (see below);
 *   - idle: Node's `keepAliveTimeout` for HTTP/1.1, a timer per HTTP/2 session that runs
 *     while the session has no open stream (PINGs do not keep a session alive);
 *   - a stalled body: an inactivity timeout on the socket (HTTP/1.1) or the stream (HTTP/2)
 *     while the request body is incomplete;
 *   - the number of connections: `net.Server.maxConnections`.
 * A response sent before its request body has arrived in full (a refusal of an oversized body,
 * say) ends the exchange: `Connection: close` on HTTP/1.1, RST_STREAM(NO_ERROR) on HTTP/2, so
 * the client stops uploading (see ClosingServerResponse and ResettingHttp2ServerResponse).
 */
export async function listen(handler: RequestHandler, port: number, host: string, options: ListenOptions = {}): Promise<Listener> {
  const limits: ConnectionLimits = {
    firstBytesTimeoutMs: options.firstBytesTimeoutMs ?? CONNECTION_LIMIT_DEFAULTS.firstBytesTimeoutMs,
    headersTimeoutMs: options.headersTimeoutMs ?? CONNECTION_LIMIT_DEFAULTS.headersTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs ?? CONNECTION_LIMIT_DEFAULTS.idleTimeoutMs,
    bodyTimeoutMs: options.bodyTimeoutMs ?? CONNECTION_LIMIT_DEFAULTS.bodyTimeoutMs,
    maxConnections: options.maxConnections ?? CONNECTION_LIMIT_DEFAULTS.maxConnections,
  };
  const h1 = http.createServer(
    {
      keepAliveTimeout: limits.idleTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: Math.max(NODE_REQUEST_TIMEOUT_MS, limits.headersTimeoutMs),
      // How often Node looks for connections past headersTimeout (its default, 30 s, would let
      // a 10 s limit run to 40 s). The check walks a list kept in C++; once a second is cheap.
      connectionsCheckingInterval: Math.max(25, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
      ServerResponse: ClosingServerResponse,
    },
    handler,
  );
  // http.Server starts its connection tracking (the headersTimeout / requestTimeout checks, and the
  // list behind closeIdleConnections) when it hears 'listening' (lib/_http_server.js,
  // setupConnectionsTracking). This server is handed its sockets and never listens, so it is told.
  h1.emit('listening');
  // No request handler is given to the http2 server (nor a 'request' listener added, which would
  // make Node build the compatibility objects of every stream): each stream is dispatched below.
  const h2 = http2.createServer();

  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  let inFlight = 0;
  let onIdle: (() => void) | undefined;
  // An exchange is in flight until its response (HTTP/1.1) or its stream (HTTP/2) closes; an
  // HTTP/2 compatibility response closes with its stream.
  const track = (exchange: { once(event: 'close', listener: () => void): unknown }) => {
    inFlight++;
    exchange.once('close', () => {
      inFlight--;
      if (inFlight === 0) onIdle?.();
    });
  };
  h1.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    track(res);
    guardHttp1Body(req, res, limits.bodyTimeoutMs);
  });
  h2.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
    track(stream);
    const compat = (): Http2CompatExchange => {
      // As Node's onServerStream (lib/internal/http2/compat.js) builds them: the request first (the response reads it from the stream).
      const req = new http2.Http2ServerRequest(stream, headers, undefined as never, rawHeaders);
      return { req, res: new ResettingHttp2ServerResponse(stream) };
    };
    if (handler.http2Stream?.(stream, headers, compat)) {
      guardHttp2Body(stream, stream, limits.bodyTimeoutMs);
      return;
    }
    const { req, res } = compat();
    guardHttp2Body(stream, req, limits.bodyTimeoutMs);
    dispatchCompat(handler, req, res, headers);
  });
  h2.on('session', (session) => {
    sessions.add(session);
    closeWhenIdle(session, limits.idleTimeoutMs);
    session.once('close', () => sessions.delete(session));
  });
  // Requests the HTTP/1.1 parser refuses get their status and a JSON body, then the connection closes.
  h1.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => refuseRequest(err, socket as net.Socket, limits));
  // A client that sends garbage must not take the process down.
  h2.on('sessionError', () => undefined);

  let dropped = 0;
  let dropReported = 0;
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // A connection that sends nothing, or only part of the HTTP/2 preface, is dropped at the
    // deadline: it is not a request yet, so there is no one to answer.
    const deadline = setTimeout(() => socket.destroy(), limits.firstBytesTimeoutMs);
    deadline.unref();
    socket.once('close', () => clearTimeout(deadline));
    let seen: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, HTTP2_PREFACE.length);
      const isH2 = seen.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
      if (isH2 && seen.length < HTTP2_PREFACE.length) return; // need more bytes to decide
      clearTimeout(deadline);
      socket.off('data', onData);
      socket.pause();
      socket.unshift(seen);
      if (isH2) {
        // http2 replays `socket.readableLength` on the next tick
        // (nodejs/node#35475); resuming now would flush the bytes to no listener.
        h2.emit('connection', socket);
      } else {
        // http attaches a 'data' listener, so flowing mode delivers the bytes to it.
        h1.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
  });
  // Past the ceiling Node closes each new connection as it is accepted ('drop').
  tcp.maxConnections = limits.maxConnections;
  tcp.on('drop', () => {
    dropped++;
    const now = Date.now();
    if (now - dropReported < 10_000) return;
    dropReported = now;
    options.logger?.warn(
      { dropped, maxConnections: limits.maxConnections },
      'refusing connections: the ceiling of open connections (LATCHKEY_MAX_CONNECTIONS) is reached',
    );
  });

  const bind = (address: string) =>
    new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, address, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
  try {
    await bind(host);
  } catch (err) {
    // `::` (the default) is every address, IPv6 and IPv4 alike (a dual-stack socket); on a host
    // without IPv6 it cannot bind, and every IPv4 address is what "every address" means there.
    if (host !== '::' || (err as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT') throw err;
    await bind('0.0.0.0');
  }
  const address = tcp.address() as net.AddressInfo;

  return {
    port: address.port,
    async drain(timeoutMs) {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      for (const session of sessions) session.close(); // GOAWAY: finish open streams, accept no new ones
      h1.closeIdleConnections();
      // Keep-alive sockets that finish a request after this point must not linger.
      h1.on('request', (_req, res) => res.setHeader('connection', 'close'));
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          timer.unref();
          onIdle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      h1.close(); // stops its connection checks; it holds no socket of its own
      // HTTP/2 sessions got GOAWAY above and close themselves once their streams are done: let
      // them flush their last frames (a gRPC call's trailers) rather than cutting the socket
      // under them, for at most a second.
      const closing = [...sessions].filter((s) => !s.destroyed);
      if (closing.length > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1_000);
          timer.unref();
          let open = closing.length;
          for (const session of closing) {
            session.once('close', () => {
              if (--open === 0) {
                clearTimeout(timer);
                resolve();
              }
            });
          }
        });
      }
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Whether an HTTP/1.1 request announces a body (RFC 9112 §6.3: Transfer-Encoding, or a non-zero Content-Length). */
function announcesBody(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * While an HTTP/1.1 request body is arriving, the socket times out after `bodyTimeoutMs` without
 * a byte (the parser refreshes the socket's timer for every chunk it reads); Node then destroys the
 * socket, as nothing else listens for its 'timeout'. Once the body has been read the timer is
 * removed again (unless the response already finished, and Node has set its keep-alive timer).
 */
function guardHttp1Body(req: http.IncomingMessage, res: http.ServerResponse, bodyTimeoutMs: number): void {
  if (req.complete || !announcesBody(req)) return;
  const socket = req.socket;
  socket.setTimeout(bodyTimeoutMs);
  req.once('end', () => {
    if (!res.writableFinished && !socket.destroyed) socket.setTimeout(0);
  });
}

/** Whether the client has sent the whole request body of this HTTP/2 stream (END_STREAM). */
function http2BodyReceived(stream: http2.ServerHttp2Stream): boolean {
  return stream.destroyed || stream.closed || stream.endAfterHeaders || stream.readableEnded || stream.state.remoteClose === 1;
}

/**
 * While an HTTP/2 request body is arriving, the stream times out after `bodyTimeoutMs` without a
 * frame on it, and is then reset with CANCEL (the session and its other streams carry on).
 * `body` is what the body is read from (the compatibility request, or the stream itself): the
 * timer goes when it ends.
 */
function guardHttp2Body(stream: http2.ServerHttp2Stream, body: NodeJS.EventEmitter, bodyTimeoutMs: number): void {
  if (http2BodyReceived(stream)) return;
  stream.setTimeout(bodyTimeoutMs, () => {
    if (!http2BodyReceived(stream)) stream.close(http2.constants.NGHTTP2_CANCEL);
    else stream.setTimeout(0);
  });
  body.once('end', () => stream.setTimeout(0));
}

/**
 * Hands a stream's compatibility request and response to the handler as Node's own onServerStream
 * (lib/internal/http2/compat.js, Node 20) does for a server with no 'connect', 'checkContinue' or
 * 'checkExpectation' listener: CONNECT is refused with 405, `Expect: 100-continue` gets its 100
 * first, any other expectation is refused with 417.
 */
function dispatchCompat(handler: RequestHandler, req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, headers: http2.IncomingHttpHeaders): void {
  if (headers[':method'] === 'CONNECT') {
    res.statusCode = http2.constants.HTTP_STATUS_METHOD_NOT_ALLOWED;
    res.end();
    return;
  }
  const expect = headers.expect;
  if (expect !== undefined) {
    if (expect !== '100-continue') {
      res.statusCode = http2.constants.HTTP_STATUS_EXPECTATION_FAILED;
      res.end();
      return;
    }
    res.writeContinue();
  }
  handler(req, res);
}

/**
 * Closes an HTTP/2 session (GOAWAY, then the socket) once it has had no open stream for
 * `idleTimeoutMs`. The timer runs from the session's start and from the close of its last stream;
 * when it fires while streams are open it does nothing, and the last of them re-arms it.
 */
function closeWhenIdle(session: http2.ServerHttp2Session, idleTimeoutMs: number): void {
  let open = 0;
  const timer = setTimeout(() => {
    if (open === 0 && !session.closed && !session.destroyed) session.close();
  }, idleTimeoutMs);
  timer.unref();
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    open++;
    stream.once('close', () => {
      open--;
      if (open === 0) timer.refresh();
    });
  });
  session.once('close', () => clearTimeout(timer));
}

/**
 * Ends a connection after what has been written: FIN now, and the socket destroyed when the client
 * closes too or after LINGER_MS, so that a RST for unread bytes cannot overtake the response.
 */
function lingeringClose(socket: net.Socket): void {
  if (socket.destroyed) return;
  socket.end();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * The HTTP/1.1 response: when it starts before the request body has arrived in full (a refusal
 * of an oversized body, or any answer that did not need the body), it carries `Connection: close`
 * and the connection closes after it, with a lingering close, instead of Node reading and
 * discarding the rest of a body that may be gigabytes long to keep the connection alive.
 */
class ClosingServerResponse<Request extends http.IncomingMessage = http.IncomingMessage> extends http.ServerResponse<Request> {
  // Node's implicit headers (write/end without writeHead) come through writeHead as well.
  override writeHead(statusCode: number, ...rest: unknown[]): this {
    if (!this.headersSent && !this.req.complete && announcesBody(this.req)) {
      this.shouldKeepAlive = false; // Node writes `Connection: close` and calls socket.destroySoon() after the response
      const socket = this.socket as net.Socket | null;
      if (socket) socket.destroySoon = () => lingeringClose(socket);
    }
    return (super.writeHead as (statusCode: number, ...rest: unknown[]) => this)(statusCode, ...rest);
  }
}

/**
 * The HTTP/2 response: when it ends before the request body has arrived in full, the stream is
 * reset with NO_ERROR once the response is out, trailers included (RFC 9113 §8.1: "a server MAY
 * request that the client abort transmission of a request without error by sending a RST_STREAM
 * with an error code of NO_ERROR after sending a complete response"). Without it the stream stays
 * half-open, the client blocked on flow control, until the body timeout.
 */
class ResettingHttp2ServerResponse extends http2.Http2ServerResponse {
  override end(...args: unknown[]): this {
    const stream = this.stream;
    // Node's compatibility layer sends trailers after the body (waitForTrailers), except when
    // end() without data is what writes the headers: then the headers end the stream.
    const first = args[0];
    const trailersFollow = this.headersSent || (first !== undefined && first !== null && typeof first !== 'function');
    (super.end as (...a: unknown[]) => this)(...args);
    if (http2BodyReceived(stream)) return this;
    const reset = () => {
      if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    };
    // The compatibility layer's own 'wantTrailers' listener runs first and queues the trailers
    // with setImmediate; resetting after them keeps RST_STREAM behind the trailers (gRPC's status).
    if (trailersFollow && stream.sentTrailers === undefined) stream.once('wantTrailers', () => setImmediate(reset));
    else setImmediate(reset);
    return this;
  }
}

/** The status and JSON body of a request Node's HTTP/1.1 parser refused, by error code. */
function refusalOf(err: NodeJS.ErrnoException & { reason?: string }, socket: net.Socket, limits: ConnectionLimits) {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'RESOURCE_EXHAUSTED', reason: 'HEADERS_TOO_LARGE', message: `the request headers are larger than ${http.maxHeaderSize} bytes` };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'RESOURCE_EXHAUSTED', reason: 'CHUNK_EXTENSIONS_TOO_LARGE', message: 'the chunk extensions of the request body are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      // A request that has reached a handler timed out as a whole (Node's requestTimeout); any other, in its headers.
      return (socket as { _httpMessage?: unknown })._httpMessage
        ? { status: 408, code: 'DEADLINE_EXCEEDED', reason: 'REQUEST_TIMEOUT', message: `the request did not arrive in full within ${Math.max(NODE_REQUEST_TIMEOUT_MS, limits.headersTimeoutMs)} ms` }
        : { status: 408, code: 'DEADLINE_EXCEEDED', reason: 'HEADERS_TIMEOUT', message: `the request headers did not arrive within ${limits.headersTimeoutMs} ms` };
    default:
      // llhttp's errors (HPE_*) describe what is wrong with the bytes the client sent, e.g.
      // "Invalid header value char" or "Content-Length can't be present with Transfer-Encoding".
      if (err.code?.startsWith('HPE_')) {
        return { status: 400, code: 'INVALID_ARGUMENT', reason: 'MALFORMED_REQUEST', message: `the request is not valid HTTP/1.1: ${err.reason ?? err.code}` };
      }
      return undefined; // a socket error (ECONNRESET, …): there is no one left to answer
  }
}

/**
 * Answers a request Node's HTTP/1.1 parser refused (oversized headers, invalid characters,
 * Content-Length with Transfer-Encoding, a headers timeout, …) with its status and a small JSON
 * body, then closes the connection: after a parse error the rest of the stream cannot be framed.
 */
function refuseRequest(err: NodeJS.ErrnoException, socket: net.Socket, limits: ConnectionLimits): void {
  const refusal = refusalOf(err, socket, limits);
  const pending = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!refusal || !socket.writable || pending?.headersSent) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ code: refusal.code, reason: refusal.reason, message: refusal.message });
  socket.write(
    `HTTP/1.1 ${refusal.status} ${http.STATUS_CODES[refusal.status]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
  lingeringClose(socket);
}
