/**
 * Workers with LATCHKEY_REDIS_URL: the counters live in Redis (shared with other replicas too),
 * and while Redis is unreachable the fallback is the primary's counters, still one budget for
 * every worker.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { BOOTSTRAP, basic, connectClient } from '../../support/clients.js';
import { request, startCluster, type ClusterRun } from './cluster.js';

jest.setTimeout(180_000);

describe.each([
  ['reachable', 'redis://127.0.0.1:6379'],
  ['unreachable', 'redis://127.0.0.1:1'],
])('two workers with Redis %s', (_state, redisUrl) => {
  let dir: string;
  let run: ClusterRun;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-workers-redis-'));
    run = await startCluster(2, {
      LATCHKEY_DATABASE_URL: join(dir, 'latchkey.db'),
      LATCHKEY_REDIS_URL: redisUrl,
      LATCHKEY_BOOTSTRAP_CLIENT_ID: BOOTSTRAP.clientId,
      LATCHKEY_BOOTSTRAP_CLIENT_SECRET: BOOTSTRAP.secret,
    });
  });
  afterAll(async () => {
    if (run && run.process.child.exitCode === null) {
      run.process.child.kill('SIGTERM');
      await run.process.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives a credential limited to N requests exactly N successes out of 3N spread over both workers', async () => {
    const admin = connectClient(run, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    await admin.createClient({ clientId: 'app' });
    // Redis outlives this test: a credential of its own keeps earlier runs' counts out.
    const { secret } = await admin.createClientCredential({
      parent: 'clients/app',
      credentialId: `limited-${randomBytes(6).toString('hex')}`,
      credential: {
        class: Class.SECRET,
        format: Format.CLIENT_SECRET,
        environments: ['development'],
        projects: ['*'],
        scopes: ['flags:read'],
        rateLimit: { requests: 8, window: { seconds: 60n, nanos: 0 } },
      },
    });
    const answers = await Promise.all(Array.from({ length: 24 }, () => request(run.baseUrl, '/v1/credential', { authorization: `Bearer ${secret}` })));
    const outcomes = answers.map((x) => `${x.status} ${String(x.body.reason ?? '')}`.trim());
    expect(outcomes.filter((o) => o === '200')).toHaveLength(8);
    expect(outcomes.filter((o) => o === '429 RATE_LIMITED')).toHaveLength(16);
    expect(new Set(await Promise.all(answers.map((x) => run.workerOf(x.requestId))))).toEqual(new Set([1, 2]));
  });
});
