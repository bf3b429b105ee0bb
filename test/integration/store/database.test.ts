import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import { openDatabase, parseDatabaseUrl, type OpenDatabase } from '../../../src/store/database.js';
import { createTestDatabase } from '../../support/postgres.js';

describe('openDatabase (SQLite)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-db-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('refuses a path whose directory does not exist, creating nothing', async () => {
    const path = join(dir, 'a', 'b', 'latchkey.db');
    await expect(openDatabase({ url: `sqlite:${path}` })).rejects.toThrow(
      `cannot open SQLite database at ${path}: the directory ${join(dir, 'a', 'b')} does not exist (create it, or correct LATCHKEY_DATABASE_URL)`,
    );
    expect(existsSync(join(dir, 'a'))).toBe(false);
  });

  test('opens a new file in an existing directory and sets the pragmas', async () => {
    const path = join(dir, 'latchkey.db');
    const store = await openDatabase({ url: `sqlite:${path}` });
    try {
      expect(store.dialect).toBe('sqlite');
      expect(existsSync(path)).toBe(true);
      const pragma = async (name: string) =>
        Object.values((await sql.raw<Record<string, unknown>>(`pragma ${name}`).execute(store.db)).rows[0]!)[0];
      expect(await pragma('journal_mode')).toBe('wal');
      expect(await pragma('foreign_keys')).toBe(1);
      expect(await pragma('busy_timeout')).toBe(5000);
      expect(await pragma('synchronous')).toBe(1); // NORMAL
    } finally {
      await store.close();
      await store.close(); // idempotent
    }
  });

  // The audit writer thread holds a second connection to the same file (sqlite-dialect.ts).
  describe('transactions beside a second connection', () => {
    let store: OpenDatabase;
    let other: SqliteDatabase.Database;
    const count = async (db: Kysely<any>) =>
      (await sql<{ n: number }>`select count(*) as n from t`.execute(db)).rows[0]!.n;
    beforeEach(async () => {
      const path = join(dir, 'latchkey.db');
      store = await openDatabase({ url: path });
      await sql`create table t (x integer)`.execute(store.db);
      await sql`insert into t values (1), (2)`.execute(store.db);
      other = new SqliteDatabase(path);
      // Same thread: it could never wait for our transaction, so it must be refused at once.
      other.pragma('busy_timeout = 0');
    });
    afterEach(async () => {
      other.close();
      await store.close();
    });

    test('a transaction that reads and then writes takes the write lock at BEGIN: the other connection cannot commit in between', async () => {
      let otherWrite = 'not tried';
      await store.db.transaction().execute(async (tx) => {
        expect(await count(tx)).toBe(2);
        try {
          other.prepare('insert into t values (3)').run();
          otherWrite = 'committed';
        } catch (err) {
          otherWrite = (err as { code?: string }).code ?? String(err);
        }
        await sql`delete from t where x = 1`.execute(tx);
      });
      // With a deferred BEGIN the insert commits and the delete fails with SQLITE_BUSY_SNAPSHOT.
      expect(otherWrite).toBe('SQLITE_BUSY');
      expect((await sql<{ x: number }>`select x from t order by x`.execute(store.db)).rows).toEqual([{ x: 2 }]);
      other.prepare('insert into t values (3)').run();
      expect(await count(store.db)).toBe(2);
    });

    test('a read-only transaction stays deferred: the other connection commits meanwhile and the reader keeps its snapshot', async () => {
      await store.db
        .transaction()
        .setAccessMode('read only')
        .execute(async (tx) => {
          expect(await count(tx)).toBe(2);
          other.prepare('insert into t values (3)').run();
          expect(await count(tx)).toBe(2);
        });
      expect(await count(store.db)).toBe(3);
    });
  });

  test('opens :memory:', async () => {
    const store = await openDatabase({ url: ':memory:' });
    try {
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(store.db);
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await store.close();
    }
  });

  test('parses the URL forms', () => {
    expect(parseDatabaseUrl('')).toEqual({ dialect: 'sqlite', path: './data/latchkey.db' });
    expect(parseDatabaseUrl('./data/latchkey.db')).toEqual({ dialect: 'sqlite', path: './data/latchkey.db' });
    expect(parseDatabaseUrl('sqlite:./x.db')).toEqual({ dialect: 'sqlite', path: './x.db' });
    expect(parseDatabaseUrl('sqlite://./x.db')).toEqual({ dialect: 'sqlite', path: './x.db' });
    expect(parseDatabaseUrl('sqlite:///var/lib/x.db')).toEqual({ dialect: 'sqlite', path: '/var/lib/x.db' });
    expect(parseDatabaseUrl('sqlite::memory:')).toEqual({ dialect: 'sqlite', path: ':memory:' });
    expect(parseDatabaseUrl(':memory:')).toEqual({ dialect: 'sqlite', path: ':memory:' });
    expect(parseDatabaseUrl('postgres://u@h/db')).toEqual({ dialect: 'postgres', url: 'postgres://u@h/db' });
    expect(parseDatabaseUrl('postgresql://u@h/db')).toEqual({ dialect: 'postgres', url: 'postgresql://u@h/db' });
    expect(() => parseDatabaseUrl('mysql://u@h/db')).toThrow(/unsupported database URL scheme "mysql:"/);
  });
});

describe('openDatabase (PostgreSQL)', () => {
  test('connects and reads int8 as numbers', async () => {
    const t = await createTestDatabase();
    try {
      const store = await openDatabase({ url: t.url });
      try {
        expect(store.dialect).toBe('postgres');
        const { rows } = await sql<{ n: number }>`select count(*) as n from pg_class where false`.execute(store.db);
        expect(rows).toEqual([{ n: 0 }]);
      } finally {
        await store.close();
      }
    } finally {
      await t.drop();
    }
  });

  test('rejects an unreachable server with a clear message and no password', async () => {
    const attempt = openDatabase({ url: 'postgres://postgres:hunter2@127.0.0.1:1/x' });
    await expect(attempt).rejects.toThrow(/^cannot connect to PostgreSQL at 127\.0\.0\.1:1\/x: .*ECONNREFUSED/);
    await expect(attempt).rejects.not.toThrow(/hunter2/);
  });

  test('rejects a missing database with the server reason', async () => {
    await expect(openDatabase({ url: 'postgres://postgres@127.0.0.1:5432/latchkey_no_such_db' })).rejects.toThrow(
      'cannot connect to PostgreSQL at 127.0.0.1:5432/latchkey_no_such_db: database "latchkey_no_such_db" does not exist',
    );
  });
});
