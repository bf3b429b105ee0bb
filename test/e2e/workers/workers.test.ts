/**
 * SPEC §8, "one process serves on every core": `latchkey serve` with LATCHKEY_WORKERS=2, on
 * SQLite and on PostgreSQL. Both workers serve the port; migrations and the bootstrap admin run
 * once, in the primary; rate limits and failed-attempt blocks are exact across the workers; a
 * change made through one worker reaches the other; a killed worker is replaced; SIGTERM drains
 * every worker and every audit record of the calls before it is written.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClientService } from '../../../gen/latchkey/iam/v1/api_client_service_pb.js';
import { AuditService } from '../../../gen/latchkey/audit/v1/audit_service_pb.js';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { fromJson } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { FlagAdminService } from '../../../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import { Flag_Kind as Kind } from '../../../gen/latchkey/flags/admin/v1/flag_pb.js';
import { FlagResolverService } from '../../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { adminAnnouncement } from '../../support/bootstrap-output.js';
import { basic, connectClient } from '../../support/clients.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { spawnLatchkey } from '../../support/process.js';
import { parseLines, pinEveryWorker, request, startCluster, type ClusterRun, type Pinned } from './cluster.js';

jest.setTimeout(180_000);

/** The failure budget of a client address (and the limit of credentials without their own). */
const FAILURE_BUDGET = 8;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const credentialSpec = (extra: object = {}) => ({
  class: Class.SECRET,
  format: Format.CLIENT_SECRET,
  environments: ['development'],
  projects: ['*'],
  scopes: ['flags:read'],
  ...extra,
});
const ownLimit = (requests: number) => ({ rateLimit: { requests, window: { seconds: 60n, nanos: 0 } } });

interface Store {
  url: string;
  drop(): Promise<void>;
}

const stores: [string, () => Promise<Store>][] = [
  [
    'SQLite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'latchkey-workers-'));
      return { url: join(dir, 'latchkey.db'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  ],
  ['PostgreSQL', async (): Promise<TestDatabase> => createTestDatabase()],
];

describe.each(stores)('two workers on %s', (_dialect, openStore) => {
  let store: Store;
  let run: ClusterRun;
  let admin: { id: string; secret: string };
  let a: Pinned;
  let b: Pinned;
  const credentials = (p: Pinned) => p.client(ClientCredentialService, basic(admin.id, admin.secret));

  beforeAll(async () => {
    store = await openStore();
    run = await startCluster(2, {
      LATCHKEY_DATABASE_URL: store.url,
      // Requests name their client address in X-Forwarded-For, so that each test spends a budget of its own.
      LATCHKEY_TRUSTED_PROXIES: '127.0.0.1/32',
      LATCHKEY_DEFAULT_RATE_LIMIT: `${FAILURE_BUDGET}/1m`,
    });
    const shown = adminAnnouncement(run.port).exec(run.process.stderr());
    if (!shown?.groups) throw new Error(`no admin announced: ${run.process.stderr()}`);
    admin = { id: shown.groups.id!, secret: shown.groups.secret! };
    [a, b] = (await pinEveryWorker(run, 2)) as [Pinned, Pinned];
    await credentials(a).createClient({ clientId: 'app' });
  });
  afterAll(async () => {
    a?.close();
    b?.close();
    if (run && run.process.child.exitCode === null) {
      run.process.child.kill('SIGTERM');
      await run.process.exited;
    }
    await store?.drop();
  });

  it('prepares the store and creates the bootstrap admin once, in the primary: one secret shown, one API client stored', async () => {
    // The whole of stderr is the one announcement (the pattern is anchored at both ends).
    expect(adminAnnouncement(run.port).test(run.process.stderr())).toBe(true);
    const apiClients = await a.client(ApiClientService, basic(admin.id, admin.secret)).listApiClients({});
    expect(apiClients.apiClients.map((c) => c.name)).toEqual(['apiClients/bootstrap-admin']);
    const primary = run.lines().filter((l) => l.worker === undefined).map((l) => l.msg);
    expect(primary).toEqual([
      'applied migrations',
      'created default project and environments',
      'created the bootstrap admin API client',
      'latchkey is listening (gRPC, gRPC-Web, Connect; HTTP/2 and HTTP/1.1)',
    ]);
    // Neither worker migrated, seeded or bootstrapped anything.
    const started = run.lines().filter((l) => l.msg === 'worker started');
    expect(started.map((l) => l.worker).sort()).toEqual([1, 2]);
    expect(run.lines().filter((l) => l.worker !== undefined && l.msg !== 'request' && l.msg !== 'worker started')).toEqual([]);
  });

  it('serves from both workers: new connections go to each in turn', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => request(run.baseUrl, '/healthz', {})));
    expect(answers.map((x) => `${x.status} ${String(x.body.status)}`)).toEqual(Array(8).fill('200 SERVING'));
    const workers = await Promise.all(answers.map((x) => run.workerOf(x.requestId)));
    expect(new Set(workers)).toEqual(new Set([1, 2]));
  });

  it('gives a credential limited to N requests exactly N successes out of 3N spread over both workers', async () => {
    const n = 10;
    const { secret } = await credentials(a).createClientCredential({ parent: 'clients/app', credentialId: 'limited', credential: credentialSpec(ownLimit(n)) });
    const headers = { authorization: `Bearer ${secret}`, 'x-forwarded-for': '198.51.100.10' };
    // A new connection each: the cluster deals them out to the workers in turn.
    const answers = await Promise.all(Array.from({ length: 3 * n }, () => request(run.baseUrl, '/v1/credential', headers)));
    const outcomes = answers.map((x) => `${x.status} ${String(x.body.reason ?? '')}`.trim());
    expect(outcomes.filter((o) => o === '200')).toHaveLength(n);
    expect(outcomes.filter((o) => o === '429 RATE_LIMITED')).toHaveLength(2 * n);
    const servedBy = await Promise.all(answers.map((x) => run.workerOf(x.requestId)));
    expect(new Set(servedBy)).toEqual(new Set([1, 2]));
  });

  it('holds a failed-attempt block found on one worker on the other, for valid credentials too', async () => {
    const { secret } = await credentials(a).createClientCredential({ parent: 'clients/app', credentialId: 'innocent', credential: credentialSpec(ownLimit(1000)) });
    const from = { 'x-forwarded-for': '203.0.113.77' };
    expect((await b.get('/v1/credential', { ...from, authorization: `Bearer ${secret}` })).status).toBe(200);
    const guesses: string[] = [];
    for (let i = 0; i < FAILURE_BUDGET; i++) {
      const x = await a.get('/v1/credential', { ...from, authorization: 'Bearer not-a-credential' });
      guesses.push(`${x.status} ${String(x.body.reason)}`);
    }
    expect(guesses).toEqual(Array(FAILURE_BUDGET).fill('401 CREDENTIAL_UNKNOWN'));
    // Worker a spent the budget; b refuses the address too, the valid credential included. The
    // block travels a → primary → b over IPC while this test receives a's answer; the loop only
    // covers that hop (without the hand-over, b would answer 200 until its own next failure).
    let onB = await b.get('/v1/credential', { ...from, authorization: `Bearer ${secret}` });
    for (let i = 0; i < 20 && onB.status === 200; i++) {
      await sleep(50);
      onB = await b.get('/v1/credential', { ...from, authorization: `Bearer ${secret}` });
    }
    expect(`${onB.status} ${String(onB.body.reason)}`).toBe('429 RATE_LIMITED');
    // The counter is the primary's: a guess on b is past the budget at once.
    const guessOnB = await b.get('/v1/credential', { ...from, authorization: 'Bearer not-a-credential' });
    expect(`${guessOnB.status} ${String(guessOnB.body.reason)}`).toBe('429 RATE_LIMITED');
    // Another address is not affected.
    expect((await b.get('/v1/credential', { 'x-forwarded-for': '203.0.113.78', authorization: `Bearer ${secret}` })).status).toBe(200);
    expect([await a.verify(), await b.verify()]).toEqual([true, true]);
  });

  it('refuses on one worker a credential revoked through the other, within the change-poll interval', async () => {
    const { secret } = await credentials(a).createClientCredential({ parent: 'clients/app', credentialId: 'revoked', credential: credentialSpec(ownLimit(1000)) });
    const headers = { authorization: `Bearer ${secret}`, 'x-forwarded-for': '198.51.100.20' };
    expect((await b.get('/v1/credential', headers)).status).toBe(200); // cached on b
    await credentials(a).revokeClientCredential({ name: 'clients/app/credentials/revoked' });
    const onA = await a.get('/v1/credential', headers);
    expect(`${onA.status} ${String(onA.body.reason)}`).toBe('410 CREDENTIAL_REVOKED');
    // Asked every 100 ms; the bound is generous for a loaded machine, the poll runs every 500 ms.
    let onB = await b.get('/v1/credential', headers);
    for (let i = 0; i < 50 && onB.status === 200; i++) {
      await sleep(100);
      onB = await b.get('/v1/credential', headers);
    }
    expect(`${onB.status} ${String(onB.body.reason)}`).toBe('410 CREDENTIAL_REVOKED');
    expect([await a.verify(), await b.verify()]).toEqual([true, true]);
  });

  it('resolves on one worker a flag created through the other, within the change-poll interval', async () => {
    const { secret } = await credentials(a).createClientCredential({ parent: 'clients/app', credentialId: 'resolver', credential: credentialSpec(ownLimit(1000)) });
    const resolver = b.client(FlagResolverService, { authorization: `Bearer ${secret}`, 'x-forwarded-for': '198.51.100.40' });
    const names = async () => (await resolver.resolveFlags({ flags: [] })).resolvedFlags.map((f) => `${f.flag} ${f.variant}`);
    expect(await names()).toEqual([]);
    await a.client(FlagAdminService, basic(admin.id, admin.secret)).createFlag({
      flagId: 'beta',
      flag: { kind: Kind.BOOLEAN, variants: [{ name: 'on', value: fromJson(ValueSchema, true) }, { name: 'off', value: fromJson(ValueSchema, false) }], defaultVariant: 'on' },
    });
    let seen = await names();
    for (let i = 0; i < 50 && seen.length === 0; i++) {
      await sleep(100);
      seen = await names();
    }
    expect(seen).toEqual(['flags/beta on']);
    expect([await a.verify(), await b.verify()]).toEqual([true, true]);
  });

  it('replaces a worker killed with SIGKILL and keeps answering', async () => {
    const victim = run.lines().find((l) => l.msg === 'worker started' && l.worker === b.worker)!;
    process.kill(Number(victim.pid), 'SIGKILL');
    const died = await run.waitForLine((l) => l.msg === 'worker exited unexpectedly; starting a replacement');
    expect(died).toMatchObject({ worker: b.worker, pid: victim.pid, code: null, signal: 'SIGKILL' });
    const replacement = await run.waitForLine((l) => l.msg === 'worker started' && l.worker === 3);
    expect(replacement.pid).not.toBe(victim.pid);
    b.close();
    const answers = await Promise.all(Array.from({ length: 6 }, () => request(run.baseUrl, '/healthz', {})));
    expect(answers.map((x) => x.status)).toEqual(Array(6).fill(200));
    const workers = await Promise.all(answers.map((x) => run.workerOf(x.requestId)));
    expect(new Set(workers)).toEqual(new Set([a.worker, 3]));
  });

  it('on SIGTERM drains every worker, writes the audit records of every call before it, and exits 0', async () => {
    const { secret, credential } = await credentials(a).createClientCredential({ parent: 'clients/app', credentialId: 'audited', credential: credentialSpec(ownLimit(1000)) });
    const calls = 24;
    const answers = await Promise.all(
      Array.from({ length: calls }, () => request(run.baseUrl, '/v1/credential', { authorization: `Bearer ${secret}`, 'x-forwarded-for': '198.51.100.30' })),
    );
    expect(answers.map((x) => x.status)).toEqual(Array(calls).fill(200));
    const servedBy = new Set(await Promise.all(answers.map((x) => run.workerOf(x.requestId))));
    expect(servedBy.size).toBe(2);
    a.close();
    // A Connect call whose body is still arriving when SIGTERM lands: its worker finishes it.
    const inFlight = new Promise<string>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: run.port, method: 'POST', path: '/grpc.health.v1.Health/Check', headers: { 'content-type': 'application/json' } },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(`${res.statusCode} ${body}`));
        },
      );
      req.on('error', reject);
      req.write('{"serv');
      setTimeout(() => {
        run.process.child.kill('SIGTERM');
        setTimeout(() => req.end('ice":""}'), 300);
      }, 200);
    });
    expect(await inFlight).toBe('200 {"status":"NOT_SERVING"}');
    expect(await run.process.exited).toBe(0);
    const lines = parseLines(run.process.stdout());
    expect(lines.filter((l) => l.worker === undefined).slice(-2).map((l) => l.msg)).toEqual(['shutting down: draining in-flight calls', 'latchkey stopped']);
    for (const worker of servedBy) {
      expect(lines.filter((l) => l.worker === worker && l.msg !== 'request').slice(-2).map((l) => l.msg)).toEqual([
        'shutting down: draining in-flight calls',
        'worker stopped',
      ]);
    }

    // The store, read by a single process started on it afterwards, has every one of those calls.
    const after = spawnLatchkey(['serve'], { LATCHKEY_PORT: '0', LATCHKEY_HOST: '127.0.0.1', LATCHKEY_DATABASE_URL: store.url });
    try {
      const port = Number((await after.waitForLog(/^latchkey is listening/)).port);
      const audit = connectClient({ baseUrl: `http://127.0.0.1:${port}` }, AuditService, basic(admin.id, admin.secret));
      const usage = await audit.getCredentialUsage({ name: credential!.name, window: { seconds: 3600n, nanos: 0 } });
      expect(usage.countsByOutcome).toEqual({ OK: BigInt(calls) });
    } finally {
      after.child.kill('SIGTERM');
      await after.exited;
    }
  });
});
