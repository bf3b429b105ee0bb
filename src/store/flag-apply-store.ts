import type { Kysely } from 'kysely';
import type { FlagApply, FlagApplyStore } from '../resolver/model.js';
import type { Database } from './schema.js';
import { toDbTime } from './time.js';

export class KyselyFlagApplyStore implements FlagApplyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(applies: readonly FlagApply[]): Promise<void> {
    if (applies.length === 0) return;
    await this.db
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
      .execute();
  }
}
