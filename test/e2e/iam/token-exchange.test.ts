import { Code } from '@connectrpc/connect';
import { ApiClientService } from '../../../gen/latchkey/iam/v1/api_client_service_pb.js';
import { AuthService } from '../../../gen/latchkey/iam/v1/auth_service_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, TestClock, basic, bearer, connectClient, requestToken } from '../../support/clients.js';
import { refusal } from '../../support/errors.js';
import { startTestServer, type TestServer } from '../../support/server.js';

describe('OAuth2 client-credentials exchange and management authentication', () => {
  let server: TestServer;
  const clock = new TestClock();
  let adminToken: string;

  const post = (body: string, contentType: string, headers: Record<string, string> = {}) =>
    fetch(`${server.baseUrl}/v1/oauth/token`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body }).then(async (r) => ({
      status: r.status,
      cacheControl: r.headers.get('cache-control'),
      wwwAuthenticate: r.headers.get('www-authenticate'),
      body: (await r.json()) as Record<string, unknown>,
    }));
  const form = (params: Record<string, string>, headers?: Record<string, string>) =>
    post(new URLSearchParams(params).toString(), 'application/x-www-form-urlencoded', headers);

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG, { now: clock.now });
    adminToken = await requestToken(server, BOOTSTRAP.clientId, BOOTSTRAP.secret);
  });
  afterAll(async () => {
    await server.close();
  });

  it('issues a one-hour bearer token for form-encoded credentials', async () => {
    const r = await form({ grant_type: 'client_credentials', client_id: BOOTSTRAP.clientId, client_secret: BOOTSTRAP.secret });
    expect(r.status).toBe(200);
    expect(r.cacheControl).toBe('no-store');
    expect(r.body).toEqual({ access_token: expect.stringMatching(/^lkat_[0-9A-Za-z]{43}$/), token_type: 'Bearer', expires_in: 3600 });
  });

  it('accepts a JSON body and HTTP Basic client authentication', async () => {
    const json = await post(JSON.stringify({ grant_type: 'client_credentials', client_id: BOOTSTRAP.clientId, client_secret: BOOTSTRAP.secret }), 'application/json');
    expect(json.status).toBe(200);
    const viaBasic = await form({ grant_type: 'client_credentials' }, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    expect(viaBasic.status).toBe(200);
    expect(viaBasic.body.token_type).toBe('Bearer');
  });

  it('exchanges over RPC too (AuthService.RequestAccessToken)', async () => {
    const auth = connectClient(server, AuthService);
    const res = await auth.requestAccessToken({ grantType: 'client_credentials', clientId: BOOTSTRAP.clientId, clientSecret: BOOTSTRAP.secret });
    expect(res.tokenType).toBe('Bearer');
    expect(res.expiresIn).toBe(3600n);
    const admin = connectClient(server, ApiClientService, bearer(res.accessToken));
    expect((await admin.getApiClient({ name: 'apiClients/bootstrap-admin' })).clientId).toBe(BOOTSTRAP.clientId);
  });

  it.each([
    ['a wrong secret', { client_id: BOOTSTRAP.clientId, client_secret: 'not-the-secret-at-all' }],
    ['an unknown client', { client_id: 'nobody', client_secret: BOOTSTRAP.secret }],
  ])('refuses %s with 401 invalid_client', async (_, creds) => {
    const r = await form({ grant_type: 'client_credentials', ...creds });
    expect(r).toMatchObject({
      status: 401,
      body: { error: 'invalid_client', error_description: 'client authentication failed: unknown client_id or wrong client_secret' },
    });
  });

  it('answers a wrong Basic secret with 401 and a WWW-Authenticate challenge', async () => {
    const r = await form({ grant_type: 'client_credentials' }, basic(BOOTSTRAP.clientId, 'wrong-secret-wrong-secret'));
    expect(r.status).toBe(401);
    expect(r.wwwAuthenticate).toBe('Basic realm="latchkey"');
    expect(r.body.error).toBe('invalid_client');
  });

  it('refuses another grant type with 400 unsupported_grant_type', async () => {
    const r = await form({ grant_type: 'password', client_id: BOOTSTRAP.clientId, client_secret: BOOTSTRAP.secret });
    expect(r).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type', error_description: 'grant_type "password" is not supported; use client_credentials' } });
    const rpc = await refusal(connectClient(server, AuthService).requestAccessToken({ grantType: 'password', clientId: BOOTSTRAP.clientId, clientSecret: BOOTSTRAP.secret }));
    expect(rpc).toMatchObject({ code: Code.InvalidArgument, reason: 'UNSUPPORTED_GRANT_TYPE', fieldViolations: [{ field: 'grant_type', description: 'must be client_credentials' }] });
  });

  it.each([
    ['a body that is not JSON', '{"grant_type":', 'application/json', 'the body is not valid JSON'],
    ['a JSON array', '[]', 'application/json', 'the body must be a JSON object'],
    ['a non-string field', '{"grant_type":1}', 'application/json', 'grant_type must be a string'],
    ['an unsupported content type', 'grant_type=client_credentials', 'text/plain', 'send application/x-www-form-urlencoded or application/json'],
    ['no grant_type', 'client_id=x', 'application/x-www-form-urlencoded', 'grant_type is required'],
    ['no client secret', 'grant_type=client_credentials&client_id=x', 'application/x-www-form-urlencoded', 'missing client_secret'],
  ])('refuses %s with 400 invalid_request', async (_, body, type, description) => {
    expect(await post(body, type)).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: description } });
  });

  it('refuses an oversized body with 413', async () => {
    const r = await post(`grant_type=client_credentials&pad=${'x'.repeat(20_000)}`, 'application/x-www-form-urlencoded');
    expect(r).toMatchObject({ status: 413, body: { error: 'invalid_request', error_description: 'request body is larger than 16384 bytes' } });
  });

  it('accepts Basic authentication directly on management calls', async () => {
    const admin = connectClient(server, ApiClientService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    expect((await admin.listRoles({})).roles.map((r) => r.name)).toEqual([
      'roles/admin',
      'roles/flag-editor',
      'roles/flag-viewer',
      'roles/credential-admin',
      'roles/auditor',
    ]);
  });

  it('refuses a management call without credentials, with a message saying how to authenticate', async () => {
    expect(await refusal(connectClient(server, ApiClientService).listApiClients({}))).toEqual({
      code: Code.Unauthenticated,
      reason: 'CREDENTIAL_MISSING',
      domain: 'latchkey',
      metadata: {},
      message:
        'this method needs an API client: send Authorization: Bearer <access token> (from AuthService.RequestAccessToken or POST /v1/oauth/token) or Authorization: Basic base64(client_id:client_secret)',
      fieldViolations: undefined,
    });
  });

  it.each([
    ['a key pair in headers', { 'x-client-id': 'pk_test_abc', 'x-client-secret': 'sk_test_abc' }],
    ['a bearer runtime secret', { authorization: 'Bearer sec_production_abcdefghijklmnop' }],
    ['an Unleash token', { authorization: 'default:production.0123456789abcdef' }],
  ])('refuses %s on the management API', async (_, headers) => {
    const r = await refusal(connectClient(server, ApiClientService, headers).listApiClients({}));
    expect(r).toMatchObject({ code: Code.Unauthenticated, reason: 'RUNTIME_CREDENTIAL_NOT_ALLOWED' });
    expect(r.message).toMatch(/^runtime client credentials are not accepted on the management API/);
  });

  it.each([
    ['an access token without Bearer', 'lkat_AAAA', 'an access token (lkat_…) goes in Authorization: Bearer lkat_…'],
    [
      'an API client secret as the bearer token',
      'Bearer lks_AAAA',
      'that is an API client secret (lks_…), not an access token: send Authorization: Basic base64(client_id:client_secret), or exchange it for an access token at POST /v1/oauth/token',
    ],
    [
      'an API client id as the bearer token',
      'Bearer lkc_AAAA',
      'that is an API client id (lkc_…), not a credential: send Authorization: Bearer <access token> (from AuthService.RequestAccessToken or POST /v1/oauth/token) or Authorization: Basic base64(client_id:client_secret)',
    ],
  ])('says what is wrong with %s', async (_, authorization, message) => {
    const r = await refusal(connectClient(server, ApiClientService, { authorization }).listApiClients({}));
    expect(r).toMatchObject({ code: Code.Unauthenticated, reason: 'CREDENTIAL_MALFORMED', message });
  });

  it('refuses an unknown access token', async () => {
    const r = await refusal(connectClient(server, ApiClientService, bearer('lkat_' + 'A'.repeat(43))).listApiClients({}));
    expect(r).toMatchObject({ code: Code.Unauthenticated, reason: 'ACCESS_TOKEN_INVALID' });
  });

  it('refuses an expired access token after its hour', async () => {
    const token = await requestToken(server, BOOTSTRAP.clientId, BOOTSTRAP.secret);
    const admin = connectClient(server, ApiClientService, bearer(token));
    clock.advance(3599_000);
    await expect(admin.listApiClients({})).resolves.toBeDefined();
    clock.advance(1_000);
    expect(await refusal(admin.listApiClients({}))).toMatchObject({
      code: Code.Unauthenticated,
      reason: 'ACCESS_TOKEN_EXPIRED',
      message: 'the access token has expired; request a new one with RequestAccessToken',
    });
    adminToken = await requestToken(server, BOOTSTRAP.clientId, BOOTSTRAP.secret);
  });

  it("ends a client's tokens when it is deleted", async () => {
    const admin = connectClient(server, ApiClientService, bearer(adminToken));
    const created = await admin.createApiClient({ apiClientId: 'doomed', apiClient: { roles: ['roles/flag-viewer'] } });
    const token = await requestToken(server, created.clientId, created.clientSecret);
    const doomed = connectClient(server, ApiClientService, bearer(token));
    await expect(doomed.listRoles({})).resolves.toBeDefined();
    await admin.deleteApiClient({ name: 'apiClients/doomed' });
    expect(await refusal(doomed.listRoles({}))).toMatchObject({ code: Code.Unauthenticated, reason: 'ACCESS_TOKEN_INVALID' });
    expect(await form({ grant_type: 'client_credentials', client_id: created.clientId, client_secret: created.clientSecret })).toMatchObject({ status: 401 });
  });

  it("ends a client's tokens and old secret when its secret is rotated", async () => {
    const admin = connectClient(server, ApiClientService, bearer(adminToken));
    const created = await admin.createApiClient({ apiClientId: 'rotated', apiClient: { roles: ['roles/flag-viewer'] } });
    const token = await requestToken(server, created.clientId, created.clientSecret);
    const rotated = await admin.rotateApiClientSecret({ name: 'apiClients/rotated' });
    expect(rotated.clientId).toBe(created.clientId);
    expect(rotated.clientSecret).toMatch(/^lks_[0-9A-Za-z]{40}$/);
    expect(rotated.clientSecret).not.toBe(created.clientSecret);
    expect(await refusal(connectClient(server, ApiClientService, bearer(token)).listRoles({}))).toMatchObject({ reason: 'ACCESS_TOKEN_INVALID' });
    expect(await form({ grant_type: 'client_credentials', client_id: created.clientId, client_secret: created.clientSecret })).toMatchObject({ status: 401 });
    const fresh = await requestToken(server, rotated.clientId, rotated.clientSecret);
    await expect(connectClient(server, ApiClientService, bearer(fresh)).listRoles({})).resolves.toBeDefined();
  });
});
