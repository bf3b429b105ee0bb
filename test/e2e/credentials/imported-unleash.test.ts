import { Code } from '@connectrpc/connect';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, basic, connectClient } from '../../support/clients.js';
import { refusal } from '../../support/errors.js';
import { describeSelf } from '../../support/runtime.js';
import { startTestServer, type TestServer } from '../../support/server.js';

/**
 * An imported Unleash token names its project and environment (`default:production.<hex>`).
 * SPEC §3 holds latchkey's own Unleash tokens to that visible part; an imported one is held to it
 * too: at import, at every request, and when the credential's scope would change.
 */
describe('imported Unleash tokens keep telling the truth about their scope', () => {
  let server: TestServer;
  let admin: ReturnType<typeof connectClient<typeof ClientCredentialService>>;
  const token = 'default:production.0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071';
  const settings = (extra: object) => ({ class: Class.SECRET, scopes: ['flags:read'], ...extra });

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    admin = connectClient(server, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    await admin.createClient({ clientId: 'shop' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('an import whose settings disagree with the token is refused, naming what the token says', async () => {
    const wrongEnvironment = await refusal(
      admin.importClientCredential({ parent: 'clients/shop', credentialId: 'wrong-env', secret: token, credential: settings({ environments: ['staging'], projects: ['default'] }) }),
    );
    expect(wrongEnvironment).toMatchObject({
      code: Code.InvalidArgument,
      reason: 'INVALID_ARGUMENT',
      fieldViolations: [{ field: 'secret', description: 'this Unleash token is for project default in environment production: set environments to ["production"] and projects to ["default"]' }],
    });
    const wrongProjects = await refusal(
      admin.importClientCredential({ parent: 'clients/shop', credentialId: 'wrong-projects', secret: token, credential: settings({ environments: ['production'], projects: ['*'] }) }),
    );
    expect(wrongProjects.fieldViolations).toEqual([{ field: 'secret', description: 'this Unleash token is for project default in environment production: set environments to ["production"] and projects to ["default"]' }]);
    // Nothing was stored: the right settings import the same token.
    const ok = await admin.importClientCredential({ parent: 'clients/shop', credentialId: 'right', secret: token, credential: settings({ environments: ['production'], projects: ['default'] }) });
    expect(ok.credential!.secretHint).toBe('default:production.…6071');
    expect(await describeSelf(server, { authorization: token })).toMatchObject({ status: 200, body: { credential: 'clients/shop/credentials/right', environments: ['production'] } });
  });

  it("the imported credential's environments and projects cannot change afterwards", async () => {
    const refused = await refusal(
      admin.updateClientCredential({ credential: { name: 'clients/shop/credentials/right', environments: ['staging'] }, updateMask: { paths: ['environments'] } }),
    );
    expect(refused).toMatchObject({ code: Code.FailedPrecondition, reason: 'SCOPE_IN_SECRET' });
    expect((await admin.getClientCredential({ name: 'clients/shop/credentials/right' })).environments).toEqual(['production']);
    // An opaque imported key has no scope in it and may move.
    await admin.importClientCredential({ parent: 'clients/shop', credentialId: 'opaque', secret: 'proxy-client-key-0042', credential: settings({ environments: ['production'], projects: ['default'] }) });
    const moved = await admin.updateClientCredential({ credential: { name: 'clients/shop/credentials/opaque', environments: ['staging'] }, updateMask: { paths: ['environments'] } });
    expect(moved.environments).toEqual(['staging']);
  });
});
