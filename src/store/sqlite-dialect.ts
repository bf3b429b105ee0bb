import {
  CompiledQuery,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDialectConfig,
  type TransactionSettings,
} from 'kysely';

/**
 * Kysely's SQLite dialect, except that a transaction which may write begins with
 * `BEGIN IMMEDIATE`.
 *
 * A latchkey SQLite file has two connections: the request path's and the audit writer thread's.
 * A deferred transaction (SQLite's plain `BEGIN`, which Kysely sends) that reads first and writes
 * later fails at its first write with SQLITE_BUSY_SNAPSHOT when the other connection has committed
 * in between, and the busy timeout does not help: a stale snapshot cannot be upgraded. Deleting a
 * project (check for flags, then delete) failed that way with INTERNAL whenever an audit batch
 * landed between the two statements. Taking the write lock at BEGIN makes the other connection
 * wait for us, or us for it, within the busy timeout.
 *
 * Transactions started with `setAccessMode('read only')` keep the deferred BEGIN, so a read never
 * holds up the audit writer.
 */
export class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  // Kysely passes the transaction's settings; SqliteDriver's own signature leaves them out.
  override async beginTransaction(connection: DatabaseConnection, settings?: TransactionSettings): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(settings?.accessMode === 'read only' ? 'begin' : 'begin immediate'));
  }
}
