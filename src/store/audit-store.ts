import { CompiledQuery, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { AuditQuery, AuditRecord, AuditStore, LastSuccess } from '../audit/model.js';
import {
  COUNT_ID_PREFIX,
  INDIVIDUAL_ID_PREFIX,
  countIdOf,
  countOf,
  countTupleOf,
  mergeInto,
  minuteOf,
  sightingKeyOf,
  sightingsOf,
  sortKeyOf,
  type Sighting,
  type AuditEntry,
  type CountBatch,
  type ValidationCount,
} from '../audit/validation-count.js';
import type { AuditEventsTable, AuditValidationCountsTable, Database } from './schema.js';
import { fromDbTime, toDbTime } from './time.js';

function toRecord(row: Selectable<AuditEventsTable>): AuditRecord {
  return {
    id: row.id,
    kind: row.kind,
    time: fromDbTime(row.event_time),
    actor: row.actor,
    method: row.method,
    resource: row.resource,
    outcome: row.outcome,
    requestId: row.request_id,
    clientAddress: row.client_address,
    origin: row.origin,
    userAgent: row.user_agent,
    credential: row.credential,
    client: row.client,
    digestPrefix: row.digest_prefix,
  };
}

function toRow(r: AuditRecord): Insertable<AuditEventsTable> {
  return {
    id: r.id,
    kind: r.kind,
    event_time: toDbTime(r.time),
    actor: r.actor,
    method: r.method,
    resource: r.resource,
    outcome: r.outcome,
    request_id: r.requestId,
    client_address: r.clientAddress,
    origin: r.origin,
    user_agent: r.userAgent,
    credential: r.credential,
    client: r.client,
    digest_prefix: r.digestPrefix,
  };
}

function toCount(row: Selectable<AuditValidationCountsTable>): ValidationCount {
  return {
    id: row.id,
    minute: fromDbTime(row.event_time),
    firstTime: fromDbTime(row.first_time),
    lastTime: fromDbTime(row.last_time),
    count: Number(row.count),
    credential: row.credential,
    client: row.client,
    outcome: row.outcome,
    method: row.method,
    clientAddress: row.client_address,
    origin: row.origin,
    userAgent: row.user_agent,
  };
}

function toCountRow(c: ValidationCount): Insertable<AuditValidationCountsTable> {
  return {
    id: c.id,
    event_time: toDbTime(c.minute),
    first_time: toDbTime(c.firstTime),
    last_time: toDbTime(c.lastTime),
    count: c.count,
    credential: c.credential,
    client: c.client,
    outcome: c.outcome,
    method: c.method,
    client_address: c.clientAddress,
    origin: c.origin,
    user_agent: c.userAgent,
  };
}

/** Every column, in the order the compiled INSERT takes its parameters (row by row). */
const COLUMNS = Object.keys(toRow({ id: '', kind: 'ADMIN_CHANGE', time: new Date(0), actor: null, method: '', resource: null, outcome: '', requestId: null, clientAddress: null, origin: null, userAgent: null, credential: null, client: null, digestPrefix: null })) as (keyof Insertable<AuditEventsTable>)[];
const COUNT_COLUMNS = Object.keys(
  toCountRow({ id: '', minute: new Date(0), firstTime: new Date(0), lastTime: new Date(0), count: 0, credential: '', client: null, outcome: '', method: '', clientAddress: null, origin: null, userAgent: null }),
) as (keyof Insertable<AuditValidationCountsTable>)[];
/** Rows per INSERT: few statements per batch, far below any dialect's parameter limit (100 × 14). */
const ROWS_PER_INSERT = 100;

/** The lower bound of count record ids for minutes starting at or after `ms` (ids sort by minute). */
const countIdFrom = (ms: number) => COUNT_ID_PREFIX + String(ms).padStart(13, '0');

type Db = Kysely<Database> | Transaction<Database>;

export class KyselyAuditStore implements AuditStore {
  /** The INSERT for n rows, by n (at most ROWS_PER_INSERT entries). */
  private readonly insertSql = new Map<number, string>();
  /** The count UPSERT for n rows, by n. */
  private readonly upsertSql = new Map<number, string>();

  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Writes a batch atomically, in INSERTs of up to ROWS_PER_INSERT rows whose SQL Kysely compiles
   * once per row count: compiling a wide INSERT for every batch cost as much as running it. Rows
   * whose id is already stored are skipped: a batch that committed but whose acknowledgement was
   * lost (a dropped connection, a stopped writer thread) is sent again, and must neither fail on
   * its own ids nor be stored twice.
   */
  async insertBatch(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.db.transaction().execute((trx) => this.insertRecords(trx, records));
  }

  private async insertRecords(trx: Db, records: readonly AuditRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += ROWS_PER_INSERT) {
      const chunk = records.slice(i, i + ROWS_PER_INSERT);
      const parameters: unknown[] = [];
      for (const record of chunk) {
        const row = toRow(record);
        for (const column of COLUMNS) parameters.push(row[column]);
      }
      await trx.executeQuery(CompiledQuery.raw(this.insertSqlFor(chunk.length), parameters));
    }
  }

  private insertSqlFor(rows: number): string {
    let sql = this.insertSql.get(rows);
    if (sql === undefined) {
      // Placeholder values: only the SQL text is kept. Strings keep every value a bound parameter.
      const placeholder = Object.fromEntries(COLUMNS.map((c) => [c, 'x'])) as unknown as Insertable<AuditEventsTable>;
      const compiled = this.db
        .insertInto('audit_events')
        .values(Array.from({ length: rows }, () => placeholder))
        .onConflict((oc) => oc.column('id').doNothing())
        .compile();
      if (compiled.parameters.length !== rows * COLUMNS.length) throw new Error('audit INSERT did not compile to one parameter per value');
      sql = compiled.sql;
      this.insertSql.set(rows, sql);
    }
    return sql;
  }

  /**
   * Applies a count batch in one transaction, at most once:
   * 1. claims `(writer, seq)`: a batch whose seq is not above the writer's last applied one was
   *    applied before (its acknowledgement was lost) and is skipped whole;
   * 2. inserts the sightings of its first-use candidates (ON CONFLICT DO NOTHING): a candidate that
   *    inserted one is a first use and is kept as an individual record; the others are counted;
   * 3. adds the counts: `INSERT … ON CONFLICT (id) DO UPDATE SET count = count + excluded.count`,
   *    widening first and last time, so processes writing the same tuple and minute share one row.
   * Rows are written in sorted order, so two writers' transactions lock them in the same order
   * (no deadlock on PostgreSQL).
   */
  async writeCounts(batch: CountBatch): Promise<void> {
    if (batch.counts.length === 0 && batch.firstUses.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      const claim = await trx
        .insertInto('audit_count_writers')
        .values({ writer: batch.writer, seq: batch.seq, update_time: toDbTime(new Date()) })
        .onConflict((oc) =>
          oc
            .column('writer')
            .doUpdateSet((eb) => ({ seq: eb.ref('excluded.seq'), update_time: eb.ref('excluded.update_time') }))
            .where('audit_count_writers.seq', '<', (eb) => eb.ref('excluded.seq')),
        )
        .executeTakeFirst();
      if (Number(claim.numInsertedOrUpdatedRows ?? 0) === 0) return;

      const counts = new Map<string, ValidationCount>();
      const add = (count: ValidationCount) => {
        const known = counts.get(count.id);
        if (known) mergeInto(known, count);
        else counts.set(count.id, { ...count });
      };
      for (const count of batch.counts) add(count);

      const { firstUses, counted } = await this.sortOutFirstUses(trx, batch.firstUses);
      await this.insertRecords(trx, firstUses);
      for (const record of counted) {
        const minute = minuteOf(record.time);
        add(countOf(record, minute, countIdOf(minute, countTupleOf(record))));
      }
      await this.upsertCounts(trx, [...counts.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
    });
  }

  /** Inserts the candidates' sightings; a candidate is a first use when it is the earliest one with a sighting that was new. */
  private async sortOutFirstUses(trx: Db, candidates: readonly AuditRecord[]): Promise<{ firstUses: AuditRecord[]; counted: AuditRecord[] }> {
    if (candidates.length === 0) return { firstUses: [], counted: [] };
    const ordered = [...candidates].sort((a, b) => a.time.getTime() - b.time.getTime() || (a.id < b.id ? -1 : 1));
    const earliest = new Map<string, Sighting & { time: Date }>();
    for (const record of ordered) {
      for (const s of sightingsOf(record)) if (!earliest.has(sightingKeyOf(s))) earliest.set(sightingKeyOf(s), { ...s, time: record.time });
    }
    const isNew = new Set<string>();
    for (const key of [...earliest.keys()].sort()) {
      const s = earliest.get(key)!;
      const res = await trx
        .insertInto('credential_sightings')
        .values({ credential: s.credential, kind: s.kind, value: s.value, first_time: toDbTime(s.time) })
        .onConflict((oc) => oc.columns(['credential', 'kind', 'value']).doNothing())
        .executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0) > 0) isNew.add(key);
    }
    const firstUses: AuditRecord[] = [];
    const counted: AuditRecord[] = [];
    for (const record of ordered) {
      const claimed = sightingsOf(record)
        .map(sightingKeyOf)
        .filter((key) => isNew.delete(key));
      (claimed.length > 0 ? firstUses : counted).push(record);
    }
    return { firstUses, counted };
  }

  private async upsertCounts(trx: Db, counts: readonly ValidationCount[]): Promise<void> {
    for (let i = 0; i < counts.length; i += ROWS_PER_INSERT) {
      const chunk = counts.slice(i, i + ROWS_PER_INSERT);
      const parameters: unknown[] = [];
      for (const count of chunk) {
        const row = toCountRow(count);
        for (const column of COUNT_COLUMNS) parameters.push(row[column]);
      }
      await trx.executeQuery(CompiledQuery.raw(this.upsertSqlFor(chunk.length), parameters));
    }
  }

  private upsertSqlFor(rows: number): string {
    let sql = this.upsertSql.get(rows);
    if (sql === undefined) {
      const placeholder = Object.fromEntries(COUNT_COLUMNS.map((c) => [c, 'x'])) as unknown as Insertable<AuditValidationCountsTable>;
      // CASE rather than min()/max(): SQLite's two-argument max() is least()/greatest() on PostgreSQL.
      const compiled = this.db
        .insertInto('audit_validation_counts')
        .values(Array.from({ length: rows }, () => placeholder))
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            count: eb('audit_validation_counts.count', '+', eb.ref('excluded.count')),
            first_time: eb
              .case()
              .when('excluded.first_time', '<', eb.ref('audit_validation_counts.first_time'))
              .then(eb.ref('excluded.first_time'))
              .else(eb.ref('audit_validation_counts.first_time'))
              .end(),
            last_time: eb
              .case()
              .when('excluded.last_time', '>', eb.ref('audit_validation_counts.last_time'))
              .then(eb.ref('excluded.last_time'))
              .else(eb.ref('audit_validation_counts.last_time'))
              .end(),
          })),
        )
        .compile();
      if (compiled.parameters.length !== rows * COUNT_COLUMNS.length) throw new Error('audit count UPSERT did not compile to one parameter per value');
      sql = compiled.sql;
      this.upsertSql.set(rows, sql);
    }
    return sql;
  }

  /**
   * Pages through both tables at once: each is read in its own id order from the page's key on
   * (every id of a table carries that table's one-letter prefix, so `id > prefix + key` there is
   * `sortKeyOf(id) > key`), and the two are merged.
   */
  async list(query: AuditQuery, after: string | undefined, limit: number): Promise<AuditEntry[]> {
    const key = after === undefined ? undefined : sortKeyOf(after);
    const [records, counts] = await Promise.all([this.listRecords(query, key, limit), query.kind === 'ADMIN_CHANGE' ? [] : this.listCounts(query, key, limit)]);
    const merged: AuditEntry[] = [];
    let i = 0;
    let j = 0;
    while (merged.length < limit && (i < records.length || j < counts.length)) {
      const next =
        j >= counts.length ? records[i++]! : i >= records.length ? counts[j++]! : (sortKeyOf(records[i]!.id) < sortKeyOf(counts[j]!.id)) !== Boolean(query.newestFirst) ? records[i++]! : counts[j++]!;
      merged.push(next);
    }
    return merged;
  }

  private async listRecords(query: AuditQuery, key: string | undefined, limit: number): Promise<AuditRecord[]> {
    let q = this.db.selectFrom('audit_events').selectAll().orderBy('id', query.newestFirst ? 'desc' : 'asc').limit(limit);
    if (key !== undefined) q = q.where('id', query.newestFirst ? '<' : '>', INDIVIDUAL_ID_PREFIX + key);
    if (query.kind) q = q.where('kind', '=', query.kind);
    if (query.actor) q = q.where('actor', '=', query.actor);
    if (query.resource) q = q.where('resource', '=', query.resource);
    if (query.credential) q = q.where('credential', '=', query.credential);
    if (query.client) q = q.where('client', '=', query.client);
    if (query.outcome) q = q.where('outcome', '=', query.outcome);
    if (query.startTime) q = q.where('event_time', '>=', toDbTime(query.startTime));
    if (query.endTime) q = q.where('event_time', '<', toDbTime(query.endTime));
    return (await q.execute()).map(toRecord);
  }

  /**
   * Count records: the credential is their actor and their resource. A time window takes every
   * count record with a validation inside it (its first before the end, its last at or after the start).
   */
  private async listCounts(query: AuditQuery, key: string | undefined, limit: number): Promise<ValidationCount[]> {
    let q = this.db.selectFrom('audit_validation_counts').selectAll().orderBy('id', query.newestFirst ? 'desc' : 'asc').limit(limit);
    if (key !== undefined) q = q.where('id', query.newestFirst ? '<' : '>', COUNT_ID_PREFIX + key);
    for (const name of [query.actor, query.resource, query.credential]) if (name) q = q.where('credential', '=', name);
    if (query.client) q = q.where('client', '=', query.client);
    if (query.outcome) q = q.where('outcome', '=', query.outcome);
    if (query.startTime) q = q.where('id', '>=', countIdFrom(minuteOf(query.startTime))).where('last_time', '>=', toDbTime(query.startTime));
    if (query.endTime) q = q.where('id', '<', countIdFrom(query.endTime.getTime())).where('first_time', '<', toDbTime(query.endTime));
    return (await q.execute()).map(toCount);
  }

  async usage(credential: string, since: Date) {
    const base = this.db
      .selectFrom('audit_events')
      .where('kind', '=', 'CREDENTIAL_VALIDATION')
      .where('credential', '=', credential)
      .where('event_time', '>=', toDbTime(since));
    // A count record is in the window when its last validation is; its minute starts at most a minute before `since`.
    const counted = this.db
      .selectFrom('audit_validation_counts')
      .where('credential', '=', credential)
      .where('id', '>=', countIdFrom(minuteOf(since)))
      .where('last_time', '>=', toDbTime(since));
    const [rows, last, countRows, lastCounted] = await Promise.all([
      base.select(['outcome', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('outcome').execute(),
      base.selectAll().where('outcome', '=', 'OK').orderBy('id', 'desc').limit(1).executeTakeFirst(),
      counted.select(['outcome', (eb) => eb.fn.sum<number | string>('count').as('n')]).groupBy('outcome').execute(),
      counted.select(['last_time', 'client_address', 'origin']).where('outcome', '=', 'OK').orderBy('last_time', 'desc').limit(1).executeTakeFirst(),
    ]);
    const counts: Record<string, number> = {};
    for (const r of [...rows, ...countRows]) counts[r.outcome] = (counts[r.outcome] ?? 0) + Number(r.n);
    let lastOk: LastSuccess | undefined = last && { time: fromDbTime(last.event_time), clientAddress: last.client_address, origin: last.origin };
    if (lastCounted && (!lastOk || lastCounted.last_time > toDbTime(lastOk.time))) {
      lastOk = { time: fromDbTime(lastCounted.last_time), clientAddress: lastCounted.client_address, origin: lastCounted.origin };
    }
    return { counts, lastOk };
  }

  async deleteOlderThan(time: Date): Promise<number> {
    const records = await this.db.deleteFrom('audit_events').where('event_time', '<', toDbTime(time)).executeTakeFirst();
    // Whole minutes only: the minute that holds `time` may count validations after it.
    const counts = await this.db.deleteFrom('audit_validation_counts').where('id', '<', countIdFrom(minuteOf(time))).executeTakeFirst();
    return Number(records.numDeletedRows) + Number(counts.numDeletedRows);
  }

  async forgetWritersBefore(time: Date): Promise<number> {
    const res = await this.db.deleteFrom('audit_count_writers').where('update_time', '<', toDbTime(time)).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
