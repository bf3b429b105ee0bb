import { randomBytes } from 'node:crypto';
import { Code, ConnectError } from '@connectrpc/connect';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { FlagResolverService } from '../../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { RetryInfoSchema, ErrorInfoSchema } from '../../../gen/google/rpc/error_details_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, basic, connectClient } from '../../support/clients.js';
import { createTestDatabase } from '../../support/postgres.js';
import { spawnLatchkey } from '../../support/process.js';
import { startTestServer, type TestServer } from '../../support/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const unique = () => `rl-${randomBytes(4).toString('hex')}`;

async function newCredential(server: Pick<TestServer, 'baseUrl'>, rateLimit?: { requests: number; seconds: number }) {
  const admin = connectClient(server, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
  const client = unique();
  await admin.createClient({ clientId: client });
  const res = await admin.createClientCredential({
    parent: `clients/${client}`,
    credentialId: 'key',
    credential: {
      class: Class.SECRET,
      format: Format.CLIENT_SECRET,
      projects: ['*'],
      scopes: ['flags:read'],
      rateLimit: rateLimit ? { requests: rateLimit.requests, window: { seconds: BigInt(rateLimit.seconds), nanos: 0 } } : undefined,
    },
  });
  return { secret: res.secret, name: res.credential!.name };
}

const self = (server: Pick<TestServer, 'baseUrl'>, secret?: string) =>
  fetch(`${server.baseUrl}/v1/credential`, { headers: secret ? { authorization: `Bearer ${secret}` } : {} }).then(async (r) => ({
    status: r.status,
    limit: r.headers.get('x-ratelimit-limit'),
    remaining: r.headers.get('x-ratelimit-remaining'),
    reset: Number(r.headers.get('x-ratelimit-reset')),
    retryAfter: r.headers.get('retry-after'),
    body: (await r.json()) as Record<string, unknown>,
  }));

describe('rate limits per credential (in memory)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ ...BOOTSTRAP_CONFIG, defaultRateLimit: '2/10s' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('counts down exactly, refuses the request after the limit with 429 and Retry-After, and resets with the window', async () => {
    const { secret, name } = await newCredential(server, { requests: 3, seconds: 2 });
    const before = Math.floor(Date.now() / 1000);
    const answers = [await self(server, secret), await self(server, secret), await self(server, secret)];
    expect(answers.map((a) => [a.status, a.limit, a.remaining])).toEqual([
      [200, '3', '2'],
      [200, '3', '1'],
      [200, '3', '0'],
    ]);
    // The 2 s window starts at the first request, somewhere between `before` and `after`.
    const after = Math.ceil(Date.now() / 1000);
    for (const a of answers) {
      expect(a.reset).toBeGreaterThanOrEqual(before);
      expect(a.reset).toBeLessThanOrEqual(after + 2);
      expect(a.retryAfter).toBeNull();
    }
    const refused = await self(server, secret);
    expect(refused.status).toBe(429);
    expect(refused.remaining).toBe('0');
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(2);
    expect(refused.body).toEqual({ code: 'RESOURCE_EXHAUSTED', reason: 'RATE_LIMITED', message: `${name} exceeded 3 requests per 2 s; retry in ${refused.retryAfter} s` });

    await sleep(2100);
    const again = await self(server, secret);
    expect([again.status, again.remaining]).toEqual([200, '2']);
  });

  it('answers RESOURCE_EXHAUSTED with RetryInfo and the headers over Connect', async () => {
    const { secret } = await newCredential(server, { requests: 1, seconds: 10 });
    let headers: Headers | undefined;
    const client = connectClient(server, FlagResolverService, { authorization: `Bearer ${secret}` });
    await client.resolveFlags({}, { onHeader: (h) => (headers = h) }).catch(() => undefined);
    expect(headers?.get('x-ratelimit-remaining')).toBe('0');
    const err = await client.resolveFlags({}).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.ResourceExhausted);
    expect(err?.findDetails(ErrorInfoSchema)[0]?.reason).toBe('RATE_LIMITED');
    const retry = err?.findDetails(RetryInfoSchema)[0];
    expect(Number(retry?.retryDelay?.seconds)).toBeGreaterThanOrEqual(1);
    expect(err?.metadata.get('x-ratelimit-limit')).toBe('1');
    expect(err?.metadata.get('retry-after')).toBe(String(retry?.retryDelay?.seconds));
  });

  it('uses the server default for a credential without its own limit', async () => {
    const { secret } = await newCredential(server);
    expect((await self(server, secret)).limit).toBe('2');
    expect((await self(server, secret)).status).toBe(200);
    expect((await self(server, secret)).status).toBe(429);
  });

  it('counts every refusal in /metrics, by its own name and as a validation outcome', async () => {
    const metric = async (line: string) => {
      const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
      const found = text.split('\n').find((l) => l.startsWith(`${line} `));
      return found === undefined ? undefined : Number(found.slice(line.length + 1));
    };
    const refusals = 'latchkey_rate_limit_refusals_total';
    const validations = 'latchkey_credential_validations_total{reason="RATE_LIMITED"}';
    const before = [await metric(refusals), await metric(validations)];
    const { secret } = await newCredential(server, { requests: 1, seconds: 10 });
    expect((await self(server, secret)).status).toBe(200);
    expect((await self(server, secret)).status).toBe(429);
    expect((await self(server, secret)).status).toBe(429);
    expect(before[0]).toBeGreaterThan(0); // the tests above were refused too
    expect([await metric(refusals), await metric(validations)]).toEqual([before[0]! + 2, before[1]! + 2]);
    // Address and client-id blocks (too many failed attempts) are refused RATE_LIMITED too, and counted here: the help says so.
    const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
    expect(text.split('\n').find((l) => l.startsWith(`# HELP ${refusals} `))).toBe(
      `# HELP ${refusals} Runtime requests refused with RATE_LIMITED: a credential over its rate limit, or a client address or id blocked after too many failed attempts.`,
    );
  });

  it('puts the headers on refusals too, without spending the credential budget', async () => {
    const missing = await self(server);
    expect(missing.status).toBe(401);
    expect(missing.limit).toBe('2');
    expect(missing.remaining).not.toBeNull();
  });
});

describe('rate limits shared through Redis by two server processes on one PostgreSQL database', () => {
  const replicas: { baseUrl: string; stop: () => Promise<void> }[] = [];
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    for (let i = 0; i < 2; i++) {
      const run = spawnLatchkey(['serve'], {
        LATCHKEY_PORT: '0',
        LATCHKEY_HOST: '127.0.0.1',
        LATCHKEY_DATABASE_URL: db.url,
        LATCHKEY_REDIS_URL: 'redis://127.0.0.1:6379',
        LATCHKEY_BOOTSTRAP_CLIENT_ID: BOOTSTRAP.clientId,
        LATCHKEY_BOOTSTRAP_CLIENT_SECRET: BOOTSTRAP.secret,
      });
      const listening = await run.waitForLog(/is listening/);
      replicas.push({
        baseUrl: `http://127.0.0.1:${listening.port as number}`,
        stop: async () => {
          run.child.kill('SIGTERM');
          await run.exited;
        },
      });
    }
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await drop();
  });

  it('enforces one limit across both processes', async () => {
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    const { secret } = await newCredential(a, { requests: 4, seconds: 30 });
    const statuses = [];
    for (const server of [a, b, a, b, a, b]) statuses.push((await self(server, secret)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  });

  it('a revocation on one process reaches the other within a second', async () => {
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    const { secret, name } = await newCredential(a, { requests: 100, seconds: 30 });
    expect((await self(b, secret)).status).toBe(200);
    await connectClient(a, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret)).revokeClientCredential({ name });
    expect((await self(a, secret)).status).toBe(410);
    await sleep(1000);
    expect((await self(b, secret)).status).toBe(410);
  });
});

describe('rate limits when Redis is unreachable', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ ...BOOTSTRAP_CONFIG, redisUrl: 'redis://127.0.0.1:1' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('keeps answering with per-replica limits and logs the outage once', async () => {
    const { secret } = await newCredential(server, { requests: 2, seconds: 30 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await self(server, secret)).status);
    expect(statuses).toEqual([200, 200, 429]);
    const outages = server.logs.lines.filter((l) => l.includes('Redis is unreachable'));
    expect(outages).toHaveLength(1);
  });
});
