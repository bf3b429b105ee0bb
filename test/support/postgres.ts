/**
 * Throwaway PostgreSQL databases for tests: one `latchkey_test_<random>` database per call, so runs
 * and test files stay independent. The admin URL defaults to the development machines' server
 * (trust auth) and can be overridden with LATCHKEY_TEST_PG_ADMIN_URL.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

// Keep in step with global-setup.ts, which cannot import this file.
export const DEFAULT_PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export function pgAdminUrl(): string {
  return process.env.LATCHKEY_TEST_PG_ADMIN_URL || DEFAULT_PG_ADMIN_URL;
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: pgAdminUrl(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  /** Connection URL of the new, empty database. */
  url: string;
  /** Drops the database, terminating any connection still open to it. */
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `latchkey_test_${randomBytes(8).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(pgAdminUrl());
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
