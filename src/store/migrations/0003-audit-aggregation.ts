/**
 * 0003-audit-aggregation: an audit trail that grows with distinct usage, not with traffic (SPEC §7).
 * FROZEN once released — never edit; add a new migration instead.
 *
 * - `audit_validation_counts`: successful validations counted per credential, outcome, method,
 *   address, origin, user agent and minute; the id is derived from the tuple and minute, so every
 *   process adds to one row (`INSERT … ON CONFLICT (id) DO UPDATE SET count = count + …`).
 * - `audit_count_writers`: the last count batch each writer applied, so a retried batch is skipped.
 * - `credential_sightings`: addresses and origins each credential was used from; inserting a new
 *   one marks a first use, which is kept as an individual record.
 */
import type { Kysely } from 'kysely';
import type { SqlDialect } from '../dialect.js';
import type { StoreMigration } from './migration.js';

async function up(db: Kysely<any>, dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('audit_validation_counts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('event_time', 'text', (c) => c.notNull())
    .addColumn('first_time', 'text', (c) => c.notNull())
    .addColumn('last_time', 'text', (c) => c.notNull())
    .addColumn('count', dialect === 'postgres' ? 'bigint' : 'integer', (c) => c.notNull())
    .addColumn('credential', 'text', (c) => c.notNull())
    .addColumn('client', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('client_address', 'text')
    .addColumn('origin', 'text')
    .addColumn('user_agent', 'text')
    .execute();
  // Listings filtered by credential and usage read a credential's rows in id (= minute) order.
  await db.schema
    .createIndex('audit_validation_counts_credential_id_idx')
    .on('audit_validation_counts')
    .columns(['credential', 'id'])
    .execute();

  await db.schema
    .createTable('audit_count_writers')
    .addColumn('writer', 'text', (c) => c.primaryKey())
    .addColumn('seq', dialect === 'postgres' ? 'bigint' : 'integer', (c) => c.notNull())
    .addColumn('update_time', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('credential_sightings')
    .addColumn('credential', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('first_time', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('credential_sightings_pkey', ['credential', 'kind', 'value'])
    .execute();
}

async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['credential_sightings', 'audit_count_writers', 'audit_validation_counts']) {
    await db.schema.dropTable(table).execute();
  }
}

export const migration0003AuditAggregation: StoreMigration = { up, down };
