import { Code } from '@connectrpc/connect';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { FlagAdminService } from '../../../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import { FlagResolverService } from '../../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, bearer, connectClient, requestToken } from '../../support/clients.js';
import { refusal } from '../../support/errors.js';
import { describeSelf, grpcResolve } from '../../support/runtime.js';
import { startTestServer, type TestServer } from '../../support/server.js';

/**
 * Every wire format of SPEC §3, issued by the real server and then sent
 * exactly as a client would: gRPC metadata, Connect headers over HTTP/1.1,
 * and the plain GET /v1/credential route.
 */
describe('credential wire formats, end to end', () => {
  let server: TestServer;
  let admin: ReturnType<typeof connectClient<typeof ClientCredentialService>>;

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    admin = connectClient(server, ClientCredentialService, bearer(await requestToken(server, BOOTSTRAP.clientId, BOOTSTRAP.secret)));
    await admin.createClient({ clientId: 'shop', client: { displayName: 'Shop' } });
    await connectClient(server, FlagAdminService, bearer(await requestToken(server, BOOTSTRAP.clientId, BOOTSTRAP.secret))).createProject({ projectId: 'mobile', project: {} });
  });
  afterAll(async () => {
    await server.close();
  });

  const create = (id: string, credential: object) => admin.createClientCredential({ parent: 'clients/shop', credentialId: id, credential });

  /** Asserts that these headers authenticate on gRPC, Connect and GET /v1/credential as `name`. */
  async function works(headers: Record<string, string>, name: string, extra: { format: string; environments: string[]; cls: string }) {
    const grpcResult = await grpcResolve(server, headers);
    expect({ code: grpcResult.code, reason: grpcResult.reason }).toEqual({ code: 0, reason: undefined });
    const connect = connectClient(server, FlagResolverService, headers);
    await expect(connect.resolveFlags({})).resolves.toMatchObject({ resolvedFlags: [] });
    const self = await describeSelf(server, headers);
    expect(self).toMatchObject({
      status: 200,
      body: { credential: name, client: 'clients/shop', class: extra.cls, format: extra.format, environments: extra.environments },
    });
  }

  it('KEY_PAIR: pk_test_/sk_test_ as "Bearer pk:sk" and as X-Client-ID + X-Client-Secret', async () => {
    const { credential, secret } = await create('web-pair', {
      class: Class.SECRET,
      format: Format.KEY_PAIR,
      environments: ['development'],
      projects: ['*'],
      scopes: ['flags:read'],
    });
    expect(credential!.clientId).toMatch(/^pk_test_[0-9A-Za-z]+$/);
    expect(secret).toMatch(/^sk_test_[0-9A-Za-z]+$/);
    expect(credential!.secretHint).toBe(`sk_test_…${secret.slice(-4)}`);
    const meta = { format: 'KEY_PAIR', environments: ['development'], cls: 'SECRET' };
    await works({ authorization: `Bearer ${credential!.clientId}:${secret}` }, credential!.name, meta);
    await works({ 'x-client-id': credential!.clientId, 'x-client-secret': secret }, credential!.name, meta);
  });

  it('KEY_PAIR bound to a production environment is pk_live_/sk_live_', async () => {
    const { credential, secret } = await create('prod-pair', {
      class: Class.SECRET,
      format: Format.KEY_PAIR,
      environments: ['production'],
      projects: ['default'],
      scopes: ['flags:read'],
    });
    expect(credential!.clientId).toMatch(/^pk_live_/);
    expect(secret).toMatch(/^sk_live_/);
    await works({ 'x-client-id': credential!.clientId, 'x-client-secret': secret }, credential!.name, { format: 'KEY_PAIR', environments: ['production'], cls: 'SECRET' });
  });

  it('KEY_PAIR: a secret paired with another credential\'s client id is unknown', async () => {
    const a = await create('pair-a', { class: Class.SECRET, format: Format.KEY_PAIR, environments: [], projects: ['*'], scopes: ['flags:read'] });
    const b = await create('pair-b', { class: Class.SECRET, format: Format.KEY_PAIR, environments: [], projects: ['*'], scopes: ['flags:read'] });
    const self = await describeSelf(server, { 'x-client-id': a.credential!.clientId, 'x-client-secret': b.secret });
    expect(self).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_UNKNOWN' } });
  });

  it('CLIENT_SECRET: 32 alphanumeric characters, as client_secret in the request or as a bearer token', async () => {
    const { credential, secret } = await create('backend', {
      class: Class.SECRET,
      format: Format.CLIENT_SECRET,
      environments: ['staging'],
      projects: ['*'],
      scopes: ['flags:read'],
    });
    expect(secret).toMatch(/^[0-9A-Za-z]{32}$/);
    await works({ authorization: `Bearer ${secret}` }, credential!.name, { format: 'CLIENT_SECRET', environments: ['staging'], cls: 'SECRET' });
    const viaBody = await grpcResolve(server, {}, { clientSecret: secret });
    expect(viaBody.code).toBe(0);
    await expect(connectClient(server, FlagResolverService).resolveFlags({ clientSecret: secret })).resolves.toMatchObject({ resolvedFlags: [] });
  });

  it('UNLEASH: <project>:<environment>.<hex> in Authorization, with or without Bearer', async () => {
    const { credential, secret } = await create('unleash-backend', {
      class: Class.SECRET,
      format: Format.UNLEASH,
      environments: ['production'],
      projects: ['default'],
      scopes: ['flags:read'],
    });
    expect(secret).toMatch(/^default:production\.[0-9a-f]+$/);
    const meta = { format: 'UNLEASH', environments: ['production'], cls: 'SECRET' };
    await works({ authorization: secret }, credential!.name, meta);
    await works({ authorization: `Bearer ${secret}` }, credential!.name, meta);
  });

  it('UNLEASH: * for all projects and [] for a list', async () => {
    const all = await create('unleash-all', { class: Class.SECRET, format: Format.UNLEASH, environments: ['development'], projects: ['*'], scopes: ['flags:read'] });
    expect(all.secret).toMatch(/^\*:development\.[0-9a-f]+$/);
    const list = await create('unleash-list', {
      class: Class.SECRET,
      format: Format.UNLEASH,
      environments: ['development'],
      projects: ['default', 'mobile'],
      scopes: ['flags:read'],
    });
    expect(list.secret).toMatch(/^\[\]:development\.[0-9a-f]+$/);
    expect((await describeSelf(server, { authorization: list.secret })).body).toMatchObject({ projects: ['default', 'mobile'] });
    const self = await describeSelf(server, { authorization: all.secret });
    expect(self.body).toMatchObject({ projects: ['*'], environments: ['development'] });
  });

  it('UNLEASH: a token whose visible part was edited is refused', async () => {
    const { secret } = await create('unleash-edit', { class: Class.SECRET, format: Format.UNLEASH, environments: ['development'], projects: ['default'], scopes: ['flags:read'] });
    const edited = secret.replace('default:development', 'default:production');
    const self = await describeSelf(server, { authorization: edited });
    expect(self).toMatchObject({ status: 401, body: { reason: 'CREDENTIAL_MALFORMED' } });
  });

  it('PUBLISHABLE_KEY: pub_<env>_… as a bearer token and as ?publishableKey=', async () => {
    const { credential, secret } = await create('browser', {
      format: Format.PUBLISHABLE_KEY,
      environments: ['production'],
      projects: ['default'],
      scopes: ['flags:read'],
    });
    expect(credential!.class).toBe(Class.PUBLISHABLE);
    expect(secret).toMatch(/^pub_production_[0-9A-Za-z]+$/);
    const meta = { format: 'PUBLISHABLE_KEY', environments: ['production'], cls: 'PUBLISHABLE' };
    await works({ authorization: `Bearer ${secret}` }, credential!.name, meta);
    const viaQuery = await describeSelf(server, {}, `?publishableKey=${secret}`);
    expect(viaQuery).toMatchObject({ status: 200, body: { credential: credential!.name, class: 'PUBLISHABLE' } });
  });

  it('SECRET_KEY: sec_<env>_… as a bearer token; never as a query parameter', async () => {
    const { credential, secret } = await create('server', { format: Format.SECRET_KEY, environments: ['staging'], projects: ['*'], scopes: ['admin'] });
    expect(credential!.class).toBe(Class.SECRET);
    expect(secret).toMatch(/^sec_staging_[0-9A-Za-z]+$/);
    await works({ authorization: `Bearer ${secret}` }, credential!.name, { format: 'SECRET_KEY', environments: ['staging'], cls: 'SECRET' });
    expect(await describeSelf(server, {}, `?publishableKey=${secret}`)).toMatchObject({ status: 401, body: { reason: 'CREDENTIAL_MALFORMED' } });
  });

  it.each([
    ['an Unleash v1 hex token', 'a'.repeat(8) + '0123456789abcdef0123456789abcdef0123456789abcdef01234567', (s: string) => ({ authorization: s })],
    ['an Unleash v2 token', 'default:production.0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071', (s: string) => ({ authorization: s })],
    ['a proxy client key', 'proxy-client-key-0001', (s: string) => ({ authorization: s })],
  ])('IMPORTED: %s keeps working unchanged', async (_, secret, headers) => {
    const id = `imp-${Math.random().toString(36).slice(2, 8)}`;
    const res = await admin.importClientCredential({
      parent: 'clients/shop',
      credentialId: id,
      secret,
      credential: { class: Class.SECRET, environments: ['production'], projects: ['default'], scopes: ['flags:read'] },
    });
    expect(res.secret).toBe(secret);
    expect(res.credential!.format).toBe(Format.IMPORTED);
    await works(headers(secret), `clients/shop/credentials/${id}`, { format: 'IMPORTED', environments: ['production'], cls: 'SECRET' });
  });

  it('IMPORTED: refuses a key shorter than 16 characters and a secret registered twice', async () => {
    const short = await refusal(
      admin.importClientCredential({ parent: 'clients/shop', secret: 'short-key', credential: { class: Class.SECRET, projects: ['*'], scopes: ['flags:read'] } }),
    );
    expect(short.code).toBe(Code.InvalidArgument);
    expect(short.fieldViolations?.map((v) => v.field)).toEqual(['secret']);
    const twice = await refusal(
      admin.importClientCredential({ parent: 'clients/shop', secret: 'proxy-client-key-0001', credential: { class: Class.SECRET, projects: ['*'], scopes: ['flags:read'] } }),
    );
    expect(twice).toMatchObject({ code: Code.AlreadyExists, reason: 'SECRET_ALREADY_REGISTERED' });
  });
});
