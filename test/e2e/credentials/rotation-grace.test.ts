import { durationFromMs, timestampDate } from '@bufbuild/protobuf/wkt';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, TestClock, basic, connectClient } from '../../support/clients.js';
import { describeSelf } from '../../support/runtime.js';
import { startTestServer, type TestServer } from '../../support/server.js';

/** A rotation says when the old secret stops working, and so does every read until then. */
describe('the grace period of a rotated secret', () => {
  let server: TestServer;
  const clock = new TestClock();
  let admin: ReturnType<typeof connectClient<typeof ClientCredentialService>>;

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG, { now: clock.now });
    admin = connectClient(server, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    await admin.createClient({ clientId: 'app' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('previous_secret_expire_time is in the rotation answer and in Get and List until the old secret ends', async () => {
    const name = 'clients/app/credentials/rotated';
    const created = await admin.createClientCredential({
      parent: 'clients/app',
      credentialId: 'rotated',
      credential: { class: Class.SECRET, format: Format.CLIENT_SECRET, environments: ['production'], projects: ['*'], scopes: ['flags:read'] },
    });
    expect(created.credential!.previousSecretExpireTime).toBeUndefined();
    const rotated = await admin.rotateClientCredential({ name, gracePeriod: durationFromMs(3_600_000) });
    const ends = new Date(clock.now().getTime() + 3_600_000);
    expect(timestampDate(rotated.credential!.previousSecretExpireTime!)).toEqual(ends);
    expect(timestampDate((await admin.getClientCredential({ name })).previousSecretExpireTime!)).toEqual(ends);
    const listed = (await admin.listClientCredentials({ parent: 'clients/app' })).credentials.find((c) => c.name === name)!;
    expect(timestampDate(listed.previousSecretExpireTime!)).toEqual(ends);
    // Both secrets work until then; afterwards the old one is refused and no longer reported.
    expect((await describeSelf(server, { authorization: `Bearer ${created.secret}` })).status).toBe(200);
    clock.advance(3_600_000);
    expect(await describeSelf(server, { authorization: `Bearer ${created.secret}` })).toMatchObject({ status: 401, body: { reason: 'CREDENTIAL_EXPIRED' } });
    expect((await describeSelf(server, { authorization: `Bearer ${rotated.secret}` })).status).toBe(200);
    expect((await admin.getClientCredential({ name })).previousSecretExpireTime).toBeUndefined();
  });
});
