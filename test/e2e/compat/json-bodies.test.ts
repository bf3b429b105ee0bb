import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, basic, connectClient } from '../../support/clients.js';
import { startTestServer, type TestServer } from '../../support/server.js';

/**
 * Every compatibility route that reads a JSON body (Confidence, Unleash, Reflag) shares one
 * reader: a body that does not parse is 400 INVALID_ARGUMENT, a non-object where an object is
 * required is 400, and a body over 1 MiB is 413 RESOURCE_EXHAUSTED / BODY_TOO_LARGE, the same
 * code an oversized RPC message gets.
 */
describe('JSON bodies of the compatibility routes', () => {
  let server: TestServer;
  let secret: string;

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    const creds = connectClient(server, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    await creds.createClient({ clientId: 'app' });
    const created = await creds.createClientCredential({
      parent: 'clients/app',
      credentialId: 'backend',
      credential: { format: Format.UNLEASH, class: Class.SECRET, environments: ['development'], projects: ['default'], scopes: ['flags:read', 'logs:write'] },
    });
    secret = created.secret;
  });
  afterAll(async () => {
    await server.close();
  });

  const post = async (path: string, body: string, withHeader: boolean) => {
    const res = await fetch(`${server.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(withHeader && { authorization: secret }) },
      body,
    });
    return [res.status, await res.json()] as const;
  };
  const tooLarge = JSON.stringify({ padding: 'x'.repeat(1024 * 1024) });

  // [route, whether the credential goes in a header (else the body carries it), whether the body must be an object]
  const routes: [string, boolean, boolean][] = [
    ['/v1/flags:resolve', false, true],
    ['/v1/flags:apply', false, true],
    ['/api/client/register', true, true],
    ['/api/client/metrics', true, true],
    ['/reflag/bulk', true, false],
    ['/reflag/event', true, false],
  ];

  it.each(routes)('%s: a body that is not JSON is 400 INVALID_ARGUMENT', async (path, withHeader) => {
    expect(await post(path, '{"context": ', withHeader)).toEqual([400, { code: 'INVALID_ARGUMENT', reason: 'INVALID_ARGUMENT', message: 'the body is not valid JSON' }]);
  });

  it.each(routes.filter(([, , object]) => object))('%s: a JSON array is 400, the body must be an object', async (path, withHeader) => {
    expect(await post(path, '[]', withHeader)).toEqual([400, { code: 'INVALID_ARGUMENT', reason: 'INVALID_ARGUMENT', message: 'the body must be a JSON object' }]);
  });

  it.each(routes)('%s: a body over 1 MiB is 413 RESOURCE_EXHAUSTED', async (path, withHeader) => {
    expect(await post(path, tooLarge, withHeader)).toEqual([
      413,
      { code: 'RESOURCE_EXHAUSTED', reason: 'BODY_TOO_LARGE', message: 'request body is larger than 1048576 bytes' },
    ]);
  });
});
