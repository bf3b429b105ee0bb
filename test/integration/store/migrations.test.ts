import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase, type OpenDatabase } from '../../../src/store/database.js';
import { migrateToLatest } from '../../../src/store/migrate.js';
import { migrationNames } from '../../../src/store/migrations/index.js';
import { seedDefaults } from '../../../src/store/seed.js';
import { toDbTime } from '../../../src/store/time.js';
import { createTestDatabase } from '../../support/postgres.js';

interface Fresh {
  url: string;
  cleanup(): Promise<void>;
}

async function freshSqlite(): Promise<Fresh> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-store-'));
  return { url: join(dir, 'latchkey.db'), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

async function freshPostgres(): Promise<Fresh> {
  const t = await createTestDatabase();
  return { url: t.url, cleanup: t.drop };
}

const EXPECTED_TABLES = [
  'access_tokens',
  'api_clients',
  'audit_count_writers',
  'audit_events',
  'audit_validation_counts',
  'change_log',
  'client_credentials',
  'clients',
  'credential_secrets',
  'credential_sightings',
  'environments',
  'flag_applies',
  'flags',
  'kysely_migration',
  'kysely_migration_lock',
  'projects',
  'sdk_events',
  'server_keys',
];

/**
 * The message a database refusal carries. Not `rejects.toThrow`: better-sqlite3's native addon is
 * loaded once per Jest worker and keeps the SqliteError class of the first test file that loaded it,
 * so in later files its errors are neither `instanceof Error` nor tagged as errors, and Jest reports
 * "did not throw" for a statement that did fail.
 */
const refusalMessage = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'the statement succeeded',
    (err: unknown) => String((err as { message?: unknown }).message),
  );

const NOW = new Date('2026-11-23T09:00:00.000Z');
const T = toDbTime(NOW);
const audited = { create_time: T, update_time: T, creator: null, updater: null, etag: '0123456789abcdef' };

describe.each([
  ['sqlite', freshSqlite],
  ['postgres', freshPostgres],
] as const)('store migrations on %s', (dialect, fresh) => {
  let target: Fresh;
  let store: OpenDatabase;

  beforeEach(async () => {
    target = await fresh();
    store = await openDatabase({ url: target.url });
  });

  afterEach(async () => {
    await store?.close();
    await target?.cleanup();
  });

  async function tableNames(): Promise<string[]> {
    const tables = await store.db.introspection.getTables({ withInternalKyselyTables: true });
    return tables.filter((t) => !t.isView).map((t) => t.name).sort();
  }

  test('opens with the expected dialect', () => {
    expect(store.dialect).toBe(dialect);
  });

  test('apply to an empty database and create exactly the expected tables', async () => {
    expect(await tableNames()).toEqual([]);
    const applied = await migrateToLatest(store.db);
    expect(applied).toEqual(['0001-initial', '0002-integrity', '0003-audit-aggregation']);
    expect(applied).toEqual([...migrationNames]);
    expect(await tableNames()).toEqual(EXPECTED_TABLES);
  });

  test('applying twice applies nothing and keeps the data', async () => {
    await migrateToLatest(store.db);
    await store.db
      .insertInto('clients')
      .values({ id: 'website', display_name: 'Website', description: '', labels: '{"team":"web"}', ...audited })
      .execute();
    expect(await migrateToLatest(store.db)).toEqual([]);
    const rows = await store.db.selectFrom('clients').selectAll().execute();
    expect(rows).toEqual([
      { id: 'website', display_name: 'Website', description: '', labels: '{"team":"web"}', ...audited },
    ]);
  });

  test('a failing migration is named in the error and leaves no half-made schema', async () => {
    // A table in the way of the last statements of 0001-initial makes it fail late.
    await store.db.schema.createTable('change_log').addColumn('x', 'text').execute();
    const error = await migrateToLatest(store.db).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^migration 0001-initial failed: .*change_log.*already exists/);
    expect((error as Error).cause).toBeDefined();
    expect(await tableNames()).toEqual(['change_log', 'kysely_migration', 'kysely_migration_lock']);
  });

  test('seedDefaults creates the default project and environments, once', async () => {
    await migrateToLatest(store.db);
    const first = await seedDefaults(store.db, NOW);
    expect(first.projects).toEqual(['default']);
    expect([...first.environments].sort()).toEqual(['development', 'production', 'staging']);

    const second = await seedDefaults(store.db, new Date('2027-01-01T00:00:00.000Z'));
    expect(second).toEqual({ projects: [], environments: [] });

    const projects = await store.db.selectFrom('projects').select(['id', 'create_time']).execute();
    expect(projects).toEqual([{ id: 'default', create_time: T }]);
    const environments = await store.db
      .selectFrom('environments')
      .select(['id', 'production', 'create_time'])
      .orderBy('id')
      .execute();
    expect(environments).toEqual([
      { id: 'development', production: 0, create_time: T },
      { id: 'production', production: 1, create_time: T },
      { id: 'staging', production: 0, create_time: T },
    ]);
  });

  test('concurrent seeding (as by replicas starting together) does not fail', async () => {
    await migrateToLatest(store.db);
    await Promise.all([seedDefaults(store.db, NOW), seedDefaults(store.db, NOW), seedDefaults(store.db, NOW)]);
    const count = await store.db.selectFrom('environments').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(count.n).toBe(3);
  });

  test('deleting a client deletes its credentials and their secrets', async () => {
    await migrateToLatest(store.db);
    const credential = {
      display_name: 'Backend',
      class: 'SECRET' as const,
      format: 'KEY_PAIR',
      environments: '["production"]',
      projects: '["*"]',
      scopes: '["flags:read"]',
      allowed_origins: '[]',
      allowed_ip_ranges: '[]',
      rate_limit_requests: null,
      rate_limit_window_ms: null,
      expire_time: null,
      state: 'ACTIVE' as const,
      revoke_time: null,
      last_use_time: null,
      secret_hint: 'sk_live_…abcd',
      ...audited,
    };
    for (const id of ['website', 'backend']) {
      await store.db.insertInto('clients').values({ id, display_name: id, description: '', labels: '{}', ...audited }).execute();
    }
    await store.db
      .insertInto('client_credentials')
      .values([
        { ...credential, client_id: 'website', id: 'web-1', public_id: 'pk_live_1' },
        { ...credential, client_id: 'website', id: 'web-2', public_id: null },
        { ...credential, client_id: 'backend', id: 'be-1', public_id: null },
      ])
      .execute();
    await store.db
      .insertInto('credential_secrets')
      .values([
        { digest: 'a'.repeat(64), client_id: 'website', credential_id: 'web-1', expire_time: null, create_time: T },
        { digest: 'b'.repeat(64), client_id: 'website', credential_id: 'web-1', expire_time: T, create_time: T },
        { digest: 'c'.repeat(64), client_id: 'website', credential_id: 'web-2', expire_time: null, create_time: T },
        { digest: 'd'.repeat(64), client_id: 'backend', credential_id: 'be-1', expire_time: null, create_time: T },
      ])
      .execute();

    await store.db.deleteFrom('clients').where('id', '=', 'website').execute();

    const credentials = await store.db.selectFrom('client_credentials').select(['client_id', 'id']).execute();
    expect(credentials).toEqual([{ client_id: 'backend', id: 'be-1' }]);
    const secrets = await store.db.selectFrom('credential_secrets').select('digest').execute();
    expect(secrets).toEqual([{ digest: 'd'.repeat(64) }]);
  });

  test('deleting an API client deletes its access tokens', async () => {
    await migrateToLatest(store.db);
    await store.db
      .insertInto('api_clients')
      .values({
        id: 'ci',
        client_id: 'ci-client',
        secret_digest: 'e'.repeat(64),
        display_name: 'CI',
        description: '',
        labels: '{}',
        roles: '["roles/admin"]',
        permissions: '[]',
        ...audited,
      })
      .execute();
    await store.db
      .insertInto('access_tokens')
      .values({ digest: 'f'.repeat(64), api_client_id: 'ci', expire_time: T, create_time: T, secret_generation: 1 })
      .execute();
    await store.db.deleteFrom('api_clients').where('id', '=', 'ci').execute();
    expect(await store.db.selectFrom('access_tokens').selectAll().execute()).toEqual([]);
  });

  test('foreign keys are enforced', async () => {
    await migrateToLatest(store.db);
    expect(
      await refusalMessage(
        store.db
          .insertInto('credential_secrets')
          .values({ digest: 'a'.repeat(64), client_id: 'nobody', credential_id: 'nothing', expire_time: null, create_time: T })
          .execute(),
      ),
    ).toMatch(/foreign key/i);
  });

  test('a credential public id is unique, and several credentials may have none', async () => {
    await migrateToLatest(store.db);
    await store.db.insertInto('clients').values({ id: 'app', display_name: 'App', description: '', labels: '{}', ...audited }).execute();
    const credential = (id: string, publicId: string | null) => ({
      client_id: 'app',
      id,
      display_name: id,
      class: 'PUBLISHABLE' as const,
      format: 'KEY_PAIR',
      public_id: publicId,
      environments: '[]',
      projects: '["*"]',
      scopes: '["flags:read"]',
      allowed_origins: '[]',
      allowed_ip_ranges: '[]',
      rate_limit_requests: 100,
      rate_limit_window_ms: 60_000,
      expire_time: null,
      state: 'ACTIVE' as const,
      revoke_time: null,
      last_use_time: null,
      secret_hint: 'pk_test_…wxyz',
      ...audited,
    });
    await store.db.insertInto('client_credentials').values([credential('a', null), credential('b', null), credential('c', 'pk_test_x')]).execute();
    expect(await refusalMessage(store.db.insertInto('client_credentials').values(credential('d', 'pk_test_x')).execute())).toMatch(/unique/i);
    const row = await store.db.selectFrom('client_credentials').select(['rate_limit_requests', 'rate_limit_window_ms']).where('id', '=', 'c').executeTakeFirstOrThrow();
    expect(row).toEqual({ rate_limit_requests: 100, rate_limit_window_ms: 60_000 });
  });

  test('change_log seq is generated, increasing, and read as a number', async () => {
    await migrateToLatest(store.db);
    const inserted = await store.db
      .insertInto('change_log')
      .values([
        { entity: 'credential', entity_key: 'clients/a/credentials/b', change_time: T },
        { entity: 'flag', entity_key: 'flags/x', change_time: T },
      ])
      .returning('seq')
      .execute();
    const rows = await store.db.selectFrom('change_log').select(['seq', 'entity']).orderBy('seq').execute();
    expect(rows.map((r) => r.entity)).toEqual(['credential', 'flag']);
    for (const r of [...rows, ...inserted]) expect(typeof r.seq).toBe('number');
    expect(rows[1]!.seq).toBeGreaterThan(rows[0]!.seq);
    const max = await store.db.selectFrom('change_log').select(sql<number>`max(seq)`.as('max')).executeTakeFirstOrThrow();
    expect(max.max).toBe(rows[1]!.seq);
  });
});
