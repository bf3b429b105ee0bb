import { AuditLog, type AuditLogOptions } from '../../../src/audit/audit-log.js';
import type { AuditRecord, AuditWriter } from '../../../src/audit/model.js';
import { isValidationCount, sortKeyOf, type AuditEntry, type CountBatch } from '../../../src/audit/validation-count.js';
import { createLogger } from '../../../src/logging/logger.js';
import { KyselyAuditStore } from '../../../src/store/audit-store.js';
import { openDatabase, type OpenDatabase } from '../../../src/store/database.js';
import { migrateToLatest } from '../../../src/store/migrate.js';
import { ThreadedAuditWriter } from '../../../src/store/threaded-audit-writer.js';
import { LogCapture } from '../../support/server.js';
import { createTestStore, type TestStore } from '../../support/test-store.js';

const MINUTE = 60_000;
/** A minute's start, so that `at(s)` stays within one minute for s < 60. */
const T0 = new Date('2026-11-23T10:00:00.000Z').getTime();
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const CREDENTIAL = 'clients/app/credentials/web';
const METHOD = '/latchkey.flags.resolver.v1.FlagResolverService/ResolveFlags';

type Validation = Omit<AuditRecord, 'id'> & { kind: 'CREDENTIAL_VALIDATION' };

function validation(time: Date, extra: Partial<Validation> = {}): Validation {
  return {
    kind: 'CREDENTIAL_VALIDATION',
    time,
    actor: CREDENTIAL,
    method: METHOD,
    resource: CREDENTIAL,
    outcome: 'OK',
    requestId: `r-${time.getTime()}`,
    clientAddress: '10.0.0.1',
    origin: null,
    userAgent: 'grpc-node-js/1.14.7',
    credential: CREDENTIAL,
    client: 'clients/app',
    digestPrefix: null,
    ...extra,
  };
}

/** Entries as `<kind> ×<count> <outcome> <address> <origin> <user agent>`, in listing order. */
const describeEntries = (entries: AuditEntry[]) =>
  entries.map((e) =>
    isValidationCount(e)
      ? `counted ×${e.count} ${e.outcome} ${e.clientAddress} ${e.origin ?? '-'} ${e.userAgent} ${e.firstTime.toISOString()}..${e.lastTime.toISOString()}`
      : `individual ${e.outcome} ${e.clientAddress} ${e.origin ?? '-'} ${e.userAgent} ${e.time.toISOString()}`,
  );

describe.each([
  ['SQLite', 'sqlite'],
  ['PostgreSQL', 'postgres'],
] as const)('the validation audit trail, counted per tuple and minute (%s)', (_name, dialect) => {
  let testStore: TestStore;
  let database: OpenDatabase;
  let store: KyselyAuditStore;
  const logs: AuditLog[] = [];
  const extra: OpenDatabase[] = [];

  const newLog = (writer: AuditWriter = store, options: Partial<AuditLogOptions> = {}) => {
    // A timer that never fires during a test: flushes are explicit.
    const log = new AuditLog(writer, createLogger('debug', new LogCapture()), { flushIntervalMs: 3_600_000, ...options });
    logs.push(log);
    return log;
  };
  const rows = async () => ({
    individual: Number((await database.db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
    counted: Number((await database.db.selectFrom('audit_validation_counts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
  });
  const listAll = () => store.list({}, undefined, 1000);

  beforeEach(async () => {
    testStore = await createTestStore(dialect, 'audit-counts');
    database = await openDatabase({ url: testStore.url });
    await migrateToLatest(database.db);
    store = new KyselyAuditStore(database.db);
  });

  afterEach(async () => {
    for (const log of logs.splice(0)) await log.close(5_000);
    for (const db of extra.splice(0)) await db.close();
    await database.close();
    await testStore.remove();
  });

  test('the same tuple within a minute: the first use individually, the rest one row with its count and first and last time', async () => {
    const log = newLog();
    for (let s = 0; s < 5; s++) log.record(validation(at(10 + s)));
    expect(log.depth).toBe(2); // one first-use candidate, one open count of four
    await log.flush();
    expect(await rows()).toEqual({ individual: 1, counted: 1 });
    expect(describeEntries(await listAll())).toEqual([
      `counted ×4 OK 10.0.0.1 - grpc-node-js/1.14.7 ${at(11).toISOString()}..${at(14).toISOString()}`,
      `individual OK 10.0.0.1 - grpc-node-js/1.14.7 ${at(10).toISOString()}`,
    ]);
    // More of the same minute, flushed later, go to the same row.
    log.record(validation(at(20)));
    log.record(validation(at(5)));
    await log.flush();
    expect(await rows()).toEqual({ individual: 1, counted: 1 });
    const [count] = (await listAll()).filter(isValidationCount);
    expect(count).toMatchObject({ count: 6, minute: at(0), firstTime: at(5), lastTime: at(20), credential: CREDENTIAL, client: 'clients/app', method: METHOD });
  });

  test('a minute boundary starts a new row', async () => {
    const log = newLog();
    log.record(validation(at(0))); // first use
    log.record(validation(at(59.999)));
    log.record(validation(at(60)));
    log.record(validation(at(61)));
    await log.flush();
    expect(describeEntries((await listAll()).filter(isValidationCount))).toEqual([
      `counted ×1 OK 10.0.0.1 - grpc-node-js/1.14.7 ${at(59.999).toISOString()}..${at(59.999).toISOString()}`,
      `counted ×2 OK 10.0.0.1 - grpc-node-js/1.14.7 ${at(60).toISOString()}..${at(61).toISOString()}`,
    ]);
  });

  test('a different method, user agent or outcome is a separate row; a refusal is kept individually', async () => {
    const log = newLog();
    log.record(validation(at(1))); // first use from 10.0.0.1
    log.record(validation(at(2)));
    log.record(validation(at(3), { userAgent: 'curl/8.5' }));
    log.record(validation(at(4), { method: 'GET /v1/credential' }));
    log.record(validation(at(5), { outcome: 'ORIGIN_NOT_ALLOWED', origin: 'https://evil.example' }));
    log.record(validation(at(6), { outcome: 'ORIGIN_NOT_ALLOWED', origin: 'https://evil.example' }));
    log.record(validation(at(7), { outcome: 'CREDENTIAL_UNKNOWN', credential: null, client: null, actor: null, resource: null, digestPrefix: '0123abcd' }));
    await log.flush();
    const entries = await listAll();
    expect(entries.filter(isValidationCount).map((c) => `${c.count} ${c.method} ${c.userAgent}`).sort()).toEqual([`1 ${METHOD} curl/8.5`, `1 ${METHOD} grpc-node-js/1.14.7`, '1 GET /v1/credential grpc-node-js/1.14.7']);
    expect(entries.filter((e) => !isValidationCount(e)).map((e) => (e as AuditRecord).outcome)).toEqual(['OK', 'ORIGIN_NOT_ALLOWED', 'ORIGIN_NOT_ALLOWED', 'CREDENTIAL_UNKNOWN']);
    expect(await store.usage(CREDENTIAL, at(0))).toEqual({
      counts: { OK: 4, ORIGIN_NOT_ALLOWED: 2 },
      lastOk: { time: at(4), clientAddress: '10.0.0.1', origin: null },
    });
  });

  test('a first use from a new address or origin is kept individually and counted in usage; "new" means never seen by any process', async () => {
    const log = newLog();
    log.record(validation(at(1)));
    log.record(validation(at(2), { clientAddress: '10.0.0.2' }));
    log.record(validation(at(3), { origin: 'https://app.example.com' }));
    log.record(validation(at(4), { clientAddress: '10.0.0.2', origin: 'https://app.example.com' })); // neither is new
    await log.flush();
    expect(describeEntries(await listAll())).toEqual([
      `counted ×1 OK 10.0.0.2 https://app.example.com grpc-node-js/1.14.7 ${at(4).toISOString()}..${at(4).toISOString()}`,
      `individual OK 10.0.0.1 - grpc-node-js/1.14.7 ${at(1).toISOString()}`,
      `individual OK 10.0.0.2 - grpc-node-js/1.14.7 ${at(2).toISOString()}`,
      `individual OK 10.0.0.1 https://app.example.com grpc-node-js/1.14.7 ${at(3).toISOString()}`,
    ]);
    expect((await store.usage(CREDENTIAL, at(0))).counts).toEqual({ OK: 4 });

    // A new process (nothing remembered in memory) asks the store, which has seen both addresses and the origin.
    const restarted = newLog();
    restarted.record(validation(at(30), { clientAddress: '10.0.0.2', origin: 'https://app.example.com' }));
    restarted.record(validation(at(31)));
    restarted.record(validation(at(32), { clientAddress: '10.0.0.3' })); // this one is new
    await restarted.flush();
    const individual = (await listAll()).filter((e) => !isValidationCount(e)) as AuditRecord[];
    expect(individual.map((r) => `${r.clientAddress} ${r.origin ?? '-'}`)).toEqual(['10.0.0.1 -', '10.0.0.2 -', '10.0.0.1 https://app.example.com', '10.0.0.3 -']);
    expect((await store.usage(CREDENTIAL, at(0))).counts).toEqual({ OK: 7 });
    expect(await rows()).toEqual({ individual: 4, counted: 2 }); // 10.0.0.2 with the origin, once from each log: one row
  });

  test('two AuditLogs on two connections writing the same tuple and minute end up with one row holding the sum', async () => {
    const second = await openDatabase({ url: testStore.url });
    extra.push(second);
    // One writes on this connection, the other through a writer thread with its own connection, as a replica would.
    const thread = await ThreadedAuditWriter.start(testStore.url);
    const a = newLog(store);
    const b = newLog(thread);
    const c = newLog(new KyselyAuditStore(second.db));
    try {
      for (let s = 0; s < 30; s++) {
        a.record(validation(at(s)));
        b.record(validation(at(s + 0.5)));
        c.record(validation(at(s + 0.25)));
      }
      await Promise.all([a.flush(), b.flush(), c.flush()]);
      for (let s = 30; s < 40; s++) b.record(validation(at(s)));
      await Promise.all([a.flush(), b.flush(), c.flush()]);
      const entries = await listAll();
      const counts = entries.filter(isValidationCount);
      const individual = entries.filter((e) => !isValidationCount(e));
      expect(counts).toHaveLength(1);
      // Only one of the three first uses was the first ever; the other two were counted.
      expect(individual).toHaveLength(1);
      expect(counts[0]).toMatchObject({ count: 100 - 1, lastTime: at(39) });
      expect((await store.usage(CREDENTIAL, at(0))).counts).toEqual({ OK: 100 });
    } finally {
      for (const log of logs.splice(0)) await log.close(5_000);
      await thread.close(5_000);
    }
  });

  test('a count batch sent again is applied once; the next one is added', async () => {
    const batch = (seq: number, count: number): CountBatch => ({
      writer: 'writer-1',
      seq,
      counts: [{ id: `v${String(T0).padStart(13, '0')}${'0'.repeat(26)}`, minute: at(0), firstTime: at(seq), lastTime: at(seq), count, credential: CREDENTIAL, client: 'clients/app', outcome: 'OK', method: METHOD, clientAddress: '10.0.0.1', origin: null, userAgent: 'ua' }],
      firstUses: [],
    });
    await store.writeCounts(batch(1, 5));
    await store.writeCounts(batch(1, 5));
    expect((await store.usage(CREDENTIAL, at(0))).counts).toEqual({ OK: 5 });
    await store.writeCounts(batch(2, 3));
    await store.writeCounts(batch(1, 5)); // an old one, late
    expect((await store.usage(CREDENTIAL, at(0))).counts).toEqual({ OK: 8 });
    // Another writer's seq 1 is its own.
    await store.writeCounts({ ...batch(1, 2), writer: 'writer-2' });
    expect((await store.usage(CREDENTIAL, at(0))).counts).toEqual({ OK: 10 });
  });

  test('AuditLog keeps a batch whose acknowledgement was lost and sends it again, without counting it twice', async () => {
    let lose = 1;
    // The real store behind a connection that loses the first answer after the commit.
    const losing: AuditWriter = {
      insertBatch: (records) => store.insertBatch(records),
      async writeCounts(batch) {
        await store.writeCounts(batch);
        if (lose-- > 0) throw new Error('connection lost before the answer');
      },
    };
    const log = newLog(losing);
    for (let s = 0; s < 10; s++) log.record(validation(at(s)));
    await log.flush();
    expect(log.depth).toBe(2); // kept: the candidate and the count of nine
    log.record(validation(at(20))); // a new one while the batch waits
    await log.flush();
    expect(log.depth).toBe(0);
    expect((await store.usage(CREDENTIAL, at(0))).counts).toEqual({ OK: 11 });
    expect(await rows()).toEqual({ individual: 1, counted: 1 });
  });

  test('pages through individual and count records in one order, either way', async () => {
    const log = newLog();
    for (let s = 0; s < 180; s += 7) {
      log.record(validation(at(s)));
      if (s % 3 === 0) log.record(validation(at(s + 1), { outcome: 'RATE_LIMITED' }));
      if (s % 5 === 0) log.record(validation(at(s + 2), { clientAddress: `10.0.1.${s}` }));
    }
    await log.flush();
    const all = await listAll();
    expect(all.length).toBeGreaterThan(10);
    const keys = all.map((e) => sortKeyOf(e.id));
    expect(keys).toEqual([...keys].sort());
    for (const newestFirst of [false, true]) {
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.list({ newestFirst }, after, 3);
        seen.push(...page.map((e) => e.id));
        if (page.length < 3) break;
        after = page[page.length - 1]!.id;
      }
      expect(seen).toEqual(newestFirst ? all.map((e) => e.id).reverse() : all.map((e) => e.id));
    }
    // Filters and time windows apply to both kinds: a count record is in a window when one of its validations is.
    const window = await store.list({ credential: CREDENTIAL, outcome: 'OK', startTime: at(65), endTime: at(120) }, undefined, 1000);
    expect(window.every((e) => (isValidationCount(e) ? e.lastTime >= at(65) && e.firstTime < at(120) : e.time >= at(65) && e.time < at(120)))).toBe(true);
    expect(window.filter(isValidationCount).map((c) => c.minute)).toEqual([at(60)]);
    expect(await store.list({ kind: 'ADMIN_CHANGE' }, undefined, 1000)).toEqual([]);
  });

  test('retention removes count records of minutes past it, and keeps the minute still open at the cut', async () => {
    const log = newLog();
    for (const s of [0, 1, 61, 62, 130]) log.record(validation(at(s)));
    await log.flush();
    expect(await rows()).toEqual({ individual: 1, counted: 3 });
    // Cut at 10:01:30: the first minute and the first use go; the minute 10:01 holds validations up to 10:01:59.
    expect(await store.deleteOlderThan(at(90))).toBe(2);
    expect((await listAll()).filter(isValidationCount).map((c) => c.minute)).toEqual([at(60), at(120)]);
  });

  test('an open count absorbs more validations without overflow; new tuples past maxQueue overflow and are reported', async () => {
    const log = newLog(store, { maxQueue: 3 });
    for (let s = 0; s < 50; s++) log.record(validation(at(s))); // a candidate and one count
    log.record(validation(at(1), { outcome: 'RATE_LIMITED' })); // third
    log.record(validation(at(2), { outcome: 'RATE_LIMITED' })); // overflow
    log.record(validation(at(3), { userAgent: 'other' })); // a new count: overflow
    expect(log.overflow).toBe(2);
    expect(log.depth).toBe(3);
    await log.flush();
    expect((await store.usage(CREDENTIAL, at(0))).counts).toEqual({ OK: 50, RATE_LIMITED: 1 });
  });

  test('stores a few hundred bytes, not half a megabyte, for 1000 validations of one credential from one address', async () => {
    if (dialect !== 'sqlite') return; // measured with SQLite's dbstat; PostgreSQL pages are measured in the bench notes
    const used = () =>
      database.native.dialect === 'sqlite'
        ? (database.native.sqlite.prepare("select coalesce(sum(pgsize - unused), 0) as n from dbstat where name like 'audit%' or name like 'sqlite_autoindex_audit%' or name like 'credential_sightings%' or name like 'sqlite_autoindex_credential_sightings%'").get() as { n: number }).n
        : 0;
    const before = used();
    const log = newLog();
    for (let i = 0; i < 1000; i++) log.record(validation(new Date(T0 + i * 50)));
    await log.flush();
    const counted = used() - before;
    expect(counted).toBeLessThanOrEqual(5000);
    expect((await store.usage(CREDENTIAL, at(0))).counts).toEqual({ OK: 1000 });
  });
});
