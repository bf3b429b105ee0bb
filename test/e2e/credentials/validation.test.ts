import { existsSync, readFileSync } from 'node:fs';
import { Code } from '@connectrpc/connect';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format, ClientCredential_State as State } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { FlagResolverService } from '../../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, TestClock, basic, connectClient, requestToken } from '../../support/clients.js';
import { refusal } from '../../support/errors.js';
import { describeSelf, grpcResolve } from '../../support/runtime.js';
import { startTestServer, type TestServer } from '../../support/server.js';

/** SPEC §3's validation table, one row at a time, on plain HTTP and over RPC. */
describe('the credential validation pipeline', () => {
  let server: TestServer;
  let admin: ReturnType<typeof connectClient<typeof ClientCredentialService>>;
  const clock = new TestClock();
  const issued: string[] = [];

  const make = async (id: string, credential: object) => {
    const res = await admin.createClientCredential({ parent: 'clients/app', credentialId: id, credential });
    issued.push(res.secret);
    return res;
  };
  const secretKey = (extra: object = {}) => ({ class: Class.SECRET, format: Format.CLIENT_SECRET, environments: ['development'], projects: ['*'], scopes: ['flags:read'], ...extra });
  const http = (secret: string, headers: Record<string, string> = {}, host = '127.0.0.1') =>
    fetch(`http://${host}:${server.port}/v1/credential`, { headers: { authorization: `Bearer ${secret}`, ...headers } }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, unknown>,
    }));

  beforeAll(async () => {
    // Dual-stack, so IPv6 (::1) and IPv4-mapped (::ffff:127.0.0.1) peers are real; 127.0.0.1 is a trusted proxy.
    server = await startTestServer({ ...BOOTSTRAP_CONFIG, host: '::', trustedProxies: '127.0.0.1/32' }, { now: clock.now });
    // Basic auth: an access token would expire as the test clock moves.
    admin = connectClient(server, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    await admin.createClient({ clientId: 'app' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('1: no credential → 401 / UNAUTHENTICATED CREDENTIAL_MISSING', async () => {
    const res = await fetch(`${server.baseUrl}/v1/credential`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_MISSING' });
    const rpc = await refusal(connectClient(server, FlagResolverService).resolveFlags({}));
    expect(rpc).toMatchObject({ code: Code.Unauthenticated, reason: 'CREDENTIAL_MISSING', domain: 'latchkey' });
    expect(await grpcResolve(server, {})).toMatchObject({ code: 16, reason: 'CREDENTIAL_MISSING' });
  });

  it('1: two different credentials in one request are refused', async () => {
    const a = await make('conflict-a', secretKey());
    const b = await make('conflict-b', secretKey());
    const rpc = await refusal(connectClient(server, FlagResolverService, { authorization: `Bearer ${a.secret}` }).resolveFlags({ clientSecret: b.secret }));
    expect(rpc).toMatchObject({ code: Code.Unauthenticated, reason: 'CREDENTIAL_CONFLICT', message: 'the request carries two different credentials; send exactly one' });
    // The same credential in two places is not a conflict.
    await expect(connectClient(server, FlagResolverService, { authorization: `Bearer ${a.secret}` }).resolveFlags({ clientSecret: a.secret })).resolves.toBeDefined();
  });

  it('2: a malformed or mistyped secret → 401 CREDENTIAL_MALFORMED, without a lookup', async () => {
    const { secret } = await make('typo', secretKey());
    const typo = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
    expect(await http(typo)).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_MALFORMED' } });
    expect(await http('sk_test_nonsense')).toMatchObject({ status: 401, body: { reason: 'CREDENTIAL_MALFORMED' } });
    expect(await grpcResolve(server, { authorization: 'Bearer x' })).toMatchObject({ code: 16, reason: 'CREDENTIAL_MALFORMED' });
  });

  it('2: a management access token is refused on the runtime API', async () => {
    const token = await requestToken(server, BOOTSTRAP.clientId, BOOTSTRAP.secret);
    const r = await http(token);
    expect(r).toMatchObject({ status: 401, body: { reason: 'CREDENTIAL_MALFORMED' } });
    expect(String(r.body.message)).toContain('management access tokens are not accepted on the runtime API');
  });

  it('3: a well-formed but unknown secret → 401 CREDENTIAL_UNKNOWN, audited by digest prefix only', async () => {
    const { secret } = await make('deleted', secretKey());
    await admin.deleteClientCredential({ name: 'clients/app/credentials/deleted' });
    expect(await http(secret)).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_UNKNOWN' } });
    expect(await grpcResolve(server, { authorization: `Bearer ${secret}` })).toMatchObject({ code: 16, reason: 'CREDENTIAL_UNKNOWN' });
  });

  it('4: revoked → 410 Gone / UNAUTHENTICATED CREDENTIAL_REVOKED, from the very next request; update cannot un-revoke', async () => {
    const { secret } = await make('revoked', secretKey());
    expect((await http(secret)).status).toBe(200);
    const revoked = await admin.revokeClientCredential({ name: 'clients/app/credentials/revoked' });
    expect(revoked.state).toBe(State.REVOKED);
    expect(revoked.revokeTime).toBeDefined();
    expect(await http(secret)).toMatchObject({ status: 410, body: { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_REVOKED' } });
    expect(await grpcResolve(server, { authorization: `Bearer ${secret}` })).toMatchObject({ code: 16, reason: 'CREDENTIAL_REVOKED' });
    const update = await refusal(
      admin.updateClientCredential({ credential: { name: 'clients/app/credentials/revoked', state: State.ACTIVE, displayName: 'x' }, updateMask: { paths: ['display_name'] } }),
    );
    expect(update).toMatchObject({ code: Code.FailedPrecondition, reason: 'CREDENTIAL_REVOKED' });
    const stateMask = await refusal(admin.updateClientCredential({ credential: { name: 'clients/app/credentials/revoked', state: State.ACTIVE }, updateMask: { paths: ['state'] } }));
    expect(stateMask).toMatchObject({ code: Code.InvalidArgument, reason: 'UPDATE_MASK_INVALID' });
    expect((await admin.getClientCredential({ name: 'clients/app/credentials/revoked' })).state).toBe(State.REVOKED);
  });

  it('4: expired → 401 CREDENTIAL_EXPIRED', async () => {
    const expireTime = { seconds: BigInt(Math.floor(clock.now().getTime() / 1000) + 3600), nanos: 0 };
    const { secret } = await make('expiring', secretKey({ expireTime }));
    expect((await http(secret)).status).toBe(200);
    clock.advance(3600_000);
    expect(await http(secret)).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_EXPIRED' } });
  });

  it('5: a client address outside allowed_ip_ranges → 403 IP_NOT_ALLOWED (IPv4, IPv6, IPv4-mapped)', async () => {
    const v4 = await make('ip-v4', secretKey({ allowedIpRanges: ['127.0.0.0/8'] }));
    const v6 = await make('ip-v6', secretKey({ allowedIpRanges: ['::1/128'] }));
    // From 127.0.0.1 the dual-stack socket reports ::ffff:127.0.0.1, which is normalised to 127.0.0.1.
    expect((await http(v4.secret)).status).toBe(200);
    expect(await http(v4.secret, {}, '[::1]')).toMatchObject({ status: 403, body: { code: 'PERMISSION_DENIED', reason: 'IP_NOT_ALLOWED', message: 'clients/app/credentials/ip-v4 may not be used from ::1' } });
    expect((await http(v6.secret, {}, '[::1]')).status).toBe(200);
    expect(await http(v6.secret)).toMatchObject({ status: 403, body: { reason: 'IP_NOT_ALLOWED' } });
    expect(await grpcResolve(server, { authorization: `Bearer ${v6.secret}` })).toMatchObject({ code: 7, reason: 'IP_NOT_ALLOWED' });
  });

  it('5: X-Forwarded-For is honoured from a trusted proxy and ignored from anyone else', async () => {
    const { secret } = await make('behind-proxy', secretKey({ allowedIpRanges: ['203.0.113.0/24'] }));
    expect((await http(secret, { 'x-forwarded-for': '203.0.113.7' })).status).toBe(200); // peer 127.0.0.1 is trusted
    expect(await http(secret, { 'x-forwarded-for': '198.51.100.1' })).toMatchObject({ status: 403, body: { reason: 'IP_NOT_ALLOWED' } });
    expect(await http(secret, { 'x-forwarded-for': '203.0.113.7' }, '[::1]')).toMatchObject({ status: 403, body: { reason: 'IP_NOT_ALLOWED' } }); // ::1 is not trusted
  });

  it('6: an Origin outside allowed_origins → 403 ORIGIN_NOT_ALLOWED; a missing Origin too, when the list is set', async () => {
    const { secret } = await make('web', secretKey({ allowedOrigins: ['https://app.example.com', 'https://*.example.org'] }));
    expect((await http(secret, { origin: 'https://app.example.com' })).status).toBe(200);
    expect((await http(secret, { origin: 'https://shop.example.org' })).status).toBe(200);
    expect(await http(secret, { origin: 'https://a.b.example.org' })).toMatchObject({ status: 403, body: { reason: 'ORIGIN_NOT_ALLOWED' } });
    expect(await http(secret, { origin: 'https://evil.example.com' })).toMatchObject({ status: 403, body: { code: 'PERMISSION_DENIED', reason: 'ORIGIN_NOT_ALLOWED' } });
    expect(await http(secret)).toMatchObject({
      status: 403,
      body: { reason: 'ORIGIN_NOT_ALLOWED', message: 'clients/app/credentials/web is limited to listed origins and this request has no Origin header' },
    });
  });

  it('7: a missing scope → PERMISSION_DENIED SCOPE_MISSING', async () => {
    const { secret } = await make('configs-only', secretKey({ scopes: ['configs:read'] }));
    const r = await refusal(connectClient(server, FlagResolverService, { authorization: `Bearer ${secret}` }).resolveFlags({}));
    expect(r).toMatchObject({
      code: Code.PermissionDenied,
      reason: 'SCOPE_MISSING',
      message: 'clients/app/credentials/configs-only lacks the scope flags:read that /latchkey.flags.resolver.v1.FlagResolverService/ResolveFlags needs',
    });
  });

  it('7: a publishable credential on a SECRET-only method → PERMISSION_DENIED CLASS_NOT_ALLOWED', async () => {
    const { secret } = await make('pub', { format: Format.PUBLISHABLE_KEY, environments: ['production'], projects: ['*'], scopes: ['flags:read'] });
    const r = await refusal(connectClient(server, FlagResolverService, { authorization: `Bearer ${secret}` }).listFlagDefinitions({}));
    expect(r).toMatchObject({ code: Code.PermissionDenied, reason: 'CLASS_NOT_ALLOWED' });
  });

  it('rotation: both secrets work during the grace period; the old one expires after it', async () => {
    const { secret: old } = await make('rotating', secretKey());
    const rotated = await admin.rotateClientCredential({ name: 'clients/app/credentials/rotating', gracePeriod: { seconds: 600n, nanos: 0 } });
    expect(rotated.secret).not.toBe(old);
    issued.push(rotated.secret);
    expect((await http(old)).status).toBe(200);
    expect((await http(rotated.secret)).status).toBe(200);
    clock.advance(600_000);
    expect(await http(old)).toMatchObject({ status: 401, body: { reason: 'CREDENTIAL_EXPIRED' } });
    expect((await http(rotated.secret)).status).toBe(200);
  });

  it('rotation without a grace period keeps the old secret for 24 hours', async () => {
    const { secret: old } = await make('rotating-default', secretKey());
    const rotated = await admin.rotateClientCredential({ name: 'clients/app/credentials/rotating-default' });
    issued.push(rotated.secret);
    clock.advance(24 * 3600_000 - 1000);
    expect((await http(old)).status).toBe(200);
    clock.advance(1000);
    expect(await http(old)).toMatchObject({ status: 401, body: { reason: 'CREDENTIAL_EXPIRED' } });
  });

  it('deleting a client ends its credentials at once', async () => {
    await admin.createClient({ clientId: 'short-lived' });
    const { secret } = await admin.createClientCredential({ parent: 'clients/short-lived', credential: secretKey() });
    issued.push(secret);
    expect((await http(secret)).status).toBe(200);
    await admin.deleteClient({ name: 'clients/short-lived' });
    expect(await http(secret)).toMatchObject({ status: 401, body: { reason: 'CREDENTIAL_UNKNOWN' } });
  });

  it('never stores, logs or returns a plaintext secret after the response that issued it', async () => {
    const listed = await admin.listClientCredentials({ parent: 'clients/-', pageSize: 1000 });
    expect(listed.credentials.length).toBeGreaterThan(10);
    const listing = JSON.stringify(listed.credentials.map((c) => ({ ...c, createTime: undefined, updateTime: undefined, expireTime: undefined, revokeTime: undefined, lastUseTime: undefined })));
    await server.app.audit.flush();
    const files = [server.sqlitePath!, `${server.sqlitePath}-wal`].filter(existsSync).map((f) => readFileSync(f));
    for (const secret of issued) {
      expect(listing).not.toContain(secret);
      expect(server.logs.text()).not.toContain(secret);
      for (const bytes of files) expect(bytes.includes(Buffer.from(secret))).toBe(false);
    }
  });
});
