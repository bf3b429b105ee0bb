/**
 * `latchkey admin reset-bootstrap`: the operator's recovery when no admin credential is left. It
 * needs the database, not the API, and works beside a running server.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code } from '@connectrpc/connect';
import { ApiClientService } from '../../../gen/latchkey/iam/v1/api_client_service_pb.js';
import { AuditService } from '../../../gen/latchkey/audit/v1/audit_service_pb.js';
import { AuditEvent_Kind } from '../../../gen/latchkey/audit/v1/audit_event_pb.js';
import { basic, bearer, connectClient, requestToken } from '../../support/clients.js';
import { refusal } from '../../support/errors.js';
import { adminAnnouncement, credentialsBlock, messages } from '../../support/bootstrap-output.js';
import { spawnLatchkey, type Spawned } from '../../support/process.js';
import { startTestServer } from '../../support/server.js';

const REKEYED = [
  'latchkey re-keyed the admin API client apiClients/bootstrap-admin and gave it roles/admin;',
  'its previous secret and access tokens no longer work.',
  'Its secret is shown this once; store it now.',
];
const CREATED = ['latchkey created the admin API client apiClients/bootstrap-admin with roles/admin.', 'Its secret is shown this once; store it now.'];

async function stop(run: Spawned): Promise<number | null> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  return run.exited;
}

describe('latchkey admin reset-bootstrap', () => {
  let dir: string;
  let databaseUrl: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-reset-'));
    databaseUrl = join(dir, 'latchkey.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('re-keys the bootstrap admin beside a running server: the new secret works at once, the old one and its tokens do not', async () => {
    const server = spawnLatchkey(['serve'], { LATCHKEY_PORT: '0', LATCHKEY_HOST: '127.0.0.1', LATCHKEY_DATABASE_URL: databaseUrl });
    try {
      const port = (await server.waitForLog(/is listening/)).port as number;
      const base = { baseUrl: `http://127.0.0.1:${port}` };
      const first = adminAnnouncement(port).exec(server.stderr())!.groups!;
      const oldToken = await requestToken(base, first.id!, first.secret!);

      const reset = spawnLatchkey(['admin', 'reset-bootstrap'], { LATCHKEY_DATABASE_URL: databaseUrl });
      expect(await reset.exited).toBe(0);
      const shown = credentialsBlock(REKEYED, '<port>').exec(reset.stderr());
      expect(shown).not.toBeNull();
      const { id, secret } = shown!.groups!;
      expect(id).toBe(first.id); // the client id stays; the secret is new
      expect(secret).not.toBe(first.secret);
      // The JSON log names the client, never the secret.
      expect(reset.stdout()).not.toContain(secret);
      const logged = reset
        .stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(logged.map(({ msg, apiClient, clientId, action, seeded }) => ({ msg, apiClient, clientId, action, seeded }))).toEqual([
        { msg: 're-keyed the bootstrap admin API client', apiClient: 'apiClients/bootstrap-admin', clientId: id, action: 're-keyed', seeded: false },
      ]);

      // The running server takes the change at once.
      const oldSecret = await fetch(`${base.baseUrl}/v1/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: first.id!, client_secret: first.secret! }).toString(),
      });
      expect([oldSecret.status, ((await oldSecret.json()) as { error: string }).error]).toEqual([401, 'invalid_client']);
      expect(await refusal(connectClient(base, ApiClientService, bearer(oldToken)).listRoles({}))).toMatchObject({
        code: Code.Unauthenticated,
        reason: 'ACCESS_TOKEN_INVALID',
      });
      const admin = connectClient(base, ApiClientService, bearer(await requestToken(base, id!, secret!)));
      expect(await admin.getApiClient({ name: 'apiClients/bootstrap-admin' })).toMatchObject({ clientId: id, roles: ['roles/admin'], permissions: [] });

      // And the trail says who did it: nobody through the API, the command.
      const events = await connectClient(base, AuditService, basic(id!, secret!)).listAuditEvents({
        kind: AuditEvent_Kind.ADMIN_CHANGE,
        resource: 'apiClients/bootstrap-admin',
      });
      expect(events.auditEvents.map((e) => [e.actor, e.method, e.outcome, e.userAgent])).toEqual([
        ['', 'latchkey admin reset-bootstrap', 'OK', 'latchkey/0.1.0 (re-keyed)'],
      ]);
    } finally {
      expect(await stop(server)).toBe(0);
    }
  });

  it('re-creates a deleted bootstrap admin when the admin that replaced it is lost, and gives back roles/admin', async () => {
    // The bootstrap admin handed over to another admin and was deleted; that admin's secret is lost.
    const before = await startTestServer({ databaseUrl });
    const first = /client id: +(\S+)\n {2}client secret: +(\S+)/.exec(before.announced[0]!)!;
    const boot = connectClient(before, ApiClientService, basic(first[1]!, first[2]!));
    await boot.createApiClient({ apiClientId: 'successor', apiClient: { roles: ['roles/admin'] } });
    await boot.deleteApiClient({ name: 'apiClients/bootstrap-admin' });
    await before.close();

    const reset = spawnLatchkey(['admin', 'reset-bootstrap', '--database-url', databaseUrl], {});
    expect(await reset.exited).toBe(0);
    const { id, secret } = credentialsBlock(CREATED, '<port>').exec(reset.stderr())!.groups!;
    expect(id).not.toBe(first[1]);
    expect(messages(reset.stdout())).toEqual(['created the bootstrap admin API client']);

    const after = await startTestServer({ databaseUrl });
    expect(after.announced).toEqual([]);
    const admin = connectClient(after, ApiClientService, basic(id!, secret!));
    expect((await admin.listApiClients({})).apiClients.map((a) => [a.name, a.roles])).toEqual([
      ['apiClients/bootstrap-admin', ['roles/admin']],
      ['apiClients/successor', ['roles/admin']],
    ]);
    await after.close();
  });

  it('takes LATCHKEY_BOOTSTRAP_CLIENT_ID and _SECRET when they are given, and never prints that secret', async () => {
    const before = await startTestServer({ databaseUrl });
    await before.close();
    const seeded = { LATCHKEY_BOOTSTRAP_CLIENT_ID: 'ops-admin', LATCHKEY_BOOTSTRAP_CLIENT_SECRET: 'ops-admin-secret-0123456789' };
    const reset = spawnLatchkey(['admin', 'reset-bootstrap'], { LATCHKEY_DATABASE_URL: databaseUrl, ...seeded });
    expect(await reset.exited).toBe(0);
    expect(reset.stderr()).toMatch(
      credentialsBlock(
        [
          REKEYED[0]!,
          REKEYED[1]!,
          'It authenticates with LATCHKEY_BOOTSTRAP_CLIENT_ID and LATCHKEY_BOOTSTRAP_CLIENT_SECRET.',
        ],
        '<port>',
        { id: 'ops-admin', secretShown: false },
      ),
    );
    expect(reset.stderr() + reset.stdout()).not.toContain(seeded.LATCHKEY_BOOTSTRAP_CLIENT_SECRET);

    const after = await startTestServer({ databaseUrl });
    const admin = connectClient(after, ApiClientService, basic('ops-admin', seeded.LATCHKEY_BOOTSTRAP_CLIENT_SECRET));
    expect(await admin.getApiClient({ name: 'apiClients/bootstrap-admin' })).toMatchObject({ clientId: 'ops-admin', roles: ['roles/admin'] });
    await after.close();
  });

  it('refuses a SQLite path with no database, and creates none there', async () => {
    const missing = join(dir, 'typo.db');
    const reset = spawnLatchkey(['admin', 'reset-bootstrap'], { LATCHKEY_DATABASE_URL: missing });
    expect(await reset.exited).toBe(1);
    expect(reset.stderr()).toBe(
      `latchkey: no SQLite database at ${missing}; set LATCHKEY_DATABASE_URL (or --database-url) to the database the server uses\n`,
    );
    expect(reset.stdout()).toBe('');
    expect(existsSync(missing)).toBe(false);
  });

  it('refuses a seeded client id that another API client already has', async () => {
    const before = await startTestServer({ databaseUrl });
    const first = /client id: +(\S+)\n {2}client secret: +(\S+)/.exec(before.announced[0]!)!;
    const taken = await connectClient(before, ApiClientService, basic(first[1]!, first[2]!)).createApiClient({ apiClientId: 'other', apiClient: {} });
    await before.close();
    const reset = spawnLatchkey(['admin', 'reset-bootstrap'], {
      LATCHKEY_DATABASE_URL: databaseUrl,
      LATCHKEY_BOOTSTRAP_CLIENT_ID: taken.clientId,
      LATCHKEY_BOOTSTRAP_CLIENT_SECRET: 'ops-admin-secret-0123456789',
    });
    expect(await reset.exited).toBe(1);
    expect(reset.stderr()).toBe(`latchkey: another API client already has the client id ${JSON.stringify(taken.clientId)}\n`);
  });
});
