import { DomainError } from '../../../src/domain/errors.js';
import { Environments } from '../../../src/flag-admin/environments.js';
import { Flags, type FlagInput } from '../../../src/flag-admin/flags.js';
import { Projects } from '../../../src/flag-admin/projects.js';
import { openDatabase, type OpenDatabase } from '../../../src/store/database.js';
import { KyselyFlagAdminStore } from '../../../src/store/flag-admin-store.js';
import { migrateToLatest } from '../../../src/store/migrate.js';
import { seedDefaults } from '../../../src/store/seed.js';
import { createTestStore, type TestStore } from '../../support/test-store.js';

const flag = (environment: string, project = ''): FlagInput => ({
  project,
  description: '',
  state: 'UNSPECIFIED',
  secret: false,
  kind: 'BOOLEAN',
  variants: [{ name: 'on', value: true }],
  defaultVariant: '',
  rules: [{ name: 'r', enabled: true, environments: [environment], conditions: [], randomizationUnit: '', allocations: [{ variant: 'on', weight: 10000 }] }],
});

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: unknown) => {
      if (err instanceof DomainError) return err.reason;
      throw err;
    },
  );

/**
 * Deleting an environment (or project) while a flag that names it is being written: whatever the
 * interleaving, no stored flag may name a missing environment or belong to a missing project.
 * On PostgreSQL the two run on different connections, truly at once.
 */
describe.each(['sqlite', 'postgres'] as const)('concurrent deletes and flag writes (%s)', (dialect) => {
  let testStore: TestStore;
  let database: OpenDatabase;
  let projects: Projects;
  let environments: Environments;
  let flags: Flags;

  beforeAll(async () => {
    testStore = await createTestStore(dialect, 'races');
    database = await openDatabase({ url: testStore.url });
    await migrateToLatest(database.db);
    await seedDefaults(database.db, new Date());
    const store = new KyselyFlagAdminStore(database.db);
    projects = new Projects(store, () => new Date());
    environments = new Environments(store, () => new Date());
    flags = new Flags(store, () => new Date());
  });
  afterAll(async () => {
    await database.close();
    await testStore.remove();
  });

  it('an environment is never deleted from under a flag rule', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 25; i++) {
      const env = `race-env-${i}`;
      await environments.create(env, { displayName: '', description: '', production: false }, null);
      const [created, deleted] = await Promise.all([
        outcome(flags.create(`race-flag-${i}`, flag(env), null)),
        outcome(environments.delete(`environments/${env}`)),
      ]);
      seen.add(`${created}/${deleted}`);
      const envExists = await environments.get(`environments/${env}`).then(() => true, () => false);
      const flagExists = await flags.get(`flags/race-flag-${i}`).then(() => true, () => false);
      // Exactly one of the two writes wins.
      expect([created, deleted]).toContain('ok');
      expect(created === 'ok' ? [flagExists, envExists, deleted] : [flagExists, envExists, created]).toEqual(
        created === 'ok' ? [true, true, 'ENVIRONMENT_IN_USE'] : [false, false, 'INVALID_ARGUMENT'],
      );
    }
    expect([...seen].every((s) => s === 'ok/ENVIRONMENT_IN_USE' || s === 'INVALID_ARGUMENT/ok')).toBe(true);
  });

  it('a project is never deleted from under a flag', async () => {
    for (let i = 0; i < 25; i++) {
      const project = `race-project-${i}`;
      await projects.create(project, { displayName: '', description: '' }, null);
      const [created, deleted] = await Promise.all([
        outcome(flags.create(`race-pflag-${i}`, { ...flag('staging'), project: `projects/${project}` }, null)),
        outcome(projects.delete(`projects/${project}`)),
      ]);
      const projectExists = await projects.get(`projects/${project}`).then(() => true, () => false);
      const flagExists = await flags.get(`flags/race-pflag-${i}`).then(() => true, () => false);
      if (created === 'ok') expect([deleted, projectExists, flagExists]).toEqual(['PROJECT_NOT_EMPTY', true, true]);
      else expect([created, deleted, projectExists, flagExists]).toEqual(['INVALID_ARGUMENT', 'ok', false, false]);
    }
  });
});
