import { Environments } from '../../../src/flag-admin/environments.js';
import { FlagCatalog, type FlagCatalogStore } from '../../../src/flag-admin/flag-catalog.js';
import { Flags, type FlagInput } from '../../../src/flag-admin/flags.js';
import type { ChangeRow, FlagRecord } from '../../../src/flag-admin/model.js';
import { Projects } from '../../../src/flag-admin/projects.js';
import { openDatabase, type OpenDatabase } from '../../../src/store/database.js';
import { KyselyFlagAdminStore } from '../../../src/store/flag-admin-store.js';
import { migrateToLatest } from '../../../src/store/migrate.js';
import { seedDefaults } from '../../../src/store/seed.js';
import { createTestStore, type TestStore } from '../../support/test-store.js';

const ACTOR = 'apiClients/test';

function flagInput(overrides: Partial<FlagInput> = {}): FlagInput {
  return {
    project: '',
    description: '',
    state: 'UNSPECIFIED',
    secret: false,
    kind: 'BOOLEAN',
    variants: [
      { name: 'on', value: true },
      { name: 'off', value: false },
    ],
    defaultVariant: 'off',
    rules: [{ name: 'beta', enabled: true, environments: ['staging'], conditions: [], randomizationUnit: '', allocations: [{ variant: 'on', weight: 10000 }] }],
    ...overrides,
  };
}

/** A replica: its own database handle, store, catalog and admin domain. */
interface Replica {
  database: OpenDatabase;
  catalog: FlagCatalog;
  projects: Projects;
  environments: Environments;
  flags: Flags;
}

async function replica(url: string): Promise<Replica> {
  const database = await openDatabase({ url });
  await migrateToLatest(database.db);
  await seedDefaults(database.db, new Date());
  const store = new KyselyFlagAdminStore(database.db);
  const catalog = new FlagCatalog(store, { onError: (err) => { throw err; } });
  await catalog.load();
  const now = () => new Date();
  return {
    database,
    catalog,
    projects: new Projects(store, now, catalog.changed),
    environments: new Environments(store, now, catalog.changed),
    flags: new Flags(store, now, catalog.changed),
  };
}

async function eventually(check: () => void, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

describe.each(['sqlite', 'postgres'] as const)('FlagCatalog across replicas (%s)', (dialect) => {
  let testStore: TestStore;
  let a: Replica;
  let b: Replica;

  beforeAll(async () => {
    testStore = await createTestStore(dialect, 'catalog');
    a = await replica(testStore.url);
    b = await replica(testStore.url);
  });
  afterAll(async () => {
    a.catalog.stopPolling();
    b.catalog.stopPolling();
    await a.database.close();
    await b.database.close();
    await testStore.remove();
  });

  it('starts with the seeded project and environments and no flags', () => {
    for (const r of [a, b]) {
      expect(r.catalog.flags()).toEqual([]);
      expect(r.catalog.hasProject('default')).toBe(true);
      expect(r.catalog.environment('production')).toEqual({ id: 'production', production: true });
      expect(r.catalog.environment('staging')).toEqual({ id: 'staging', production: false });
      expect(r.catalog.environment('nope')).toBeUndefined();
    }
  });

  it('shows a write at once on the replica that made it, and on the other after refresh()', async () => {
    const created = await a.flags.create('dark-mode', flagInput(), ACTOR);
    const compiled = a.catalog.flag('dark-mode');
    expect(compiled?.definition).toMatchObject({ id: 'dark-mode', project: 'default', state: 'ACTIVE', kind: 'BOOLEAN', salt: created.salt });
    expect(a.catalog.flags().map((f) => f.definition.id)).toEqual(['dark-mode']);
    expect(b.catalog.flag('dark-mode')).toBeUndefined();

    await b.catalog.refresh();
    expect(b.catalog.flag('dark-mode')?.definition).toEqual(compiled?.definition);
  });

  it('converges through polling: updates, archive, delete, environments and projects', async () => {
    b.catalog.startPolling(50);
    const before = b.catalog.flag('dark-mode');
    await a.flags.update('flags/dark-mode', flagInput({ defaultVariant: 'on' }), ['default_variant'], ACTOR);
    await eventually(() => expect(b.catalog.flag('dark-mode')?.definition.defaultVariant).toBe('on'));
    // Compiled once per change, not per read: the same object until the next change.
    expect(b.catalog.flag('dark-mode')).not.toBe(before);
    expect(b.catalog.flag('dark-mode')).toBe(b.catalog.flag('dark-mode'));

    await a.flags.archive('flags/dark-mode', ACTOR);
    await eventually(() => expect(b.catalog.flag('dark-mode')?.definition.state).toBe('ARCHIVED'));

    await a.projects.create('mobile', { displayName: 'Mobile', description: '' }, ACTOR);
    await a.environments.create('qa', { displayName: 'QA', description: '', production: false }, ACTOR);
    await eventually(() => {
      expect(b.catalog.hasProject('mobile')).toBe(true);
      expect(b.catalog.environment('qa')).toEqual({ id: 'qa', production: false });
    });
    await a.environments.update('environments/qa', { displayName: '', description: '', production: true }, ['production'], ACTOR);
    await eventually(() => expect(b.catalog.environment('qa')?.production).toBe(true));

    await a.flags.create('mobile-flag', flagInput({ project: 'projects/mobile', rules: [] }), ACTOR);
    await eventually(() => expect(b.catalog.flags().map((f) => f.definition.id)).toEqual(['dark-mode', 'mobile-flag']));

    await a.flags.delete('flags/dark-mode');
    await a.flags.delete('flags/mobile-flag');
    await a.projects.delete('projects/mobile');
    await a.environments.delete('environments/qa');
    await eventually(() => {
      expect(b.catalog.flags()).toEqual([]);
      expect(b.catalog.hasProject('mobile')).toBe(false);
      expect(b.catalog.environment('qa')).toBeUndefined();
    });
    b.catalog.stopPolling();

    // Both replicas hold the same thing, and a fresh load agrees.
    const fresh = new FlagCatalog(new KyselyFlagAdminStore(b.database.db));
    await fresh.load();
    for (const r of [a.catalog, b.catalog]) {
      expect(r.flags()).toEqual(fresh.flags());
      expect(r.environments()).toEqual(fresh.environments());
      expect(r.position).toBe(fresh.position);
    }
  });

  it('changes made on the other replica reach this one too (both directions)', async () => {
    await b.flags.create('from-b', flagInput({ rules: [] }), ACTOR);
    expect(b.catalog.flag('from-b')).toBeDefined();
    await a.catalog.refresh();
    expect(a.catalog.flag('from-b')?.definition.id).toBe('from-b');
    await b.flags.delete('flags/from-b');
    await a.catalog.refresh();
    expect(a.catalog.flag('from-b')).toBeUndefined();
  });
});

describe('FlagCatalog change_log gaps', () => {
  /** A store whose change_log rows become visible out of order, as commits can on PostgreSQL. */
  function fakeStore(): FlagCatalogStore & { rows: ChangeRow[]; flagsById: Map<string, FlagRecord> } {
    const rows: ChangeRow[] = [];
    const flagsById = new Map<string, FlagRecord>();
    return {
      rows,
      flagsById,
      snapshot: async () => ({ seq: 0, projects: [], environments: [], flags: [] }),
      changesSince: async (after, also) => rows.filter((r) => r.seq > after || also.includes(r.seq)).sort((x, y) => x.seq - y.seq),
      getFlag: async (id) => flagsById.get(id),
      getEnvironment: async () => undefined,
      getProject: async () => undefined,
    };
  }
  const record = (id: string): FlagRecord => ({
    id,
    etag: 'e',
    projectId: 'default',
    description: '',
    state: 'ACTIVE',
    secret: false,
    kind: 'BOOLEAN',
    variants: [{ name: 'on', value: true }],
    defaultVariant: 'on',
    rules: [],
    salt: 's',
    createTime: new Date(0),
    updateTime: new Date(0),
    creator: null,
    updater: null,
  });

  it('applies a change whose sequence number became visible after a higher one', async () => {
    let t = 0;
    const store = fakeStore();
    const catalog = new FlagCatalog(store, { clock: () => t });
    await catalog.load();
    store.flagsById.set('late', record('late'));
    store.flagsById.set('early', record('early'));
    store.rows.push({ seq: 2, entity: 'flag', entityKey: 'early' });
    await catalog.refresh();
    expect(catalog.flags().map((f) => f.definition.id)).toEqual(['early']);
    expect(catalog.position).toBe(2);
    // seq 1 commits late.
    store.rows.push({ seq: 1, entity: 'flag', entityKey: 'late' });
    await catalog.refresh();
    expect(catalog.flags().map((f) => f.definition.id)).toEqual(['early', 'late']);

    // A gap that never fills (a rolled-back transaction) is forgotten after a while.
    store.rows.push({ seq: 4, entity: 'credential', entityKey: 'clients/x/credentials/y' });
    await catalog.refresh();
    t += 120_000;
    await catalog.refresh();
    store.rows.push({ seq: 3, entity: 'flag', entityKey: 'late' });
    store.flagsById.delete('late');
    await catalog.refresh();
    expect(catalog.flags().map((f) => f.definition.id)).toEqual(['early', 'late']);
  });

  it('serialises refreshes and coalesces calls made before one starts', async () => {
    const store = fakeStore();
    let calls = 0;
    let release: () => void = () => undefined;
    let gate: Promise<void> = Promise.resolve();
    const gated: FlagCatalogStore = {
      ...store,
      changesSince: async (after, also) => {
        calls++;
        await gate;
        return store.changesSince(after, also);
      },
    };
    const catalog = new FlagCatalog(gated);
    await catalog.load();
    calls = 0;
    gate = new Promise((r) => (release = r));
    const p1 = catalog.refresh();
    expect(catalog.refresh()).toBe(p1); // not started yet: the same run serves both
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(1);
    // p1 is running: a new call must wait for a fresh run, which all later callers share.
    const p2 = catalog.refresh();
    const p3 = catalog.refresh();
    expect(p2).not.toBe(p1);
    expect(p3).toBe(p2);
    expect(calls).toBe(1);
    release();
    await Promise.all([p1, p2, p3]);
    expect(calls).toBe(2);
  });
});
