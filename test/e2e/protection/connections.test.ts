import * as http2 from 'node:http2';
import { openRaw, parseResponse, sleep, type RawConnection } from '../../support/raw-http.js';
import { startTestServer, type TestServer } from '../../support/server.js';

/**
 * Connection limits (SPEC §8), through the real listener. The limits are set well under a second
 * and every wait is several times longer: a connection a limit misses stays open for ever, so no
 * assertion here depends on how fast the machine is.
 */
const LIMITS = { firstBytesTimeoutMs: '400', headersTimeoutMs: '400', idleTimeoutMs: '1000', bodyTimeoutMs: '400' };
const WITHIN = 5_000;

/** A Connect server-streaming call to Health.Watch: one enveloped `{}`. */
const WATCH_BODY = Buffer.concat([Buffer.from([0, 0, 0, 0, 2]), Buffer.from('{}')]);

function h2connect(server: TestServer): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(server.baseUrl);
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

/** Resolves with the GOAWAY code once the session is closed by the server, or 'open' after `withinMs`. */
function sessionClosed(session: http2.ClientHttp2Session, withinMs: number): Promise<{ goaway: number | undefined } | 'open'> {
  return new Promise((resolve) => {
    let goaway: number | undefined;
    session.on('goaway', (code: number) => (goaway = code));
    session.on('error', () => undefined);
    const timer = setTimeout(() => {
      resolve('open');
      session.destroy();
    }, withinMs);
    session.once('close', () => {
      clearTimeout(timer);
      resolve({ goaway });
    });
  });
}

async function healthzOverHttp2(session: http2.ClientHttp2Session): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': '/healthz' });
    req.on('response', (headers) => resolve(Number(headers[':status'])));
    req.on('error', reject);
    req.resume();
  });
}

describe('connection limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(LIMITS);
  });
  afterAll(async () => {
    await server.close();
  });

  it('closes a connection that sends nothing', async () => {
    const conn = await openRaw(server.port);
    expect(await conn.closed(WITHIN)).toBe(true);
    expect(conn.received()).toBe('');
  });

  it('closes a connection that sends only part of the HTTP/2 preface', async () => {
    const conn = await openRaw(server.port);
    conn.send('PRI * HTTP/2.0\r\n');
    expect(await conn.closed(WITHIN)).toBe(true);
    expect(conn.received()).toBe('');
  });

  it('answers a slowloris (headers trickled a byte at a time, on many connections) with 408 and closes each connection', async () => {
    const request = `GET /healthz HTTP/1.1\r\nHost: latchkey\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`;
    const conns: RawConnection[] = await Promise.all(Array.from({ length: 20 }, () => openRaw(server.port)));
    let stop = false;
    const trickle = (async () => {
      for (let i = 0; i < request.length && !stop; i++) {
        for (const conn of conns) conn.send(request[i]!);
        await sleep(50);
      }
    })();
    const closed = await Promise.all(conns.map((c) => c.closed(WITHIN)));
    stop = true;
    await trickle;
    expect(closed).toEqual(conns.map(() => true));
    for (const conn of conns) {
      const body = JSON.stringify({ code: 'DEADLINE_EXCEEDED', reason: 'HEADERS_TIMEOUT', message: 'the request headers did not arrive within 400 ms' });
      expect(parseResponse(conn.received())).toEqual({
        status: 408,
        headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length), connection: 'close' },
        body,
      });
    }
  });

  it('answers a request whose headers arrive in time, then closes the idle keep-alive connection', async () => {
    const conn = await openRaw(server.port);
    conn.send('GET /healthz HTTP/1.1\r\nHost: latchkey\r\n\r\n');
    expect(await conn.closed(WITHIN)).toBe(true);
    const res = parseResponse(conn.received());
    expect(res?.status).toBe(200);
    expect(res?.headers['keep-alive']).toBe('timeout=1');
    expect(res?.body).toBe('{"status":"SERVING"}');
  });

  it('closes an HTTP/1.1 connection whose request body stalls, without an answer', async () => {
    const conn = await openRaw(server.port);
    conn.send('POST /v1/flags:resolve HTTP/1.1\r\nHost: latchkey\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"flags":');
    expect(await conn.closed(WITHIN)).toBe(true);
    expect(conn.received()).toBe('');
  });

  it('closes an HTTP/1.1 connection whose RPC body stalls', async () => {
    const conn = await openRaw(server.port);
    conn.send('POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: latchkey\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"serv');
    expect(await conn.closed(WITHIN)).toBe(true);
    expect(conn.received()).toBe('');
  });

  it('keeps an HTTP/1.1 streaming response open past the body and idle timeouts once its request has arrived', async () => {
    const conn = await openRaw(server.port);
    conn.send(`POST /grpc.health.v1.Health/Watch HTTP/1.1\r\nHost: latchkey\r\nContent-Type: application/connect+json\r\nContent-Length: ${WATCH_BODY.length}\r\n\r\n`);
    conn.send(WATCH_BODY);
    expect(await conn.closed(2_500)).toBe(false); // closed() destroys it after the wait
    expect(parseResponse(conn.received())?.status).toBe(200);
    expect(conn.received()).toContain('{"status":"SERVING"}');
  });

  it('closes an HTTP/2 session without open streams with GOAWAY NO_ERROR', async () => {
    const used = await h2connect(server);
    expect(await healthzOverHttp2(used)).toBe(200);
    const unused = await h2connect(server);
    const [a, b] = await Promise.all([sessionClosed(used, WITHIN), sessionClosed(unused, WITHIN)]);
    expect(a).toEqual({ goaway: http2.constants.NGHTTP2_NO_ERROR });
    expect(b).toEqual({ goaway: http2.constants.NGHTTP2_NO_ERROR });
  });

  it('keeps an HTTP/2 session with an open stream (Health.Watch) past the idle timeout, and closes it once the stream ends', async () => {
    const session = await h2connect(server);
    const goaways: number[] = [];
    session.on('goaway', (code: number) => goaways.push(code));
    const watch = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Watch', 'content-type': 'application/connect+json' });
    watch.end(WATCH_BODY);
    const first = await new Promise<string>((resolve) => watch.once('data', (chunk: Buffer) => resolve(chunk.subarray(5).toString())));
    expect(first).toBe('{"status":"SERVING"}');
    await sleep(2_500);
    expect(goaways).toEqual([]);
    expect(watch.closed).toBe(false);
    watch.close(http2.constants.NGHTTP2_CANCEL);
    expect(await sessionClosed(session, WITHIN)).toEqual({ goaway: http2.constants.NGHTTP2_NO_ERROR });
  });

  it('resets an HTTP/2 stream whose request body stalls with CANCEL, and keeps serving the session', async () => {
    const session = await h2connect(server);
    const stalled = session.request({ ':method': 'POST', ':path': '/v1/flags:resolve', 'content-type': 'application/json' });
    stalled.on('error', () => undefined);
    stalled.write('{"flags":');
    const rstCode = await new Promise<number | 'open'>((resolve) => {
      const timer = setTimeout(() => resolve('open'), WITHIN);
      stalled.once('close', () => {
        clearTimeout(timer);
        resolve(stalled.rstCode);
      });
    });
    expect(rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    expect(await healthzOverHttp2(session)).toBe(200);
    session.destroy();
  });
});

describe('the ceiling on open connections', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ maxConnections: '4', firstBytesTimeoutMs: '1500' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('closes connections over the ceiling at once, and serves again when silent ones are shed', async () => {
    const silent = await Promise.all(Array.from({ length: 4 }, () => openRaw(server.port)));
    await sleep(200); // the server has accepted them
    const over = await openRaw(server.port);
    over.send('GET /healthz HTTP/1.1\r\nHost: latchkey\r\n\r\n');
    // Closed on accept, long before the first-bytes deadline of the four.
    expect(await over.closed(WITHIN)).toBe(true);
    expect(over.received()).toBe('');
    expect(silent.map((c) => c.socket.destroyed)).toEqual([false, false, false, false]);
    expect(await Promise.all(silent.map((c) => c.closed(WITHIN)))).toEqual([true, true, true, true]);

    const res = await fetch(`${server.baseUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'SERVING' });
    const warnings = server.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg?.toString().startsWith('refusing connections'));
    expect(warnings).toEqual([
      expect.objectContaining({ dropped: 1, maxConnections: 4, msg: 'refusing connections: the ceiling of open connections (LATCHKEY_MAX_CONNECTIONS) is reached' }),
    ]);
  });
});
