import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { AuditRecord } from '../../../src/audit/model.js';
import { KyselyAuditStore } from '../../../src/store/audit-store.js';
import { openDatabase, type OpenDatabase } from '../../../src/store/database.js';
import { migrateToLatest } from '../../../src/store/migrate.js';
import { startAuditWriter, ThreadedAuditWriter } from '../../../src/store/threaded-audit-writer.js';
import { createTestStore, type TestStore } from '../../support/test-store.js';

function records(count: number, from = 0): AuditRecord[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return {
      id: `a${String(1_795_424_400_000 + i).padStart(13, '0')}${String(i).padStart(10, '0')}`,
      kind: 'CREDENTIAL_VALIDATION',
      time: new Date(1_795_424_400_000 + i),
      actor: `clients/c/credentials/k${i}`,
      method: '/latchkey.flags.resolver.v1.FlagResolverService/ResolveFlags',
      resource: `clients/c/credentials/k${i}`,
      outcome: i % 2 ? 'OK' : 'CREDENTIAL_EXPIRED',
      requestId: `request-${i}`,
      clientAddress: '10.0.0.1',
      origin: null,
      userAgent: 'grpc-node-js/1.14.7',
      credential: `clients/c/credentials/k${i}`,
      client: 'clients/c',
      digestPrefix: null,
    };
  });
}

describe.each([
  ['SQLite', 'sqlite'],
  ['PostgreSQL', 'postgres'],
] as const)('ThreadedAuditWriter (%s)', (_name, dialect) => {
  let testStore: TestStore;
  let url: string;
  let database: OpenDatabase;
  let store: KyselyAuditStore;
  let writer: ThreadedAuditWriter;

  beforeEach(async () => {
    testStore = await createTestStore(dialect, 'audit-thread');
    url = testStore.url;
    database = await openDatabase({ url });
    await migrateToLatest(database.db);
    store = new KyselyAuditStore(database.db);
    writer = await ThreadedAuditWriter.start(url);
  });

  afterEach(async () => {
    await writer.close(5_000);
    await database.close();
    await testStore.remove();
  });

  test('writes batches on its own connection, visible to this thread once they are acknowledged', async () => {
    const first = records(250);
    const second = records(3, 250);
    await writer.insertBatch(first);
    await writer.insertBatch(second);
    await writer.insertBatch([]);
    expect(await store.list({}, undefined, 1000)).toEqual([...first, ...second]);
  });

  test('batches sent without waiting are written in the order sent', async () => {
    await Promise.all([writer.insertBatch(records(50)), writer.insertBatch(records(50, 50)), writer.insertBatch(records(50, 100))]);
    expect((await store.list({}, undefined, 1000)).map((r) => r.id)).toEqual(records(150).map((r) => r.id));
  });

  test('a batch the store refuses fails with the store’s reason and writes nothing of it', async () => {
    const broken = [...records(2), { ...records(1, 2)[0]!, outcome: null as unknown as string }];
    const reason =
      dialect === 'sqlite'
        ? 'NOT NULL constraint failed: audit_events.outcome'
        : 'null value in column "outcome" of relation "audit_events" violates not-null constraint';
    await expect(writer.insertBatch(broken)).rejects.toThrow(new Error(`audit batch not written: ${reason}`));
    expect(await store.list({}, undefined, 1000)).toEqual([]);
    // The thread carries on with the next batch.
    await writer.insertBatch(records(2));
    expect(await store.list({}, undefined, 1000)).toHaveLength(2);
  });

  test('a thread that stops fails the batch it held; the next batch starts a new thread', async () => {
    const thread = (await (writer as unknown as { thread: Promise<Worker> }).thread)!;
    const batch = records(20);
    // Stopped before it can read the batch: the batch is sent to a thread that will never answer.
    const stopping = thread.terminate();
    const held = writer.insertBatch(batch);
    await stopping;
    await expect(held).rejects.toThrow(/^the audit writer thread stopped \(exit code 1\)/);
    await writer.insertBatch(batch);
    await writer.insertBatch(records(5, 20));
    expect((await store.list({}, undefined, 1000)).map((r) => r.id)).toEqual(records(25).map((r) => r.id));
  });

  test('close waits for the batches it holds, then refuses new ones', async () => {
    const pending = writer.insertBatch(records(30));
    await writer.close(5_000);
    await pending;
    expect(await store.list({}, undefined, 1000)).toHaveLength(30);
    await expect(writer.insertBatch(records(1, 30))).rejects.toThrow('the audit writer is closed');
    await writer.close(5_000); // a second close is harmless
  });
});

describe('starting the audit writer', () => {
  test('fails with the store’s reason when the thread cannot open the SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-audit-thread-'));
    try {
      // A file where the database's directory should be.
      writeFileSync(join(dir, 'not-a-dir'), '');
      await expect(ThreadedAuditWriter.start(join(dir, 'not-a-dir', 'audit.db'))).rejects.toThrow(
        /^the audit writer thread cannot open the store: cannot open SQLite database at .*not-a-dir\/audit\.db: unable to open database file$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fails with the store’s reason when PostgreSQL does not answer', async () => {
    await expect(ThreadedAuditWriter.start('postgres://postgres@127.0.0.1:1/latchkey')).rejects.toThrow(
      /^the audit writer thread cannot open the store: cannot connect to PostgreSQL at 127\.0\.0\.1:1\/latchkey: .*ECONNREFUSED/,
    );
  });

  test('writes an in-memory SQLite database in-process: no other connection can see it', async () => {
    const database = await openDatabase({ url: ':memory:' });
    try {
      await migrateToLatest(database.db);
      const store = new KyselyAuditStore(database.db);
      const writer = await startAuditWriter('sqlite::memory:', store);
      expect(writer).not.toBeInstanceOf(ThreadedAuditWriter);
      await writer.insertBatch(records(4));
      expect(await store.list({}, undefined, 10)).toEqual(records(4));
      await writer.close(5_000);
    } finally {
      await database.close();
    }
  });

  test('uses a thread for a SQLite file', async () => {
    const sqlite = await createTestStore('sqlite', 'audit-thread');
    const database = await openDatabase({ url: sqlite.url });
    try {
      await migrateToLatest(database.db);
      const writer = await startAuditWriter(sqlite.url, new KyselyAuditStore(database.db));
      expect(writer).toBeInstanceOf(ThreadedAuditWriter);
      await writer.close(5_000);
    } finally {
      await database.close();
      await sqlite.remove();
    }
  });
});
