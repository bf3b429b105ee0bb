/**
 * A fresh, empty store for a test that runs on both dialects: a SQLite file in its own temporary
 * directory, or a throwaway PostgreSQL database (see postgres.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqlDialect } from '../../src/store/dialect.js';
import { createTestDatabase } from './postgres.js';

export interface TestStore {
  /** What LATCHKEY_DATABASE_URL would be: the SQLite file's path, or the PostgreSQL URL. */
  url: string;
  /** Deletes the SQLite directory or drops the PostgreSQL database; close connections first. */
  remove(): Promise<void>;
}

/** `name` names the temporary directory (`latchkey-<name>-…`), to tell leftovers apart. */
export async function createTestStore(dialect: SqlDialect, name: string): Promise<TestStore> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), `latchkey-${name}-`));
    return { url: join(dir, 'latchkey.db'), remove: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const pg = await createTestDatabase();
  return { url: pg.url, remove: () => pg.drop() };
}
