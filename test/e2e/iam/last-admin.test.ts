/**
 * Nobody can lock everyone out through the API: a delete, or a change of roles, that would leave
 * no API client holding roles/admin is refused with FAILED_PRECONDITION / LAST_ADMIN, also when two
 * replicas race.
 */
import { Code } from '@connectrpc/connect';
import { ApiClientService } from '../../../gen/latchkey/iam/v1/api_client_service_pb.js';
import { AuditService } from '../../../gen/latchkey/audit/v1/audit_service_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, basic, connectClient } from '../../support/clients.js';
import { refusal } from '../../support/errors.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { startTestServer, type TestServer } from '../../support/server.js';

const lastAdmin = (name: string, change: 'delete' | 'update') => ({
  code: Code.FailedPrecondition,
  reason: 'LAST_ADMIN',
  metadata: { resource: name },
  message: `${name} is the last API client with roles/admin; ${
    change === 'delete' ? 'deleting it' : 'taking roles/admin away from it'
  } would leave nobody able to manage latchkey. Grant roles/admin to another API client first`,
});

describe('the last admin', () => {
  let server: TestServer;
  let admin: ReturnType<typeof connectClient<typeof ApiClientService>>;
  beforeEach(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    admin = connectClient(server, ApiClientService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
  });
  afterEach(async () => {
    await server.close();
  });

  it('cannot be deleted, nor lose roles/admin, over Connect; other changes to it still work', async () => {
    const me = 'apiClients/bootstrap-admin';
    expect(await refusal(admin.deleteApiClient({ name: me }))).toMatchObject(lastAdmin(me, 'delete'));
    expect(await refusal(admin.updateApiClient({ apiClient: { name: me, roles: ['roles/flag-editor'] }, updateMask: { paths: ['roles'] } }))).toMatchObject(
      lastAdmin(me, 'update'),
    );
    expect(await refusal(admin.updateApiClient({ apiClient: { name: me, roles: [] }, updateMask: { paths: ['roles', 'permissions'] } }))).toMatchObject(
      lastAdmin(me, 'update'),
    );
    // Not a loss of roles/admin: permissions, descriptions, or more roles.
    expect(
      await admin.updateApiClient({ apiClient: { name: me, permissions: ['flags.get'], roles: ['roles/admin', 'roles/auditor'] }, updateMask: { paths: ['permissions', 'roles'] } }),
    ).toMatchObject({ roles: ['roles/admin', 'roles/auditor'], permissions: ['flags.get'] });
    expect(await admin.updateApiClient({ apiClient: { name: me, description: 'still here' }, updateMask: { paths: ['description'] } })).toMatchObject({
      description: 'still here',
    });
    expect((await admin.getApiClient({ name: me })).roles).toEqual(['roles/admin', 'roles/auditor']);

    // The refusals are in the audit trail with their reason.
    await server.app.audit.flush();
    const events = await connectClient(server, AuditService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret)).listAuditEvents({ resource: me });
    expect(events.auditEvents.map((e) => [e.method.split('/').pop(), e.outcome])).toEqual([
      ['DeleteApiClient', 'LAST_ADMIN'],
      ['UpdateApiClient', 'LAST_ADMIN'],
      ['UpdateApiClient', 'LAST_ADMIN'],
      ['UpdateApiClient', 'OK'],
      ['UpdateApiClient', 'OK'],
    ]);
  });

  it('may go once another client holds roles/admin, and then that one is the last', async () => {
    const second = await admin.createApiClient({ apiClientId: 'second', apiClient: { roles: ['roles/admin'] } });
    const viewer = await admin.createApiClient({ apiClientId: 'viewer', apiClient: { roles: ['roles/flag-viewer'] } });
    const asSecond = connectClient(server, ApiClientService, basic(second.clientId, second.clientSecret));

    // An admin may delete itself while another remains.
    await admin.deleteApiClient({ name: 'apiClients/bootstrap-admin' });
    expect(await refusal(asSecond.deleteApiClient({ name: 'apiClients/second' }))).toMatchObject(lastAdmin('apiClients/second', 'delete'));
    expect(await refusal(asSecond.updateApiClient({ apiClient: { name: 'apiClients/second', roles: ['roles/credential-admin'] }, updateMask: { paths: ['roles'] } }))).toMatchObject(
      lastAdmin('apiClients/second', 'update'),
    );
    // Clients without roles/admin come and go as before.
    await asSecond.deleteApiClient({ name: viewer.name });

    // Hand over: grant roles/admin to a new client, then the old one may step down.
    await asSecond.createApiClient({ apiClientId: 'third', apiClient: { roles: ['roles/flag-editor'] } });
    await asSecond.updateApiClient({ apiClient: { name: 'apiClients/third', roles: ['roles/admin'] }, updateMask: { paths: ['roles'] } });
    expect(await asSecond.updateApiClient({ apiClient: { name: 'apiClients/second', roles: ['roles/auditor'] }, updateMask: { paths: ['roles'] } })).toMatchObject({
      roles: ['roles/auditor'],
    });
    const left = (await asSecond.listApiClients({})).apiClients.map((a) => [a.name, a.roles]);
    expect(left).toEqual([
      ['apiClients/second', ['roles/auditor']],
      ['apiClients/third', ['roles/admin']],
    ]);
  });

  it('keeps NOT_FOUND and etag refusals of deletes as they were', async () => {
    const doomed = await admin.createApiClient({ apiClientId: 'doomed', apiClient: { roles: ['roles/admin'] } });
    expect(await refusal(admin.deleteApiClient({ name: 'apiClients/ghost' }))).toMatchObject({ code: Code.NotFound });
    expect(await refusal(admin.deleteApiClient({ name: doomed.name, etag: 'not-the-etag' }))).toMatchObject({ code: Code.Aborted, reason: 'ETAG_MISMATCH' });
    await admin.deleteApiClient({ name: doomed.name, etag: doomed.etag });
    expect(await refusal(admin.getApiClient({ name: doomed.name }))).toMatchObject({ code: Code.NotFound });
  });
});

describe('two replicas on one PostgreSQL database racing over the last two admins', () => {
  let pg: TestDatabase;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    pg = await createTestDatabase();
    a = await startTestServer({ databaseUrl: pg.url, ...BOOTSTRAP_CONFIG });
    b = await startTestServer({ databaseUrl: pg.url, ...BOOTSTRAP_CONFIG });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await pg?.drop();
  });

  it('never lets both writes through: exactly one wins and one admin remains, every time', async () => {
    const setup = connectClient(a, ApiClientService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    // The racing calls come from an operator that is not an admin itself, so it never counts.
    const op = await setup.createApiClient({
      apiClientId: 'operator',
      apiClient: { permissions: ['apiClients.create', 'apiClients.delete', 'apiClients.update', 'apiClients.list'] },
    });
    const viaA = connectClient(a, ApiClientService, basic(op.clientId, op.clientSecret));
    const viaB = connectClient(b, ApiClientService, basic(op.clientId, op.clientSecret));
    const admins = async () =>
      (await viaA.listApiClients({ pageSize: 100 })).apiClients.filter((c) => c.roles.includes('roles/admin')).map((c) => c.name);

    let survivor = 'apiClients/bootstrap-admin';
    for (let i = 0; i < 30; i++) {
      const fresh = (await viaA.createApiClient({ apiClientId: `admin-${i}`, apiClient: { roles: ['roles/admin'] } })).name;
      expect(await admins()).toEqual([survivor, fresh].sort());
      // Even rounds: two deletes. Odd rounds: taking roles/admin from one while the other is deleted.
      const first =
        i % 2 === 0
          ? viaA.deleteApiClient({ name: survivor })
          : viaA.updateApiClient({ apiClient: { name: survivor, roles: ['roles/flag-viewer'] }, updateMask: { paths: ['roles'] } });
      const second = viaB.deleteApiClient({ name: fresh });
      const outcomes = await Promise.all(
        [first, second].map((p) =>
          p.then(
            () => 'OK',
            (err: unknown) => (err as { rawMessage?: string; code?: number }).code === Code.FailedPrecondition ? 'LAST_ADMIN' : String(err),
          ),
        ),
      );
      expect([...outcomes].sort()).toEqual(['LAST_ADMIN', 'OK']);
      const left = await admins();
      expect(left).toEqual([outcomes[0] === 'OK' ? fresh : survivor]);
      survivor = left[0]!;
    }
  });
});
