/**
 * The credential store's two statements that run at request rate or in bulk, prepared once on the
 * driver beneath Kysely instead of built and prepared again per call by the query builder:
 *
 * - the lookup of a secret digest (every cold credential on the request path): better-sqlite3's
 *   own prepared statement, or a named (server-side prepared) pg query over the indexed primary
 *   key `credential_secrets.digest`;
 * - the last-use write (every credential seen in a flush interval, possibly a million of them):
 *   small bounded chunks, each its own statement or transaction, so that the serving thread is
 *   never held for more than a few milliseconds.
 *
 * On SQLite the serving thread shares its one connection with Kysely, and the audit writer thread
 * has a second one to the same file. Two rules follow:
 * - a read never runs inside a transaction that Kysely holds open across awaits (it would see,
 *   and could cache, writes that are later rolled back): then it goes through Kysely, which waits
 *   for that transaction to end;
 * - a write never waits for the audit thread's write lock in SQLite's busy handler, which sleeps
 *   synchronously and so freezes the event loop (that thread writes back to back under load, and
 *   the busy handler's growing sleeps lost the race for up to the 5 s busy_timeout): a chunk tries
 *   the lock with no wait and, when it is taken, tries again after a timer.
 */
import type SqliteDatabase from 'better-sqlite3';
import type { Selectable } from 'kysely';
import type pg from 'pg';
import type { NativeDatabase } from './database.js';
import type { ClientCredentialsTable } from './schema.js';

/** A credential row as the digest lookup returns it, with the matched secret's columns. */
export type DigestRow = Selectable<ClientCredentialsTable> & {
  previous_secret_expire_time: string | null;
  secret_digest: string;
  secret_expire_time: string | null;
};

/** One last-use time to write: stored text times, compared as text (see time.ts). */
export interface LastUseRow {
  clientId: string;
  id: string;
  time: string;
}

export interface PreparedCredentialQueries {
  byDigest(digest: string): Promise<DigestRow | undefined>;
  /**
   * Writes one chunk of last-use times (at most LAST_USE_CHUNK rows, a few milliseconds of work);
   * a stored time never moves back. The caller yields to the event loop between chunks.
   */
  writeLastUse(rows: readonly LastUseRow[]): Promise<void>;
}

/** Rows per last-use chunk: about 2–3 ms of SQLite work, one round trip on PostgreSQL. */
export const LAST_USE_CHUNK = 500;
/** How long a last-use chunk waits before trying SQLite's write lock again. */
const LOCK_RETRY_MS = 5;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * `lookupSql` is the digest lookup as Kysely compiles it for this dialect (one parameter: the
 * digest), so the prepared statement is the very query, and row shape, of the builder fallback.
 */
export function prepareCredentialQueries(
  native: NativeDatabase,
  lookupSql: string,
  viaKysely: (digest: string) => Promise<DigestRow | undefined>,
): PreparedCredentialQueries {
  return native.dialect === 'sqlite' ? sqliteQueries(native.sqlite, lookupSql, viaKysely) : postgresQueries(native.pool, lookupSql);
}

function sqliteQueries(
  sqlite: SqliteDatabase.Database,
  lookupSql: string,
  viaKysely: (digest: string) => Promise<DigestRow | undefined>,
): PreparedCredentialQueries {
  const lookup = sqlite.prepare<[string], DigestRow>(lookupSql);
  const update = sqlite.prepare<[string, string, string, string]>(
    'update client_credentials set last_use_time = ? where client_id = ? and id = ? and (last_use_time is null or last_use_time < ?)',
  );
  const begin = sqlite.prepare('begin immediate');
  const commit = sqlite.prepare('commit');
  const rollback = sqlite.prepare('rollback');
  // What every other statement on this connection waits for the lock (database.ts sets it).
  const busyTimeoutMs = Number(sqlite.pragma('busy_timeout', { simple: true }));

  /** One chunk in one transaction, if the write lock is free right now; false when it is not. */
  const tryChunk = (rows: readonly LastUseRow[]): boolean => {
    sqlite.pragma('busy_timeout = 0');
    try {
      begin.run();
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_BUSY') return false;
      throw err;
    } finally {
      sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`);
    }
    try {
      for (const r of rows) update.run(r.time, r.clientId, r.id, r.time);
      commit.run();
      return true;
    } catch (err) {
      if (sqlite.inTransaction) rollback.run();
      throw err;
    }
  };

  return {
    byDigest(digest) {
      if (sqlite.inTransaction) return viaKysely(digest);
      return Promise.resolve(lookup.get(digest));
    },
    async writeLastUse(rows) {
      // Kysely's transactions can stay open across awaits on this same connection: never join one.
      while (sqlite.inTransaction || !tryChunk(rows)) await pause(LOCK_RETRY_MS);
    },
  };
}

function postgresQueries(pool: pg.Pool, lookupSql: string): PreparedCredentialQueries {
  // Prepared once per pooled connection, by name, on its first use there.
  const lookup = { name: 'latchkey_credential_by_digest', text: lookupSql };
  // One statement per chunk: no transaction held across round trips, and rows locked in key order,
  // so that two replicas flushing overlapping credentials cannot deadlock.
  const update = {
    name: 'latchkey_credential_last_use',
    text: `update client_credentials as c set last_use_time = u.t
      from unnest($1::text[], $2::text[], $3::text[]) as u(client_id, id, t)
      where c.client_id = u.client_id and c.id = u.id and (c.last_use_time is null or c.last_use_time < u.t)`,
  };
  return {
    async byDigest(digest) {
      const result = await pool.query<DigestRow>({ ...lookup, values: [digest] });
      return result.rows[0];
    },
    async writeLastUse(rows) {
      const sorted = [...rows].sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      await pool.query({ ...update, values: [sorted.map((r) => r.clientId), sorted.map((r) => r.id), sorted.map((r) => r.time)] });
    },
  };
}
