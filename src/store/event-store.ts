import type { Kysely, Selectable } from 'kysely';
import type { EventKind, EventLevel, EventQuery, EventRecord, EventStore, JsonMap } from '../events/model.js';
import type { Database, SdkEventsTable } from './schema.js';
import { fromDbTime, toDbTime } from './time.js';

function toRecord(row: Selectable<SdkEventsTable>): EventRecord {
  return {
    id: row.id,
    kind: row.kind as EventKind,
    // Always written; a row from elsewhere without one lists as LEVEL_UNSPECIFIED (see src/rpc/event-service.ts).
    level: row.level as EventLevel,
    message: row.message,
    attributes: JSON.parse(row.attributes) as JsonMap,
    eventTime: fromDbTime(row.event_time),
    receiveTime: fromDbTime(row.receive_time),
    credential: row.credential,
    client: row.client,
    sdk: row.sdk ?? '',
  };
}

export class KyselyEventStore implements EventStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insertBatch(records: readonly EventRecord[]): Promise<void> {
    if (records.length === 0) return;
    // One statement: the batch is stored whole or not at all. 500 rows × 10 columns stays far
    // below the bound-parameter limits of SQLite (32766) and PostgreSQL (65535).
    await this.db
      .insertInto('sdk_events')
      .values(
        records.map((r) => ({
          id: r.id,
          kind: r.kind,
          level: r.level,
          message: r.message,
          attributes: JSON.stringify(r.attributes),
          event_time: toDbTime(r.eventTime),
          receive_time: toDbTime(r.receiveTime),
          credential: r.credential,
          client: r.client,
          sdk: r.sdk === '' ? null : r.sdk,
        })),
      )
      .execute();
  }

  async list(query: EventQuery, after: string | undefined, limit: number): Promise<EventRecord[]> {
    let q = this.db.selectFrom('sdk_events').selectAll().orderBy('id').limit(limit);
    if (after !== undefined) q = q.where('id', '>', after);
    if (query.client) q = q.where('client', '=', query.client);
    if (query.credential) q = q.where('credential', '=', query.credential);
    if (query.startTime) q = q.where('receive_time', '>=', toDbTime(query.startTime));
    if (query.endTime) q = q.where('receive_time', '<', toDbTime(query.endTime));
    return (await q.execute()).map(toRecord);
  }
}
