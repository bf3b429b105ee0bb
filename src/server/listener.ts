import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';

export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** The first bytes of every HTTP/2 connection (RFC 9113 §3.4): "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n". */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

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
 * Serves HTTP/2 cleartext (gRPC, Connect, gRPC-Web) and HTTP/1.1 (Connect,
 * gRPC-Web, plain routes) on one port. Node 20's `allowHTTP1` only applies to
 * TLS servers, so each new connection is sniffed: a connection that opens with
 * the HTTP/2 preface goes to an http2 server, any other to an http server.
 */
export async function listen(handler: RequestHandler, port: number, host: string): Promise<Listener> {
  const h1 = http.createServer({ keepAliveTimeout: 5_000 }, handler);
  const h2 = http2.createServer({}, handler);

  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  let inFlight = 0;
  let onIdle: (() => void) | undefined;
  const track = (_req: unknown, res: http.ServerResponse | http2.Http2ServerResponse) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) onIdle?.();
    });
  };
  h1.on('request', track);
  h2.on('request', track);
  h2.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  // A client that sends garbage must not take the process down.
  h1.on('clientError', (_err, socket) => socket.destroy());
  h2.on('sessionError', () => undefined);

  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, HTTP2_PREFACE.length);
      const isH2 = seen.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
      if (isH2 && seen.length < HTTP2_PREFACE.length) return; // need more bytes to decide
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

  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, host, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
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
      h1.closeIdleConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
