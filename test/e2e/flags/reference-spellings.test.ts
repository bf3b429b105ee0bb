import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { Flag_Kind as Kind } from '../../../gen/latchkey/flags/admin/v1/flag_pb.js';
import { FlagAdminService } from '../../../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, basic, connectClient } from '../../support/clients.js';
import { refusal } from '../../support/errors.js';
import { startTestServer, type TestServer } from '../../support/server.js';

/**
 * A project or environment may be referenced by id (`default`) or by resource name
 * (`projects/default`) wherever one is referenced; answers use one canonical form per field.
 */
describe('both spellings of project and environment references', () => {
  let server: TestServer;
  const auth = basic(BOOTSTRAP.clientId, BOOTSTRAP.secret);

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
  });
  afterAll(async () => {
    await server.close();
  });

  it('flags: project by id or name, rule environments by id or name', async () => {
    const flags = connectClient(server, FlagAdminService, auth);
    const on = { name: 'on', value: { kind: { case: 'boolValue' as const, value: true } } };
    const byId = await flags.createFlag({
      flagId: 'by-id',
      flag: { project: 'default', kind: Kind.BOOLEAN, variants: [on], rules: [{ name: 'r', enabled: true, environments: ['environments/production'], allocations: [{ variant: 'on', weight: 10000 }] }] },
    });
    expect([byId.project, byId.rules[0]!.environments]).toEqual(['projects/default', ['production']]);
    const byName = await flags.createFlag({ flagId: 'by-name', flag: { project: 'projects/default', kind: Kind.BOOLEAN, variants: [on] } });
    expect(byName.project).toBe('projects/default');
    const unknown = await refusal(flags.createFlag({ flagId: 'nowhere', flag: { project: 'nowhere', kind: Kind.BOOLEAN, variants: [on] } }));
    expect(unknown.fieldViolations).toEqual([{ field: 'flag.project', description: 'unknown project projects/nowhere' }]);
    const malformed = await refusal(flags.createFlag({ flagId: 'bad', flag: { project: 'projects/Bad Name', kind: Kind.BOOLEAN, variants: [on] } }));
    expect(malformed.fieldViolations).toEqual([{ field: 'flag.project', description: 'expected projects/{project} (or the project id alone)' }]);
  });

  it('credentials: projects and environments by id or name, stored as ids', async () => {
    const credentials = connectClient(server, ClientCredentialService, auth);
    await credentials.createClient({ clientId: 'app' });
    const { credential } = await credentials.createClientCredential({
      parent: 'clients/app',
      credentialId: 'named',
      credential: { class: Class.SECRET, format: Format.CLIENT_SECRET, environments: ['environments/production'], projects: ['projects/default'], scopes: ['flags:read'] },
    });
    expect([credential!.environments, credential!.projects]).toEqual([['production'], ['default']]);
    const updated = await credentials.updateClientCredential({
      credential: { name: credential!.name, environments: ['environments/staging', 'development'] },
      updateMask: { paths: ['environments'] },
    });
    expect(updated.environments).toEqual(['staging', 'development']);
  });
});
