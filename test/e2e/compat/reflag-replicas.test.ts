import { ReflagClient } from '@reflag/node-sdk';
import { BOOTSTRAP_CONFIG } from '../../support/clients.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { admins, createReflagFixtures, reflagKey, until } from './reflag-fixtures.js';

/**
 * Two replicas on one PostgreSQL database: flagStateVersion means the same on both, a replica
 * asked for a version another one announced answers with it, and an SDK whose push stream is on
 * one replica hears of a change made through the other.
 */
describe('Reflag routes across replicas (PostgreSQL)', () => {
  let pg: TestDatabase;
  let a: TestServer;
  let b: TestServer;
  let key: string;
  const client: { current?: ReflagClient } = {};

  const features = async (server: TestServer, query = '') =>
    (await (await fetch(`${server.baseUrl}/reflag/features${query}`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
      flagStateVersion: number;
      features: { key: string; description: string }[];
    };

  beforeAll(async () => {
    pg = await createTestDatabase();
    a = await startTestServer({ ...BOOTSTRAP_CONFIG, databaseUrl: pg.url });
    b = await startTestServer({ ...BOOTSTRAP_CONFIG, databaseUrl: pg.url });
    const admin = admins(a);
    await createReflagFixtures(admin);
    key = (await reflagKey(admin, 'backend')).secret;
  });
  afterAll(async () => {
    client.current?.destroy();
    await a?.close();
    await b?.close();
    await pg?.drop();
  });

  it('both replicas report the same version once they have applied the same changes', async () => {
    await until('replica b to catch up', async () => (await features(b)).features.some((f) => f.key === 'staged'));
    // The change log's sequence number, not a per-process count: equal wherever the same changes are applied.
    await until('both at one version', async () => (await features(a)).flagStateVersion === (await features(b)).flagStateVersion);
  });

  it('waitForVersion on a replica that has not polled yet: it reads the change log and answers with that version', async () => {
    const admin = admins(a);
    await admin.flags.updateFlag({ flag: { name: 'flags/banner', description: 'written on a' }, updateMask: { paths: ['description'] } });
    const announced = (await features(a)).flagStateVersion;
    const onB = await features(b, `?waitForVersion=${announced}`);
    expect(onB.flagStateVersion).toBeGreaterThanOrEqual(announced);
    expect(onB.features.find((f) => f.key === 'banner')!.description).toBe('written on a');
  });

  it('push mode on replica b hears of an UpdateFlag made on replica a', async () => {
    client.current = new ReflagClient({
      secretKey: key,
      apiBaseUrl: `${b.baseUrl}/reflag`,
      flagsSyncMode: 'push',
      flagsPushUrl: `${b.baseUrl}/reflag/sse/server`,
      offline: false,
      batchOptions: { flushOnExit: false },
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    await client.current.initialize();
    const description = () => client.current!.getFlagDefinitions().find((d) => d.key === 'rollout')!.description;
    expect(description()).toBe('');
    await admins(a).flags.updateFlag({ flag: { name: 'flags/rollout', description: 'pushed from a' }, updateMask: { paths: ['description'] } });
    await until('the SDK on b to apply the change made on a', () => description() === 'pushed from a');
  });
});
