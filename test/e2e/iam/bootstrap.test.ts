import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClientService } from '../../../gen/latchkey/iam/v1/api_client_service_pb.js';
import { BOOTSTRAP, basic, connectClient } from '../../support/clients.js';
import { startTestServer } from '../../support/server.js';

describe('bootstrap admin', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-boot-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates an admin on an empty database, shows its secret once, and not again on restart', async () => {
    const databaseUrl = join(dir, 'db.sqlite');
    const shown: string[] = [];
    const first = await startTestServer({ databaseUrl }, { announce: (t) => shown.push(t) });
    expect(shown).toHaveLength(1);
    const clientId = /client id: +(\S+)/.exec(shown[0]!)?.[1];
    const secret = /client secret: +(\S+)/.exec(shown[0]!)?.[1];
    expect(clientId).toMatch(/^lkc_/);
    expect(secret).toMatch(/^lks_/);
    const admin = connectClient(first, ApiClientService, basic(clientId!, secret!));
    expect((await admin.getApiClient({ name: 'apiClients/bootstrap-admin' })).roles).toEqual(['roles/admin']);
    expect(first.logs.text()).not.toContain(secret);
    await first.close();

    const second = await startTestServer({ databaseUrl }, { announce: (t) => shown.push(t) });
    expect(shown).toHaveLength(1);
    await expect(connectClient(second, ApiClientService, basic(clientId!, secret!)).listRoles({})).resolves.toBeDefined();
    await second.close();
  });

  it('seeds a known admin from LATCHKEY_BOOTSTRAP_CLIENT_ID / _SECRET without announcing anything', async () => {
    const shown: string[] = [];
    const server = await startTestServer(
      { databaseUrl: join(dir, 'db.sqlite'), bootstrapClientId: BOOTSTRAP.clientId, bootstrapClientSecret: BOOTSTRAP.secret },
      { announce: (t) => shown.push(t) },
    );
    expect(shown).toEqual([]);
    const got = await connectClient(server, ApiClientService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret)).getApiClient({ name: 'apiClients/bootstrap-admin' });
    expect(got.clientId).toBe(BOOTSTRAP.clientId);
    await server.close();
  });
});
