import * as grpc from '@grpc/grpc-js';
import { fromBinary } from '@bufbuild/protobuf';
import { base64Decode } from '@bufbuild/protobuf/wire';
import { ErrorInfoSchema } from '../../../gen/google/rpc/error_details_pb.js';
import { StatusSchema } from '../../../gen/google/rpc/status_pb.js';
import { startTestServer, type TestServer } from '../../support/server.js';

/**
 * A request message that does not parse is INVALID_ARGUMENT with ErrorInfo reason
 * MALFORMED_MESSAGE on every protocol, never INTERNAL (SPEC §3, §8), and is counted as such.
 */
const CHECK = '/grpc.health.v1.Health/Check';
/** Field 1 with wire type 7, which does not exist. */
const MALFORMED = Buffer.from([0x0f]);
const BINARY_MESSAGE = 'cannot decode message grpc.health.v1.HealthCheckRequest from binary: illegal tag: field no 1 wire type 7';
const MALFORMED_INFO = { reason: 'MALFORMED_MESSAGE', domain: 'latchkey' };

const envelope = (data: Buffer) => {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(data.length, 1);
  return Buffer.concat([header, data]);
};

/** The code, message and ErrorInfo of a google.rpc.Status (grpc-status-details-bin). */
function statusOf(details: Uint8Array) {
  const status = fromBinary(StatusSchema, details);
  const info = status.details.filter((a) => a.typeUrl.endsWith('/google.rpc.ErrorInfo')).map((a) => fromBinary(ErrorInfoSchema, a.value));
  return { code: status.code, message: status.message, errorInfo: info.map((i) => ({ reason: i.reason, domain: i.domain })) };
}

type Call = 'unary' | 'serverStream' | 'bidiStream';

/** Sends raw bytes as the request message with @grpc/grpc-js; the error it gets back. */
function grpcRaw(server: TestServer, path: string, bytes: Buffer, kind: Call = 'unary') {
  const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  const identity = (b: Buffer) => b;
  return new Promise<{ code: number; status: ReturnType<typeof statusOf> | undefined }>((resolve, reject) => {
    const done = (err: grpc.ServiceError | null) => {
      client.close();
      if (!err) return reject(new Error('expected the call to be refused'));
      const details = err.metadata.get('grpc-status-details-bin')[0];
      resolve({ code: err.code, status: details ? statusOf(details as Buffer) : undefined });
    };
    if (kind === 'unary') {
      client.makeUnaryRequest(path, identity, identity, bytes, (err) => done(err));
    } else if (kind === 'serverStream') {
      const call = client.makeServerStreamRequest(path, identity, identity, bytes);
      call.on('data', () => undefined);
      call.on('error', (err: grpc.ServiceError) => done(err));
    } else {
      const call = client.makeBidiStreamRequest(path, identity, identity);
      call.on('data', () => undefined);
      call.on('error', (err: grpc.ServiceError) => done(err));
      call.write(bytes);
      call.end();
    }
  });
}

/** A gRPC-Web call over HTTP/1.1 with fetch: HTTP status and the fields of its trailer frame. */
async function grpcWebRaw(server: TestServer, bytes: Buffer) {
  const res = await fetch(`${server.baseUrl}${CHECK}`, {
    method: 'POST',
    headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' },
    body: envelope(bytes),
  });
  const body = Buffer.from(await res.arrayBuffer());
  // Frames: flags (1 byte), length (4 bytes), data; the trailer frame has flag 0x80.
  const trailers: Record<string, string> = {};
  for (let at = 0; at < body.length; ) {
    const flags = body[at]!;
    const length = body.readUInt32BE(at + 1);
    const data = body.subarray(at + 5, at + 5 + length);
    if (flags & 0x80) {
      for (const line of data.toString('latin1').split('\r\n').filter((l) => l.length > 0)) {
        const colon = line.indexOf(':');
        trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
    }
    at += 5 + length;
  }
  return { status: res.status, trailers };
}

/** A Connect unary call with fetch: HTTP status and the JSON error body. */
async function connectRaw(server: TestServer, contentType: string, body: Buffer | string) {
  const res = await fetch(`${server.baseUrl}${CHECK}`, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  return { status: res.status, body: (await res.json()) as { code: string; message: string; details: { type: string; value: string; debug?: unknown }[] } };
}

const errorInfoOfConnect = (details: { type: string; value: string }[]) =>
  details.filter((d) => d.type === 'google.rpc.ErrorInfo').map((d) => {
    const info = fromBinary(ErrorInfoSchema, base64Decode(d.value));
    return { reason: info.reason, domain: info.domain };
  });

describe('malformed request messages', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('refuses raw bytes over gRPC (grpc-js) with INVALID_ARGUMENT and ErrorInfo MALFORMED_MESSAGE, every time', async () => {
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => grpcRaw(server, CHECK, MALFORMED)));
    const expected = { code: grpc.status.INVALID_ARGUMENT, status: { code: grpc.status.INVALID_ARGUMENT, message: BINARY_MESSAGE, errorInfo: [MALFORMED_INFO] } };
    expect(outcomes).toEqual(outcomes.map(() => expected));
  });

  it('refuses a truncated message over gRPC the same way', async () => {
    // Field 1 (service, a string) announcing 10 bytes and carrying 2.
    const outcome = await grpcRaw(server, CHECK, Buffer.from([0x0a, 0x0a, 0x61, 0x62]));
    expect(outcome).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      status: { code: grpc.status.INVALID_ARGUMENT, message: 'cannot decode message grpc.health.v1.HealthCheckRequest from binary: premature EOF', errorInfo: [MALFORMED_INFO] },
    });
  });

  it('refuses a malformed request of a server-streaming RPC (Health.Watch) over gRPC', async () => {
    const outcome = await grpcRaw(server, '/grpc.health.v1.Health/Watch', MALFORMED, 'serverStream');
    expect(outcome).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      status: { code: grpc.status.INVALID_ARGUMENT, message: BINARY_MESSAGE, errorInfo: [MALFORMED_INFO] },
    });
  });

  it('refuses a malformed request of a bidi-streaming RPC (server reflection) over gRPC', async () => {
    const outcome = await grpcRaw(server, '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', MALFORMED, 'bidiStream');
    expect(outcome).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      status: {
        code: grpc.status.INVALID_ARGUMENT,
        message: 'cannot decode message grpc.reflection.v1.ServerReflectionRequest from binary: illegal tag: field no 1 wire type 7',
        errorInfo: [MALFORMED_INFO],
      },
    });
  });

  it('refuses raw bytes over gRPC-Web with grpc-status 3 and ErrorInfo MALFORMED_MESSAGE', async () => {
    const { status, trailers } = await grpcWebRaw(server, MALFORMED);
    expect(status).toBe(200);
    expect(trailers['grpc-status']).toBe('3');
    expect(decodeURIComponent(trailers['grpc-message']!)).toBe(BINARY_MESSAGE);
    expect(statusOf(base64Decode(trailers['grpc-status-details-bin']!))).toEqual({ code: 3, message: BINARY_MESSAGE, errorInfo: [MALFORMED_INFO] });
  });

  it('refuses raw bytes over Connect (application/proto) with 400 invalid_argument and ErrorInfo MALFORMED_MESSAGE', async () => {
    const { status, body } = await connectRaw(server, 'application/proto', MALFORMED);
    expect(status).toBe(400);
    expect(body.code).toBe('invalid_argument');
    expect(body.message).toBe(BINARY_MESSAGE);
    expect(errorInfoOfConnect(body.details)).toEqual([MALFORMED_INFO]);
  });

  it('refuses malformed JSON over Connect with 400 invalid_argument and ErrorInfo MALFORMED_MESSAGE', async () => {
    const { status, body } = await connectRaw(server, 'application/json', '{"service":');
    expect(status).toBe(400);
    expect(body.code).toBe('invalid_argument');
    expect(body.message).toBe('cannot decode message grpc.health.v1.HealthCheckRequest from JSON: Unexpected end of JSON input');
    expect(errorInfoOfConnect(body.details)).toEqual([MALFORMED_INFO]);
  });

  it('refuses JSON of the wrong shape over Connect with 400 invalid_argument and ErrorInfo MALFORMED_MESSAGE', async () => {
    const { status, body } = await connectRaw(server, 'application/json', '{"service":42}');
    expect(status).toBe(400);
    expect(body.code).toBe('invalid_argument');
    expect(body.message).toBe('cannot decode field grpc.health.v1.HealthCheckRequest.service from JSON: expected string, got 42');
    expect(errorInfoOfConnect(body.details)).toEqual([MALFORMED_INFO]);
  });

  it('logs the refusal with its procedure, code and reason', async () => {
    const res = await fetch(`${server.baseUrl}${CHECK}`, {
      method: 'POST',
      headers: { 'content-type': 'application/proto', 'x-request-id': 'malformed-log-1' },
      body: MALFORMED,
    });
    expect(res.status).toBe(400);
    await res.text();
    await new Promise((r) => setTimeout(r, 50));
    const lines = server.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.requestId === 'malformed-log-1');
    expect(lines).toEqual([expect.objectContaining({ msg: 'request', procedure: CHECK, status: 400, code: 'INVALID_ARGUMENT', reason: 'MALFORMED_MESSAGE' })]);
  });
});

describe('metrics of malformed requests', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('counts them under INVALID_ARGUMENT for their procedure on every protocol', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await grpcRaw(server, CHECK, MALFORMED)).code).toBe(grpc.status.INVALID_ARGUMENT);
      expect((await grpcWebRaw(server, MALFORMED)).trailers['grpc-status']).toBe('3');
      expect((await connectRaw(server, 'application/proto', MALFORMED)).status).toBe(400);
      expect((await connectRaw(server, 'application/json', '{')).status).toBe(400);
    }
    const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
    const lines = metrics.split('\n').filter((l) => l.startsWith('latchkey_requests_total{') && l.includes(`procedure="${CHECK}"`));
    expect(lines).toEqual([`latchkey_requests_total{procedure="${CHECK}",code="INVALID_ARGUMENT"} 12`]);
  });
});
