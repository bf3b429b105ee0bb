/**
 * The credential store's prepared statements (prepared-credential-queries.ts) on a real SQLite file
 * and a real PostgreSQL database: the digest lookup maps rows exactly as the query builder does,
 * and last-use times are written in chunks without ever moving back.
 */
import SqliteDatabase from 'better-sqlite3';
import { LastUseTracker } from '../../../src/client-credentials/last-use.js';
import { LAST_USE_CHUNK } from '../../../src/store/prepared-credential-queries.js';
import { KyselyCredentialStore } from '../../../src/store/credential-store.js';
import { openDatabase, type OpenDatabase } from '../../../src/store/database.js';
import { migrateToLatest } from '../../../src/store/migrate.js';
import type { SqlDialect } from '../../../src/store/dialect.js';
import { clientRecord, credentialRecord, digestOf } from '../../support/credential-records.js';
import { createTestStore, type TestStore } from '../../support/test-store.js';

describe.each<SqlDialect>(['sqlite', 'postgres'])('the credential store on %s', (dialect) => {
  let testStore: TestStore;
  let database: OpenDatabase;
  let store: KyselyCredentialStore;

  beforeAll(async () => {
    testStore = await createTestStore(dialect, 'credential-store');
    // One pooled connection on PostgreSQL, so that its prepared statements can be listed below.
    database = await openDatabase({ url: testStore.url, poolSize: 1 });
    await migrateToLatest(database.db);
    store = new KyselyCredentialStore(database.db, database.native);
    await store.insertClient(clientRecord('app'));
  });
  afterAll(async () => {
    await database.close();
    await testStore.remove();
  });

  it('finds a credential by digest with the same record as getCredential, and the secret without expiry', async () => {
    const credential = credentialRecord('app', 'lookup', {
      publicId: 'pk_test_lookup',
      allowedOrigins: ['https://app.example.com'],
      allowedIpRanges: ['10.0.0.0/8', '2001:db8::/32'],
      rateLimit: { requests: 100, windowMs: 60_000 },
      expireTime: new Date('2027-01-01T00:00:00.000Z'),
      scopes: ['flags:read', 'configs:read'],
    });
    expect(await store.insertCredential(credential, digestOf('lookup-secret'))).toBe('ok');

    const found = await store.findBySecretDigest(digestOf('lookup-secret'));
    expect(found).toEqual({ credential: await store.getCredential('app', 'lookup'), secret: { digest: digestOf('lookup-secret'), expireTime: null } });
    expect(found?.credential).toEqual(credential);
  });

  it('answers undefined for a digest no credential has', async () => {
    expect(await store.findBySecretDigest(digestOf('never-issued'))).toBeUndefined();
  });

  it('finds both secrets of a rotated credential, the old one with its grace end', async () => {
    const credential = credentialRecord('app', 'rotated');
    await store.insertCredential(credential, digestOf('old-secret'));
    const graceEnd = new Date('2026-11-24T09:00:00.000Z');
    const rotated = { ...credential, secretHint: 'new…hint', etag: 'e-rotated-2' };
    expect(await store.rotateSecret(rotated, digestOf('new-secret'), graceEnd, credential.etag)).toBe(true);

    const old = await store.findBySecretDigest(digestOf('old-secret'));
    const current = await store.findBySecretDigest(digestOf('new-secret'));
    expect(old?.secret).toEqual({ digest: digestOf('old-secret'), expireTime: graceEnd });
    expect(current?.secret).toEqual({ digest: digestOf('new-secret'), expireTime: null });
    for (const f of [old, current]) expect(f?.credential).toEqual({ ...rotated, previousSecretExpireTime: graceEnd });
  });

  it('writes last-use times of more credentials than one chunk holds, and never moves one back', async () => {
    const count = LAST_USE_CHUNK * 2 + 7;
    // In one statement: last-use writes need no secrets, and a thousand single inserts take seconds.
    await database.db
      .insertInto('client_credentials')
      .values(Array.from({ length: count }, (_, i) => ({ ...rowOf(`used-${i}`), etag: 'e' })))
      .execute();
    const first = new Date('2026-11-25T10:00:00.000Z');
    await store.recordLastUse(new Map(Array.from({ length: count }, (_, i) => [`clients/app/credentials/used-${i}`, first])));
    const earlier = new Date('2026-11-25T09:00:00.000Z');
    const later = new Date('2026-11-25T11:00:00.000Z');
    await store.recordLastUse(
      new Map([
        ['clients/app/credentials/used-0', earlier],
        [`clients/app/credentials/used-${count - 1}`, later],
      ]),
    );

    const times = new Map((await store.listCredentials('app', undefined, 10_000)).map((c) => [c.id, c.lastUseTime?.toISOString() ?? null]));
    expect(times.get('used-0')).toBe(first.toISOString());
    expect(times.get(`used-${count - 1}`)).toBe(later.toISOString());
    const written = [...times].filter(([id]) => id.startsWith('used-'));
    expect(written).toHaveLength(count);
    expect(written.filter(([id, t]) => id !== `used-${count - 1}` && t !== first.toISOString())).toEqual([]);
  });

  it('writes the uses a tracker holds when it closes, before its interval comes round', async () => {
    await store.insertCredential(credentialRecord('app', 'closing'), digestOf('closing'));
    const tracker = new LastUseTracker(store);
    const failures: unknown[] = [];
    tracker.start(3_600_000, (err) => failures.push(err));
    tracker.note('clients/app/credentials/closing', new Date('2026-11-27T10:00:00.000Z'));
    tracker.note('clients/app/credentials/closing', new Date('2026-11-27T10:00:05.000Z'));
    expect(tracker.pendingUse('clients/app/credentials/closing')).toEqual(new Date('2026-11-27T10:00:05.000Z'));
    expect((await store.getCredential('app', 'closing'))?.lastUseTime).toBeNull();
    await tracker.close();
    expect((await store.getCredential('app', 'closing'))?.lastUseTime).toEqual(new Date('2026-11-27T10:00:05.000Z'));
    expect(tracker.pendingUse('clients/app/credentials/closing')).toBeUndefined();
    expect(failures).toEqual([]);
  });

  if (dialect === 'postgres') {
    it('looks digests up with one named, server-side prepared query', async () => {
      if (database.native.dialect !== 'postgres') throw new Error('expected a pool');
      await store.findBySecretDigest(digestOf('lookup-secret'));
      const { rows } = await database.native.pool.query<{ name: string; statement: string }>('select name, statement from pg_prepared_statements');
      const lookup = rows.find((r) => r.name === 'latchkey_credential_by_digest');
      expect(lookup?.statement).toContain('where "credential_secrets"."digest" = $1');
    });
  }

  if (dialect === 'sqlite') {
    it('does not read inside a transaction the query builder holds open: the lookup waits for it and sees only what committed', async () => {
      let lookup: Promise<unknown> | undefined;
      const rolledBack = new Error('rolled back on purpose');
      await expect(
        database.db.transaction().execute(async (tx) => {
          await tx.insertInto('client_credentials').values({ ...rowOf('uncommitted'), etag: 'e' }).execute();
          await tx.insertInto('credential_secrets').values({ digest: digestOf('uncommitted'), client_id: 'app', credential_id: 'uncommitted', expire_time: null, create_time: '2026-11-23T09:00:00.000Z' }).execute();
          lookup = store.findBySecretDigest(digestOf('uncommitted'));
          throw rolledBack;
        }),
      ).rejects.toBe(rolledBack);
      expect(await lookup).toBeUndefined();
    });

    it('waits for the write lock another connection holds without blocking the event loop, then writes', async () => {
      if (!testStore.url) throw new Error('no SQLite path');
      const other = new SqliteDatabase(testStore.url);
      other.exec('begin immediate');
      let settled = false;
      const write = store.recordLastUse(new Map([['clients/app/credentials/used-1', new Date('2026-11-26T10:00:00.000Z')]])).finally(() => {
        settled = true;
      });
      // Timers still run while the lock is taken (a blocked event loop would run none), and the write waits.
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(settled).toBe(false);
      other.exec('commit');
      other.close();
      await write;
      expect((await store.getCredential('app', 'used-1'))?.lastUseTime).toEqual(new Date('2026-11-26T10:00:00.000Z'));
    });
  }
});

/** A client_credentials row of client `app`, for writes made through the query builder. */
function rowOf(id: string) {
  return {
    client_id: 'app',
    id,
    display_name: id,
    class: 'SECRET' as const,
    format: 'CLIENT_SECRET',
    public_id: null,
    environments: '[]',
    projects: '["*"]',
    scopes: '["flags:read"]',
    allowed_origins: '[]',
    allowed_ip_ranges: '[]',
    rate_limit_requests: null,
    rate_limit_window_ms: null,
    expire_time: null,
    state: 'ACTIVE' as const,
    revoke_time: null,
    last_use_time: null,
    secret_hint: 'h',
    create_time: '2026-11-23T09:00:00.000Z',
    update_time: '2026-11-23T09:00:00.000Z',
    creator: null,
    updater: null,
  };
}
