import { CompiledQuery, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { AuditQuery, AuditRecord, AuditStore } from '../audit/model.js';
import type { AuditEventsTable, Database } from './schema.js';
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

/** Every column, in the order the compiled INSERT takes its parameters (row by row). */
const COLUMNS = Object.keys(toRow({ id: '', kind: 'ADMIN_CHANGE', time: new Date(0), actor: null, method: '', resource: null, outcome: '', requestId: null, clientAddress: null, origin: null, userAgent: null, credential: null, client: null, digestPrefix: null })) as (keyof Insertable<AuditEventsTable>)[];
/** Rows per INSERT: few statements per batch, far below any dialect's parameter limit (100 × 14). */
const ROWS_PER_INSERT = 100;

export class KyselyAuditStore implements AuditStore {
  /** The INSERT for n rows, by n (at most ROWS_PER_INSERT entries). */
  private readonly insertSql = new Map<number, string>();

  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Writes a batch atomically, in INSERTs of up to ROWS_PER_INSERT rows whose SQL Kysely compiles
   * once per row count: the audit trail gets a record per request, and compiling a wide INSERT for
   * every batch cost as much as running it. Rows whose id is already stored are skipped: a batch
   * that committed but whose acknowledgement was lost (a dropped connection, a stopped writer
   * thread) is sent again, and must neither fail on its own ids nor be stored twice.
   */
  async insertBatch(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < records.length; i += ROWS_PER_INSERT) {
        const chunk = records.slice(i, i + ROWS_PER_INSERT);
        const parameters: unknown[] = [];
        for (const record of chunk) {
          const row = toRow(record);
          for (const column of COLUMNS) parameters.push(row[column]);
        }
        await trx.executeQuery(CompiledQuery.raw(this.insertSqlFor(chunk.length), parameters));
      }
    });
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

  async list(query: AuditQuery, after: string | undefined, limit: number): Promise<AuditRecord[]> {
    let q = this.db.selectFrom('audit_events').selectAll().orderBy('id', query.newestFirst ? 'desc' : 'asc').limit(limit);
    if (after !== undefined) q = q.where('id', query.newestFirst ? '<' : '>', after);
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

  async usage(credential: string, since: Date) {
    const base = this.db
      .selectFrom('audit_events')
      .where('kind', '=', 'CREDENTIAL_VALIDATION')
      .where('credential', '=', credential)
      .where('event_time', '>=', toDbTime(since));
    const [rows, last] = await Promise.all([
      base.select(['outcome', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('outcome').execute(),
      base.selectAll().where('outcome', '=', 'OK').orderBy('id', 'desc').limit(1).executeTakeFirst(),
    ]);
    return {
      counts: Object.fromEntries(rows.map((r) => [r.outcome, Number(r.n)])),
      lastOk: last && toRecord(last),
    };
  }

  async deleteOlderThan(time: Date): Promise<number> {
    const res = await this.db.deleteFrom('audit_events').where('event_time', '<', toDbTime(time)).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
