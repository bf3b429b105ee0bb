import type { AuditRecord } from '../../../src/audit/model.js';
import { openDatabase, type OpenDatabase } from '../../../src/store/database.js';
import { KyselyAuditStore } from '../../../src/store/audit-store.js';
import { migrateToLatest } from '../../../src/store/migrate.js';
import { createTestStore, type TestStore } from '../../support/test-store.js';

/** Records with every column varied, some null, so a column mix-up in the compiled INSERT shows. */
function records(count: number, from = 0): AuditRecord[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    const validation = i % 3 !== 0;
    return {
      id: `a${String(1_795_424_400_000 + i).padStart(13, '0')}${String(i).padStart(10, '0')}`,
      kind: validation ? 'CREDENTIAL_VALIDATION' : 'ADMIN_CHANGE',
      time: new Date(1_795_424_400_000 + i),
      actor: validation ? `clients/c${i}/credentials/k${i}` : `apiClients/admin${i}`,
      method: `/latchkey.test.v1.Service/Method${i}`,
      resource: i % 5 === 0 ? null : `resource-${i}`,
      outcome: i % 4 === 0 ? 'CREDENTIAL_UNKNOWN' : 'OK',
      requestId: `request-${i}`,
      clientAddress: i % 2 ? `10.0.0.${i % 250}` : null,
      origin: i % 7 === 0 ? `https://o${i}.example.com` : null,
      userAgent: `agent/${i}`,
      credential: validation ? `clients/c${i}/credentials/k${i}` : null,
      client: validation ? `clients/c${i}` : null,
      digestPrefix: i % 4 === 0 ? `${String(i % 100).padStart(2, '0')}abcdef` : null,
    };
  });
}

describe.each([
  ['SQLite', 'sqlite'],
  ['PostgreSQL', 'postgres'],
] as const)('KyselyAuditStore.insertBatch (%s)', (_name, dialect) => {
  let testStore: TestStore;
  let database: OpenDatabase;
  let store: KyselyAuditStore;

  beforeEach(async () => {
    testStore = await createTestStore(dialect, 'audit');
    database = await openDatabase({ url: testStore.url });
    await migrateToLatest(database.db);
    store = new KyselyAuditStore(database.db);
  });

  afterEach(async () => {
    await database.close();
    await testStore.remove();
  });

  test('writes every record and column of batches of several INSERTs, and of odd sizes', async () => {
    const first = records(250); // 100 + 100 + 50 rows
    const second = records(7, 250);
    await store.insertBatch(first);
    await store.insertBatch(second);
    await store.insertBatch([]);
    expect(await store.list({}, undefined, 1000)).toEqual([...first, ...second]);
  });

  test('writes a batch whole or not at all', async () => {
    await store.insertBatch(records(3));
    // The second INSERT of this batch breaks the NOT NULL constraint on method.
    const broken = [...records(100, 1000), { ...records(1, 1100)[0]!, method: null as unknown as string }];
    await expect(store.insertBatch(broken).then(() => 'written', () => 'refused')).resolves.toBe('refused');
    expect((await store.list({}, undefined, 1000)).map((r) => r.id)).toEqual(records(3).map((r) => r.id));
  });

  test('a batch sent again is stored once, and its new records are added', async () => {
    const first = records(150);
    await store.insertBatch(first);
    // The same batch again (its acknowledgement was lost), then one that overlaps it and goes further.
    await store.insertBatch(first);
    const overlapping = records(60, 120);
    await store.insertBatch(overlapping);
    expect(await store.list({}, undefined, 1000)).toEqual([...first, ...records(30, 150)]);
  });
});
