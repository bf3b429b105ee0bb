/**
 * The bounded credential cache over a real store (a SQLite file): the LRU bound, per-credential and
 * per-client eviction, the digest index under LRU eviction, and the generation guard that keeps a
 * lookup racing a change from caching what the change replaced.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialCache, type CachedCredential } from '../../../src/client-credentials/credential-cache.js';
import { KyselyCredentialStore } from '../../../src/store/credential-store.js';
import { openDatabase, type OpenDatabase } from '../../../src/store/database.js';
import { migrateToLatest } from '../../../src/store/migrate.js';
import { clientRecord, credentialRecord, digestOf } from '../../support/credential-records.js';

let dir: string;
let database: OpenDatabase;
let store: KyselyCredentialStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-cache-'));
  database = await openDatabase({ url: join(dir, 'latchkey.db') });
  await migrateToLatest(database.db);
  store = new KyselyCredentialStore(database.db, database.native);
  for (const client of ['app', 'other']) await store.insertClient(clientRecord(client));
  for (const id of ['a', 'b', 'c', 'd']) expect(await store.insertCredential(credentialRecord('app', id), digestOf(id))).toBe('ok');
  expect(await store.insertCredential(credentialRecord('other', 'x'), digestOf('x'))).toBe('ok');
});
afterAll(async () => {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The answer of a lookup, and whether it came from memory (no promise) or from the store. */
async function lookup(cache: CredentialCache, secret: string): Promise<{ from: 'memory' | 'store'; name: string | undefined; state: string | undefined }> {
  const answer = cache.lookup(digestOf(secret));
  const entry: CachedCredential | undefined = answer instanceof Promise ? await answer : answer;
  return { from: answer instanceof Promise ? 'store' : 'memory', name: entry?.name, state: entry?.credential.state };
}

/** Writes a credential's state straight to the store, as another replica would (no eviction here). */
function setState(id: string, state: 'ACTIVE' | 'REVOKED') {
  if (database.native.dialect !== 'sqlite') throw new Error('expected SQLite');
  database.native.sqlite.prepare("update client_credentials set state = ? where client_id = 'app' and id = ?").run(state, id);
}

describe('the credential cache', () => {
  it('holds at most its size, forgetting the least recently used, and looks a forgotten one up again', async () => {
    const cache = new CredentialCache(store, 3);
    for (const id of ['a', 'b', 'c']) expect((await lookup(cache, id)).from).toBe('store');
    expect((await lookup(cache, 'a')).from).toBe('memory'); // a is now the most recently used; b the least
    expect(await lookup(cache, 'd')).toEqual({ from: 'store', name: 'clients/app/credentials/d', state: 'ACTIVE' });

    expect(cache.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((id) => cache.has(digestOf(id)))).toEqual([true, false, true, true]);
    expect(await lookup(cache, 'b')).toEqual({ from: 'store', name: 'clients/app/credentials/b', state: 'ACTIVE' });
    expect(cache.size).toBe(3);
  });

  it('evicts only the credential that changed', async () => {
    const cache = new CredentialCache(store, 10);
    for (const id of ['a', 'b', 'x']) await lookup(cache, id);
    cache.evict([{ entity: 'credential', entityKey: 'app/a' }]);
    expect(['a', 'b', 'x'].map((id) => cache.has(digestOf(id)))).toEqual([false, true, true]);
    expect((await lookup(cache, 'b')).from).toBe('memory');
  });

  it("evicts a client's credentials, and no other client's, when the client changes", async () => {
    const cache = new CredentialCache(store, 10);
    for (const id of ['a', 'b', 'x']) await lookup(cache, id);
    cache.evict([{ entity: 'client', entityKey: 'app' }]);
    expect(['a', 'b', 'x'].map((id) => cache.has(digestOf(id)))).toEqual([false, false, true]);
  });

  it('keeps the digest index to the cached entries as the LRU bound forgets them', async () => {
    const cache = new CredentialCache(store, 2);
    for (const id of ['a', 'b', 'c', 'd', 'x', 'a', 'b']) await lookup(cache, id);
    expect(cache.stats()).toEqual({ entries: 2, indexedDigests: 2 });
    cache.evict([{ entity: 'credential', entityKey: 'app/a' }]);
    expect(cache.stats()).toEqual({ entries: 1, indexedDigests: 1 });
    cache.evict([{ entity: 'client', entityKey: 'app' }]);
    expect(cache.stats()).toEqual({ entries: 0, indexedDigests: 0 });
  });

  it('does not cache a lookup that raced an eviction', async () => {
    const cache = new CredentialCache(store, 10);
    const racing = cache.lookup(digestOf('a')); // read from the store at once, cached only after an await
    cache.evict([{ entity: 'credential', entityKey: 'app/a' }]);
    expect(((await racing) as CachedCredential | undefined)?.name).toBe('clients/app/credentials/a');
    expect(cache.has(digestOf('a'))).toBe(false);
  });

  it('never serves a revoked credential that was forgotten by the LRU bound and read again as the revocation landed', async () => {
    const cache = new CredentialCache(store, 1);
    try {
      await lookup(cache, 'c');
      await lookup(cache, 'd'); // c forgotten (LRU)
      expect(cache.has(digestOf('c'))).toBe(false);
      const reload = cache.lookup(digestOf('c')); // reads ACTIVE
      setState('c', 'REVOKED');
      cache.evict([{ entity: 'credential', entityKey: 'app/c' }]); // the revocation's change, before the reload is cached
      expect(((await reload) as CachedCredential | undefined)?.credential.state).toBe('ACTIVE'); // the request already in flight
      expect(await lookup(cache, 'c')).toEqual({ from: 'store', name: 'clients/app/credentials/c', state: 'REVOKED' });
      expect(await lookup(cache, 'c')).toEqual({ from: 'memory', name: 'clients/app/credentials/c', state: 'REVOKED' });
    } finally {
      setState('c', 'ACTIVE');
    }
  });

  it('remembers an unknown digest until a credential changes', async () => {
    const cache = new CredentialCache(store, 10);
    expect(await lookup(cache, 'nobody')).toEqual({ from: 'store', name: undefined, state: undefined });
    expect(await lookup(cache, 'nobody')).toEqual({ from: 'memory', name: undefined, state: undefined });
    cache.evict([{ entity: 'credential', entityKey: 'app/new' }]);
    expect((await lookup(cache, 'nobody')).from).toBe('store');
  });

  it('holds one copy of each distinct list, frozen, whatever the number of credentials sharing it', async () => {
    const cache = new CredentialCache(store, 10);
    const a = cache.lookup(digestOf('a')) as Promise<CachedCredential>;
    const b = cache.lookup(digestOf('b')) as Promise<CachedCredential>;
    const [ea, eb] = await Promise.all([a, b]);
    expect(ea.credential.scopes).toBe(eb.credential.scopes);
    expect(ea.credential.scopes).toEqual(['flags:read']);
    expect(Object.isFrozen(ea.credential.environments)).toBe(true);
  });
});
