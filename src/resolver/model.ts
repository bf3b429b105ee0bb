import type { JsonValue } from '../flags/model.js';

export type ResolveReason =
  | 'MATCH'
  | 'DEFAULT'
  | 'NO_RULE_MATCH'
  | 'FLAG_ARCHIVED'
  | 'FLAG_NOT_FOUND'
  | 'TARGETING_KEY_ERROR'
  | 'TYPE_MISMATCH'
  | 'ERROR';

export interface ResolvedFlag {
  /** `flags/{id}` as asked for (or as listed when every flag was asked for). */
  flag: string;
  variant: string | undefined;
  value: JsonValue | undefined;
  reason: ResolveReason;
  errorMessage: string | undefined;
}

/** An exposure: a resolved value the application actually used (ApplyFlags). */
export interface FlagApply {
  id: string;
  resolveId: string;
  flag: string;
  variant: string | null;
  credential: string;
  applyTime: Date;
  receiveTime: Date;
}

export interface FlagApplyStore {
  insert(applies: readonly FlagApply[]): Promise<void>;
}
