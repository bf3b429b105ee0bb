import pg from 'pg';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { Flag_Kind as Kind } from '../../../gen/latchkey/flags/admin/v1/flag_pb.js';
import { FlagAdminService } from '../../../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, basic, connectClient } from '../../support/clients.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { spawnLatchkey } from '../../support/process.js';
import { startTestServer, type TestServer } from '../../support/server.js';

const auth = basic(BOOTSTRAP.clientId, BOOTSTRAP.secret);
const boolFlag = { kind: Kind.BOOLEAN, variants: [{ name: 'on', value: { kind: { case: 'boolValue' as const, value: true } } }] };

/** A second connection that holds an exclusive lock on audit_events: every audit write waits, as on a stalled store. */
async function stallAuditStore(url: string): Promise<{ release(): Promise<void> }> {
  const blocker = new pg.Client({ connectionString: url });
  await blocker.connect();
  await blocker.query('begin');
  await blocker.query('lock table audit_events in access exclusive mode');
  return {
    async release() {
      await blocker.query('commit');
      await blocker.end();
    },
  };
}

const adminRecords = (server: TestServer, method: string) =>
  server.app.database.db.selectFrom('audit_events').select(['actor', 'method', 'resource', 'outcome']).where('kind', '=', 'ADMIN_CHANGE').where('method', '=', method).execute();

describe('admin changes in the audit trail (SPEC §7: never dropped, whatever the load)', () => {
  it('are stored before the call answers', async () => {
    const server = await startTestServer(BOOTSTRAP_CONFIG, { audit: { flushIntervalMs: 60_000 } });
    try {
      await connectClient(server, FlagAdminService, auth).createFlag({ flagId: 'audited', flag: boolFlag });
      // No flush, no wait: the record is in the store when the answer arrives.
      expect(await adminRecords(server, '/latchkey.flags.admin.v1.FlagAdminService/CreateFlag')).toEqual([
        { actor: 'apiClients/bootstrap-admin', method: '/latchkey.flags.admin.v1.FlagAdminService/CreateFlag', resource: 'flags/audited', outcome: 'OK' },
      ]);
    } finally {
      await server.close();
    }
  });

  it('are recorded when refused because their message does not parse', async () => {
    const server = await startTestServer(BOOTSTRAP_CONFIG, { audit: { flushIntervalMs: 60_000 } });
    try {
      const method = '/latchkey.flags.admin.v1.FlagAdminService/CreateFlag';
      const binary = await fetch(`${server.baseUrl}${method}`, { method: 'POST', headers: { 'content-type': 'application/proto', ...auth }, body: new Uint8Array([0x0f]) });
      const json = await fetch(`${server.baseUrl}${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '{"flag": 7}' });
      expect([binary.status, json.status]).toEqual([400, 400]);
      // A read refused the same way is not a change: nothing is recorded for it.
      await fetch(`${server.baseUrl}/latchkey.flags.admin.v1.FlagAdminService/GetFlag`, { method: 'POST', headers: { 'content-type': 'application/proto', ...auth }, body: new Uint8Array([0x0f]) });
      expect(await server.app.database.db.selectFrom('audit_events').select(['actor', 'method', 'resource', 'outcome']).where('kind', '=', 'ADMIN_CHANGE').execute()).toEqual([
        { actor: null, method, resource: null, outcome: 'MALFORMED_MESSAGE' },
        { actor: null, method, resource: null, outcome: 'MALFORMED_MESSAGE' },
      ]);
    } finally {
      await server.close();
    }
  });

  describe('with the audit store stalled (PostgreSQL)', () => {
    let database: TestDatabase;
    beforeEach(async () => {
      database = await createTestDatabase();
    });
    afterEach(async () => {
      await database.drop();
    });

    it('are kept when validations overflow their queue, and written once the store answers', async () => {
      const server = await startTestServer({ ...BOOTSTRAP_CONFIG, databaseUrl: database.url }, { audit: { maxQueue: 5, flushIntervalMs: 100, adminWaitMs: 300 } });
      try {
        const stall = await stallAuditStore(database.url);
        for (let i = 0; i < 12; i++) await fetch(`${server.baseUrl}/v1/credential`); // 5 queued, 7 overflow
        expect(server.app.audit.overflow).toBe(7);
        // The change answers (after adminWaitMs) with its record still queued, never shed.
        await connectClient(server, FlagAdminService, auth).createFlag({ flagId: 'during-stall', flag: boolFlag });
        expect(server.app.audit.depth).toBe(6);
        await stall.release();
        await server.app.audit.flush();
        expect(await adminRecords(server, '/latchkey.flags.admin.v1.FlagAdminService/CreateFlag')).toEqual([
          { actor: 'apiClients/bootstrap-admin', method: '/latchkey.flags.admin.v1.FlagAdminService/CreateFlag', resource: 'flags/during-stall', outcome: 'OK' },
        ]);
        const validations = await server.app.database.db.selectFrom('audit_events').select('outcome').where('kind', '=', 'CREDENTIAL_VALIDATION').execute();
        expect(validations).toHaveLength(5);
        expect(server.logs.lines.some((l) => l.includes('"overflow":7') && l.includes('audit queue overflow'))).toBe(true);
      } finally {
        await server.close();
      }
    });

    it('SIGTERM still stops the process within the shutdown timeout, and logs how many records were not written', async () => {
      const run = spawnLatchkey(['serve'], {
        LATCHKEY_PORT: '0',
        LATCHKEY_HOST: '127.0.0.1',
        LATCHKEY_DATABASE_URL: database.url,
        LATCHKEY_BOOTSTRAP_CLIENT_ID: BOOTSTRAP.clientId,
        LATCHKEY_BOOTSTRAP_CLIENT_SECRET: BOOTSTRAP.secret,
        LATCHKEY_SHUTDOWN_TIMEOUT_MS: '1000',
      });
      let stall: { release(): Promise<void> } | undefined;
      try {
        const listening = await run.waitForLog(/is listening/);
        const baseUrl = `http://127.0.0.1:${listening.port as number}`;
        stall = await stallAuditStore(database.url);
        for (let i = 0; i < 4; i++) await fetch(`${baseUrl}/v1/credential`);
        const admin = createClient(ClientCredentialService, createConnectTransport({ baseUrl, httpVersion: '1.1' }));
        await admin.createClient({ clientId: 'app' }, { headers: auth }); // answers after the admin wait, record queued
        run.child.kill('SIGTERM');
        // A liveness check, not a speed target: before the fix the process never exited.
        const exit = await Promise.race([run.exited, new Promise((resolve) => setTimeout(() => resolve('still running after 20 s'), 20_000))]);
        expect(exit).toBe(0);
        const line = run
          .stdout()
          .split('\n')
          .filter((l) => l.includes('audit records could not be written at shutdown'))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(line).toEqual([expect.objectContaining({ pending: 5, admin: 1, validations: 4, timeoutMs: 1000 })]);
      } finally {
        if (run.child.exitCode === null) run.child.kill('SIGKILL');
        await stall?.release();
      }
    });
  });
});
