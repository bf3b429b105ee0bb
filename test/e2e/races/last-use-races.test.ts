import pg from 'pg';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { BOOTSTRAP, basic, connectClient } from '../../support/clients.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { createCredential, startReplicas, useCredential, type Replica, type Replicas } from '../../support/replicas.js';

const CREDENTIALS = 30;
const ROUNDS = 8;

/**
 * Two replicas write the last-use times of the same credentials to one PostgreSQL database, each
 * in its own chunks on its own timer: whichever flush commits last, a credential's last_use_time is
 * the newest use made through either replica (a time never moves back), and no flush fails (the
 * rows of a chunk are locked in key order, so two overlapping flushes cannot deadlock).
 */
describe('last-use times written by two replicas at once', () => {
  let database: TestDatabase;
  let cluster: Replicas;
  let a: Replica;
  let b: Replica;

  beforeAll(async () => {
    database = await createTestDatabase();
    cluster = await startReplicas(2, database.url);
    [a, b] = cluster.replicas as [Replica, Replica];
    await connectClient(a, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret)).createClient({ clientId: 'app' });
  });
  afterAll(async () => {
    await cluster?.stop();
    await database?.drop();
  });

  it('keeps the newest use of every credential, whichever replica saw it and whichever flush came last', async () => {
    const secrets = await Promise.all(Array.from({ length: CREDENTIALS }, (_, i) => createCredential(a, `used-${i}`)));
    // Uses through both replicas at once, in rounds that span several of their 5 s flushes.
    let lastUseBefore = new Date();
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [a, b] : [b, a];
      const answers = await Promise.all(secrets.flatMap((s) => order.map((r) => useCredential(r, s))));
      expect(new Set(answers)).toEqual(new Set(['200']));
      lastUseBefore = new Date();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    }
    // One last use of each through one replica only: the newest, which the other replica's later flush must not undo.
    const newest = new Date();
    for (const s of secrets) expect(await useCredential(b, s)).toBe('200');
    // SIGTERM flushes what each replica holds: b (with the newest uses) first, then a, whose
    // last uses are older and must not overwrite b's.
    for (const replica of [b, a]) {
      replica.process.child.kill('SIGTERM');
      expect(await replica.process.exited).toBe(0);
    }

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const rows = (await client.query<{ id: string; last_use_time: string | null }>("select id, last_use_time from client_credentials where client_id = 'app' order by id")).rows;
      expect(rows).toHaveLength(CREDENTIALS);
      for (const row of rows) {
        expect(row.last_use_time).not.toBeNull();
        // Stored as fixed-width ISO-8601 text, so text order is time order.
        expect(row.last_use_time! >= newest.toISOString()).toBe(true);
        expect(row.last_use_time! >= lastUseBefore.toISOString()).toBe(true);
      }
    } finally {
      await client.end();
    }
    for (const replica of [a, b]) expect(replica.process.stdout()).not.toContain('writing last-use times failed');
  });
});
