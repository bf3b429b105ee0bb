import Database from 'better-sqlite3';
import pg from 'pg';
import { AuditService } from '../../../gen/latchkey/audit/v1/audit_service_pb.js';
import { AuditEvent_Kind } from '../../../gen/latchkey/audit/v1/audit_event_pb.js';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, TestClock, basic, connectClient } from '../../support/clients.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { startTestServer, type TestServer } from '../../support/server.js';

/** Ten seconds into a minute, and the clock stands still: all 1000 validations fall in that minute. */
const START = new Date('2026-11-23T10:00:10.000Z');
const MINUTE_START = '2026-11-23T10:00:00.000Z';
const N = 1000;

/** Bytes the audit tables and their indexes use in a SQLite file (pages minus their unused space). */
function auditBytes(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    const row = db
      .prepare(
        `select coalesce(sum(pgsize - unused), 0) as n from dbstat
         where name in (select name from sqlite_schema where tbl_name in ('audit_events', 'audit_validation_counts', 'audit_count_writers', 'credential_sightings'))`,
      )
      .get() as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

describe.each([
  ['SQLite', 'sqlite'],
  ['PostgreSQL', 'postgres'],
] as const)('1000 validations of one credential from one address (%s)', (_name, dialect) => {
  let pgDatabase: TestDatabase | undefined;
  let server: TestServer;
  const clock = new TestClock(START.getTime());

  beforeAll(async () => {
    pgDatabase = dialect === 'postgres' ? await createTestDatabase() : undefined;
    server = await startTestServer({ ...BOOTSTRAP_CONFIG, ...(pgDatabase ? { databaseUrl: pgDatabase.url } : {}) }, { now: clock.now });
  });
  afterAll(async () => {
    await server.close();
    await pgDatabase?.drop();
  });

  const rowCounts = async (): Promise<{ individual: number; counted: number }> => {
    const q = `select (select count(*) from audit_events where kind = 'CREDENTIAL_VALIDATION') as individual, (select count(*) from audit_validation_counts) as counted`;
    if (pgDatabase) {
      const client = new pg.Client({ connectionString: pgDatabase.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ individual: string; counted: string }>(q);
        return { individual: Number(rows[0]!.individual), counted: Number(rows[0]!.counted) };
      } finally {
        await client.end();
      }
    }
    const db = new Database(server.sqlitePath!, { readonly: true });
    try {
      return db.prepare(q).get() as { individual: number; counted: number };
    } finally {
      db.close();
    }
  };

  it('are all accounted for by GetCredentialUsage and ListAuditEvents, in two rows of the audit tables', async () => {
    const admin = connectClient(server, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    const audit = connectClient(server, AuditService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    await admin.createClient({ clientId: 'app' });
    const { secret, credential } = await admin.createClientCredential({
      parent: 'clients/app',
      credentialId: 'busy',
      credential: { class: Class.SECRET, format: Format.CLIENT_SECRET, projects: ['*'], scopes: ['flags:read'], rateLimit: { requests: 100_000, window: { seconds: 60n, nanos: 0 } } },
    });
    const name = credential!.name;
    await server.app.audit.flush();
    const before = server.sqlitePath ? auditBytes(server.sqlitePath) : 0;

    const headers = { authorization: `Bearer ${secret}`, 'user-agent': 'audit-counts-test/1' };
    for (let i = 0; i < N; i += 50) {
      const statuses = await Promise.all(Array.from({ length: 50 }, () => fetch(`${server.baseUrl}/v1/credential`, { headers }).then((r) => r.status)));
      expect(statuses).toEqual(Array(50).fill(200));
    }

    const usage = await audit.getCredentialUsage({ name, window: { seconds: 3600n, nanos: 0 } });
    expect(usage.countsByOutcome).toEqual({ OK: BigInt(N) });
    expect(usage.total).toBe(BigInt(N));
    expect(usage.lastClientAddress).toBe('127.0.0.1');

    const listed = await audit.listAuditEvents({ kind: AuditEvent_Kind.CREDENTIAL_VALIDATION, credential: name, pageSize: 100 });
    expect(listed.nextPageToken).toBe('');
    // The count record sorts at the start of its minute, before the first use ten seconds in.
    expect(
      listed.auditEvents.map((e) => ({
        count: e.count,
        eventTime: new Date(Number(e.eventTime!.seconds) * 1000).toISOString(),
        firstTime: new Date(Number(e.firstTime!.seconds) * 1000).toISOString(),
        lastTime: new Date(Number(e.lastTime!.seconds) * 1000).toISOString(),
        individual: e.requestId !== '',
        outcome: e.outcome,
        method: e.method,
        clientAddress: e.clientAddress,
        userAgent: e.userAgent,
        credential: e.credential,
        actor: e.actor,
      })),
    ).toEqual([
      { count: BigInt(N - 1), eventTime: MINUTE_START, firstTime: START.toISOString(), lastTime: START.toISOString(), individual: false, outcome: 'OK', method: 'GET /v1/credential', clientAddress: '127.0.0.1', userAgent: 'audit-counts-test/1', credential: name, actor: name },
      { count: 1n, eventTime: START.toISOString(), firstTime: START.toISOString(), lastTime: START.toISOString(), individual: true, outcome: 'OK', method: 'GET /v1/credential', clientAddress: '127.0.0.1', userAgent: 'audit-counts-test/1', credential: name, actor: name },
    ]);
    // Paging one at a time, both ways, meets the same two.
    for (const orderBy of ['event_time', 'event_time desc']) {
      const names: string[] = [];
      let pageToken = '';
      do {
        const page = await audit.listAuditEvents({ credential: name, pageSize: 1, pageToken, orderBy });
        names.push(...page.auditEvents.map((e) => e.name));
        pageToken = page.nextPageToken;
      } while (pageToken !== '');
      const expected = listed.auditEvents.map((e) => e.name);
      expect(names).toEqual(orderBy === 'event_time' ? expected : [...expected].reverse());
    }

    expect(await rowCounts()).toEqual({ individual: 1, counted: 1 });
    if (server.sqlitePath) {
      // SPEC §7 / issue #14: at most 5 000 bytes per 1 000 validations (an individual record is ~520 bytes).
      expect(auditBytes(server.sqlitePath) - before).toBeLessThanOrEqual(5000);
    }
  });
});
