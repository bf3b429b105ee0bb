/**
 * Opens the store: SQLite (default, `./data/latchkey.db`) or PostgreSQL (`postgres://…`).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { SqlDialect } from './dialect.js';
import type { Database } from './schema.js';
import { ImmediateSqliteDialect } from './sqlite-dialect.js';

export type { SqlDialect } from './dialect.js';

export const DEFAULT_DATABASE_URL = './data/latchkey.db';

export interface DatabaseConfig {
  /**
   * `postgres://…` / `postgresql://…`, or a SQLite path: `./data/latchkey.db`, `sqlite:./x.db`,
   * `sqlite:///abs/path.db`, `:memory:` (or `sqlite::memory:`). Empty means the default path.
   */
  url: string;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /**
   * Called when an idle PostgreSQL connection fails (server restart, network loss). Without a
   * handler such errors are ignored: the pool drops the connection and the next query opens a new one.
   */
  onPoolError?: (err: Error) => void;
}

/**
 * The driver beneath Kysely, for the few statements on the request path and in bulk background
 * writes that must be prepared once rather than built and prepared again per call (Kysely's query
 * builder costs 50–60 µs per SQLite read, a prepared better-sqlite3 statement 7–8 µs). Store code
 * only: the domain never sees either.
 */
export type NativeDatabase = { dialect: 'sqlite'; sqlite: SqliteDatabase.Database } | { dialect: 'postgres'; pool: pg.Pool };

export interface OpenDatabase {
  db: Kysely<Database>;
  dialect: SqlDialect;
  /** The same connection (SQLite) or pool (PostgreSQL) that `db` uses. */
  native: NativeDatabase;
  /** A trivial query, for health checks: rejects when the database cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

function handle(db: Kysely<Database>, native: NativeDatabase): OpenDatabase {
  return {
    db,
    dialect: native.dialect,
    native,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: onceAsync(() => db.destroy()),
  };
}

type Target = { dialect: 'postgres'; url: string } | { dialect: 'sqlite'; path: string };

/** Decides the dialect and the SQLite path (or PostgreSQL URL) from a database URL. */
export function parseDatabaseUrl(url: string): Target {
  const trimmed = url.trim();
  if (/^postgres(ql)?:\/\//i.test(trimmed)) return { dialect: 'postgres', url: trimmed };
  if (trimmed === '') return { dialect: 'sqlite', path: DEFAULT_DATABASE_URL };
  let path = trimmed;
  if (/^sqlite:/i.test(path)) {
    path = path.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2); // sqlite://./x.db, sqlite:///abs/x.db
    if (path === '') throw new Error(`database URL ${JSON.stringify(url)} names no SQLite file`);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    const scheme = path.slice(0, path.indexOf(':'));
    throw new Error(
      `unsupported database URL scheme "${scheme}:": use postgres://… for PostgreSQL or a file path for SQLite`,
    );
  }
  return { dialect: 'sqlite', path };
}

export async function openDatabase(config: DatabaseConfig): Promise<OpenDatabase> {
  const target = parseDatabaseUrl(config.url);
  return target.dialect === 'postgres' ? openPostgres(target.url, config) : openSqlite(target.path);
}

function openSqlite(path: string): OpenDatabase {
  const inMemory = path === ':memory:';
  if (!inMemory) {
    const dir = dirname(resolve(path));
    // The default ./data folder is created on the first `npm start`; any other folder must exist,
    // so that a mistyped path is an error rather than a new, empty database somewhere else.
    if (resolve(path) === resolve(DEFAULT_DATABASE_URL)) mkdirSync(dir, { recursive: true });
    else if (!existsSync(dir)) {
      throw new Error(`cannot open SQLite database at ${path}: the directory ${dir} does not exist (create it, or correct LATCHKEY_DATABASE_URL)`);
    }
  }
  let sqlite: SqliteDatabase.Database;
  try {
    sqlite = new SqliteDatabase(path);
  } catch (err) {
    throw new Error(`cannot open SQLite database at ${path}: ${describeError(err)}`, { cause: err });
  }
  try {
    // WAL lets readers run alongside the writer; NORMAL sync is durable across application
    // crashes under WAL (a power loss may lose the last commits, never corrupt the file).
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('synchronous = NORMAL');
  } catch (err) {
    sqlite.close();
    throw new Error(`cannot open SQLite database at ${path}: ${describeError(err)}`, { cause: err });
  }
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) });
  return handle(db, { dialect: 'sqlite', sqlite });
}

const INT8_OID = 20;

/**
 * Type parsers for this pool only: int8 (bigint, `count(*)`, identity columns such as
 * `change_log.seq`) comes back as a JavaScript number instead of pg's default string. Values beyond
 * 2^53 would lose precision; none of latchkey's int8 columns get near that.
 */
const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

async function openPostgres(url: string, config: DatabaseConfig): Promise<OpenDatabase> {
  const pool = new pg.Pool({
    connectionString: url,
    connectionTimeoutMillis: 5000,
    max: config.poolSize ?? 10,
    application_name: 'latchkey',
    types: pgTypes,
  });
  pool.on('error', (err) => config.onPoolError?.(err));
  try {
    await pool.query('select 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    const reason = redactPassword(describeError(err), url);
    throw new Error(`cannot connect to PostgreSQL at ${describePostgresTarget(url)}: ${reason}`, { cause: err });
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return handle(db, { dialect: 'postgres', pool });
}

/** `host:port/database` from a PostgreSQL URL, never the user's password. */
export function describePostgresTarget(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    const port = u.port || u.searchParams.get('port') || '5432';
    const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres';
    return `${host}:${port}/${database}`;
  } catch {
    return '<unparseable PostgreSQL URL>';
  }
}

function redactPassword(text: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    return text.split(url).join('<url>');
  }
  return password ? text.split(password).join('***') : text;
}

/** A one-line reason; Node's AggregateError (several addresses refused) has an empty message. */
function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return [...new Set(err.errors.map(describeError))].join('; ');
  }
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return err.message || code || err.name;
  }
  return String(err);
}

function onceAsync(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
