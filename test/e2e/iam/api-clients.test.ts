import { readFileSync, existsSync } from 'node:fs';
import { Code } from '@connectrpc/connect';
import { ApiClientService } from '../../../gen/latchkey/iam/v1/api_client_service_pb.js';
import { AuditService } from '../../../gen/latchkey/audit/v1/audit_service_pb.js';
import { AuditEvent_Kind } from '../../../gen/latchkey/audit/v1/audit_event_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, bearer, connectClient, requestToken } from '../../support/clients.js';
import { refusal } from '../../support/errors.js';
import { startTestServer, type TestServer } from '../../support/server.js';

describe('ApiClientService', () => {
  let server: TestServer;
  let admin: ReturnType<typeof connectClient<typeof ApiClientService>>;
  let audit: ReturnType<typeof connectClient<typeof AuditService>>;

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    const token = await requestToken(server, BOOTSTRAP.clientId, BOOTSTRAP.secret);
    admin = connectClient(server, ApiClientService, bearer(token));
    audit = connectClient(server, AuditService, bearer(token));
  });
  afterAll(async () => {
    await server.close();
  });

  it('creates an API client and shows its secret only in that response', async () => {
    const created = await admin.createApiClient({
      apiClientId: 'deployer',
      apiClient: { displayName: 'CI deployer', description: 'ships flags', labels: { team: 'platform' }, roles: ['roles/flag-editor'], permissions: ['credentials.list'] },
    });
    expect(created).toMatchObject({
      name: 'apiClients/deployer',
      clientId: expect.stringMatching(/^lkc_[0-9A-Za-z]{24}$/),
      clientSecret: expect.stringMatching(/^lks_[0-9A-Za-z]{40}$/),
      displayName: 'CI deployer',
      labels: { team: 'platform' },
      roles: ['roles/flag-editor'],
      permissions: ['credentials.list'],
      creator: 'apiClients/bootstrap-admin',
      updater: 'apiClients/bootstrap-admin',
    });
    const got = await admin.getApiClient({ name: 'apiClients/deployer' });
    expect(got.clientSecret).toBe('');
    expect(got.clientId).toBe(created.clientId);
    const listed = await admin.listApiClients({});
    expect(listed.apiClients.map((a) => a.name)).toEqual(['apiClients/bootstrap-admin', 'apiClients/deployer']);
    expect(listed.apiClients.every((a) => a.clientSecret === '')).toBe(true);

    // The plaintext secret is nowhere on disk (database and WAL) and nowhere in the logs.
    await server.app.audit.flush();
    for (const file of [server.sqlitePath!, `${server.sqlitePath}-wal`]) {
      if (existsSync(file)) expect(readFileSync(file).includes(Buffer.from(created.clientSecret))).toBe(false);
    }
    expect(server.logs.text()).not.toContain(created.clientSecret);
    expect(server.logs.text()).not.toContain(BOOTSTRAP.secret);
  });

  it('generates an id when none is given and refuses a taken one', async () => {
    const created = await admin.createApiClient({ apiClient: { roles: ['roles/auditor'] } });
    expect(created.name).toMatch(/^apiClients\/[a-z][a-z0-9]{15}$/);
    expect(await refusal(admin.createApiClient({ apiClientId: 'deployer', apiClient: {} }))).toMatchObject({
      code: Code.AlreadyExists,
      reason: 'ALREADY_EXISTS',
      message: 'apiClients/deployer already exists',
    });
  });

  it('refuses invalid input with a field violation per problem, storing nothing', async () => {
    const r = await refusal(
      admin.createApiClient({ apiClientId: 'bad-one', apiClient: { roles: ['roles/root', 'roles/admin'], permissions: ['flags.fly'], displayName: 'x'.repeat(300) } }),
    );
    expect(r).toMatchObject({ code: Code.InvalidArgument, reason: 'INVALID_ARGUMENT' });
    expect(r.fieldViolations).toEqual([
      { field: 'api_client.display_name', description: 'must be at most 256 characters' },
      { field: 'api_client.roles[0]', description: 'unknown role "roles/root"; built-in roles are listed by ListRoles' },
      { field: 'api_client.permissions[0]', description: 'unknown permission "flags.fly"' },
    ]);
    expect(await refusal(admin.getApiClient({ name: 'apiClients/bad-one' }))).toMatchObject({ code: Code.NotFound });
    expect(await refusal(admin.createApiClient({ apiClientId: 'Bad_Id', apiClient: {} }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: 'INVALID_ID',
      fieldViolations: [{ field: 'api_client_id', description: 'must match [a-z][a-z0-9-]{0,62}' }],
    });
  });

  it('updates only the fields in update_mask', async () => {
    const updated = await admin.updateApiClient({
      apiClient: { name: 'apiClients/deployer', displayName: 'Deployer v2', description: 'ignored' },
      updateMask: { paths: ['display_name'] },
    });
    expect(updated).toMatchObject({ displayName: 'Deployer v2', description: 'ships flags', updater: 'apiClients/bootstrap-admin' });
    expect(await refusal(admin.updateApiClient({ apiClient: { name: 'apiClients/deployer' }, updateMask: { paths: ['client_id'] } }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: 'UPDATE_MASK_INVALID',
    });
    expect(await refusal(admin.updateApiClient({ apiClient: { name: 'apiClients/deployer' } }))).toMatchObject({ reason: 'UPDATE_MASK_REQUIRED' });
    expect(await refusal(admin.updateApiClient({ apiClient: { name: 'apiClients/ghost' }, updateMask: { paths: ['description'] } }))).toMatchObject({
      code: Code.NotFound,
      message: 'apiClients/ghost not found',
    });
  });

  it('pages with opaque tokens and refuses a forged one', async () => {
    for (const id of ['p-1', 'p-2', 'p-3']) await admin.createApiClient({ apiClientId: id, apiClient: {} });
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await admin.listApiClients({ pageSize: 2, pageToken });
      expect(page.apiClients.length).toBeLessThanOrEqual(2);
      seen.push(...page.apiClients.map((a) => a.name));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(seen).toEqual([...seen].sort());
    expect(seen).toEqual(expect.arrayContaining(['apiClients/p-1', 'apiClients/p-2', 'apiClients/p-3', 'apiClients/deployer']));
    expect(new Set(seen).size).toBe(seen.length);
    expect(await refusal(admin.listApiClients({ pageToken: 'garbage' }))).toMatchObject({ code: Code.InvalidArgument, reason: 'INVALID_PAGE_TOKEN' });
  });

  it('records each change exactly once, in order, with the right actor and outcome', async () => {
    const viewer = await admin.createApiClient({ apiClientId: 'viewer', apiClient: { roles: ['roles/flag-viewer'] } });
    const viewerClient = connectClient(server, ApiClientService, bearer(await requestToken(server, viewer.clientId, viewer.clientSecret)));
    const start = new Date();
    await admin.createApiClient({ apiClientId: 'audited', apiClient: {} });
    await admin.updateApiClient({ apiClient: { name: 'apiClients/audited', description: 'd' }, updateMask: { paths: ['description'] } });
    await admin.rotateApiClientSecret({ name: 'apiClients/audited' });
    await refusal(viewerClient.deleteApiClient({ name: 'apiClients/audited' }));
    await admin.deleteApiClient({ name: 'apiClients/audited' });
    await admin.getApiClient({ name: 'apiClients/viewer' }); // a read: not recorded

    const res = await audit.listAuditEvents({ kind: AuditEvent_Kind.ADMIN_CHANGE, resource: 'apiClients/audited', startTime: { seconds: BigInt(Math.floor(start.getTime() / 1000) - 1), nanos: 0 } });
    expect(res.auditEvents.map((e) => [e.actor, e.method, e.resource, e.outcome])).toEqual([
      ['apiClients/bootstrap-admin', '/latchkey.iam.v1.ApiClientService/CreateApiClient', 'apiClients/audited', 'OK'],
      ['apiClients/bootstrap-admin', '/latchkey.iam.v1.ApiClientService/UpdateApiClient', 'apiClients/audited', 'OK'],
      ['apiClients/bootstrap-admin', '/latchkey.iam.v1.ApiClientService/RotateApiClientSecret', 'apiClients/audited', 'OK'],
      ['apiClients/viewer', '/latchkey.iam.v1.ApiClientService/DeleteApiClient', 'apiClients/audited', 'PERMISSION_MISSING'],
      ['apiClients/bootstrap-admin', '/latchkey.iam.v1.ApiClientService/DeleteApiClient', 'apiClients/audited', 'OK'],
    ]);
    expect(res.auditEvents.every((e) => e.requestId.length > 0 && e.clientAddress === '127.0.0.1')).toBe(true);

    const byViewer = await audit.listAuditEvents({ actor: 'apiClients/viewer' });
    expect(byViewer.auditEvents).toHaveLength(1);
    const future = await audit.listAuditEvents({ startTime: { seconds: BigInt(Math.floor(Date.now() / 1000) + 60), nanos: 0 } });
    expect(future.auditEvents).toEqual([]);
    expect(await refusal(audit.listAuditEvents({ actor: 'apiClients/viewer', pageToken: res.nextPageToken || 'x' }))).toMatchObject({ reason: 'INVALID_PAGE_TOKEN' });

    // No secret in any audit record.
    const all = await audit.listAuditEvents({ pageSize: 1000 });
    expect(JSON.stringify(all.auditEvents.map((e) => ({ ...e, eventTime: undefined, createTime: undefined, updateTime: undefined, count: undefined, firstTime: undefined, lastTime: undefined })))).not.toMatch(/lks_|lkat_/);
  });
});
