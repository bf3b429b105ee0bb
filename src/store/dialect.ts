import { PostgresAdapter, SqliteAdapter, type Kysely } from 'kysely';

/** The two SQL dialects the store runs on. */
export type SqlDialect = 'sqlite' | 'postgres';

/** Which dialect a Kysely instance (or transaction) talks to. */
export function detectDialect(db: Kysely<any>): SqlDialect {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof PostgresAdapter) return 'postgres';
  if (adapter instanceof SqliteAdapter) return 'sqlite';
  throw new Error(`unsupported Kysely dialect: ${adapter.constructor.name}`);
}
