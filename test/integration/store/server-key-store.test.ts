import { openDatabase, type OpenDatabase } from '../../../src/store/database.js';
import { migrateToLatest } from '../../../src/store/migrate.js';
import { RESOLVE_TOKEN_KEY_ID, loadOrCreateServerKey } from '../../../src/store/server-key-store.js';
import { createTestStore, type TestStore } from '../../support/test-store.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');

describe.each(['sqlite', 'postgres'] as const)('server keys on %s', (dialect) => {
  let store: TestStore;
  let replicas: OpenDatabase[];

  beforeEach(async () => {
    store = await createTestStore(dialect, 'server-keys');
    const first = await openDatabase({ url: store.url });
    await migrateToLatest(first.db);
    // Separate connections (pools, on PostgreSQL) to one database, as replicas have.
    replicas = [first, ...(await Promise.all([1, 2, 3].map(() => openDatabase({ url: store.url }))))];
  });
  afterEach(async () => {
    for (const r of replicas) await r.close();
    await store.remove();
  });

  it('creates the key once; every replica, starting at the same time or later, reads the same one', async () => {
    const keys = await Promise.all(replicas.map((r) => loadOrCreateServerKey(r.db, RESOLVE_TOKEN_KEY_ID, 32, NOW)));
    expect(keys[0]!.length).toBe(32);
    for (const k of keys) expect(k.equals(keys[0]!)).toBe(true);
    expect(await loadOrCreateServerKey(replicas[3]!.db, RESOLVE_TOKEN_KEY_ID, 32, new Date('2027-01-01T00:00:00.000Z'))).toEqual(keys[0]);
    expect(await replicas[0]!.db.selectFrom('server_keys').selectAll().execute()).toEqual([
      { id: 'resolve-token', key: keys[0]!.toString('base64'), create_time: NOW.toISOString() },
    ]);
  });

  it('refuses to start on a damaged key rather than replacing it', async () => {
    await replicas[0]!.db.insertInto('server_keys').values({ id: RESOLVE_TOKEN_KEY_ID, key: 'c2hvcnQ=', create_time: NOW.toISOString() }).execute();
    await expect(loadOrCreateServerKey(replicas[0]!.db, RESOLVE_TOKEN_KEY_ID, 32, NOW)).rejects.toThrow('server key resolve-token in server_keys is not 32 bytes of base64');
    expect(await replicas[0]!.db.selectFrom('server_keys').select('key').execute()).toEqual([{ key: 'c2hvcnQ=' }]);
  });
});
