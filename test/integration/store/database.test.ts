import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase, parseDatabaseUrl } from '../../../src/store/database.js';
import { createTestDatabase } from '../../support/postgres.js';

describe('openDatabase (SQLite)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-db-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('creates the parent directory and sets the pragmas', async () => {
    const path = join(dir, 'a', 'b', 'latchkey.db');
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
