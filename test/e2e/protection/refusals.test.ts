import * as http2 from 'node:http2';
import { openRaw, parseResponse, sleep } from '../../support/raw-http.js';
import { startTestServer, type TestServer } from '../../support/server.js';

/**
 * What the HTTP layer refuses (SPEC §8): the client gets its status and a JSON body before the
 * connection closes, and an answer sent before the request body has arrived ends the exchange so
 * the client stops uploading.
 */
const WITHIN = 5_000;

const json = (body: unknown) => {
  const text = JSON.stringify(body);
  return { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), connection: 'close', text };
};

/** Sends `request` on a new connection; the answer, and whether the server closed the connection. */
async function exchange(server: TestServer, request: string) {
  const conn = await openRaw(server.port);
  conn.send(request);
  const closed = await conn.closed(WITHIN);
  return { closed, response: parseResponse(conn.received()), raw: conn.received() };
}

/** Writes `chunk` as fast as the server takes it, until the connection ends or `maxBytes` are written; the bytes written. */
async function uploadUntilClosed(conn: Awaited<ReturnType<typeof openRaw>>, chunk: Buffer, maxBytes: number) {
  const { socket } = conn;
  let sent = 0;
  while (socket.writable && sent < maxBytes) {
    sent += chunk.length;
    if (!socket.write(chunk)) {
      // A server that stops reading without closing leaves the upload stuck here: give up after WITHIN.
      const moved = await new Promise<boolean>((resolve) => {
        const done = (value: boolean) => {
          clearTimeout(timer);
          for (const event of ['drain', 'close', 'end']) socket.off(event, onEvent);
          resolve(value);
        };
        const onEvent = () => done(true);
        const timer = setTimeout(() => done(false), WITHIN);
        for (const event of ['drain', 'close', 'end']) socket.once(event, onEvent);
      });
      if (!moved) break;
    }
  }
  return sent;
}

describe('requests the HTTP/1.1 parser refuses', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers headers over 16 KB with 431 and a JSON body, then closes the connection', async () => {
    const { closed, response } = await exchange(server, `GET /healthz HTTP/1.1\r\nHost: latchkey\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`);
    const body = json({ code: 'RESOURCE_EXHAUSTED', reason: 'HEADERS_TOO_LARGE', message: 'the request headers are larger than 16384 bytes' });
    expect(closed).toBe(true);
    expect(response).toEqual({
      status: 431,
      headers: { 'content-type': body['content-type'], 'content-length': body['content-length'], connection: 'close' },
      body: body.text,
    });
  });

  it('answers a control character in a header with 400 and a JSON body, then closes the connection', async () => {
    const { closed, response } = await exchange(server, 'GET /healthz HTTP/1.1\r\nHost: latchkey\r\nX-Bad: a\x01b\r\n\r\n');
    const body = json({ code: 'INVALID_ARGUMENT', reason: 'MALFORMED_REQUEST', message: 'the request is not valid HTTP/1.1: Invalid header value char' });
    expect(closed).toBe(true);
    expect(response).toEqual({
      status: 400,
      headers: { 'content-type': body['content-type'], 'content-length': body['content-length'], connection: 'close' },
      body: body.text,
    });
  });

  it('answers Content-Length together with Transfer-Encoding with 400 and a JSON body, then closes the connection', async () => {
    const { closed, response } = await exchange(
      server,
      'POST /v1/flags:resolve HTTP/1.1\r\nHost: latchkey\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    );
    const body = json({
      code: 'INVALID_ARGUMENT',
      reason: 'MALFORMED_REQUEST',
      message: "the request is not valid HTTP/1.1: Transfer-Encoding can't be present with Content-Length",
    });
    expect(closed).toBe(true);
    expect(response).toEqual({
      status: 400,
      headers: { 'content-type': body['content-type'], 'content-length': body['content-length'], connection: 'close' },
      body: body.text,
    });
  });
});

describe('oversized request bodies', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  const tooLarge = JSON.stringify({ code: 'RESOURCE_EXHAUSTED', reason: 'BODY_TOO_LARGE', message: 'request body is larger than 1048576 bytes' });

  it('refuses a plain-route body whose Content-Length is over the limit with 413 before reading it, and closes the connection', async () => {
    // Only the headers are sent: the answer cannot wait for the body.
    const { closed, response } = await exchange(
      server,
      'POST /v1/flags:resolve HTTP/1.1\r\nHost: latchkey\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n',
    );
    expect(closed).toBe(true);
    expect(response?.status).toBe(413);
    expect(response?.headers.connection).toBe('close');
    expect(response?.body).toBe(tooLarge);
  });

  it('refuses a chunked plain-route body over the limit with 413, and closes the connection while the client is still uploading', async () => {
    const conn = await openRaw(server.port);
    conn.send('POST /v1/flags:resolve HTTP/1.1\r\nHost: latchkey\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = Buffer.from(`10000\r\n${' '.repeat(0x10000)}\r\n`);
    // 64 times the limit: a server that reads and discards the rest to keep the connection takes it all.
    const sent = await uploadUntilClosed(conn, chunk, 64 * 1024 * 1024);
    expect(await conn.closed(WITHIN)).toBe(true);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    const response = parseResponse(conn.received());
    expect(response?.status).toBe(413);
    expect(response?.headers.connection).toBe('close');
    expect(response?.body).toBe(tooLarge);
  });

  it('refuses an OAuth token request over its 16 KB limit with 413 before reading it, and closes the connection', async () => {
    const { closed, response } = await exchange(
      server,
      'POST /v1/oauth/token HTTP/1.1\r\nHost: latchkey\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 20000\r\n\r\n',
    );
    expect(closed).toBe(true);
    expect(response?.status).toBe(413);
    expect(response?.headers.connection).toBe('close');
    expect(JSON.parse(response!.body)).toEqual({ error: 'invalid_request', error_description: 'request body is larger than 16384 bytes' });
  });

  it('keeps the connection of a request whose body was read in full', async () => {
    const conn = await openRaw(server.port);
    const body = '{"flags":[]}';
    conn.send(`POST /v1/flags:resolve HTTP/1.1\r\nHost: latchkey\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    expect(await conn.closed(1_000)).toBe(false);
    const response = parseResponse(conn.received());
    expect(response?.status).toBe(401);
    expect(response?.headers.connection).toBe('keep-alive');
  });

  it('refuses an oversized Connect message with RESOURCE_EXHAUSTED before reading it, and closes the connection', async () => {
    const { closed, response } = await exchange(
      server,
      'POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: latchkey\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n',
    );
    expect(closed).toBe(true);
    // Connect maps RESOURCE_EXHAUSTED to HTTP 429; the code in the body is what a Connect client reads.
    expect(response?.status).toBe(429);
    expect(response?.headers.connection).toBe('close');
    expect(JSON.parse(response!.body)).toEqual({ code: 'resource_exhausted', message: 'message size 5000000 is larger than configured readMaxBytes 4194304' });
  });

  it('refuses an oversized plain-route body on HTTP/2 with 413 and resets the stream with NO_ERROR while the client is still uploading', async () => {
    const session = http2.connect(server.baseUrl);
    session.on('error', () => undefined);
    const req = session.request({ ':method': 'POST', ':path': '/v1/flags:resolve', 'content-type': 'application/json' });
    req.on('error', () => undefined);
    let status: number | undefined;
    let body = '';
    req.on('response', (headers) => (status = Number(headers[':status'])));
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    const closed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), WITHIN);
      req.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    req.write(Buffer.alloc(1_500_000, 0x20)); // over the limit, and the stream is never ended
    expect(await closed).toBe(true);
    expect(req.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(status).toBe(413);
    expect(body).toBe(tooLarge);
    session.destroy();
  });

  it('refuses an oversized gRPC message with RESOURCE_EXHAUSTED in the trailers, then resets the stream with NO_ERROR', async () => {
    const session = http2.connect(server.baseUrl);
    session.on('error', () => undefined);
    const req = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    let trailers: http2.IncomingHttpHeaders | undefined;
    req.on('trailers', (t) => (trailers = t));
    req.resume();
    const closed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), WITHIN);
      req.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    // An envelope announcing a 5 MB message, and only the start of it.
    const header = Buffer.alloc(5);
    header.writeUInt32BE(5_000_000, 1);
    req.write(Buffer.concat([header, Buffer.alloc(1000)]));
    expect(await closed).toBe(true);
    expect(req.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(trailers?.['grpc-status']).toBe('8');
    expect(decodeURIComponent(String(trailers?.['grpc-message']))).toBe('message size 5000000 is larger than configured readMaxBytes 4194304');
    session.destroy();
  });

  it('still serves the HTTP/2 session after resetting a stream', async () => {
    const session = http2.connect(server.baseUrl);
    session.on('error', () => undefined);
    const big = session.request({ ':method': 'POST', ':path': '/v1/flags:resolve', 'content-type': 'application/json', 'content-length': '2000000' });
    big.on('error', () => undefined);
    big.resume();
    const reset = await Promise.race([new Promise<number>((r) => big.once('close', () => r(big.rstCode))), sleep(WITHIN).then(() => 'open')]);
    expect(reset).toBe(http2.constants.NGHTTP2_NO_ERROR);
    const status = await new Promise<number>((resolve) => {
      const req = session.request({ ':path': '/healthz' });
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.resume();
    });
    expect(status).toBe(200);
    session.destroy();
  });
});
