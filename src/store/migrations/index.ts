/**
 * Every store migration, in order, provided inline (no directory scan) so that they run the same
 * from source (tsx, Jest) and from a build. Names sort in application order; add new ones at the end.
 */
import type { Migration, MigrationProvider } from 'kysely';
import type { SqlDialect } from '../dialect.js';
import { migration0001Initial } from './0001-initial.js';
import { migration0002Integrity } from './0002-integrity.js';
import { migration0003AuditAggregation } from './0003-audit-aggregation.js';
import type { StoreMigration } from './migration.js';

export type { StoreMigration } from './migration.js';

export const migrations: Readonly<Record<string, StoreMigration>> = Object.freeze({
  '0001-initial': migration0001Initial,
  '0002-integrity': migration0002Integrity,
  '0003-audit-aggregation': migration0003AuditAggregation,
});

/** Migration names in application order. */
export const migrationNames: readonly string[] = Object.freeze(Object.keys(migrations).sort());

/** A Kysely `MigrationProvider` for `dialect` over the inline migrations. */
export function migrationProvider(dialect: SqlDialect): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      const out: Record<string, Migration> = {};
      for (const name of migrationNames) {
        const m = migrations[name]!;
        const inTransaction = dialect === 'sqlite' && m.transactional !== false;
        const run =
          (step: (db: any, dialect: SqlDialect) => Promise<void>) =>
          (db: Parameters<Migration['up']>[0]): Promise<void> =>
            inTransaction ? db.transaction().execute((trx) => step(trx, dialect)) : step(db, dialect);
        const down = m.down;
        out[name] = down ? { up: run(m.up), down: run(down) } : { up: run(m.up) };
      }
      return out;
    },
  };
}
