import { startTestServer, type TestServer } from '../support/server.js';

const PATH = '/latchkey.flags.resolver.v1.FlagResolverService/ResolveFlags';

describe('CORS for browser callers', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ corsAllowedOrigins: 'https://app.example.com,https://*.example.org' });
  });
  afterAll(async () => {
    await server.close();
  });

  const preflight = (origin: string) =>
    fetch(`${server.baseUrl}${PATH}`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization,x-client-id,x-client-secret',
      },
    });

  it.each(['https://app.example.com', 'https://shop.example.org'])('a preflight from the allowed origin %s succeeds', async (origin) => {
    const res = await preflight(origin);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(origin);
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['content-type', 'authorization', 'x-client-id', 'x-client-secret', 'connect-protocol-version']));
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it.each(['https://evil.example.net', 'https://a.b.example.org', 'http://app.example.com'])(
    'a preflight from %s is refused with 403 and no allow-origin header',
    async (origin) => {
      const res = await preflight(origin);
      expect(res.status).toBe(403);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(await res.json()).toEqual({
        code: 'PERMISSION_DENIED',
        reason: 'CORS_ORIGIN_NOT_ALLOWED',
        message: `origin ${origin} is not allowed by this server's CORS policy (LATCHKEY_CORS_ALLOWED_ORIGINS)`,
      });
    },
  );

  it('exposes the rate-limit and Connect headers to allowed browser callers', async () => {
    const res = await fetch(`${server.baseUrl}/healthz`, { headers: { origin: 'https://app.example.com' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/,\s*/);
    expect(exposed).toEqual(
      expect.arrayContaining(['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'retry-after', 'grpc-status', 'grpc-message']),
    );
  });
});
