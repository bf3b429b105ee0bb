import { Migrator, type Kysely } from 'kysely';
import { detectDialect, type SqlDialect } from './dialect.js';
import { migrationProvider } from './migrations/index.js';

/**
 * Applies every pending migration and returns the names applied (empty when already up to date).
 * Safe to run from several replicas at once: Kysely's Migrator takes a lock (an advisory lock on
 * PostgreSQL) and re-reads the applied set under it.
 *
 * Throws an Error naming the failing migration, with the database error as `cause`; on PostgreSQL
 * the failed run is rolled back as a whole, on SQLite each migration runs in its own transaction.
 */
export async function migrateToLatest(db: Kysely<any>, dialect: SqlDialect = detectDialect(db)): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error');
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      failed ? `migration ${failed.migrationName} failed: ${reason}` : `migrating the database failed: ${reason}`,
      { cause: error },
    );
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
