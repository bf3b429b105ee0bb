import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClientService } from '../../../gen/latchkey/iam/v1/api_client_service_pb.js';
import { BOOTSTRAP, basic, connectClient } from '../../support/clients.js';
import { startTestServer } from '../../support/server.js';
import { openDatabase } from '../../../src/store/database.js';

async function apiClientIds(databaseUrl: string): Promise<string[]> {
  const database = await openDatabase({ url: databaseUrl });
  try {
    return (await database.db.selectFrom('api_clients').select('id').orderBy('id').execute()).map((r) => r.id);
  } finally {
    await database.close();
  }
}

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

  it('shows the secret before the admin is committed, so a failure in between leaves no admin behind', async () => {
    const databaseUrl = join(dir, 'db.sqlite');
    // Read through a connection of its own while the secret is being shown: the admin is not committed yet.
    const seenWhileShown: string[][] = [];
    await expect(
      startTestServer(
        { databaseUrl },
        {
          announce: async () => {
            seenWhileShown.push(await apiClientIds(databaseUrl));
            throw new Error('stderr is gone');
          },
        },
      ),
    ).rejects.toThrow('stderr is gone');
    expect(seenWhileShown).toEqual([[]]);
    expect(await apiClientIds(databaseUrl)).toEqual([]);

    // The next start creates an admin, shows it, and only then is it stored.
    const shown: string[] = [];
    const next = await startTestServer(
      { databaseUrl },
      {
        announce: async (t) => {
          seenWhileShown.push(await apiClientIds(databaseUrl));
          shown.push(t);
        },
      },
    );
    expect(seenWhileShown).toEqual([[], []]);
    expect(await apiClientIds(databaseUrl)).toEqual(['bootstrap-admin']);
    const clientId = /client id: +(\S+)/.exec(shown[0]!)?.[1];
    const secret = /client secret: +(\S+)/.exec(shown[0]!)?.[1];
    expect((await connectClient(next, ApiClientService, basic(clientId!, secret!)).getApiClient({ name: 'apiClients/bootstrap-admin' })).roles).toEqual([
      'roles/admin',
    ]);
    await next.close();
  });
});
