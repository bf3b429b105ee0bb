/**
 * last_use_time is kept in memory and written in the background (last-use.ts): a credential's
 * use reaches the store, and a use not yet written when the server stops is written on shutdown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, TestClock, basic, connectClient } from '../../support/clients.js';
import { startTestServer } from '../../support/server.js';

const credentialSpec = { class: Class.SECRET, format: Format.CLIENT_SECRET, projects: ['*'], scopes: ['flags:read'] };

describe('last-use times', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-last-use-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the newest use of every credential used, at the latest when the server stops', async () => {
    const path = join(dir, 'latchkey.db');
    const clock = new TestClock(Date.parse('2026-11-27T08:00:00.000Z'));
    const server = await startTestServer({ ...BOOTSTRAP_CONFIG, databaseUrl: path }, { now: clock.now });
    const used = new Map<string, string>();
    try {
      const admin = connectClient(server, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
      await admin.createClient({ clientId: 'app' });
      for (let i = 0; i < 3; i++) {
        const { secret } = await admin.createClientCredential({ parent: 'clients/app', credentialId: `k${i}`, credential: credentialSpec });
        for (let use = 0; use < 2; use++) {
          clock.advance(1_000);
          const res = await fetch(`${server.baseUrl}/v1/credential`, { headers: { authorization: `Bearer ${secret}` } });
          expect(res.status).toBe(200);
          used.set(`k${i}`, clock.now().toISOString());
        }
      }
      const unused = await admin.createClientCredential({ parent: 'clients/app', credentialId: 'unused', credential: credentialSpec });
      expect(unused.credential?.name).toBe('clients/app/credentials/unused');
    } finally {
      await server.close();
    }

    const db = new SqliteDatabase(path, { readonly: true });
    try {
      const rows = db.prepare("select id, last_use_time from client_credentials where client_id = 'app' order by id").all();
      expect(rows).toEqual([
        { id: 'k0', last_use_time: used.get('k0') },
        { id: 'k1', last_use_time: used.get('k1') },
        { id: 'k2', last_use_time: used.get('k2') },
        { id: 'unused', last_use_time: null },
      ]);
    } finally {
      db.close();
    }
  });
});
