import type { Kysely, Transaction } from 'kysely';
import type { ChangeRow } from '../changes/change-feed.js';
import type { Database } from './schema.js';
import { toDbTime } from './time.js';

/** Appends the change_log row of a write, in the write's own transaction. */
export async function recordChange(tx: Transaction<Database>, entity: string, key: string, now: Date): Promise<void> {
  await tx.insertInto('change_log').values({ entity, entity_key: key, change_time: toDbTime(now) }).execute();
}

/** change_log rows of every entity with seq > `after` or in `also`, in seq order (what a ChangeFeed reads). */
export async function changesSince(db: Kysely<Database>, after: number, also: readonly number[]): Promise<ChangeRow[]> {
  const rows = await db
    .selectFrom('change_log')
    .select(['seq', 'entity', 'entity_key'])
    .where((eb) => (also.length === 0 ? eb('seq', '>', after) : eb.or([eb('seq', '>', after), eb('seq', 'in', [...also])])))
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({ seq: Number(r.seq), entity: r.entity, entityKey: r.entity_key }));
}

/** The highest change_log sequence number (0 when empty). */
export async function latestChange(db: Kysely<Database> | Transaction<Database>): Promise<number> {
  const row = await db.selectFrom('change_log').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
  return Number(row?.seq ?? 0);
}
