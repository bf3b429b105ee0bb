import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { createClient, Code, ConnectError } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from '../../gen/grpc/health/v1/health_pb.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** A gRPC client from @grpc/grpc-js, the library backend services use, with protobuf-es codecs. */
function grpcUnary<I, O>(address: string, path: string, encode: (i: I) => Uint8Array, decode: (b: Uint8Array) => O, input: I) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<O>((resolve, reject) => {
    client.makeUnaryRequest(path, (i: I) => Buffer.from(encode(i)), (b: Buffer) => decode(b), input, (err, value) => {
      client.close();
      if (err) reject(err);
      else resolve(value as O);
    });
  });
}

describe('one port serves gRPC, gRPC-Web and Connect over HTTP/2 and HTTP/1.1', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers the health check over gRPC with @grpc/grpc-js (HTTP/2)', async () => {
    const res = await grpcUnary(
      `127.0.0.1:${server.port}`,
      '/grpc.health.v1.Health/Check',
      (m: ReturnType<typeof create<typeof HealthCheckRequestSchema>>) => toBinary(HealthCheckRequestSchema, m),
      (b) => fromBinary(HealthCheckResponseSchema, b),
      create(HealthCheckRequestSchema, { service: '' }),
    );
    expect(res.status).toBe(ServingStatus.SERVING);
  });

  it('answers the health check over Connect on HTTP/1.1', async () => {
    const client = createClient(Health, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: '1.1' }));
    const res = await client.check({ service: 'latchkey.flags.resolver.v1.FlagResolverService' });
    expect(res.status).toBe(ServingStatus.SERVING);
  });

  it('answers the health check over Connect on HTTP/2', async () => {
    const transport = createConnectTransport({ baseUrl: server.baseUrl, httpVersion: '2' });
    const client = createClient(Health, transport);
    const res = await client.check({ service: '' });
    expect(res.status).toBe(ServingStatus.SERVING);
  });

  it('answers the health check over gRPC-Web on HTTP/1.1', async () => {
    const client = createClient(Health, createGrpcWebTransport({ baseUrl: server.baseUrl, httpVersion: '1.1' }));
    const res = await client.check({ service: '' });
    expect(res.status).toBe(ServingStatus.SERVING);
  });

  it('refuses a health check for an unknown service with NOT_FOUND', async () => {
    const client = createClient(Health, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: '1.1' }));
    const err = await client.check({ service: 'no.such.Service' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
    expect((err as ConnectError).rawMessage).toBe('unknown service "no.such.Service"');
  });

  it('streams the serving status over Health.Watch', async () => {
    const client = createClient(Health, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: '2' }));
    const seen: ServingStatus[] = [];
    for await (const res of client.watch({ service: '' })) {
      seen.push(res.status);
      break; // leaving the loop cancels the stream
    }
    expect(seen).toEqual([ServingStatus.SERVING]);
  });

  it('serves GET /healthz', async () => {
    const res = await fetch(`${server.baseUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'SERVING' });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a wrong method on a plain route with 405', async () => {
    const res = await fetch(`${server.baseUrl}/healthz`, { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });

  it('keeps a caller-supplied request id and logs one line per request with it', async () => {
    const res = await fetch(`${server.baseUrl}/healthz`, { headers: { 'x-request-id': 'trace-abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-abc-123');
    await res.text();
    await new Promise((r) => setTimeout(r, 50));
    const lines = server.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.requestId === 'trace-abc-123');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request', procedure: 'GET /healthz', status: 200, method: 'GET' });
  });
});
