import pg from 'pg';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { BOOTSTRAP, basic, connectClient } from '../../support/clients.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { createCredential, startReplicas, useCredential, type Replica, type Replicas } from '../../support/replicas.js';

/**
 * SPEC §3: a revocation takes effect at once on the replica that made it, and within a second on
 * every other replica — also when PostgreSQL commits change_log rows out of the order of their
 * sequence numbers. The waits below are generous bounds for a loaded machine, not the contract.
 */
describe('revocations reach every replica', () => {
  let database: TestDatabase;
  let cluster: Replicas;
  let a: Replica;
  let b: Replica;
  const admin = (r: Replica) => connectClient(r, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(async () => {
    database = await createTestDatabase();
    cluster = await startReplicas(2, database.url);
    [a, b] = cluster.replicas as [Replica, Replica];
    await admin(a).createClient({ clientId: 'app' });
  });
  afterAll(async () => {
    await cluster?.stop();
    await database?.drop();
  });

  const create = (id: string) => createCredential(a, id);
  const use = useCredential;

  /** Asks every 100 ms until the answer is no longer `stale`, for at most `ms`. */
  const firstAnswerOtherThan = async (r: Replica, secret: string, stale: string, ms: number) => {
    const until = Date.now() + ms;
    let seen = await use(r, secret);
    while (seen === stale && Date.now() < until) {
      await sleep(100);
      seen = await use(r, secret);
    }
    return seen;
  };

  it('a credential cached on one replica stops working there once the other revokes it', async () => {
    const secret = await create('cached');
    expect(await use(b, secret)).toBe('200');
    await admin(a).revokeClientCredential({ name: 'clients/app/credentials/cached' });
    expect(await use(a, secret)).toBe('410 CREDENTIAL_REVOKED');
    expect(await firstAnswerOtherThan(b, secret, '200', 5_000)).toBe('410 CREDENTIAL_REVOKED');
  });

  it('a revocation whose commit is overtaken by a later change still reaches the other replica', async () => {
    const secret = await create('late');
    expect(await use(b, secret)).toBe('200');

    // A slow revoke: its change_log row takes sequence number N, then the transaction stays open.
    const slow = new pg.Client({ connectionString: database.url });
    await slow.connect();
    try {
      const t = new Date().toISOString();
      await slow.query('begin');
      await slow.query(`update client_credentials set state = 'REVOKED', revoke_time = $1, update_time = $1, etag = 'slowrevoke000000' where client_id = 'app' and id = 'late'`, [t]);
      await slow.query(`insert into change_log (entity, entity_key, change_time) values ('credential', 'app/late', $1)`, [t]);
      // N + 1 commits first, and replica b follows the change log past it.
      await create('overtaking');
      await sleep(1_500);
      // Still active as far as any committed state says: b answers from its cache, or reloads it.
      expect(await use(b, secret)).toBe('200');
      await slow.query('commit');
    } finally {
      await slow.end();
    }
    expect(await firstAnswerOtherThan(b, secret, '200', 5_000)).toBe('410 CREDENTIAL_REVOKED');
  });

  it('a change to one credential leaves the others cached and working', async () => {
    const kept = await create('kept');
    const changed = await create('changed');
    expect([await use(b, kept), await use(b, changed)]).toEqual(['200', '200']);
    await admin(a).updateClientCredential({ credential: { name: 'clients/app/credentials/changed', allowedIpRanges: ['10.0.0.0/8'] }, updateMask: { paths: ['allowed_ip_ranges'] } });
    expect(await firstAnswerOtherThan(b, changed, '200', 5_000)).toBe('403 IP_NOT_ALLOWED');
    expect(await use(b, kept)).toBe('200');
  });
});
