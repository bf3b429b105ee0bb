import type { Kysely } from 'kysely';
import type { SqlDialect } from '../dialect.js';

/**
 * A store migration. Unlike a bare Kysely `Migration` it is told which dialect it runs on, so the
 * one set of migrations can branch where SQLite and PostgreSQL really differ (auto-increment keys).
 *
 * Released migrations are frozen: never edit one, add the next.
 */
export interface StoreMigration {
  up(db: Kysely<any>, dialect: SqlDialect): Promise<void>;
  down?(db: Kysely<any>, dialect: SqlDialect): Promise<void>;
  /**
   * On SQLite, run `up`/`down` in a transaction (Kysely's Migrator does not, because it treats
   * SQLite DDL as non-transactional). Default true. Set false for a migration that must change
   * `PRAGMA foreign_keys`, which SQLite ignores inside a transaction. PostgreSQL migrations always
   * run in the Migrator's transaction.
   */
  transactional?: boolean;
}
