/**
 * A first start that fails must not lock the operator out (SPEC §8): the bootstrap admin is
 * committed only once the server listens, and its secret is shown before the commit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClientService } from '../../../gen/latchkey/iam/v1/api_client_service_pb.js';
import { basic, bearer, connectClient, requestToken } from '../../support/clients.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { spawnLatchkey, type Spawned } from '../../support/process.js';
import { openDatabase } from '../../../src/store/database.js';
import { adminAnnouncement, messages } from '../../support/bootstrap-output.js';

async function occupyPort(): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function apiClientIds(databaseUrl: string): Promise<string[]> {
  const database = await openDatabase({ url: databaseUrl });
  try {
    return (await database.db.selectFrom('api_clients').select('id').orderBy('id').execute()).map((r) => r.id);
  } finally {
    await database.close();
  }
}

async function stop(run: Spawned): Promise<number | null> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  return run.exited;
}

describe('a first start that fails', () => {
  let dir: string;
  let blocker: net.Server;
  let takenPort: number;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-lockout-'));
    blocker = await occupyPort();
    takenPort = (blocker.address() as net.AddressInfo).port;
  });
  afterEach(async () => {
    await new Promise((resolve) => blocker.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('with its port taken stores no admin, and the next start creates one and shows its secret', async () => {
    const databaseUrl = join(dir, 'latchkey.db');
    const failed = spawnLatchkey(['serve'], { LATCHKEY_PORT: String(takenPort), LATCHKEY_HOST: '127.0.0.1', LATCHKEY_DATABASE_URL: databaseUrl });
    expect(await failed.exited).toBe(1);
    expect(failed.stderr()).toBe(`latchkey: cannot listen on 127.0.0.1:${takenPort}: listen EADDRINUSE: address already in use 127.0.0.1:${takenPort}\n`);
    expect(messages(failed.stdout())).toEqual(['applied migrations', 'created default project and environments', 'cannot start']);
    expect(await apiClientIds(databaseUrl)).toEqual([]);

    const next = spawnLatchkey(['serve'], { LATCHKEY_PORT: '0', LATCHKEY_HOST: '127.0.0.1', LATCHKEY_DATABASE_URL: databaseUrl });
    const port = (await next.waitForLog(/is listening/)).port as number;
    const shown = adminAnnouncement(port).exec(next.stderr());
    expect(shown).not.toBeNull();
    const { id, secret } = shown!.groups!;
    expect(messages(next.stdout())).toEqual(['created the bootstrap admin API client', 'latchkey is listening (gRPC, gRPC-Web, Connect; HTTP/2 and HTTP/1.1)']);
    expect(next.stdout()).not.toContain(secret);

    const server = { baseUrl: `http://127.0.0.1:${port}` };
    const admin = connectClient(server, ApiClientService, bearer(await requestToken(server, id!, secret!)));
    expect(await admin.getApiClient({ name: 'apiClients/bootstrap-admin' })).toMatchObject({ clientId: id, roles: ['roles/admin'] });
    expect(await stop(next)).toBe(0);
  });

  it('with its port taken does not swallow LATCHKEY_BOOTSTRAP_*: the next start seeds the admin it is given then', async () => {
    const databaseUrl = join(dir, 'latchkey.db');
    const failed = spawnLatchkey(['serve'], {
      LATCHKEY_PORT: String(takenPort),
      LATCHKEY_HOST: '127.0.0.1',
      LATCHKEY_DATABASE_URL: databaseUrl,
      LATCHKEY_BOOTSTRAP_CLIENT_ID: 'first-try',
      LATCHKEY_BOOTSTRAP_CLIENT_SECRET: 'first-try-secret-0123456789',
    });
    expect(await failed.exited).toBe(1);
    expect(await apiClientIds(databaseUrl)).toEqual([]);

    const next = spawnLatchkey(['serve'], {
      LATCHKEY_PORT: '0',
      LATCHKEY_HOST: '127.0.0.1',
      LATCHKEY_DATABASE_URL: databaseUrl,
      LATCHKEY_BOOTSTRAP_CLIENT_ID: 'second-try',
      LATCHKEY_BOOTSTRAP_CLIENT_SECRET: 'second-try-secret-0123456789',
    });
    const port = (await next.waitForLog(/is listening/)).port as number;
    expect(next.stderr()).toBe('');
    const admin = connectClient({ baseUrl: `http://127.0.0.1:${port}` }, ApiClientService, basic('second-try', 'second-try-secret-0123456789'));
    expect(await admin.getApiClient({ name: 'apiClients/bootstrap-admin' })).toMatchObject({ clientId: 'second-try', roles: ['roles/admin'] });
    expect(await stop(next)).toBe(0);
  });
});

describe('replicas starting at once on one fresh PostgreSQL database', () => {
  let pg: TestDatabase;
  beforeEach(async () => {
    pg = await createTestDatabase();
  });
  afterEach(async () => {
    await pg.drop();
  });

  it('create and show exactly one admin, whose secret works on every replica', async () => {
    const runs = [0, 1, 2].map(() =>
      spawnLatchkey(['serve'], { LATCHKEY_PORT: '0', LATCHKEY_HOST: '127.0.0.1', LATCHKEY_DATABASE_URL: pg.url, LATCHKEY_SHUTDOWN_TIMEOUT_MS: '2000' }),
    );
    try {
      const ports = await Promise.all(runs.map(async (r) => (await r.waitForLog(/is listening/)).port as number));
      const showing = runs.map((r, i) => ({ i, shown: adminAnnouncement(ports[i]!).exec(r.stderr()) })).filter((x) => x.shown !== null);
      expect(showing).toHaveLength(1);
      expect(runs.map((r) => r.stderr()).filter((e) => e !== '')).toHaveLength(1);
      expect(runs.filter((r) => messages(r.stdout()).includes('created the bootstrap admin API client'))).toHaveLength(1);
      const { id, secret } = showing[0]!.shown!.groups!;
      for (const port of ports) {
        const admin = connectClient({ baseUrl: `http://127.0.0.1:${port}` }, ApiClientService, basic(id!, secret!));
        expect((await admin.listApiClients({})).apiClients.map((a) => a.name)).toEqual(['apiClients/bootstrap-admin']);
      }
    } finally {
      expect(await Promise.all(runs.map(stop))).toEqual([0, 0, 0]);
    }
  });
});
