import type { Kysely } from 'kysely';
import type { FlagApply, FlagApplyStore } from '../resolver/model.js';
import type { Database } from './schema.js';
import { toDbTime } from './time.js';

export class KyselyFlagApplyStore implements FlagApplyStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * One row per resolve and flag (SPEC §6): the unique index on `(resolve_token, flag)` with
   * `on conflict do nothing` keeps the first apply and ignores repeats, also when two replicas
   * record the same exposure at once. Returns how many rows were new.
   */
  async insert(applies: readonly FlagApply[]): Promise<number> {
    if (applies.length === 0) return 0;
    const result = await this.db
      .insertInto('flag_applies')
      .values(
        applies.map((a) => ({
          id: a.id,
          resolve_token: a.resolveId,
          flag: a.flag,
          variant: a.variant,
          credential: a.credential,
          apply_time: toDbTime(a.applyTime),
          receive_time: toDbTime(a.receiveTime),
        })),
      )
      .onConflict((oc) => oc.columns(['resolve_token', 'flag']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n);
  }
}
