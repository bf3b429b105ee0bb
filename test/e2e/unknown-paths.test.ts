import * as grpc from '@grpc/grpc-js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Unknown paths answer JSON (SPEC §6), so an SDK pointed at the wrong URL has something to log. */
describe('unknown paths and the root', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['GET', '/api/nothing-here'],
    ['POST', '/v2/flags:resolve'],
    ['GET', '/latchkey.flags.admin.v1.FlagAdminService/NoSuchMethod'],
  ])('%s %s answers 404 with {code, reason, message}', async (method, path) => {
    const res = await fetch(`${server.baseUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
    expect([res.status, res.headers.get('content-type')]).toEqual([404, 'application/json; charset=utf-8']);
    expect(await res.json()).toEqual({
      code: 'NOT_FOUND',
      reason: 'ROUTE_NOT_FOUND',
      message: `no route for ${method} ${path}: RPCs are served at /<package>.<Service>/<Method> (grpcurl list shows them), plain routes are listed in the README (GET / lists the main ones)`,
    });
  });

  it('GET / says what the server is', async () => {
    const res = await fetch(`${server.baseUrl}/`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      service: 'latchkey',
      protocols: ['gRPC', 'gRPC-Web', 'Connect'],
      services: [
        'latchkey.iam.v1.ApiClientService',
        'latchkey.iam.v1.AuthService',
        'latchkey.clients.v1.ClientCredentialService',
        'latchkey.flags.admin.v1.FlagAdminService',
        'latchkey.flags.resolver.v1.FlagResolverService',
        'latchkey.events.v1.EventService',
        'latchkey.audit.v1.AuditService',
      ],
      routes: ['GET /healthz', 'GET /metrics', 'POST /v1/oauth/token', 'GET /v1/credential', 'POST /v1/flags:resolve', 'POST /v1/flags:apply'],
      compatibility: {
        openfeature: 'POST /ofrep/v1/evaluate/flags, POST /ofrep/v1/evaluate/flags/{key}',
        unleash: 'GET /api/client/features, GET|POST /api/frontend',
        reflag: 'GET /reflag/features, GET /reflag/features/evaluated, GET /reflag/sse/server, GET /reflag/sse/client',
        confidence: 'POST /v1/flags:resolve, POST /v1/flags:apply',
      },
    });
  });

  it('a gRPC call of an unknown method still gets UNIMPLEMENTED, as gRPC clients expect', async () => {
    const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    const code = await new Promise<number>((resolve) =>
      client.makeUnaryRequest('/latchkey.flags.admin.v1.FlagAdminService/NoSuchMethod', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (err) => resolve(err?.code ?? 0)),
    );
    client.close();
    expect(code).toBe(grpc.status.UNIMPLEMENTED);
  });
});

describe('the default listening address', () => {
  it('is every address, IPv6 and IPv4 alike', async () => {
    const server = await startTestServer({ host: '::' });
    try {
      const v4 = await fetch(`http://127.0.0.1:${server.port}/healthz`);
      const v6 = await fetch(`http://[::1]:${server.port}/healthz`);
      expect([v4.status, v6.status]).toEqual([200, 200]);
    } finally {
      await server.close();
    }
  });
});
