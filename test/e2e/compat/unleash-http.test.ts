import { fromJson } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { AuditService } from '../../../gen/latchkey/audit/v1/audit_service_pb.js';
import { AuditEvent_Kind } from '../../../gen/latchkey/audit/v1/audit_event_pb.js';
import { Flag_Kind as Kind } from '../../../gen/latchkey/flags/admin/v1/flag_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, basic, connectClient } from '../../support/clients.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { Class, Format, admins, createUnleashFixtures, credential, type Admin } from './unleash-fixtures.js';

/** The Unleash routes as raw HTTP: exact bodies, ETags and 304, every refusal's shape, usage. */
describe('Unleash routes over plain HTTP', () => {
  let server: TestServer;
  let admin: Admin;
  let dev: { secret: string; name: string };
  let browser: { secret: string; name: string };

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${server.baseUrl}${path}`, { headers });
  const post = (path: string, headers: Record<string, string>, body: string) => fetch(`${server.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const rateHeaders = (res: Response) => ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'].map((h) => /^\d+$/.test(res.headers.get(h) ?? ''));

  beforeAll(async () => {
    server = await startTestServer({ ...BOOTSTRAP_CONFIG, corsAllowedOrigins: 'https://shop.example.com' });
    admin = admins(server);
    await createUnleashFixtures(admin);
    dev = await credential(admin, 'dev-backend', { environments: ['development'] });
    browser = await credential(admin, 'web', { format: Format.PUBLISHABLE_KEY, class: Class.PUBLISHABLE, environments: ['production'], projects: ['default'] });
  });
  afterAll(async () => {
    await server.close();
  });

  const c = (contextName: string, operator: string, operand: string[] | string) =>
    Array.isArray(operand) ? { contextName, operator, values: operand, inverted: false, caseInsensitive: false } : { contextName, operator, value: operand, inverted: false, caseInsensitive: false };
  const variant = (name: string, weight: number, stickiness: string, payload?: object) => ({ name, weight, weightType: 'variable', stickiness, ...(payload && { payload }) });
  const feature = (name: string, strategies: object[], description = '') => ({ name, type: 'release', description, enabled: strategies.length > 0, stale: false, impressionData: false, project: 'default', strategies, variants: [] });
  const everyone = (v: object, constraints: object[] = []) => ({ name: 'default', constraints, parameters: {}, variants: [v] });

  it('GET /api/client/features: the development rules of the token\'s project as Unleash features', async () => {
    const res = await get('/api/client/features', { authorization: dev.secret, 'unleash-appname': 'checkout-service' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(res.headers.get('x-latchkey-untranslated-flags')).toBe('email-match');
    expect(rateHeaders(res)).toEqual([true, true, true]);
    const on = variant('on', 10000, 'default');
    expect(await res.json()).toEqual({
      version: 2,
      segments: [],
      features: [
        feature('banner', [
          {
            name: 'flexibleRollout',
            constraints: [],
            parameters: { rollout: '100', stickiness: 'userId', groupId: 'banner' },
            variants: [variant('blue', 5000, 'userId', { type: 'string', value: 'blue' }), variant('green', 5000, 'userId', { type: 'string', value: 'green' })],
          },
        ]),
        feature('free-off', [everyone(on, [c('plan', 'NOT_IN', ['free'])])]),
        feature('internal-tool', [everyone(on)]),
        feature('limits', [
          everyone(variant('big', 10000, 'default', { type: 'number', value: '100' }), [c('seats', 'NUM_GTE', '10'), c('appVersion', 'SEMVER_GT', '2.0.0')]),
          everyone(variant('big', 10000, 'default', { type: 'number', value: '100' }), [c('seats', 'NUM_GTE', '10'), c('appVersion', 'SEMVER_EQ', '2.0.0')]),
          everyone(variant('small', 10000, 'default', { type: 'number', value: '10' })),
        ]),
        feature('new-checkout', [everyone(on, [c('country', 'IN', ['SE', 'NO'])])], 'The new checkout'),
        feature('regex-same', [everyone(on)]),
        feature('rollout', [{ name: 'flexibleRollout', constraints: [], parameters: { rollout: '30', stickiness: 'userId', groupId: 'rollout' }, variants: [variant('on', 3000, 'userId')] }]),
      ],
    });
  });

  it('answers 304 while the ETag matches, and a new body and ETag once a flag changes', async () => {
    const first = await get('/api/client/features', { authorization: dev.secret });
    const etag = first.headers.get('etag')!;
    const again = await get('/api/client/features', { authorization: dev.secret, 'if-none-match': etag });
    expect([again.status, await again.text(), again.headers.get('etag'), again.headers.get('x-latchkey-untranslated-flags')]).toEqual([304, '', etag, 'email-match']);
    expect(rateHeaders(again)).toEqual([true, true, true]);
    await admin.flags.createFlag({ flagId: 'late', flag: { kind: Kind.BOOLEAN, variants: [{ name: 'on', value: fromJson(ValueSchema, true) }], defaultVariant: 'on' } });
    const changed = await get('/api/client/features', { authorization: dev.secret, 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(((await changed.json()) as { features: { name: string }[] }).features.map((f) => f.name)).toContain('late');
    await admin.flags.deleteFlag({ name: 'flags/late' });
  });

  it('namePrefix and project narrow the features within the token\'s projects', async () => {
    const names = async (query: string) => ((await (await get(`/api/client/features${query}`, { authorization: dev.secret })).json()) as { features: { name: string }[] }).features.map((f) => f.name);
    expect(await names('?namePrefix=new-')).toEqual(['new-checkout']);
    expect(await names('?project=mobile')).toEqual([]); // the token's project is default
    expect(await names('?project=default&namePrefix=r')).toEqual(['regex-same', 'rollout']);
  });

  describe('refusals: SPEC §3 statuses with latchkey\'s JSON body', () => {
    const refusal = async (res: Response) => ({ status: res.status, body: (await res.json()) as Record<string, string>, rate: rateHeaders(res) });

    it('missing, malformed, unknown and revoked tokens', async () => {
      expect(await refusal(await get('/api/client/features'))).toEqual({
        status: 401,
        body: { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_MISSING', message: expect.stringContaining('no client credential') },
        rate: [true, true, true],
      });
      expect(await refusal(await get('/api/client/features', { authorization: 'short' }))).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_MALFORMED' } });
      const unknown = `default:development.${'ab'.repeat(28)}`;
      expect(await refusal(await get('/api/client/features', { authorization: unknown }))).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_UNKNOWN' } });
      const revoked = await credential(admin, 'revoked', { environments: ['development'] });
      await admin.creds.revokeClientCredential({ name: revoked.name });
      expect(await refusal(await get('/api/client/features', { authorization: revoked.secret }))).toMatchObject({ status: 410, body: { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_REVOKED' } });
      const bodyKeys = Object.keys((await refusal(await get('/api/frontend', { authorization: revoked.secret }))).body);
      expect(bodyKeys).toEqual(['code', 'reason', 'message']);
    });

    it('a PUBLISHABLE key on the client API and a SECRET token on the frontend API: 403 CLASS_NOT_ALLOWED', async () => {
      expect(await refusal(await get('/api/client/features', { authorization: `Bearer ${browser.secret}` }))).toEqual({
        status: 403,
        body: { code: 'PERMISSION_DENIED', reason: 'CLASS_NOT_ALLOWED', message: `GET /api/client/features needs a SECRET credential; ${browser.name} is PUBLISHABLE` },
        rate: [true, true, true],
      });
      for (const [res, route] of [
        [await get('/api/frontend', { authorization: dev.secret }), 'GET /api/frontend'],
        [await post('/api/frontend', { authorization: dev.secret }, '{}'), 'POST /api/frontend'],
        [await post('/api/frontend/client/metrics', { authorization: dev.secret }, '{}'), 'POST /api/frontend/client/metrics'],
      ] as const) {
        expect(await refusal(res)).toEqual({
          status: 403,
          body: { code: 'PERMISSION_DENIED', reason: 'CLASS_NOT_ALLOWED', message: `${route} needs a PUBLISHABLE credential; ${dev.name} is SECRET` },
          rate: [true, true, true],
        });
      }
      expect((await refusal(await post('/api/client/metrics', { authorization: `Bearer ${browser.secret}` }, '{}'))).body.reason).toBe('CLASS_NOT_ALLOWED');
      // Refused inside the credential pipeline: the audit trail records the refusal, not a pass.
      await server.app.audit.flush();
      const outcomes = await server.app.database.db
        .selectFrom('audit_events')
        .select(['method', 'outcome'])
        .where('credential', '=', dev.name)
        .where('method', 'like', '% /api/frontend%')
        .orderBy('id')
        .execute();
      expect(outcomes).toEqual([
        { method: 'GET /api/frontend', outcome: 'CLASS_NOT_ALLOWED' },
        { method: 'POST /api/frontend', outcome: 'CLASS_NOT_ALLOWED' },
        { method: 'POST /api/frontend/client/metrics', outcome: 'CLASS_NOT_ALLOWED' },
      ]);
    });

    it('a token without flags:read, and a rate-limited one (429 with Retry-After)', async () => {
      const logsOnly = await credential(admin, 'logs-only', { environments: ['development'], scopes: ['logs:write'] });
      expect(await refusal(await get('/api/client/features', { authorization: logsOnly.secret }))).toMatchObject({ status: 403, body: { code: 'PERMISSION_DENIED', reason: 'SCOPE_MISSING' } });
      const res = await admin.creds.createClientCredential({
        parent: 'clients/shop',
        credentialId: 'tight',
        credential: { format: Format.UNLEASH, class: Class.SECRET, environments: ['development'], projects: ['default'], scopes: ['flags:read'], rateLimit: { requests: 1, window: { seconds: 60n, nanos: 0 } } },
      });
      expect((await get('/api/client/features', { authorization: res.secret })).status).toBe(200);
      const limited = await get('/api/client/features', { authorization: res.secret });
      expect([limited.status, limited.headers.get('x-ratelimit-limit'), limited.headers.get('x-ratelimit-remaining'), Number(limited.headers.get('retry-after')) > 0]).toEqual([429, '1', '0', true]);
      expect(((await limited.json()) as { reason: string }).reason).toBe('RATE_LIMITED');
    });

    it('bodies that are not JSON objects: 400 INVALID_ARGUMENT', async () => {
      for (const [path, auth] of [
        ['/api/client/metrics', dev.secret],
        ['/api/client/register', dev.secret],
        ['/api/frontend', `Bearer ${browser.secret}`],
        ['/api/frontend/client/register', `Bearer ${browser.secret}`],
      ] as const) {
        for (const body of ['{nope', '[1]']) {
          expect(await refusal(await post(path, { authorization: auth }, body))).toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT', reason: 'INVALID_ARGUMENT' } });
        }
      }
    });

    it('wrong methods: 405 naming the method', async () => {
      const res = await fetch(`${server.baseUrl}/api/client/metrics`, { method: 'GET', headers: { authorization: dev.secret } });
      expect([res.status, res.headers.get('allow')]).toEqual([405, 'POST']);
    });
  });

  it('register and metrics: 202, counted as use of the credential in the audit trail', async () => {
    const user = await credential(admin, 'metrics-user', { environments: ['development'] });
    const headers = { authorization: user.secret, 'user-agent': 'unleash-node-sdk:6.12.1' };
    const registered = await post('/api/client/register', headers, JSON.stringify({ appName: 'checkout-service', instanceId: 'i-1', sdkVersion: 'unleash-node-sdk:6.12.1', strategies: ['default'], started: new Date().toISOString(), interval: 15000 }));
    const metrics = await post('/api/client/metrics', headers, JSON.stringify({ appName: 'checkout-service', instanceId: 'i-1', bucket: { start: new Date().toISOString(), stop: new Date().toISOString(), toggles: { rollout: { yes: 3, no: 1, variants: {} } } } }));
    expect([registered.status, await registered.text(), metrics.status, await metrics.text()]).toEqual([202, '', 202, '']);
    expect(rateHeaders(metrics)).toEqual([true, true, true]);
    await server.app.audit.flush();
    const audit = connectClient(server, AuditService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    const events = await audit.listAuditEvents({ kind: AuditEvent_Kind.CREDENTIAL_VALIDATION, credential: user.name, pageSize: 100 });
    expect(events.auditEvents.map((e) => [e.method, e.outcome, e.userAgent]).sort()).toEqual([
      ['POST /api/client/metrics', 'OK', 'unleash-node-sdk:6.12.1'],
      ['POST /api/client/register', 'OK', 'unleash-node-sdk:6.12.1'],
    ]);
    const usage = await audit.getCredentialUsage({ name: user.name, window: { seconds: 3600n, nanos: 0 } });
    expect([usage.total, usage.countsByOutcome]).toEqual([2n, { OK: 2n }]);
  });

  it('GET /api/frontend reads the context from the query, and takes the key as ?publishableKey= too', async () => {
    const query = 'appName=web&environment=default&userId=u-1&sessionId=s-1&properties[plan]=pro&properties[seats]=12';
    const res = await get(`/api/frontend?${query}`, { authorization: `Bearer ${browser.secret}` });
    expect([res.status, res.headers.get('cache-control')]).toEqual([200, 'no-cache']);
    const body = (await res.json()) as { toggles: { name: string; variant: { name: string } }[] };
    const on = (name: string) => ({ name, enabled: true, variant: { name: 'on', enabled: true, feature_enabled: true }, impressionData: false });
    // seats is the string "12" in a query: latchkey compares numbers only, so limits stays small.
    expect(body.toggles.filter((t) => t.name !== 'banner' && t.name !== 'rollout')).toEqual([
      on('free-off'),
      { name: 'limits', enabled: true, variant: { name: 'small', enabled: true, feature_enabled: true, payload: { type: 'number', value: '10' } }, impressionData: false },
      on('new-checkout'),
      on('regex-same'),
    ]);
    const viaQuery = await get(`/api/frontend?${query}&publishableKey=${browser.secret}`);
    expect([viaQuery.status, await viaQuery.text()]).toEqual([200, JSON.stringify(body)]);
    const etag = res.headers.get('etag')!;
    expect((await get(`/api/frontend/?${query}`, { authorization: `Bearer ${browser.secret}`, 'if-none-match': etag })).status).toBe(304);
    // A JSON number in a POST body is a number: limits is big there.
    const posted = await post('/api/frontend', { authorization: `Bearer ${browser.secret}` }, JSON.stringify({ context: { userId: 'u-1', properties: { seats: 12, appVersion: '2.1.0' } } }));
    const toggles = ((await posted.json()) as { toggles: { name: string; variant: { name: string } }[] }).toggles;
    expect(toggles.find((t) => t.name === 'limits')?.variant.name).toBe('big');
  });

  it('CORS lets a browser send the Unleash SDK headers and read the ETag', async () => {
    const preflight = await fetch(`${server.baseUrl}/api/frontend`, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization,unleash-appname,unleash-connection-id,unleash-sdk,if-none-match' },
    });
    expect(preflight.status).toBe(204);
    const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    expect(['authorization', 'unleash-appname', 'unleash-connection-id', 'unleash-sdk', 'if-none-match'].every((h) => allowed.includes(h))).toBe(true);
    const res = await get('/api/frontend?userId=u-1', { origin: 'https://shop.example.com', authorization: `Bearer ${browser.secret}` });
    expect([res.status, res.headers.get('access-control-allow-origin'), /etag/i.test(res.headers.get('access-control-expose-headers') ?? '')]).toEqual([200, 'https://shop.example.com', true]);
  });
});
