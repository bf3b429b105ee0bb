/**
 * 0002-integrity: what atomic writes, token generations and signed resolve tokens need.
 * FROZEN once released — never edit; add a new migration instead.
 *
 * - `etag` on every mutable admin resource (AIP-154). Writes are compare-and-swap on it: an update
 *   names the etag it read in its WHERE clause, so a concurrent write is never overwritten.
 * - `secret_generation` on API clients and their access tokens: a token is valid only while its
 *   generation is the client's current one, so a rotation ends every token issued with the old
 *   secret, including one whose exchange commits after the rotation.
 * - `server_keys`: keys the replicas share (the HMAC key that signs resolve tokens).
 * - one exposure per resolve and flag: a unique index on `flag_applies (resolve_token, flag)`.
 */
import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../dialect.js';
import type { StoreMigration } from './migration.js';

const ETAG_TABLES = ['projects', 'environments', 'flags', 'clients', 'client_credentials', 'api_clients'] as const;

async function up(db: Kysely<any>, dialect: SqlDialect): Promise<void> {
  // Existing rows get a random etag of the same shape new writes produce (16 hex characters).
  const randomEtag = dialect === 'postgres' ? sql`substr(md5(random()::text || clock_timestamp()::text), 1, 16)` : sql`lower(hex(randomblob(8)))`;
  for (const table of ETAG_TABLES) {
    await db.schema.alterTable(table).addColumn('etag', 'text', (c) => c.notNull().defaultTo('')).execute();
    await db.updateTable(table).set({ etag: randomEtag }).execute();
  }

  await db.schema.alterTable('api_clients').addColumn('secret_generation', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  await db.schema.alterTable('access_tokens').addColumn('secret_generation', 'integer', (c) => c.notNull().defaultTo(1)).execute();

  await db.schema
    .createTable('server_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    /** base64 of the key bytes. */
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('create_time', 'text', (c) => c.notNull())
    .execute();

  // Applies recorded twice before this release (ResolveFlags with apply=true, then ApplyFlags)
  // collapse to the first one.
  await sql`delete from flag_applies where id not in (select min(id) from flag_applies group by resolve_token, flag)`.execute(db);
  await db.schema.createIndex('flag_applies_resolve_flag_idx').on('flag_applies').columns(['resolve_token', 'flag']).unique().execute();
}

async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('flag_applies_resolve_flag_idx').execute();
  await db.schema.dropTable('server_keys').execute();
  await db.schema.alterTable('access_tokens').dropColumn('secret_generation').execute();
  await db.schema.alterTable('api_clients').dropColumn('secret_generation').execute();
  for (const table of ETAG_TABLES) await db.schema.alterTable(table).dropColumn('etag').execute();
}

export const migration0002Integrity: StoreMigration = { up, down };
