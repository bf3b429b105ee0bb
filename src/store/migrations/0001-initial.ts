/**
 * 0001-initial: every table of the first release. FROZEN — never edit; add a new migration instead.
 *
 * Written against `Kysely<any>` so it keeps describing the schema as it was, whatever `schema.ts`
 * becomes. Portable types only: text ids, ISO-8601 text timestamps, integer 0/1 booleans, JSON text.
 */
import { sql, type CreateTableBuilder, type Kysely } from 'kysely';
import type { SqlDialect } from '../dialect.js';
import type { StoreMigration } from './migration.js';

/** Adds `create_time`, `update_time`, `creator`, `updater` (shared by the admin resources). */
function audited<TB extends string, C extends string>(table: CreateTableBuilder<TB, C>) {
  return table
    .addColumn('create_time', 'text', (c) => c.notNull())
    .addColumn('update_time', 'text', (c) => c.notNull())
    .addColumn('creator', 'text')
    .addColumn('updater', 'text');
}

async function up(db: Kysely<any>, dialect: SqlDialect): Promise<void> {
  await audited(
    db.schema
      .createTable('projects')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull()),
  ).execute();

  await audited(
    db.schema
      .createTable('environments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('production', 'integer', (c) => c.notNull())
      .addCheckConstraint('environments_production_check', sql`production in (0, 1)`),
  ).execute();

  await audited(
    db.schema
      .createTable('flags')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('secret', 'integer', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('variants', 'text', (c) => c.notNull())
      .addColumn('default_variant', 'text')
      .addColumn('rules', 'text', (c) => c.notNull())
      .addColumn('salt', 'text', (c) => c.notNull())
      .addCheckConstraint('flags_state_check', sql`state in ('ACTIVE', 'ARCHIVED')`)
      .addCheckConstraint('flags_secret_check', sql`secret in (0, 1)`),
  ).execute();
  await db.schema.createIndex('flags_project_id_idx').on('flags').column('project_id').execute();

  await audited(
    db.schema
      .createTable('clients')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('labels', 'text', (c) => c.notNull()),
  ).execute();

  await audited(
    db.schema
      .createTable('client_credentials')
      .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id').onDelete('cascade'))
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('class', 'text', (c) => c.notNull())
      .addColumn('format', 'text', (c) => c.notNull())
      .addColumn('public_id', 'text', (c) => c.unique())
      .addColumn('environments', 'text', (c) => c.notNull())
      .addColumn('projects', 'text', (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('allowed_origins', 'text', (c) => c.notNull())
      .addColumn('allowed_ip_ranges', 'text', (c) => c.notNull())
      .addColumn('rate_limit_requests', 'integer')
      .addColumn('rate_limit_window_ms', 'bigint')
      .addColumn('expire_time', 'text')
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('revoke_time', 'text')
      .addColumn('last_use_time', 'text')
      .addColumn('secret_hint', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('client_credentials_pkey', ['client_id', 'id'])
      .addCheckConstraint('client_credentials_class_check', sql`class in ('PUBLISHABLE', 'SECRET')`)
      .addCheckConstraint('client_credentials_state_check', sql`state in ('ACTIVE', 'REVOKED')`),
  ).execute();

  await db.schema
    .createTable('credential_secrets')
    .addColumn('digest', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('credential_id', 'text', (c) => c.notNull())
    .addColumn('expire_time', 'text')
    .addColumn('create_time', 'text', (c) => c.notNull())
    .addForeignKeyConstraint(
      'credential_secrets_credential_fkey',
      ['client_id', 'credential_id'],
      'client_credentials',
      ['client_id', 'id'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();
  await db.schema
    .createIndex('credential_secrets_credential_idx')
    .on('credential_secrets')
    .columns(['client_id', 'credential_id'])
    .execute();

  await audited(
    db.schema
      .createTable('api_clients')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('client_id', 'text', (c) => c.notNull().unique())
      .addColumn('secret_digest', 'text', (c) => c.notNull())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('labels', 'text', (c) => c.notNull())
      .addColumn('roles', 'text', (c) => c.notNull())
      .addColumn('permissions', 'text', (c) => c.notNull()),
  ).execute();

  await db.schema
    .createTable('access_tokens')
    .addColumn('digest', 'text', (c) => c.primaryKey())
    .addColumn('api_client_id', 'text', (c) => c.notNull().references('api_clients.id').onDelete('cascade'))
    .addColumn('expire_time', 'text', (c) => c.notNull())
    .addColumn('create_time', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('access_tokens_api_client_id_idx').on('access_tokens').column('api_client_id').execute();
  await db.schema.createIndex('access_tokens_expire_time_idx').on('access_tokens').column('expire_time').execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('event_time', 'text', (c) => c.notNull())
    .addColumn('actor', 'text')
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('resource', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text')
    .addColumn('client_address', 'text')
    .addColumn('origin', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('credential', 'text')
    .addColumn('client', 'text')
    .addColumn('digest_prefix', 'text')
    .execute();
  await db.schema.createIndex('audit_events_event_time_idx').on('audit_events').column('event_time').execute();
  await db.schema
    .createIndex('audit_events_credential_event_time_idx')
    .on('audit_events')
    .columns(['credential', 'event_time'])
    .execute();
  await db.schema
    .createIndex('audit_events_actor_event_time_idx')
    .on('audit_events')
    .columns(['actor', 'event_time'])
    .execute();

  await db.schema
    .createTable('sdk_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('level', 'text')
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('attributes', 'text', (c) => c.notNull())
    .addColumn('event_time', 'text', (c) => c.notNull())
    .addColumn('receive_time', 'text', (c) => c.notNull())
    .addColumn('credential', 'text', (c) => c.notNull())
    .addColumn('client', 'text', (c) => c.notNull())
    .addColumn('sdk', 'text')
    .execute();
  await db.schema.createIndex('sdk_events_receive_time_idx').on('sdk_events').column('receive_time').execute();

  await db.schema
    .createTable('flag_applies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('resolve_token', 'text', (c) => c.notNull())
    .addColumn('flag', 'text', (c) => c.notNull())
    .addColumn('variant', 'text')
    .addColumn('credential', 'text', (c) => c.notNull())
    .addColumn('apply_time', 'text', (c) => c.notNull())
    .addColumn('receive_time', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('flag_applies_receive_time_idx').on('flag_applies').column('receive_time').execute();

  await db.schema
    .createTable('change_log')
    .addColumn('seq', dialect === 'postgres' ? 'bigint' : 'integer', (c) =>
      // SQLite: INTEGER PRIMARY KEY AUTOINCREMENT never reuses a seq, even after the newest rows
      // are pruned. PostgreSQL: an identity column (a bigint, read as a number; see database.ts).
      dialect === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
    )
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('entity_key', 'text', (c) => c.notNull())
    .addColumn('change_time', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('change_log_change_time_idx').on('change_log').column('change_time').execute();
}

async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'change_log',
    'flag_applies',
    'sdk_events',
    'audit_events',
    'access_tokens',
    'api_clients',
    'credential_secrets',
    'client_credentials',
    'clients',
    'flags',
    'environments',
    'projects',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}

export const migration0001Initial: StoreMigration = { up, down };
