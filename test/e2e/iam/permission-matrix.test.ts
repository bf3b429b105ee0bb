import { Code } from '@connectrpc/connect';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import type { DescService } from '@bufbuild/protobuf';
import { ApiClientService } from '../../../gen/latchkey/iam/v1/api_client_service_pb.js';
import { METHOD_POLICIES } from '../../../src/auth/method-policy.js';
import { LATCHKEY_SERVICES } from '../../../src/rpc/services.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, bearer, connectClient, requestToken } from '../../support/clients.js';
import { refusal } from '../../support/errors.js';
import { startTestServer, type TestServer } from '../../support/server.js';

/**
 * What each built-in role may do, written out here independently of
 * src/auth/roles.ts, so a change to a role shows up as a failing test.
 */
const READ = (...resources: string[]) => resources.flatMap((r) => [`${r}.get`, `${r}.list`]);
const EXPECTED_GRANTS: Record<string, readonly string[]> = {
  'roles/flag-editor': ['flags.create', 'flags.update', 'flags.archive', 'flags.delete', ...READ('flags', 'projects', 'environments', 'roles')],
  'roles/flag-viewer': READ('flags', 'projects', 'environments', 'roles'),
  'roles/credential-admin': [
    'clients.create', 'clients.update', 'clients.delete',
    'credentials.create', 'credentials.update', 'credentials.revoke', 'credentials.rotate', 'credentials.import', 'credentials.delete',
    'credentials.getUsage', 'events.list',
    ...READ('clients', 'credentials', 'projects', 'environments', 'roles'),
  ],
  'roles/auditor': ['auditEvents.list', 'credentials.getUsage', 'events.list', ...READ('apiClients', 'clients', 'credentials', 'roles', 'projects', 'environments')],
};

const managementMethods = LATCHKEY_SERVICES.flatMap((service) =>
  service.methods.map((method) => ({ service, method, procedure: `/${service.typeName}/${method.name}` })),
).filter(({ procedure }) => METHOD_POLICIES[procedure]?.access === 'management');

describe('every management method × every built-in role', () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    const admin = connectClient(server, ApiClientService, bearer(await requestToken(server, BOOTSTRAP.clientId, BOOTSTRAP.secret)));
    tokens['roles/admin'] = await requestToken(server, BOOTSTRAP.clientId, BOOTSTRAP.secret);
    for (const role of Object.keys(EXPECTED_GRANTS)) {
      const created = await admin.createApiClient({ apiClientId: role.replace('roles/', 'r-'), apiClient: { roles: [role] } });
      tokens[role] = await requestToken(server, created.clientId, created.clientSecret);
    }
  });
  afterAll(async () => {
    await server.close();
  });

  it('has an access policy for every method of every latchkey service', () => {
    const missing = LATCHKEY_SERVICES.flatMap((s) => s.methods.map((m) => `/${s.typeName}/${m.name}`)).filter((p) => !METHOD_POLICIES[p]);
    expect(missing).toEqual([]);
    expect(managementMethods).toHaveLength(40); // 8 IAM + 13 clients + 16 flag admin + 1 events + 2 audit
  });

  const cases = managementMethods.flatMap((m) => ['roles/admin', ...Object.keys(EXPECTED_GRANTS)].map((role) => ({ ...m, role })));

  it.each(cases.map((c) => [c.role, c.procedure, c] as const))('%s calling %s', async (role, procedure, c) => {
    const policy = METHOD_POLICIES[procedure];
    if (policy?.access !== 'management') throw new Error('not a management method');
    const allowed = role === 'roles/admin' || EXPECTED_GRANTS[role]!.includes(policy.permission);
    const client = createClient(c.service as DescService, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: '1.1' })) as unknown as Record<
      string,
      (req: object, opts: object) => Promise<unknown>
    >;
    // An empty request: allowed calls get past authorization and fail (or not) on their own terms.
    const call = client[c.method.localName]!({}, { headers: bearer(tokens[role]!) });
    if (allowed) {
      const outcome = await call.then(
        () => 'ok',
        (e: { code?: Code }) => e.code,
      );
      expect(outcome).not.toBe(Code.PermissionDenied);
      expect(outcome).not.toBe(Code.Unauthenticated);
    } else {
      const r = await refusal(call);
      expect(r).toMatchObject({
        code: Code.PermissionDenied,
        reason: 'PERMISSION_MISSING',
        domain: 'latchkey',
        metadata: { permission: policy.permission },
        message: `apiClients/${role.replace('roles/', 'r-')} lacks the permission ${policy.permission}, which ${c.service.name}.${c.method.name} needs`,
      });
    }
  });
});
