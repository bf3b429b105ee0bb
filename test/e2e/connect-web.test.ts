import { launchBrowser, type BrowserHarness, type TestPage } from '../support/browser.js';
import type { CallOptions, CallResult } from '../support/browser-pages/connect-web.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../gen/latchkey/clients/v1/client_credential_pb.js';
import { ClientCredentialService } from '../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { FlagAdminService } from '../../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import { Flag_Kind as Kind } from '../../gen/latchkey/flags/admin/v1/flag_pb.js';
import { fromJson } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, basic, connectClient } from '../support/clients.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * Connect-Web in Chromium, on its own origin (CORS and preflights as in production), calling
 * FlagResolverService on a server with the lean runtime path (the default) and on one without it:
 * each call must look the same to the page on both (code, ErrorInfo reason, message, the response
 * headers CORS lets it read, the response), on Connect and gRPC-Web, JSON and binary.
 */
const PAGE = 'test/support/browser-pages/connect-web.ts';
const v = (x: unknown) => fromJson(ValueSchema, x as never);

describe('Connect-Web in Chromium gets the same answers from the lean path and the adapter', () => {
  let lean: TestServer;
  let adapter: TestServer;
  let browser: BrowserHarness;
  let page: TestPage;
  const secrets = new Map<TestServer, Record<string, string>>();

  const setUp = async (server: TestServer) => {
    const admin = basic(BOOTSTRAP.clientId, BOOTSTRAP.secret);
    const creds = connectClient(server, ClientCredentialService, admin);
    await creds.createClient({ clientId: 'web' });
    await connectClient(server, FlagAdminService, admin).createFlag({ flagId: 'banner', flag: { kind: Kind.STRING, variants: [{ name: 'blue', value: v('blue') }], defaultVariant: 'blue' } });
    await connectClient(server, FlagAdminService, admin).createFlag({ flagId: 'layout', flag: { kind: Kind.OBJECT, variants: [{ name: 'grid', value: v({ columns: 3 }) }], defaultVariant: 'grid' } });
    const make = async (id: string, spec: Record<string, unknown>) =>
      (await creds.createClientCredential({ parent: 'clients/web', credentialId: id, credential: { format: Format.CLIENT_SECRET, class: Class.PUBLISHABLE, projects: ['*'], scopes: ['flags:read', 'configs:read'], ...spec } })).secret;
    secrets.set(server, {
      // A window that outlasts the run, so that x-ratelimit-remaining matches exactly on both servers.
      main: await make('main', { rateLimit: { requests: 1_000_000, window: { seconds: 86_400n, nanos: 0 } } }),
      limited: await make('limited', { rateLimit: { requests: 1, window: { seconds: 60n, nanos: 0 } } }),
      limited2: await make('limited2', { rateLimit: { requests: 1, window: { seconds: 60n, nanos: 0 } } }),
      limited3: await make('limited3', { rateLimit: { requests: 1, window: { seconds: 60n, nanos: 0 } } }),
      limited4: await make('limited4', { rateLimit: { requests: 1, window: { seconds: 60n, nanos: 0 } } }),
    });
  };

  beforeAll(async () => {
    browser = await launchBrowser();
    page = await browser.open(PAGE);
    [lean, adapter] = await Promise.all([
      startTestServer({ ...BOOTSTRAP_CONFIG, corsAllowedOrigins: page.origin }),
      startTestServer({ ...BOOTSTRAP_CONFIG, corsAllowedOrigins: page.origin }, { leanRuntimePath: false }),
    ]);
    await Promise.all([setUp(lean), setUp(adapter)]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await Promise.all([lean?.close(), adapter?.close()]);
  });

  const call = (server: TestServer, o: Omit<CallOptions, 'baseUrl'>) => page.run<CallResult>('call', { ...o, baseUrl: server.baseUrl });
  /** Resolve ids and tokens are new on every call; rate-limit reset times move with the clock. */
  const normalise = (r: CallResult) => {
    const headers = { ...r.headers };
    for (const k of ['x-ratelimit-reset', 'retry-after', 'content-length']) if (headers[k] !== undefined) headers[k] = '<n>';
    // The per-address failure budget (no credential) has the default one-minute window, which may roll over between the two servers' calls.
    if (headers['x-ratelimit-limit'] !== '1000000' && headers['x-ratelimit-limit'] !== '1' && headers['x-ratelimit-remaining'] !== undefined) headers['x-ratelimit-remaining'] = '<n>';
    const response = r.response as { resolveToken?: string; resolveId?: string } | undefined;
    return { ...r, headers, response: response && { ...response, ...(response.resolveToken ? { resolveToken: '<token>' } : {}), ...(response.resolveId ? { resolveId: '<id>' } : {}) } };
  };

  const protocols = [
    ['Connect JSON', 'connect', false],
    ['Connect binary', 'connect', true],
    ['gRPC-Web binary', 'grpc-web', true],
    ['gRPC-Web JSON', 'grpc-web', false],
  ] as const;

  describe.each(protocols)('%s', (_name, protocol, binary) => {
    const limitedKey = { 'Connect JSON': 'limited', 'Connect binary': 'limited2', 'gRPC-Web binary': 'limited3', 'gRPC-Web JSON': 'limited4' }[_name];
    const scenarios: [string, (server: TestServer) => Promise<Omit<CallOptions, 'baseUrl'>>, { code: string; reason?: string }][] = [
      ['ResolveFlags', async (s) => ({ protocol, binary, method: 'resolveFlags', message: { flags: ['flags/banner', 'flags/none'], evaluationContext: { targeting_key: 'u1' } }, headers: { authorization: `Bearer ${secrets.get(s)!.main}` } }), { code: 'OK' }],
      ['ResolveConfigs', async (s) => ({ protocol, binary, method: 'resolveConfigs', message: { flags: ['flags/layout'] }, headers: { authorization: `Bearer ${secrets.get(s)!.main}` } }), { code: 'OK' }],
      [
        'ApplyFlags',
        async (s) => {
          const resolved = await call(s, { protocol, binary, method: 'resolveFlags', message: { flags: ['flags/banner'] }, headers: { authorization: `Bearer ${secrets.get(s)!.main}` } });
          const token = (resolved.response as { resolveToken: string }).resolveToken;
          return { protocol, binary, method: 'applyFlags', message: { resolveToken: token, flags: [{ flag: 'flags/banner' }] }, headers: { authorization: `Bearer ${secrets.get(s)!.main}` } };
        },
        { code: 'OK' },
      ],
      ['no credential', async () => ({ protocol, binary, method: 'resolveFlags', message: { flags: ['flags/banner'] }, headers: {} }), { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_MISSING' }],
      [
        'rate limited',
        async (s) => {
          const o = { protocol, binary, method: 'resolveFlags' as const, message: { flags: ['flags/banner'] }, headers: { authorization: `Bearer ${secrets.get(s)![limitedKey]}` } };
          await call(s, o);
          return o;
        },
        { code: 'RESOURCE_EXHAUSTED', reason: 'RATE_LIMITED' },
      ],
    ];
    it.each(scenarios)('%s', async (_n, build, expected) => {
      const a = normalise(await call(lean, await build(lean)));
      const b = normalise(await call(adapter, await build(adapter)));
      expect(a).toEqual(b);
      expect({ code: a.code, reason: a.reason }).toEqual({ code: expected.code, reason: expected.reason });
      // The page can read the rate-limit headers (CORS exposes them) on both paths.
      expect(a.headers['x-ratelimit-limit']).toMatch(/^\d+$/);
    });
  });

  it('was served by the lean path on the lean server', () => {
    const served = (s: TestServer) => s.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request' && l.method === 'POST' && l.rpcPath === 'lean').length;
    expect(served(lean)).toBeGreaterThan(0);
    expect(served(adapter)).toBe(0);
  });
});
