import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { ErrorInfoSchema, RetryInfoSchema } from '../../../gen/google/rpc/error_details_pb.js';
import { StatusSchema } from '../../../gen/google/rpc/status_pb.js';
import { AuditService } from '../../../gen/latchkey/audit/v1/audit_service_pb.js';
import { AuditEvent_Kind } from '../../../gen/latchkey/audit/v1/audit_event_pb.js';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { FlagResolverService, ResolveFlagsRequestSchema, ResolveFlagsResponseSchema } from '../../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { ApiClientService } from '../../../gen/latchkey/iam/v1/api_client_service_pb.js';
import { AuthService } from '../../../gen/latchkey/iam/v1/auth_service_pb.js';
import { issueSecret } from '../../../src/credentials/issue.js';
import { KyselyApiClientStore } from '../../../src/store/api-client-store.js';
import { KyselyCredentialStore } from '../../../src/store/credential-store.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, basic, bearer, connectClient, requestToken } from '../../support/clients.js';
import { createTestDatabase } from '../../support/postgres.js';
import { startTestServer, type TestServer } from '../../support/server.js';

/**
 * SPEC §3, "Failed attempts are throttled": missing, malformed and unknown
 * credentials spend the default budget of their client address (here 5 per
 * minute); a spent address is refused with RATE_LIMITED before any lookup;
 * the token endpoint, AuthService and HTTP Basic likewise per client id and
 * per address. 127.0.0.1 is a trusted proxy, so X-Forwarded-For gives each
 * test its own client address while the admin calls from 127.0.0.1 itself.
 */

const LIMIT = 5;
const UNKNOWN_MESSAGE = 'the credential is not known to this server (check for a typo, or whether it was deleted)';
const INVALID_CLIENT = 'client authentication failed: unknown client_id or wrong client_secret';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A well-formed CLIENT_SECRET (valid checksum) that no credential has. */
const unknownSecret = () => issueSecret('CLIENT_SECRET', { environments: [], projects: ['*'], live: false }).secret;
/** A fresh client address (TEST-NET-2) per use, so budgets do not leak between tests. */
let nextAddress = 1;
const freshAddress = () => `198.51.100.${nextAddress++}`;
const tooMany = (subject: string, limit = LIMIT, windowSeconds = 60) =>
  new RegExp(`^too many failed authentication attempts ${subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${limit} per ${windowSeconds} s; retry in (\\d+) s$`);

interface HttpAnswer {
  status: number;
  limit: string | null;
  remaining: string | null;
  reset: number;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

async function answerOf(r: Response): Promise<HttpAnswer> {
  return {
    status: r.status,
    limit: r.headers.get('x-ratelimit-limit'),
    remaining: r.headers.get('x-ratelimit-remaining'),
    reset: Number(r.headers.get('x-ratelimit-reset')),
    retryAfter: r.headers.get('retry-after'),
    body: (await r.json()) as Record<string, unknown>,
  };
}

const self = (server: TestServer, address: string, headers: Record<string, string> = {}) =>
  fetch(`${server.baseUrl}/v1/credential`, { headers: { 'x-forwarded-for': address, ...headers } }).then(answerOf);

/** The 429 of a spent budget: exact body and headers; returns Retry-After. */
function expectRateLimited(a: HttpAnswer, subject: string, limit = LIMIT, windowSeconds = 60): number {
  expect(a.status).toBe(429);
  expect(a.body).toEqual({ code: 'RESOURCE_EXHAUSTED', reason: 'RATE_LIMITED', message: expect.stringMatching(tooMany(subject, limit, windowSeconds)) });
  expect([a.limit, a.remaining]).toEqual([String(limit), '0']);
  const retryAfter = Number(a.retryAfter);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  expect(String(a.body.message)).toMatch(new RegExp(`retry in ${retryAfter} s$`));
  // Reset is when the block ends: Retry-After seconds from now (to the second).
  const nowSeconds = Date.now() / 1000;
  expect(a.reset).toBeGreaterThanOrEqual(Math.floor(nowSeconds + retryAfter) - 1);
  expect(a.reset).toBeLessThanOrEqual(Math.ceil(nowSeconds + retryAfter) + 1);
  return retryAfter;
}

async function newSecret(server: TestServer): Promise<{ secret: string; name: string }> {
  const admin = connectClient(server, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
  const client = `guess-${randomBytes(4).toString('hex')}`;
  await admin.createClient({ clientId: client });
  const res = await admin.createClientCredential({
    parent: `clients/${client}`,
    credentialId: 'key',
    credential: { class: Class.SECRET, format: Format.CLIENT_SECRET, projects: ['*'], scopes: ['flags:read'] },
  });
  return { secret: res.secret, name: res.credential!.name };
}

/** A Connect refusal: code, ErrorInfo reason, RetryInfo delay and the response metadata. */
async function connectRefusal(p: Promise<unknown>) {
  const err = await p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => ConnectError.from(e),
  );
  const retry = err.findDetails(RetryInfoSchema)[0];
  return {
    code: err.code,
    reason: err.findDetails(ErrorInfoSchema)[0]?.reason,
    message: err.rawMessage,
    retryDelay: retry ? Number(retry.retryDelay?.seconds) : undefined,
    retryAfter: err.metadata.get('retry-after'),
    limit: err.metadata.get('x-ratelimit-limit'),
    remaining: err.metadata.get('x-ratelimit-remaining'),
  };
}

/** ResolveFlags over @grpc/grpc-js, decoding ErrorInfo and RetryInfo from grpc-status-details-bin. */
function grpcResolve(server: TestServer, metadata: Record<string, string>) {
  const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise<{ code: number; reason?: string; retryDelay?: number; message: string; md: Record<string, string> }>((resolve) => {
    client.makeUnaryRequest(
      '/latchkey.flags.resolver.v1.FlagResolverService/ResolveFlags',
      (m: ReturnType<typeof create<typeof ResolveFlagsRequestSchema>>) => Buffer.from(toBinary(ResolveFlagsRequestSchema, m)),
      (b: Buffer) => fromBinary(ResolveFlagsResponseSchema, b),
      create(ResolveFlagsRequestSchema, {}),
      md,
      (err) => {
        client.close();
        if (!err) return resolve({ code: 0, message: '', md: {} });
        const out: { code: number; reason?: string; retryDelay?: number; message: string; md: Record<string, string> } = { code: err.code, message: err.details, md: {} };
        for (const [k, v] of Object.entries(err.metadata.getMap())) if (typeof v === 'string') out.md[k] = v;
        const details = err.metadata.get('grpc-status-details-bin')[0];
        if (details) {
          const status = fromBinary(StatusSchema, details as Buffer);
          // The message as sent: grpc-js undoes grpc-message's percent-encoding with decodeURI, which leaves %3A and %3B.
          out.message = status.message;
          for (const any of status.details) {
            if (any.typeUrl.endsWith('google.rpc.ErrorInfo')) out.reason = fromBinary(ErrorInfoSchema, any.value).reason;
            if (any.typeUrl.endsWith('google.rpc.RetryInfo')) out.retryDelay = Number(fromBinary(RetryInfoSchema, any.value).retryDelay?.seconds);
          }
        }
        resolve(out);
      },
    );
  });
}

async function metric(server: TestServer, line: string): Promise<number> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

describe('guessing is throttled (default limit 5/1m)', () => {
  let server: TestServer;
  let lookups: jest.SpiedFunction<KyselyCredentialStore['findBySecretDigest']>;
  let findBySecretDigest: KyselyCredentialStore['findBySecretDigest'];
  let clientLookups: jest.SpiedFunction<KyselyApiClientStore['getByClientId']>;
  let tokenLookups: jest.SpiedFunction<KyselyApiClientStore['findToken']>;
  const admin = () => basic(BOOTSTRAP.clientId, BOOTSTRAP.secret);

  beforeAll(async () => {
    server = await startTestServer({ ...BOOTSTRAP_CONFIG, defaultRateLimit: '5/1m', trustedProxies: '127.0.0.1' });
    // Every database lookup a guess can cause, counted on the real stores the server uses.
    findBySecretDigest = KyselyCredentialStore.prototype.findBySecretDigest;
    lookups = jest.spyOn(KyselyCredentialStore.prototype, 'findBySecretDigest');
    clientLookups = jest.spyOn(KyselyApiClientStore.prototype, 'getByClientId');
    tokenLookups = jest.spyOn(KyselyApiClientStore.prototype, 'findToken');
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await server.close();
  });

  it('answers the first 5 unknown secrets from an address 401, then 429 before any lookup, even for a valid credential', async () => {
    const address = freshAddress();
    const valid = await newSecret(server);
    const unknownBefore = await metric(server, 'latchkey_credential_validations_total{reason="CREDENTIAL_UNKNOWN"}');
    const limitedBefore = await metric(server, 'latchkey_credential_validations_total{reason="RATE_LIMITED"}');

    lookups.mockClear();
    const first: HttpAnswer[] = [];
    for (let i = 0; i < LIMIT; i++) first.push(await self(server, address, bearer(unknownSecret())));
    expect(first.map((a) => [a.status, a.limit, a.remaining, a.retryAfter])).toEqual([
      [401, '5', '4', null],
      [401, '5', '3', null],
      [401, '5', '2', null],
      [401, '5', '1', null],
      [401, '5', '0', null],
    ]);
    for (const a of first) expect(a.body).toEqual({ code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_UNKNOWN', message: UNKNOWN_MESSAGE });
    expect(lookups).toHaveBeenCalledTimes(LIMIT); // the spy sees lookups: each unknown secret was looked up

    lookups.mockClear();
    const blockedUnknown = await self(server, address, bearer(unknownSecret()));
    expectRateLimited(blockedUnknown, `from ${address}`);
    // The address is refused, not the secret: a valid credential from it is refused too, unlooked-up.
    const blockedValid = await self(server, address, bearer(valid.secret));
    expectRateLimited(blockedValid, `from ${address}`);
    expect(lookups).not.toHaveBeenCalled();

    // Another address is not affected, and neither is the credential itself.
    const elsewhere = await self(server, freshAddress(), bearer(valid.secret));
    expect([elsewhere.status, elsewhere.body.credential]).toEqual([200, valid.name]);

    // Refusals are still accounted for: metrics, and the audit trail (with no digest: nothing was digested or looked up).
    expect(await metric(server, 'latchkey_credential_validations_total{reason="CREDENTIAL_UNKNOWN"}')).toBe(unknownBefore + LIMIT);
    expect(await metric(server, 'latchkey_credential_validations_total{reason="RATE_LIMITED"}')).toBe(limitedBefore + 2);
    const audit = connectClient(server, AuditService, admin());
    const events = (await audit.listAuditEvents({ kind: AuditEvent_Kind.CREDENTIAL_VALIDATION, pageSize: 1000 })).auditEvents.filter((e) => e.clientAddress === address);
    expect(events.map((e) => e.outcome)).toEqual([...Array<string>(LIMIT).fill('CREDENTIAL_UNKNOWN'), 'RATE_LIMITED', 'RATE_LIMITED']);
    expect(events.slice(0, LIMIT).every((e) => /^[0-9a-f]{8}$/.test(e.digestPrefix))).toBe(true);
    expect(events.slice(LIMIT).map((e) => [e.credential, e.digestPrefix, e.method])).toEqual([
      ['', '', 'GET /v1/credential'],
      ['', '', 'GET /v1/credential'],
    ]);
  });

  it('counts missing and malformed credentials too', async () => {
    const address = freshAddress();
    const plan: [Record<string, string>, string][] = [
      [{}, 'CREDENTIAL_MISSING'],
      [bearer('sk_test_nonsense'), 'CREDENTIAL_MALFORMED'],
      [{ authorization: 'Bearer x' }, 'CREDENTIAL_MALFORMED'],
      [{}, 'CREDENTIAL_MISSING'],
      [bearer(unknownSecret()), 'CREDENTIAL_UNKNOWN'],
    ];
    const answers: [number, unknown, string | null][] = [];
    for (const [headers] of plan) {
      const a = await self(server, address, headers);
      answers.push([a.status, a.body.reason, a.remaining]);
    }
    expect(answers).toEqual(plan.map(([, reason], i) => [401, reason, String(LIMIT - 1 - i)]));
    expectRateLimited(await self(server, address), `from ${address}`);
    expectRateLimited(await self(server, address, bearer('sk_test_nonsense')), `from ${address}`);
  });

  it('refuses a spent address over Connect with RESOURCE_EXHAUSTED, RetryInfo and the headers', async () => {
    const address = freshAddress();
    const resolver = (secret: string) => connectClient(server, FlagResolverService, { authorization: `Bearer ${secret}`, 'x-forwarded-for': address });
    const first = [];
    for (let i = 0; i < LIMIT; i++) first.push(await connectRefusal(resolver(unknownSecret()).resolveFlags({})));
    expect(first.map((r) => [r.code, r.reason, r.remaining, r.retryAfter, r.retryDelay])).toEqual(
      [4, 3, 2, 1, 0].map((n) => [Code.Unauthenticated, 'CREDENTIAL_UNKNOWN', String(n), null, undefined]),
    );
    lookups.mockClear();
    const refused = await connectRefusal(resolver(unknownSecret()).resolveFlags({}));
    expect(refused).toMatchObject({ code: Code.ResourceExhausted, reason: 'RATE_LIMITED', limit: '5', remaining: '0', message: expect.stringMatching(tooMany(`from ${address}`)) });
    expect(refused.retryDelay).toBeGreaterThanOrEqual(1);
    expect(refused.retryAfter).toBe(String(refused.retryDelay));
    // The Connect protocol's HTTP status for RESOURCE_EXHAUSTED, seen with a plain fetch.
    const raw = await fetch(`${server.baseUrl}/latchkey.flags.resolver.v1.FlagResolverService/ResolveFlags`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': address, authorization: `Bearer ${unknownSecret()}` },
      body: '{}',
    });
    expect([raw.status, raw.headers.get('x-ratelimit-remaining'), ((await raw.json()) as { code: string }).code]).toEqual([429, '0', 'resource_exhausted']);
    expect(Number(raw.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(lookups).not.toHaveBeenCalled();
  });

  it('refuses a spent address over gRPC with RESOURCE_EXHAUSTED, RetryInfo and the metadata', async () => {
    const address = freshAddress();
    const first = [];
    for (let i = 0; i < LIMIT; i++) first.push(await grpcResolve(server, { authorization: `Bearer ${unknownSecret()}`, 'x-forwarded-for': address }));
    expect(first.map((r) => [r.code, r.reason, r.md['x-ratelimit-remaining']])).toEqual([4, 3, 2, 1, 0].map((n) => [16, 'CREDENTIAL_UNKNOWN', String(n)]));
    lookups.mockClear();
    const refused = await grpcResolve(server, { authorization: `Bearer ${unknownSecret()}`, 'x-forwarded-for': address });
    expect(refused).toMatchObject({ code: 8, reason: 'RATE_LIMITED', message: expect.stringMatching(tooMany(`from ${address}`)) });
    expect(refused.md['x-ratelimit-remaining']).toBe('0');
    expect(refused.md['x-ratelimit-limit']).toBe('5');
    expect(refused.retryDelay).toBeGreaterThanOrEqual(1);
    expect(refused.md['retry-after']).toBe(String(refused.retryDelay));
    expect(lookups).not.toHaveBeenCalled();
  });

  it('never answers more than 5 failures per address, however many guesses run at once', async () => {
    const address = freshAddress();
    // A slow store, so that every guess is past the "blocked?" check before the first one fails.
    lookups.mockClear();
    lookups.mockImplementation(async function (this: KyselyCredentialStore, digest: string) {
      await sleep(200);
      return findBySecretDigest.call(this, digest);
    });
    try {
      const answers = await Promise.all(Array.from({ length: 12 }, () => self(server, address, bearer(unknownSecret()))));
      expect(lookups).toHaveBeenCalledTimes(12);
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([...Array<number>(LIMIT).fill(401), ...Array<number>(12 - LIMIT).fill(429)]);
      for (const a of answers.filter((x) => x.status === 429)) expectRateLimited(a, `from ${address}`);
    } finally {
      lookups.mockImplementation(findBySecretDigest);
    }
  });

  describe('the token endpoint', () => {
    const token = (address: string, params: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${server.baseUrl}/v1/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': address, ...headers },
        body: new URLSearchParams({ grant_type: 'client_credentials', ...params }).toString(),
      }).then(async (r) => ({ ...(await answerOf(r)), cacheControl: r.headers.get('cache-control') }));

    const expectSlowDown = (a: HttpAnswer, subject: string) => {
      expect(a.status).toBe(429);
      expect(a.body).toEqual({ error: 'slow_down', error_description: expect.stringMatching(tooMany(subject)) });
      expect([a.limit, a.remaining]).toEqual(['5', '0']);
      expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(String(a.body.error_description)).toMatch(new RegExp(`retry in ${a.retryAfter} s$`));
    };

    let victim: { clientId: string; clientSecret: string };
    beforeAll(async () => {
      const created = await connectClient(server, ApiClientService, admin()).createApiClient({ apiClientId: 'victim', apiClient: { roles: ['roles/flag-viewer'] } });
      victim = { clientId: created.clientId, clientSecret: created.clientSecret };
    });

    it('refuses an address that sent 5 wrong secrets with 429 slow_down, a correct secret included, without looking the client up', async () => {
      const address = freshAddress();
      const first = [];
      // Different client ids, so only the address budget is spent.
      for (let i = 0; i < LIMIT; i++) first.push(await token(address, { client_id: `nobody-${i}`, client_secret: 'not-the-secret-at-all' }));
      expect(first.map((a) => [a.status, a.body, a.remaining, a.retryAfter])).toEqual(
        [4, 3, 2, 1, 0].map((n) => [401, { error: 'invalid_client', error_description: INVALID_CLIENT }, String(n), null]),
      );
      clientLookups.mockClear();
      const wrong = await token(address, { client_id: victim.clientId, client_secret: 'still-not-the-secret' });
      expectSlowDown(wrong, `from ${address}`);
      expect(wrong.cacheControl).toBe('no-store');
      const right = await token(address, { client_id: victim.clientId, client_secret: victim.clientSecret });
      expectSlowDown(right, `from ${address}`);
      // HTTP Basic client authentication, and malformed Basic, are refused the same way.
      expectSlowDown(await token(address, {}, basic(victim.clientId, victim.clientSecret)), `from ${address}`);
      expectSlowDown(await token(address, {}, { authorization: 'Basic !!!' }), `from ${address}`);
      expect(clientLookups).not.toHaveBeenCalled();
      // The client itself is not blocked: from another address its secret works.
      expect((await token(freshAddress(), { client_id: victim.clientId, client_secret: victim.clientSecret })).status).toBe(200);
    });

    it('refuses a client id that got 5 wrong secrets from 5 addresses, from any address, also over RPC and HTTP Basic', async () => {
      const created = await connectClient(server, ApiClientService, admin()).createApiClient({ apiClientId: 'target', apiClient: { roles: ['roles/flag-viewer'] } });
      const issuedBefore = await requestToken(server, created.clientId, created.clientSecret);
      const first = [];
      for (let i = 0; i < LIMIT; i++) first.push(await token(freshAddress(), { client_id: created.clientId, client_secret: `wrong-secret-${i}` }));
      // Each address spent one point; the client id spent five.
      expect(first.map((a) => [a.status, a.body.error, a.remaining])).toEqual([4, 3, 2, 1, 0].map((n) => [401, 'invalid_client', String(n)]));

      clientLookups.mockClear();
      const subject = `for client_id ${JSON.stringify(created.clientId)}`;
      expectSlowDown(await token(freshAddress(), { client_id: created.clientId, client_secret: created.clientSecret }), subject);
      const rpc = await connectRefusal(
        connectClient(server, AuthService, { 'x-forwarded-for': freshAddress() }).requestAccessToken({ grantType: 'client_credentials', clientId: created.clientId, clientSecret: created.clientSecret }),
      );
      expect(rpc).toMatchObject({ code: Code.ResourceExhausted, reason: 'RATE_LIMITED', limit: '5', remaining: '0', message: expect.stringMatching(tooMany(subject)) });
      expect(rpc.retryAfter).toBe(String(rpc.retryDelay));
      const viaBasic = await connectRefusal(connectClient(server, ApiClientService, { ...basic(created.clientId, created.clientSecret), 'x-forwarded-for': freshAddress() }).listRoles({}));
      expect(viaBasic).toMatchObject({ code: Code.ResourceExhausted, reason: 'RATE_LIMITED', message: expect.stringMatching(tooMany(subject)) });
      expect(Number(viaBasic.retryDelay)).toBeGreaterThanOrEqual(1);
      expect(viaBasic.retryAfter).toBe(String(viaBasic.retryDelay));
      expect(clientLookups).not.toHaveBeenCalled();
      // A token issued before is not a guess: it keeps working.
      await expect(connectClient(server, ApiClientService, { ...bearer(issuedBefore), 'x-forwarded-for': freshAddress() }).listRoles({})).resolves.toBeDefined();
    });

    it('throttles AuthService.RequestAccessToken per address', async () => {
      const address = freshAddress();
      const auth = connectClient(server, AuthService, { 'x-forwarded-for': address });
      const first = [];
      for (let i = 0; i < LIMIT; i++) first.push(await connectRefusal(auth.requestAccessToken({ grantType: 'client_credentials', clientId: `rpc-nobody-${i}`, clientSecret: 'wrong-wrong-wrong' })));
      expect(first.map((r) => [r.code, r.reason, r.message, r.remaining])).toEqual(
        [4, 3, 2, 1, 0].map((n) => [Code.Unauthenticated, 'INVALID_CLIENT', INVALID_CLIENT, String(n)]),
      );
      clientLookups.mockClear();
      const refused = await connectRefusal(auth.requestAccessToken({ grantType: 'client_credentials', clientId: BOOTSTRAP.clientId, clientSecret: BOOTSTRAP.secret }));
      expect(refused).toMatchObject({ code: Code.ResourceExhausted, reason: 'RATE_LIMITED', limit: '5', remaining: '0', message: expect.stringMatching(tooMany(`from ${address}`)) });
      expect(refused.retryAfter).toBe(String(refused.retryDelay));
      expect(clientLookups).not.toHaveBeenCalled();
    });
  });

  describe('the management API', () => {
    it('refuses an address after 5 wrong Basic secrets, the right one included', async () => {
      const address = freshAddress();
      const roles = (headers: Record<string, string>) => connectClient(server, ApiClientService, { ...headers, 'x-forwarded-for': address }).listRoles({});
      const first = [];
      for (let i = 0; i < LIMIT; i++) first.push(await connectRefusal(roles(basic(`basic-nobody-${i}`, 'wrong-secret-wrong'))));
      expect(first.map((r) => [r.code, r.reason, r.message, r.remaining])).toEqual([4, 3, 2, 1, 0].map((n) => [Code.Unauthenticated, 'INVALID_CLIENT', INVALID_CLIENT, String(n)]));
      clientLookups.mockClear();
      const refused = await connectRefusal(roles(admin()));
      expect(refused).toMatchObject({ code: Code.ResourceExhausted, reason: 'RATE_LIMITED', limit: '5', remaining: '0', message: expect.stringMatching(tooMany(`from ${address}`)) });
      expect(Number(refused.retryDelay)).toBeGreaterThanOrEqual(1);
      expect(refused.retryAfter).toBe(String(refused.retryDelay));
      expect(clientLookups).not.toHaveBeenCalled();
      // The admin from its own address is unaffected.
      await expect(connectClient(server, ApiClientService, admin()).listRoles({})).resolves.toBeDefined();
    });

    it('counts malformed Basic credentials and unknown access tokens against the address', async () => {
      const address = freshAddress();
      const roles = (headers: Record<string, string>) => connectClient(server, ApiClientService, { ...headers, 'x-forwarded-for': address }).listRoles({});
      const plan: [Record<string, string>, string][] = [
        [{ authorization: 'Basic !!!' }, 'CREDENTIAL_MALFORMED'],
        [bearer('lkat_' + 'A'.repeat(43)), 'ACCESS_TOKEN_INVALID'],
        [bearer('lkat_' + 'B'.repeat(43)), 'ACCESS_TOKEN_INVALID'],
        [bearer('lkat_' + 'C'.repeat(43)), 'ACCESS_TOKEN_INVALID'],
        [bearer('lkat_' + 'D'.repeat(43)), 'ACCESS_TOKEN_INVALID'],
      ];
      const first = [];
      for (const [headers] of plan) first.push(await connectRefusal(roles(headers)));
      expect(first.map((r) => [r.code, r.reason, r.remaining])).toEqual(plan.map(([, reason], i) => [Code.Unauthenticated, reason, String(LIMIT - 1 - i)]));
      tokenLookups.mockClear();
      const valid = await requestToken(server, BOOTSTRAP.clientId, BOOTSTRAP.secret); // from 127.0.0.1
      tokenLookups.mockClear();
      expect(await connectRefusal(roles(bearer('lkat_' + 'E'.repeat(43))))).toMatchObject({ code: Code.ResourceExhausted, reason: 'RATE_LIMITED' });
      expect(await connectRefusal(roles(bearer(valid)))).toMatchObject({ code: Code.ResourceExhausted, reason: 'RATE_LIMITED', remaining: '0' });
      expect(tokenLookups).not.toHaveBeenCalled();
      await expect(connectClient(server, ApiClientService, bearer(valid)).listRoles({})).resolves.toBeDefined();
    });

    it('does not count a missing credential or a runtime credential on the management API (nothing was looked up)', async () => {
      const address = freshAddress();
      for (let i = 0; i < LIMIT + 2; i++) {
        expect(await connectRefusal(connectClient(server, ApiClientService, { 'x-forwarded-for': address }).listRoles({}))).toMatchObject({ code: Code.Unauthenticated, reason: 'CREDENTIAL_MISSING' });
        expect(await connectRefusal(connectClient(server, ApiClientService, { ...bearer('sec_production_abcdefghijklmnop'), 'x-forwarded-for': address }).listRoles({}))).toMatchObject({
          code: Code.Unauthenticated,
          reason: 'RUNTIME_CREDENTIAL_NOT_ALLOWED',
        });
      }
    });
  });
});

describe('a spent address is refused until its window ends', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ ...BOOTSTRAP_CONFIG, defaultRateLimit: '2/2s', trustedProxies: '127.0.0.1' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers 401 again, and lets a valid credential through, after Retry-After', async () => {
    const address = freshAddress();
    const valid = await newSecret(server);
    expect((await self(server, address, bearer(unknownSecret()))).status).toBe(401);
    expect((await self(server, address, bearer(unknownSecret()))).status).toBe(401);
    const refused = await self(server, address, bearer(valid.secret));
    const retryAfter = expectRateLimited(refused, `from ${address}`, 2, 2);
    await sleep(retryAfter * 1000 + 100);
    expect((await self(server, address, bearer(valid.secret))).status).toBe(200);
    expect(await self(server, address, bearer(unknownSecret()))).toMatchObject({ status: 401, remaining: '1', body: { reason: 'CREDENTIAL_UNKNOWN' } });
  });
});

describe('failed attempts shared through Redis by two replicas', () => {
  let a: TestServer;
  let b: TestServer;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    const config = { ...BOOTSTRAP_CONFIG, databaseUrl: db.url, redisUrl: 'redis://127.0.0.1:6379', defaultRateLimit: '5/1m', trustedProxies: '127.0.0.1' };
    a = await startTestServer(config);
    b = await startTestServer(config);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await drop();
  });

  it('refuses on one replica the address that spent its budget on the other, from its first attempt there', async () => {
    // Random, so concurrent runs sharing this Redis do not share the budget.
    const address = `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
    const valid = await newSecret(a);
    for (let i = 0; i < LIMIT; i++) expect((await self(a, address, bearer(unknownSecret()))).status).toBe(401);
    expectRateLimited(await self(a, address, bearer(valid.secret)), `from ${address}`);
    // b has not seen this address fail: its first guess is looked up, but answered as the spent budget, and blocks it on b too.
    expectRateLimited(await self(b, address, bearer(unknownSecret())), `from ${address}`);
    expectRateLimited(await self(b, address, bearer(valid.secret)), `from ${address}`);
  });
});
